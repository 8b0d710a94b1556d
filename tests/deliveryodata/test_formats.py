"""Version and format negotiation (negotiate.py), the writers and readers of each format, and the '//' paths."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from werkzeug.test import Client

from contracts.odata.csdl import check_json_light, load
from contracts.odata.formats import check_atom, check_verbose
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.deliveryodata import fmt_atom, fmt_verbose
from mocks.deliveryodata import negotiate as n
from mocks.deliveryodata.service import Service

T, C = "t", "400449"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode(), "X-Examrig-Tenant": T}
NOW = datetime(2026, 3, 2, 9, 0, 12, 345000, tzinfo=UTC)
ROOT = f"http://localhost/deliveryodata/{C}/"


@pytest.mark.parametrize(("value", "expected"), [
    ("1.0", 1), ("2.0", 2), ("3.0", 3), (" 3.0; ", 3), ("2.0; pyslet 0.7.20170805", 2), ("2.0;NetFx", 2),
    ("4.0", None), ("2", None), ("2.5", None), ("", None), ("three", None), (None, None)])
def test_version_headers_read_as_odatalib_reads_them(value: str | None, expected: int | None) -> None:
    assert n.parse_version(value) == expected


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, 3),
    ({"HTTP_MAXDATASERVICEVERSION": "2.0"}, 2),
    ({"HTTP_DATASERVICEVERSION": "1.0"}, 1),
    ({"HTTP_DATASERVICEVERSION": "1.0", "HTTP_MAXDATASERVICEVERSION": "3.0"}, 3),
    ({"HTTP_DATASERVICEVERSION": "3.0", "HTTP_MAXDATASERVICEVERSION": "2.0"}, 2),
    ({"HTTP_DATASERVICEVERSION": "2.0", "HTTP_MAXDATASERVICEVERSION": "4.0"}, 2),  # unreadable max: the version
    ({"HTTP_DATASERVICEVERSION": "4.0"}, None),
    ({"HTTP_DATASERVICEVERSION": "4.0", "HTTP_MAXDATASERVICEVERSION": "3.0"}, None),  # DataServiceVersion decides
    ({"HTTP_MAXDATASERVICEVERSION": "4.0"}, None),
    ({"HTTP_ODATA_VERSION": "4.0"}, None),
    ({"HTTP_ODATA_MAXVERSION": "4.0"}, None),
    ({"HTTP_ODATA_MAXVERSION": "4.0", "HTTP_MAXDATASERVICEVERSION": "3.0"}, 3),
    ({"HTTP_ODATA_MAXVERSION": "4.0", "HTTP_ODATA_VERSION": "4.0", "HTTP_MAXDATASERVICEVERSION": "3.0"}, None),
])
def test_response_version_and_route_constraint(headers: dict[str, str], expected: int | None) -> None:
    assert n.response_version(headers) == expected


@pytest.mark.parametrize(("accept", "payload", "version", "kind", "level", "media"), [
    (None, n.FEED, 3, n.LIGHT, n.MINIMAL, "application/json;odata=minimalmetadata;streaming=true"),
    ("*/*", n.FEED, 3, n.LIGHT, n.MINIMAL, "application/json;odata=minimalmetadata;streaming=true"),
    ("application/json", n.ENTRY, 3, n.LIGHT, n.MINIMAL, "application/json;odata=minimalmetadata;streaming=true"),
    ("application/json", n.ENTRY, 2, n.VERBOSE, "", "application/json;odata=verbose"),
    ("application/json;odata=fullmetadata", n.FEED, 3, n.LIGHT, n.FULL, "application/json;odata=fullmetadata;"
                                                                         "streaming=true"),
    ("application/json;odata=nometadata;streaming=false", n.FEED, 3, n.LIGHT, n.NONE,
     "application/json;odata=nometadata;streaming=false"),
    ("application/json;odata=verbose", n.FEED, 3, n.VERBOSE, "", "application/json;odata=verbose"),
    ("application/atom+xml", n.FEED, 2, n.ATOM, "", "application/atom+xml;type=feed"),
    ("application/atom+xml", n.ENTRY, 2, n.ATOM, "", "application/atom+xml;type=entry"),
    ("application/atom+xml;type=entry", n.ENTRY, 3, n.ATOM, "", "application/atom+xml;type=entry"),
    ("application/xml", n.FEED, 3, n.LIGHT, n.MINIMAL, "application/json;odata=minimalmetadata;streaming=true"),
    (None, n.SERVICE, 3, n.ATOM, "", "application/atomsvc+xml"),
    ("*/*", n.SERVICE, 3, n.ATOM, "", "application/atomsvc+xml"),
    ("application/xml", n.SERVICE, 3, n.XML, "", "application/xml"),
    ("application/json", n.SERVICE, 3, n.LIGHT, n.MINIMAL, "application/json;odata=minimalmetadata;streaming=true"),
    ("application/json", n.METADATA, 3, n.XML, "", "application/xml"),
    ("application/xml", n.ERROR, 3, n.XML, "", "application/xml"),
    ("application/atom+xml", n.ERROR, 2, n.XML, "", "application/xml"),
    # quality decides, then the formatters' order
    ("application/atom+xml;q=0.5, application/json;odata=verbose", n.FEED, 2, n.VERBOSE, "",
     "application/json;odata=verbose"),
    ("application/atomsvc+xml;q=0.8, application/json;odata=verbose;q=0.5, */*;q=0.1", n.FEED, 2, n.VERBOSE, "",
     "application/json;odata=verbose"),
    ("application/atomsvc+xml;q=0.8, application/json;odata=verbose;q=0.5, */*;q=0.1", n.SERVICE, 2, n.ATOM, "",
     "application/atomsvc+xml"),
    ("application/json;q=0, application/atom+xml", n.FEED, 3, n.ATOM, "", "application/atom+xml;type=feed"),
])
def test_format_negotiation(accept: str | None, payload: str, version: int, kind: str, level: str,
                            media: str) -> None:
    fmt = n.choose(accept, payload, version)
    assert (fmt.kind, fmt.level, fmt.version) == (kind, level, version)
    assert fmt.content_type == media + ";charset=utf-8"
    assert n.choose(accept, payload, version) is fmt  # interned: the views compare formats with 'is'


def test_the_default_format_is_one_object() -> None:
    assert n.choose(None, n.ENTRY, 3) is n.choose("application/json", n.FEED, 3)


@pytest.fixture
def service(tmp_path: Path) -> Service:
    svc = Service(Runtime.create(Settings(seed=1, data_dir=str(tmp_path)), db="sqlite://"))
    svc.clock.freeze(T, NOW)
    svc.model.seed(T, C, "participants", [{"ID": 987654321}])
    svc.model.seed(T, C, "assessments", [{"ID": "1234567890876543", "Language": "en-US"}])
    svc.model.create_attempt(T, C, {"ExternalAttemptID": "x-1", "ParticipantID": 987654321,
                                    "AssessmentID": "1234567890876543", "LockRequired": True,
                                    "AttemptMetadata": [{"Key": "S1", "Value": "v"}]})
    return svc


def _get(service: Service, path: str, **headers: str) -> Any:
    return Client(service).get(f"/deliveryodata/{C}/{path}", headers={**AUTH, **headers})


@pytest.mark.parametrize("path", ["Attempts?$inlinecount=allpages", "Attempts(1)?$expand=AttemptMetadata,Result",
                                  "Participants(987654321)", "AttemptMetadata?$expand=Attempt", "Assessments"])
@pytest.mark.parametrize("version", ["1.0", "2.0", "3.0"])
def test_verbose_payloads_follow_the_csdl(service: Service, path: str, version: str) -> None:
    got = _get(service, path, Accept="application/json;odata=verbose", MaxDataServiceVersion=version)
    assert got.status_code == 200 and got.headers["DataServiceVersion"] == version
    entity_set = path.split("(")[0].split("?")[0]
    assert not check_verbose(load(), json.loads(got.data), entity_set, int(version[0]))


@pytest.mark.parametrize("path", ["Attempts?$inlinecount=allpages", "Attempts(1)?$expand=AttemptMetadata,Result",
                                  "Participants(987654321)", "AttemptMetadata?$expand=Attempt", "SessionAuditLogs"])
def test_atom_payloads_follow_the_csdl(service: Service, path: str) -> None:
    got = _get(service, path, Accept="application/atom+xml", MaxDataServiceVersion="2.0")
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("application/atom+xml;type=")
    root = etree.fromstring(got.data)
    assert not check_atom(load(), root)


@pytest.mark.parametrize("level", ["fullmetadata", "minimalmetadata"])
@pytest.mark.parametrize("path", ["Attempts?$inlinecount=allpages", "Attempts(1)?$expand=AttemptMetadata,Result", ""])
def test_json_light_levels_follow_the_csdl(service: Service, path: str, level: str) -> None:
    got = _get(service, path, Accept=f"application/json;odata={level}")
    assert got.status_code == 200 and f"odata={level}" in got.headers["Content-Type"]
    assert not check_json_light(load(), json.loads(got.data), root=ROOT)


@pytest.mark.parametrize("level", ["fullmetadata", "nometadata", "minimalmetadata"])
def test_an_error_is_written_at_the_metadata_level_asked_for(service: Service, level: str) -> None:
    got = _get(service, "Attempts(999)", Accept=f"application/json;odata={level}")
    assert got.status_code == 404
    assert f"odata={level}" in got.headers["Content-Type"].replace(" ", "")
    assert list(json.loads(got.data)) == ["odata.error"]
    assert got.headers["DataServiceVersion"] == "3.0"


def test_the_checkers_can_fail(service: Service) -> None:
    verbose = json.loads(_get(service, "Attempts(1)", Accept="application/json;odata=verbose").data)
    verbose["d"]["AssessmentID"] = 1234567890876543  # Int64 as a number
    del verbose["d"]["ResultID"]
    assert len(check_verbose(load(), verbose, "Attempts")) == 2
    root = etree.fromstring(_get(service, "Attempts(1)", Accept="application/atom+xml").data)
    lock = root.find(f".//{{{fmt_atom.D_NS}}}LockStatus")
    assert lock is not None
    lock.text = "yes"
    assert check_atom(load(), root) == ["Attempt.LockStatus: 'yes' is not an Edm.Boolean"]


def test_verbose_dates_are_escaped_and_read_back() -> None:
    text = fmt_verbose.dumps({"a": fmt_verbose.date_value(datetime(2027, 1, 1, 8, tzinfo=UTC)), "b": "/Date(1)/"})
    # only the writer's dates carry the escaped slash; a string that looks like one stays a plain string
    assert text == b'{"a":"\\/Date(1798790400000)\\/","b":"/Date(1)/"}'
    model = load()
    assert fmt_verbose.decode(model, "Attempt", {"UnlockCodeExpiresDateTime": "/Date(1798790400000)/",
                                                 "__metadata": {}, "Result": {"__deferred": {"uri": "x"}},
                                                 "AttemptMetadata": {"results": [{"Key": "S1"}]}}) == {
        "UnlockCodeExpiresDateTime": "2027-01-01T08:00:00Z", "AttemptMetadata": [{"Key": "S1"}]}


def test_atom_entries_read_typed_values_and_inline_entries() -> None:
    body = (f'<entry xmlns="{fmt_atom.ATOM_NS}" xmlns:d="{fmt_atom.D_NS}" xmlns:m="{fmt_atom.M_NS}">'
            f'<link rel="{fmt_atom.RELATED}AttemptMetadata"><m:inline><feed><entry><content><m:properties>'
            '<d:Key>S1</d:Key></m:properties></content></entry></feed></m:inline></link>'
            '<content type="application/xml"><m:properties><d:ParticipantID m:type="Edm.Int32">7</d:ParticipantID>'
            '<d:LockStatus m:type="Edm.Boolean">false</d:LockStatus><d:Language m:null="true"/>'
            '<d:AssessmentID m:type="Edm.Int64">9788463565326947</d:AssessmentID>'
            '<d:AttemptNumber m:type="Edm.Int32">x</d:AttemptNumber>'
            '<d:ScheduleID m:type="Edm.Int32">\u00b2</d:ScheduleID></m:properties></content></entry>').encode()
    assert fmt_atom.decode(load(), "Attempt", body) == {
        "ParticipantID": 7, "LockStatus": False, "Language": None, "AssessmentID": "9788463565326947",
        "AttemptNumber": "x", "ScheduleID": "\u00b2", "AttemptMetadata": [{"Key": "S1"}]}
    with pytest.raises(fmt_atom.AtomBodyError):
        fmt_atom.decode(load(), "Attempt", b"<entry")
    # a DTD is refused (contracts/xmlsafe.py)
    bomb = (f'<!DOCTYPE entry [<!ENTITY e "boom">]><entry xmlns="{fmt_atom.ATOM_NS}" xmlns:d="{fmt_atom.D_NS}" '
            f'xmlns:m="{fmt_atom.M_NS}"><content><m:properties><d:Language>&e;</d:Language></m:properties>'
            '</content></entry>').encode()
    with pytest.raises(fmt_atom.AtomBodyError):
        fmt_atom.decode(load(), "Attempt", bomb)


def test_route_alias_drops_empty_odata_segments(service: Service) -> None:
    assert service.route_alias("/deliveryodata/400449//Attempts") == "/deliveryodata/400449/Attempts"
    assert service.route_alias("/deliveryodata/400449/Attempts(1)//") == "/deliveryodata/400449/Attempts(1)"
    assert service.route_alias("/deliveryodata/400449/") is None
    assert service.route_alias("/deliveryodata//Attempts") is None  # no customer
    assert service.route_alias("/lobby/400449//x") is None
    assert _get(service, "/Participants()", Accept="application/json").status_code == 200


def test_double_slash_in_other_mocks_is_their_404_with_the_real_path(tmp_path: Path) -> None:
    from mocks.tds.service import Service as Tds
    tds = Tds(Runtime.create(Settings(seed=1, data_dir=str(tmp_path)), db="sqlite://"))
    got = Client(tds).get("/student//TIS/API/tisReply")
    assert got.status_code in (404, 405)
    assert b"examrig/" not in got.data.replace(b"/_examrig", b"") and b"Redirect" not in got.data


def test_shape_router_asks_the_alias_only_on_a_miss() -> None:
    from werkzeug.exceptions import NotFound
    from werkzeug.routing import Map, Rule

    from mocks.core.routing import ShapeRouter
    asked: list[str] = []

    def alias(path: str) -> str | None:
        asked.append(path)
        return path.replace("//", "/") if "//" in path else None

    url_map = Map([Rule("/a/<int:n>", endpoint="a")], merge_slashes=False)
    router = ShapeRouter(url_map, url_map.bind("h", "/"), alias=alias)
    assert router.match("/a/1", "GET") == ("a", {"n": 1}) and asked == []
    assert router.match("/a//2", "GET") == ("a", {"n": 2}) and asked == ["/a//2"]
    with pytest.raises(NotFound):
        router.match("/b//1", "GET")
