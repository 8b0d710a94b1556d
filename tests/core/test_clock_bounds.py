"""The admin clock refuses steps and instants out of bounds with a 400 naming the property (issue 12)."""

from __future__ import annotations

from werkzeug.test import Client

from tests.core.conftest import NotesService

T = "X-Examrig-Tenant"


def test_clock_out_of_bounds_is_a_400_naming_the_property(notes_app: NotesService) -> None:
    client = Client(notes_app)
    for raw in (b'{"advance": 1e20}', b'{"advance": NaN}', b'{"advance": Infinity}'):
        bad = client.post("/_examrig/clock", data=raw, content_type="application/json", headers={T: "b"})
        assert bad.status_code == 400 and bad.json["error"]["field"] == "advance"
    for text in ("9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z"):
        bad = client.post("/_examrig/clock", json={"set": text}, headers={T: "b"})
        assert bad.status_code == 400 and bad.json["error"]["field"] == "set"
    assert client.get("/_examrig/clock", headers={T: "b"}).json["frozen"] is False
    ok = client.post("/_examrig/clock", json={"set": "2999-06-01T00:00:00Z"}, headers={T: "b"})
    assert ok.status_code == 200 and ok.json["now"].startswith("2999-06-01")
