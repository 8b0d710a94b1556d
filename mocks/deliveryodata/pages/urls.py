"""Routes of the deliveryodata pages: the signed URLs negotiate (page or JSON), the pages' own routes follow."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from mocks.core.app import View
from mocks.deliveryodata.pages import views as v

LOBBY = "/lobby/<customer>"
# the JSON endpoints behind the signed URLs that a browser may open: endpoint -> the page for it
NEGOTIATED: dict[str, Callable[..., Response]] = {
    "lobbyEnter": v.lobby_enter, "proctorIndex": v.proctor_page, "proctorAction": v.proctor_page,
    "listIndex": v.list_page, "listAction": v.list_page}
PAGE_ROUTES: list[tuple[Rule, View]] = [
    (Rule(f"{LOBBY}/page/Lobby/<int:key>", endpoint="pageLobby", methods=["GET"]), v.GUARDED["lobby"]),
    (Rule(f"{LOBBY}/page/LobbyState/<int:key>", endpoint="pageLobbyState", methods=["GET"]), v.lobby_state),
    (Rule(f"{LOBBY}/page/Start/<int:key>", endpoint="pageStart", methods=["POST"]), v.GUARDED["start"]),
    (Rule(f"{LOBBY}/page/Delivery/<int:key>", endpoint="pageDelivery", methods=["GET"]), v.GUARDED["delivery"]),
    (Rule(f"{LOBBY}/page/Finish/<int:key>", endpoint="pageFinish", methods=["POST"]), v.GUARDED["finish"]),
    (Rule(f"{LOBBY}/page/ProctorState/<int:key>", endpoint="pageProctorState", methods=["GET"]), v.proctor_state),
    (Rule(f"{LOBBY}/page/ListState/<int:list_id>", endpoint="pageListState", methods=["GET"]), v.list_state),
    (Rule("/lobby/_static/<name>", endpoint="pageStatic", methods=["GET"]), v.static_file),
]


def with_pages(routes: list[tuple[Rule, View]]) -> list[tuple[Rule, View]]:
    """``routes`` with the signed-URL views negotiating between page and JSON, and the pages' routes added."""
    out = [(rule, v.negotiated(view, NEGOTIATED[rule.endpoint]) if rule.endpoint in NEGOTIATED else view)
           for rule, view in routes]
    return out + PAGE_ROUTES
