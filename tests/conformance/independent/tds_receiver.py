"""An independent TDS acknowledgement receiver, written from ``../shared/reference/tis-thss-tds-dw.md`` §2.4 alone.

It is the kind of system ``examrig check`` must judge fairly: plain WSGI over the standard library, nothing
of examrig's ``mocks`` (no ServiceApp, no error renderer, no store), and faithful to the reference where
examrig's tds mock deliberately departs from it:

- a null (or missing) ``oppKey`` or ``success`` on the legacy endpoint throws a NullPointerException in the
  Java code, so it answers a bare 500 (examrig answers 400 naming the field: TDS-REPLY-007/008, assumed);
- a success reply for an ``expired`` opportunity sets ``dateExpiredReported`` and audits ``expiredReported``
  but leaves the status alone (§2.4.1 step 3: the SQL has no status change; examrig's status value
  ``expiredReported`` is TDS-REPLY-003, assumed);
- error bodies are Spring Boot's default (``timestamp, status, error, message, path``), without examrig's
  ``field`` key, and the DB error log is worded as this receiver likes.

It implements the state hook of ``docs/state-hook.md`` (version 1) on ``/_examrig/``: ``GET health``,
``POST reset``, ``POST seed``, ``GET state/opportunities/<key>``, ``GET state/errors/all``; state is kept per
``X-Examrig-Tenant``.

``deviations`` switches on seeded bugs, each breaking one rule of the reference (see :data:`DEVIATIONS`);
the tests check that each makes exactly the scenarios of its requirement fail.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

#: Seeded bugs: name -> (the requirement it breaks, what it does).
DEVIATIONS: dict[str, tuple[str, str]] = {
    "submitted-not-reported": ("TDS-REPLY-001", "a success reply for a submitted opportunity only audits QA Reported"),
    "bad-body-200": ("TDS-REPLY-009", "an empty body, or JSON that is not an object, is answered 200 and ignored"),
    "reply-with-body": ("TDS-REPLY-011", "a well-formed reply is answered 200 with a body (\"OK\")"),
    "ert-no-report": ("TDS-ERT-001", "/tis leaves a submitted exam submitted after a clean success"),
    "ert-error-reports": ("TDS-ERT-002", "/tis reports the exam even when the reply carries an error"),
    "failure-as-success": ("TDS-REPLY-002", "a legacy reply with success=false is applied as a success"),
    "expired-as-other": ("TDS-REPLY-012", "an expired opportunity is treated like any other status (QA Reported)"),
    "other-status-reported": ("TDS-REPLY-004", "a success reply in any status sets the status to reported"),
    "unknown-404": ("TDS-REPLY-005", "a reply for an unknown opportunity is answered 404 and not logged"),
    "non-uuid-200": ("TDS-REPLY-006", "an oppKey that is not a UUID is answered 200 and logged as unknown"),
    "any-content-type": ("TDS-REPLY-010", "a body of any content type is read as JSON"),
    "ert-any-transition": ("TDS-ERT-003", "/tis moves an exam of any status to reported"),
    "ert-rescore-applied": ("TDS-ERT-004", "/tis with jobid and trt is also applied as a status reply"),
}

#: Called with a deviation's name each time the receiver asks whether it is on (set by the variant runner of
#: ``corpus_run.py``, which reruns under a deviation only the scenarios that asked about it, as for sabotage).
observer: Callable[[str], None] | None = None

STATUSES = {"pending", "started", "completed", "submitted", "reported", "expired", "expiredReported",
            "scored", "paused", "denied", "approved", "review", "invalidated", "rescored"}
Start = Callable[[str, list[tuple[str, str]]], Any]


@dataclass
class Opportunity:
    key: str
    status: str
    date_expired_reported: str | None = None
    audit: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Tenant:
    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


class HttpError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class TdsReceiver:
    """A WSGI application: the two TDS acknowledgement endpoints and the state hook."""

    def __init__(self, deviations: Iterable[str] = (), state_hook: bool = True) -> None:
        self.deviations = set(deviations)
        unknown = self.deviations - set(DEVIATIONS)
        if unknown:
            raise ValueError(f"unknown deviation {sorted(unknown)[0]!r}")
        self.state_hook = state_hook
        self.tenants: dict[str, Tenant] = {}
        self.lock = threading.Lock()

    def _dev(self, name: str) -> bool:
        """Whether the seeded bug ``name`` is on; tells :data:`observer` it was asked (see there)."""
        if observer is not None:
            observer(name)
        return name in self.deviations

    # -- plumbing --------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Start) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        tenant = environ.get("HTTP_X_EXAMRIG_TENANT", "default")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            with self.lock:
                if path.startswith("/_examrig/") and self.state_hook:
                    status, payload = self._hook(method, path[len("/_examrig/"):], tenant, body)
                elif path.endswith("/TIS/API/tisReply") and method == "POST":
                    status, payload = self._legacy(environ, tenant, body)
                elif path == "/tis" and method == "POST":
                    status, payload = self._ert(environ, tenant, body)
                else:
                    raise HttpError(404, "Not Found", "No message available")
        except HttpError as exc:
            status, payload = exc.status, {"timestamp": self._now(), "status": exc.status, "error": exc.error,
                                           "message": exc.message, "path": path}
        if payload is None:
            start_response(f"{status} X", [("Content-Length", "0")])
            return [b""]
        data = json.dumps(payload).encode("utf-8")
        start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat()

    def _tenant(self, name: str) -> Tenant:
        return self.tenants.setdefault(name, Tenant())

    def _json(self, environ: dict[str, Any], body: bytes) -> Any:
        """Spring's ``@RequestBody`` with ``consumes=application/json``."""
        ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not self._dev("any-content-type"):
            raise HttpError(415, "Unsupported Media Type", f"Content type '{ctype}' not supported")
        if not body.strip():
            if self._dev("bad-body-200"):
                return None
            raise HttpError(400, "Bad Request", "Required request body is missing")
        try:
            return json.loads(body)
        except ValueError:
            raise HttpError(400, "Bad Request", "JSON parse error") from None

    # -- §2.4.1 legacy TDS -------------------------------------------------------------------

    def _legacy(self, environ: dict[str, Any], tenant: str, body: bytes) -> tuple[int, Any]:
        data = self._json(environ, body)
        if not isinstance(data, dict):
            if self._dev("bad-body-200"):
                return 200, None
            raise HttpError(400, "Bad Request", "JSON parse error: cannot deserialize TisState")
        status, payload = self._handle_tis_reply(tenant, data)
        if self._dev("reply-with-body"):
            return status, "OK"
        return status, payload

    def _handle_tis_reply(self, tenant: str, data: dict[str, Any]) -> tuple[int, Any]:
        key, success, error = data.get("oppKey"), data.get("success"), data.get("error")
        if key is None or success is None:
            raise HttpError(500, "Internal Server Error", "java.lang.NullPointerException")
        if not isinstance(key, str) or not isinstance(success, bool):
            raise HttpError(400, "Bad Request", "JSON parse error: cannot deserialize TisState")
        norm = _uuid(key)
        state = self._tenant(tenant)
        if norm is None:
            if not self._dev("non-uuid-200"):
                raise HttpError(400, "Bad Request", f"Invalid UUID string: {key}")
            norm = key
        opp = state.opportunities.get(norm)
        if opp is None:  # step 1
            if self._dev("unknown-404"):
                raise HttpError(404, "Not Found", "no such opportunity")
            state.errors.append({"oppKey": norm, "message": f"unknown opportunity {norm} (success {success})"})
            return 200, None
        if success is False and not self._dev("failure-as-success"):  # step 2
            self._audit(opp, "rejected", error)
            return 200, None
        if opp.status == "expired" and not self._dev("expired-as-other"):  # step 3, expired
            opp.date_expired_reported = self._now()
            self._audit(opp, "expiredReported", None)
        elif (opp.status == "submitted" and not self._dev("submitted-not-reported")) \
                or (opp.status != "submitted" and self._dev("other-status-reported")):
            self._set_status(opp, "reported")
        else:
            self._audit(opp, "QA Reported", None)
        return 200, None

    def _audit(self, opp: Opportunity, access: str, comment: str | None) -> None:
        opp.audit.append({"accessType": access, "comment": comment, "dateAccessed": self._now()})

    def _set_status(self, opp: Opportunity, status: str) -> None:
        # SetOpportunityStatus_SP audits the status it sets (as every status change of an opportunity is).
        opp.status = status
        self._audit(opp, status, None)

    # -- §2.4.2 new TDS (ERT) ----------------------------------------------------------------

    def _ert(self, environ: dict[str, Any], tenant: str, body: bytes) -> tuple[int, Any]:
        data = self._json(environ, body)
        if not isinstance(data, dict):
            raise HttpError(400, "Bad Request", "JSON parse error: cannot deserialize TISState")
        state = self._tenant(tenant)
        key = _uuid(str(data.get("oppKey"))) or str(data.get("oppKey"))
        job = parse_qs(environ.get("QUERY_STRING", "")).get("jobid", [None])[0]
        trt = data.get("trt")
        success = data.get("success") is True  # a primitive boolean: missing is false
        opp = state.opportunities.get(key)
        if job is not None or trt is not None:
            if job is None or trt is None:
                state.errors.append({"oppKey": key, "message": "rescore reply lacks jobid or trt"})
            if not self._dev("ert-rescore-applied"):
                return 200, None  # the rescored TRT goes to ST scoring validation; no status change
        clean = success and (data.get("error") is None or self._dev("ert-error-reports"))
        if clean and opp is not None:
            if opp.status == "submitted" or self._dev("ert-any-transition"):
                if not self._dev("ert-no-report"):
                    opp.status = "reported"
            else:
                state.errors.append({"oppKey": key, "message": f"illegal transition {opp.status} -> reported"})
        if opp is not None:
            self._audit(opp, "processed", None)  # "in every case the exam report audit row is updated"
        return 200, None

    # -- the state hook (docs/state-hook.md) -------------------------------------------------

    def _hook(self, method: str, op: str, tenant: str, body: bytes) -> tuple[int, Any]:
        if op == "health" and method == "GET":
            return 200, {"status": "ok", "service": "tds", "state_hook": 1}
        if op == "reset" and method == "POST":
            self.tenants.pop(tenant, None)
            return 200, {"reset": tenant}
        if op == "seed" and method == "POST":
            seed = json.loads(body or b"{}")
            items = seed.get("opportunities", [])
            state = self._tenant(tenant)
            for item in items:
                key = _uuid(str(item.get("oppKey")))
                status = item.get("status", "submitted")
                if key is None or status not in STATUSES:
                    raise HttpError(400, "Bad Request", f"bad seed item {item!r}")
                state.opportunities[key] = Opportunity(key, status)
            return 201, {"loaded": {"opportunities": len(items)}}
        if op.startswith("state/") and method == "GET":
            _, collection, key = ([*op.split("/", 2), "", ""])[:3]
            state = self._tenant(tenant)
            if collection == "errors":
                return 200, {"errors": list(state.errors)}
            if collection == "opportunities":
                opp = state.opportunities.get(_uuid(key) or key)
                if opp is None:
                    raise HttpError(404, "Not Found", f"no opportunity {key}")
                return 200, {"oppKey": opp.key, "status": opp.status,
                             "dateExpiredReported": opp.date_expired_reported, "audit": list(opp.audit)}
        raise HttpError(404, "Not Found", f"no state hook operation {method} {op}")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr: the test reads the corpus's outcome, not the receiver's chatter."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextmanager
def serving(app: TdsReceiver) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="tds-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@contextmanager
def serve_variant(deviations: Iterable[str] = (), state_hook: bool = True) -> Iterator[dict[str, str]]:
    """A receiver with ``deviations`` on a free port, as the environment a corpus pass points tds at."""
    with serving(TdsReceiver(deviations, state_hook=state_hook)) as url:
        yield {"EXAMRIG_TARGETS": f"tds={url}"}


def main() -> None:
    """``python -m tests.conformance.independent.tds_receiver [--deviation NAME ...] [--no-state-hook]``."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deviation", action="append", default=[], choices=sorted(DEVIATIONS))
    parser.add_argument("--no-state-hook", action="store_true")
    args = parser.parse_args()
    with serving(TdsReceiver(args.deviation, state_hook=not args.no_state_hook)) as url:
        print(url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()


__all__ = ["DEVIATIONS", "TdsReceiver", "observer", "serve_variant", "serving"]
