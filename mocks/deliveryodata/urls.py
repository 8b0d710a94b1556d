"""deliveryodata routes: the OData service root per customer, and the JSON endpoints behind the signed URLs."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import BaseConverter, Map, Rule, ValidationError

from contracts.odata.csdl import load
from mocks.core.app import View
from mocks.deliveryodata import views
from mocks.deliveryodata.pages.urls import with_pages

SETS = ",".join(load().sets)
ENTITY_VERBS = ["GET", "PATCH", "MERGE", "DELETE", "PUT", "POST"]


class ODataKeyConverter(BaseConverter):
    """An OData key predicate value: ``42`` or an Int64 ``9788463565326947L`` (at most 19 digits)."""

    regex = r"-?\d+[lL]?"
    # the pattern takes any run of digits; the length is checked below (mocks/core/routing.py)
    digit_neutral = True

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        digits = value.rstrip("lL")
        if len(digits.lstrip("-")) > 19:
            raise ValidationError()
        number = int(digits)
        if not -(2**63) <= number <= 2**63 - 1:  # 19 digits reach 9999999999999999999, past Int64
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(value)


CONVERTERS: dict[str, type[BaseConverter]] = {"odatakey": ODataKeyConverter}
ROOT = "/deliveryodata/<customer>"
LOBBY = "/lobby/<customer>"

ROUTES: list[tuple[Rule, View]] = [
    (Rule(f"{ROOT}/", endpoint="serviceDocument", methods=["GET"]), views.service_document),
    (Rule(f"{ROOT}/$metadata", endpoint="metadata", methods=["GET"]), views.metadata),
    (Rule(f"{ROOT}/<any({SETS}):entity_set>", endpoint="collection", methods=["GET", "POST", "PATCH", "MERGE",
                                                                                  "PUT", "DELETE"]),
     views.collection),
    # 'Participants()' is the collection (DefaultODataPathHandler.ParseSegments drops empty parentheses);
    # WCF Data Services clients always send it
    (Rule(f"{ROOT}/<any({SETS}):entity_set>()", endpoint="collectionParens", methods=["GET", "POST", "PATCH",
                                                                                      "MERGE", "PUT", "DELETE"]),
     views.collection),
    (Rule(f"{ROOT}/<any({SETS}):entity_set>(<odatakey:key>)", endpoint="entity", methods=ENTITY_VERBS), views.entity),
    (Rule(f"{ROOT}/SessionAuditLogs(<odatakey:key>)/$value", endpoint="auditValue", methods=["GET"]),
     views.audit_value),
    (Rule(f"{LOBBY}/lobby/SystemCheck/<int:key>", endpoint="lobbyEnter", methods=["GET"]), views.lobby_enter),
    (Rule(f"{LOBBY}/lobby/Start/<int:key>", endpoint="lobbyStart", methods=["POST"]), views.lobby_start),
    (Rule(f"{LOBBY}/proctorwidget/Index/<int:key>", endpoint="proctorIndex", methods=["GET"]), views.proctor_widget),
    # GET too, so that an unknown control is the view's 404 and a known one's GET its 405 (not the router's 405)
    (Rule(f"{LOBBY}/proctorwidget/<action>/<int:key>", endpoint="proctorAction", methods=["GET", "POST"]),
     views.proctor_widget),
    (Rule(f"{LOBBY}/attemptlist/Index/<int:list_id>", endpoint="listIndex", methods=["GET"]), views.list_widget),
    (Rule(f"{LOBBY}/attemptlist/<action>/<int:list_id>/<int:key>", endpoint="listAction", methods=["GET", "POST"]),
     views.list_widget),
]
# the same signed URLs answer a browser with a page (mocks/deliveryodata/pages/)
ROUTES = with_pages(ROUTES)
