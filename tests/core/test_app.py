"""The core WSGI app: tenancy, errors, body limit, faults, journal (in process)."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from tests.core.conftest import NotesService

T = "X-Examrig-Tenant"


def test_tenants_never_see_each_others_data(notes_app: NotesService) -> None:
    client = Client(notes_app)
    assert client.put("/notes/k", data="alpha", headers={T: "a"}).status_code == 201
    assert client.put("/notes/k", data="beta", headers={T: "b"}).status_code == 201
    assert client.get("/notes/k", headers={T: "a"}).json == {"key": "k", "value": "alpha"}
    assert client.get("/notes/k", headers={T: "b"}).json == {"key": "k", "value": "beta"}
    assert client.get("/notes/k").status_code == 404  # the default tenant has nothing


def test_service_error_rendered_once_with_code_and_field(notes_app: NotesService) -> None:
    client = Client(notes_app)
    response = client.put("/notes/k", data="")
    assert response.status_code == 400
    assert response.json == {"error": {"code": "bad_request", "status": 400, "message": "value is required",
                                       "field": "value"}}
    assert client.get("/notes/zz").json["error"]["message"] == "no note 'zz'"


def test_unexpected_exception_is_a_rendered_500_never_a_traceback(notes_app: NotesService) -> None:
    response = Client(notes_app).get("/boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "Traceback" not in response.text and "kaboom" not in response.text
    entry = notes_app.journal.query(path="/boom").entries[-1]
    assert entry.error == "RuntimeError: kaboom"


def test_routing_misses(notes_app: NotesService) -> None:
    client = Client(notes_app)
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/notes/k").status_code == 405


def test_body_over_limit_is_413(notes_app: NotesService) -> None:
    response = Client(notes_app).put("/notes/k", data="x" * 2048)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_bad_tenant_header_is_refused_naming_it(notes_app: NotesService) -> None:
    response = Client(notes_app).get("/notes/k", headers={T: "no spaces allowed"})
    assert response.status_code == 400 and response.json["error"]["field"] == T


def test_every_exchange_is_journaled_with_tenant_status_and_digest(notes_app: NotesService) -> None:
    Client(notes_app).put("/notes/k", data="v", headers={T: "j", "Authorization": "Basic c2VjcmV0"})
    entry = notes_app.journal.query(tenant="j").entries[-1]
    assert (entry.method, entry.path, entry.route, entry.status) == ("PUT", "/notes/k", "put", 201)
    assert entry.request_body == "v" and len(entry.request_sha256) == 64
    assert entry.request_headers["Authorization"] == "<redacted>"
    assert entry.duration_ms >= 0


def test_status_fault_replaces_the_answer_and_is_journaled(notes_app: NotesService) -> None:
    notes_app.faults.add({"kind": "status", "status": 503, "route": "put", "body": "down",
                          "headers": {"Retry-After": "2"}}, tenant="f")
    client = Client(notes_app)
    response = client.put("/notes/k", data="v", headers={T: "f"})
    assert response.status_code == 503 and response.text == "down" and response.headers["Retry-After"] == "2"
    assert notes_app.read("f", "k") is None  # the request was not processed
    entry = notes_app.journal.query(tenant="f").entries[-1]
    assert entry.fault == {"applied": [{"rule": "f1", "kind": "status", "status": 503}]}
    assert client.put("/notes/k", data="v", headers={T: "g"}).status_code == 201  # other tenants unaffected


def test_reset_fault_raises_in_process(notes_app: NotesService) -> None:
    notes_app.faults.add({"kind": "reset", "route": "get"}, tenant="f")
    with pytest.raises(ConnectionResetError):
        Client(notes_app).get("/notes/k", headers={T: "f"})
    assert notes_app.journal.query(tenant="f").entries[-1].fault["applied"][0]["kind"] == "reset"  # type: ignore[index]


def test_truncate_and_malformed_faults_change_the_body(notes_app: NotesService) -> None:
    client = Client(notes_app)
    client.put("/notes/k", data="0123456789", headers={T: "f"})
    full = client.get("/notes/k", headers={T: "f"}).data
    notes_app.faults.add({"kind": "truncate", "route": "get", "fraction": 0.5, "times": 1}, tenant="f")
    cut = client.get("/notes/k", headers={T: "f"})
    assert cut.headers["Content-Length"] == str(len(full)) and cut.headers["Connection"] == "close"
    notes_app.faults.add({"kind": "malformed", "route": "get", "times": 1}, tenant="f")
    garbled = client.get("/notes/k", headers={T: "f"}).data
    assert garbled != full and not garbled.startswith(b"{")


def test_latency_fault_delays_the_answer(notes_app: NotesService) -> None:
    notes_app.faults.add({"kind": "latency", "ms": 30}, tenant="f")
    Client(notes_app).get("/notes/k", headers={T: "f"})
    entry = notes_app.journal.query(tenant="f").entries[-1]
    assert entry.fault["applied"][0]["delay_ms"] == 30  # type: ignore[index]
    assert entry.duration_ms >= 25


def test_journal_entry_is_built_on_read_from_what_the_exchange_was(notes_app: NotesService) -> None:
    # recorded at once (seq and next_seq move with the request), formatted only when read
    before = notes_app.journal.next_seq
    client = Client(notes_app)
    client.put("/notes/d", data="first", headers={T: "d", "Authorization": "Bearer s3cret"})
    assert notes_app.journal.next_seq == before + 1
    client.put("/notes/d", data="second", headers={T: "d"})
    first, second = notes_app.journal.query(tenant="d").entries[-2:]
    assert (first.seq, second.seq) == (before, before + 1)
    assert first.request_body == "first" and second.request_body == "second"
    assert first.request_headers["Authorization"] == "<redacted>" and "Authorization" not in second.request_headers
    assert first.url == "http://localhost/notes/d" and first.ts.endswith("Z") and first.status == 201
    assert notes_app.journal.query(tenant="d").entries[-2] is first  # built once, then kept


def test_large_bodies_are_digested_whole_when_recorded(notes_app: NotesService) -> None:
    from mocks.core.journal import BODY_LIMIT, body_digest

    notes_app.max_body = 10 * BODY_LIMIT
    value = ("0123456789" * BODY_LIMIT)[: 3 * BODY_LIMIT]
    Client(notes_app).put("/notes/big", data=value, headers={T: "big"})
    entry = notes_app.journal.query(tenant="big").entries[-1]
    text, sha, _ = body_digest(value.encode())
    assert (entry.request_body, entry.request_sha256, entry.request_size) == (text, sha, 3 * BODY_LIMIT)
    assert len(entry.request_body) == BODY_LIMIT and len(entry.response_body) <= BODY_LIMIT


def test_every_response_carries_one_date_header(notes_app: NotesService) -> None:
    from email.utils import parsedate_to_datetime

    client = Client(notes_app)
    for response in (client.put("/notes/k", data="v"), client.get("/notes/k"), client.get("/nowhere"),
                     client.get("/_examrig/health")):
        dates = response.headers.getlist("Date")
        assert len(dates) == 1, response.headers
        assert parsedate_to_datetime(dates[0]).tzinfo is not None


@pytest.mark.parametrize("raw", ["/notes/k", "//notes/k", "/notes/%C3%A9t%C3%A9", "/notes/a%2Fb", "", "/notes/\xc3\xa9",
                                 "/notes/\xff"])
def test_the_core_reads_the_path_and_method_as_werkzeug_does(raw: str) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from mocks.core.app import _Incoming

    environ = EnvironBuilder(path="/", method="patch").get_environ()
    environ["PATH_INFO"] = raw  # as a WSGI server hands it over: latin-1 decoded bytes
    incoming = _Incoming(environ)
    request = Request(environ)
    assert (incoming.path, incoming.method) == (request.path, request.method)


def test_a_body_is_read_however_it_is_framed(notes_app: NotesService) -> None:
    from werkzeug.test import EnvironBuilder

    client = Client(notes_app)
    assert client.put("/notes/empty", data=b"", headers={T: "b"}).status_code == 400  # declared empty: value missing
    environ = EnvironBuilder(path="/notes/chunked", method="PUT", data=b"chunky", headers={T: "b"}).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True  # the server de-chunked it and marks the stream's end
    status: list[str] = []
    body = b"".join(notes_app(environ, lambda s, h, e=None: status.append(s)))  # type: ignore[arg-type,misc]
    assert status == ["201 CREATED"], body
    assert client.get("/notes/chunked", headers={T: "b"}).json == {"key": "chunked", "value": "chunky"}
