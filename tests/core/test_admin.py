"""The admin door under /_examrig/."""

from __future__ import annotations

from werkzeug.test import Client

from tests.core.conftest import NotesService

T = "X-Examrig-Tenant"


def test_health_version_config_metrics(notes_app: NotesService) -> None:
    client = Client(notes_app)
    health = client.get("/_examrig/health").json
    assert health["status"] == "ok" and health["service"] == "notes"
    assert client.get("/_examrig/version").json["service"] == "notes"
    client.put("/notes/a", data="v")
    metrics = client.get("/_examrig/metrics").text
    assert 'examrig_requests_total{route="put",service="notes",status="201"} 1.0' in metrics
    config = client.get("/_examrig/config").json
    assert config["service"] == "notes" and config["settings"]["max_body"] == 1024


def test_config_hides_secrets(notes_app: NotesService) -> None:
    notes_app.options["client_secret"] = "hunter2"
    notes_app.runtime.topology["tis"] = "http://user:pw@tis.example"
    text = Client(notes_app).get("/_examrig/config").text
    assert "hunter2" not in text and ":pw@" not in text and "<redacted>" in text


def test_seed_and_state_and_their_errors(notes_app: NotesService) -> None:
    client = Client(notes_app)
    response = client.post("/_examrig/seed", json={"notes": [{"key": "k", "value": "v"}]}, headers={T: "s"})
    assert response.status_code == 201 and response.json == {"loaded": {"notes": 1}}
    assert client.get("/_examrig/state/notes/k", headers={T: "s"}).json == {"key": "k", "value": "v"}
    assert client.get("/_examrig/state/notes/k", headers={T: "other"}).status_code == 404
    assert client.get("/_examrig/state/cats/k").status_code == 404
    bad = client.post("/_examrig/seed", json={"cats": []})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "cats"
    assert client.post("/_examrig/seed", json={"notes": {}}).json["error"]["field"] == "notes"
    assert client.post("/_examrig/seed", data="{nope").json["error"]["field"] == "body"


def test_reset_one_tenant_or_all(notes_app: NotesService) -> None:
    client = Client(notes_app)
    for tenant in ("a", "b"):
        client.put("/notes/k", data=tenant, headers={T: tenant})
    assert client.post("/_examrig/reset", headers={T: "a"}).json == {"reset": "a"}
    assert notes_app.read("a", "k") is None and notes_app.read("b", "k") == "b"
    assert notes_app.journal.query(tenant="a").entries == []
    assert client.post("/_examrig/reset").json == {"reset": "all"}
    assert notes_app.read("b", "k") is None


def test_clock_freeze_set_advance_unfreeze(notes_app: NotesService) -> None:
    client = Client(notes_app)
    state = client.post("/_examrig/clock", json={"set": "2026-05-01T10:00:00Z"}, headers={T: "c"}).json
    assert state == {"tenant": "c", "now": "2026-05-01T10:00:00.000Z", "frozen": True}
    assert client.post("/_examrig/clock", json={"advance": 61}, headers={T: "c"}).json["now"] == \
        "2026-05-01T10:01:01.000Z"
    assert client.get("/_examrig/clock", headers={T: "d"}).json["frozen"] is False
    assert client.post("/_examrig/clock", json={"unfreeze": True}, headers={T: "c"}).json["frozen"] is False
    assert client.post("/_examrig/clock", json={"advance": "soon"}).json["error"]["field"] == "advance"
    assert client.post("/_examrig/clock", json={"set": "yesterday"}).json["error"]["field"] == "set"
    assert client.post("/_examrig/clock", json={"warp": 1}).json["error"]["field"] == "warp"


def test_faults_crud_over_admin(notes_app: NotesService) -> None:
    client = Client(notes_app)
    created = client.post("/_examrig/faults", json={"kind": "status", "status": 500, "route": "get"},
                          headers={T: "f"})
    assert created.status_code == 201
    rule_id = created.json["faults"][0]["id"]
    assert [r["id"] for r in client.get("/_examrig/faults", headers={T: "f"}).json["faults"]] == [rule_id]
    assert client.get("/_examrig/faults", headers={T: "g"}).json["faults"] == []
    assert client.get("/notes/x", headers={T: "f"}).status_code == 500
    assert client.delete(f"/_examrig/faults/{rule_id}", headers={T: "f"}).json == {"removed": 1}
    assert client.get("/notes/x", headers={T: "f"}).status_code == 404
    bad = client.post("/_examrig/faults", json={"kind": "status", "status": "teapot"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "status"


def test_journal_query_verify_and_overflow(notes_app: NotesService) -> None:
    client = Client(notes_app)
    client.put("/notes/a", data="1", headers={T: "j"})
    client.get("/notes/zz", headers={T: "j"})
    window = client.get("/_examrig/journal?status=404", headers={T: "j"}).json
    assert window["count"] == 1 and window["entries"][0]["path"] == "/notes/zz" and window["overflow"] is False
    ok = client.post("/_examrig/journal/verify", json={"count": 1, "path": "/notes/*", "status": 201},
                     headers={T: "j"}).json
    assert ok["verdict"] == "pass"
    miss = client.post("/_examrig/journal/verify", json={"count": 1, "path": "/notes/a", "status": 500},
                       headers={T: "j"}).json
    assert miss["verdict"] == "fail" and miss["near_misses"]
    for i in range(60):  # capacity is 50
        client.get(f"/notes/n{i}", headers={T: "j"})
    over = client.post("/_examrig/journal/verify", json={"count": 1, "path": "/notes/a", "since": 1},
                       headers={T: "j"}).json
    assert over["verdict"] == "error" and over["code"] == "journal_overflow"
    assert client.get("/_examrig/journal?colour=red").json["error"]["field"] == "colour"
    assert client.delete("/_examrig/journal", headers={T: "j"}).json["removed"] == 50


def test_admin_calls_are_not_journaled(notes_app: NotesService) -> None:
    client = Client(notes_app)
    client.get("/_examrig/health")
    assert notes_app.journal.stats()["size"] == 0


def test_service_admin_routes_and_shared_rules_across_apps() -> None:
    """Module-level rules serve several apps; service admin routes live under /_examrig/, unjournaled."""
    from typing import Any

    from werkzeug.routing import Rule

    from mocks.core.app import Ctx, Runtime
    from mocks.core.errors import BadRequest
    from mocks.core.render import json_response
    from mocks.core.settings import Settings

    def poke(ctx: Ctx) -> Any:
        if ctx.request.args.get("bad"):
            raise BadRequest(field="bad", message="bad poke")
        return json_response({"poked": ctx.tenant})

    shared = [(Rule("/poke", endpoint="poke", methods=["POST"]), poke)]

    class Poker(NotesService):
        def admin_routes(self) -> list[tuple[Rule, Any]]:
            return shared

    runtime = Runtime.create(Settings(), db="sqlite://")
    first, second = Poker(runtime), Poker(runtime)
    for app in (first, second):
        client = Client(app)
        assert client.post("/_examrig/poke", headers={T: "p"}).json == {"poked": "p"}
        bad = client.post("/_examrig/poke?bad=1")
        assert bad.status_code == 400 and bad.json["error"]["field"] == "bad"
        assert client.post("/poke").status_code == 404
        assert app.journal.stats()["size"] == 1  # only the 404 to /poke
