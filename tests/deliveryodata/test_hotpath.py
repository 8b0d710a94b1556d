"""The GET Attempts(n) hot path: kept read connections, headers sent as built, HEAD, stop."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.test import Client

from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.deliveryodata.service import Service
from mocks.deliveryodata.sqlfast import Readers, read_one
from mocks.deliveryodata.wire import BufferedResponse, odata_json

T, C = "t", "400449"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode(), "X-Examrig-Tenant": T}
NOW = datetime(2026, 3, 2, 9, 0, 12, 345000, tzinfo=UTC)


def _service(url: str, tmp_path: Path) -> Service:
    service = Service(Runtime.create(Settings(seed=1, data_dir=str(tmp_path)), db=url))
    service.clock.freeze(T, NOW)
    service.model.seed(T, C, "participants", [{"ID": 1}])
    service.model.seed(T, C, "assessments", [{"ID": "100000001"}])
    service.model.create_attempt(T, C, {"ExternalAttemptID": "x-1", "ParticipantID": 1, "AssessmentID": "100000001",
                                        "LockRequired": True})
    return service


@pytest.fixture
def served(tmp_path: Path) -> Service:
    return _service(f"sqlite:///{tmp_path / 'f.db'}", tmp_path)


def test_readers_only_for_a_plain_sqlite_file(tmp_path: Path) -> None:
    assert _service(f"sqlite:///{tmp_path / 'a.db'}", tmp_path).model.readers.enabled
    assert not _service("sqlite://", tmp_path).model.readers.enabled


def test_kept_reader_gives_what_the_pool_gives_and_sees_every_commit(served: Service) -> None:
    model = served.model
    readers: Readers = model.readers
    params = {"t": T, "c": C, "k": 1}
    assert readers.first(model._prep("launch"), params) == read_one(model.store, model._prep("launch"), params)
    assert readers.idle == 1
    # the idle connection holds no snapshot: a write committed after its last read is seen by the next one
    model.update_attempt(T, C, 1, {"LockStatus": False})
    row = readers.first(model._prep("launch"), params)
    assert row is not None and row["LockStatus"] is False and readers.idle == 1
    assert readers.first(model._prep("launch"), {**params, "k": 2}) is None


def test_readers_never_write(served: Service) -> None:
    conn = served.model.readers._open()
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM do_attempts")
    finally:
        conn.close()


def test_get_head_and_stop(served: Service) -> None:
    client = Client(served)
    got = client.get(f"/deliveryodata/{C}/Attempts(1)", headers=AUTH)
    assert got.status_code == 200
    body = json.loads(got.data)
    assert body["ID"] == 1 and body["ParticipantFacingQMLobbyUrl"].startswith("http://localhost/lobby/400449/")
    assert got.headers["Content-Length"] == str(len(got.data))
    assert got.headers["DataServiceVersion"] == "3.0"
    # HEAD of a JSON Light resource (the service document; entities answer 405): headers, no body (the
    # service document asks for JSON: without an Accept header Web API answers it as atomsvc+xml)
    light = {**AUTH, "Accept": "application/json"}
    doc = client.get(f"/deliveryodata/{C}/", headers=light)
    head = client.head(f"/deliveryodata/{C}/", headers=light)
    assert head.status_code == 200 and head.data == b"" and doc.data
    assert head.headers["Content-Length"] == str(len(doc.data))
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert client.head(f"/deliveryodata/{C}/Attempts(1)", headers=AUTH).status_code == 405
    assert served.model.readers.idle == 1
    served.stop()
    assert served.model.readers.idle == 0
    # after a stop the next read opens a new connection
    assert client.get(f"/deliveryodata/{C}/Attempts(1)", headers=AUTH).status_code == 200
    served.stop()


@pytest.mark.parametrize("location", ["http://h/x(1)", "http://127.0.0.1:8600/deliveryodata/400449/Attempts(12)",
                                      "http://[::1]:8600/deliveryodata/c/SessionAuditLogs(3)/$value",
                                      "http://h/d\u00e9j\u00e0(1)", "http://h/a b", "http://h/a%20b?x=1"])
def test_a_location_goes_out_as_werkzeug_would_send_it(location: str) -> None:
    from werkzeug.test import run_wsgi_app
    from werkzeug.wrappers import Response

    plain = Response(b"{}", status=201, headers={"Location": location})
    ours = odata_json({}, 201, {"Location": location})
    expected = dict(run_wsgi_app(plain, {"REQUEST_METHOD": "POST", "SERVER_NAME": "h", "SERVER_PORT": "80",
                                         "wsgi.url_scheme": "http"})[2])["Location"]
    got = dict(run_wsgi_app(ours, {"REQUEST_METHOD": "POST", "SERVER_NAME": "h", "SERVER_PORT": "80",
                                   "wsgi.url_scheme": "http"})[2])["Location"]
    assert got == expected
    # only a Location werkzeug would have to rewrite keeps werkzeug's response
    assert (type(ours) is BufferedResponse) == (expected == location and location.isascii() and " " not in location
                                                and "%" not in location)
    assert type(odata_json({"a": 1})) is BufferedResponse
