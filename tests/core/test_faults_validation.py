"""Fault rules that would break the wire are refused when posted, naming the field (issue 12)."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from mocks.core.faults import FaultEngine, FaultSpecError
from tests.core.conftest import NotesService


@pytest.mark.parametrize("spec,field", [
    ({"kind": "status", "status": 100}, "status"),
    ({"kind": "status", "status": 101}, "status"),
    ({"kind": "status", "status": 102}, "status"),
    ({"kind": "status", "status": 199}, "status"),
    ({"kind": "status", "status": 600}, "status"),
    ({"kind": "status", "headers": {"X-A": "one\r\nSet-Cookie: evil=1"}}, "headers.X-A"),
    ({"kind": "status", "headers": {"X-A": "line\nbreak"}}, "headers.X-A"),
    ({"kind": "status", "headers": {"X-A": "nul\x00"}}, "headers.X-A"),
    ({"kind": "status", "headers": {"X-A": "snow \u2603"}}, "headers.X-A"),
    ({"kind": "status", "headers": {"Bad Name": "v"}}, "headers.Bad Name"),
    ({"kind": "status", "headers": {"X:Y": "v"}}, "headers.X:Y"),
    ({"kind": "status", "headers": {"": "v"}}, "headers."),
    ({"kind": "status", "headers": {"X-A": 1}}, "headers.X-A"),
    ({"kind": "status", "headers": ["X-A"]}, "headers"),
])
def test_rules_that_would_break_the_wire_are_refused(spec: dict[str, object], field: str) -> None:
    with pytest.raises(FaultSpecError) as info:
        FaultEngine(1).add(spec)
    assert info.value.field == field


def test_valid_headers_and_final_statuses_are_accepted() -> None:
    engine = FaultEngine(1)
    rule = engine.add({"kind": "status", "status": 200, "headers": {"Retry-After": "5", "X-Tab": "a\tb"}})
    assert rule.headers == {"Retry-After": "5", "X-Tab": "a\tb"}
    assert engine.add({"kind": "status", "status": 599}).status == 599


def test_admin_answers_400_naming_the_header_and_serves_nothing_broken(notes_app: NotesService) -> None:
    client = Client(notes_app)
    bad = client.post("/_examrig/faults", json={"kind": "status", "status": 503,
                                                "headers": {"X-Evil": "a\r\nb"}})
    assert bad.status_code == 400
    assert bad.json["error"]["field"] == "headers.X-Evil"
    assert client.post("/_examrig/faults", json={"kind": "status", "status": 101}).json["error"]["field"] == "status"
    assert client.get("/_examrig/faults").json["faults"] == []
    assert client.put("/notes/a", data="v").status_code == 201
