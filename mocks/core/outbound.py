"""Calls from a mock to its peers: timeouts, journal entries and outbound faults."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import requests

from mocks.core.clock import Clock, iso
from mocks.core.faults import MALFORMED_BODY, FaultEngine, truncated
from mocks.core.journal import Journal, body_digest, redact_headers

TENANT_HEADER = "X-Examrig-Tenant"


class Outbound:
    """A ``requests`` client for one mock's calls to its peers.

    Every call is journaled (direction ``out``) with timing, status, bodies and the
    fault applied. Outbound fault rules (``direction: outbound``, matched on the
    peer name or URL) can make a peer look down (``reset``: a connection error is
    raised without any network traffic), slow (``latency``), failing (``status``:
    a synthetic response), or garbled (``truncate``, ``malformed``). The tenant is
    passed on in ``X-Examrig-Tenant`` so that examrig peers keep the same partition.
    """

    def __init__(self, service: str, journal: Journal, faults: FaultEngine,
                 timeout: float = 10.0, propagate_tenant: bool = True,
                 mounts: Mapping[str, Any] | None = None) -> None:
        self.service = service
        self.journal = journal
        self.faults = faults
        self.timeout = timeout
        self.propagate_tenant = propagate_tenant
        self.mounts = mounts if mounts is not None else {}
        self._local = threading.local()
        # set by the service: wraps a wait so its server keeps its base count of working threads
        self.parked: Callable[[], AbstractContextManager[None]] = nullcontext

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None or getattr(self._local, "mounted", -1) != len(self.mounts):
            session = requests.Session()
            # read proxy and CA settings from the environment once, not on every call (~1 ms each)
            session.proxies.update(urllib.request.getproxies())
            session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            session.trust_env = False
            for prefix, adapter in self.mounts.items():
                session.mount(prefix, adapter)
            self._local.session = session
            self._local.mounted = len(self.mounts)
        return session

    def request(self, method: str, url: str, *, tenant: str = "default", peer: str | None = None,
                headers: Mapping[str, str] | None = None, timeout: float | None = None,
                **kwargs: Any) -> requests.Response:
        """Send one request; raises ``requests.RequestException`` as ``requests`` does."""
        hdrs = dict(headers or {})
        if self.propagate_tenant:
            hdrs.setdefault(TENANT_HEADER, tenant)
        req = requests.Request(method.upper(), url, headers=hdrs, **kwargs)
        prepared = self._session().prepare_request(req)
        body = prepared.body or b""
        raw_body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        path = urlsplit(url).path or "/"
        applied = self.faults.decide(direction="outbound", tenant=tenant, method=method, path=path,
                                     peer=peer or url)
        # also let a rule name the URL when the caller named a peer
        if peer is not None and not applied:
            applied = self.faults.decide(direction="outbound", tenant=tenant, method=method, path=path,
                                         peer=url)
        started = time.monotonic()
        response: requests.Response | None = None
        error: str | None = None
        try:
            for fault in applied:
                if fault.kind == "latency":
                    with self.parked():
                        time.sleep(float(fault.params["delay_ms"]) / 1000.0)
            terminal = next((f for f in applied if f.kind != "latency"), None)
            if terminal is not None and terminal.kind == "reset":
                raise requests.ConnectionError(f"examrig: injected connection reset calling {url}")
            if terminal is not None and terminal.kind == "status":
                rule = self.faults.rule(terminal.rule)
                response = _synthetic(prepared, int(terminal.params["status"]),
                                      (rule.body if rule else "").encode(), rule.headers if rule else {})
            else:
                with self.parked():
                    response = self._session().send(prepared, timeout=timeout or self.timeout)
                if terminal is not None and terminal.kind == "truncate":
                    response._content = truncated(response.content, float(terminal.params["fraction"]))
                elif terminal is not None and terminal.kind == "malformed":
                    response._content = MALFORMED_BODY
            return response
        except requests.RequestException as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise
        finally:
            self._journal(prepared, raw_body, tenant, peer, path, response, error, applied,
                          (time.monotonic() - started) * 1000.0)

    def _journal(self, prepared: requests.PreparedRequest, raw_body: bytes, tenant: str,
                 peer: str | None, path: str, response: requests.Response | None, error: str | None,
                 applied: list[Any], duration_ms: float) -> None:
        req_text, req_sha, req_size = body_digest(raw_body)
        values: dict[str, Any] = {
            "ts": iso(Clock.wall()), "direction": "out", "service": self.service, "tenant": tenant,
            "method": prepared.method or "", "url": prepared.url or "", "path": path, "peer": peer,
            "request_headers": redact_headers(prepared.headers.items()),
            "request_body": req_text, "request_sha256": req_sha, "request_size": req_size,
            "duration_ms": round(duration_ms, 3), "error": error,
            "fault": {"applied": [f.to_dict() for f in applied]} if applied else None,
        }
        if response is not None:
            resp_text, resp_sha, resp_size = body_digest(response.content)
            values.update(status=response.status_code,
                          response_headers=redact_headers(response.headers.items()),
                          response_body=resp_text, response_sha256=resp_sha, response_size=resp_size)
        self.journal.record(**values)


def _synthetic(prepared: requests.PreparedRequest, status: int, body: bytes,
               headers: Mapping[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers)
    response.url = prepared.url or ""
    response.request = prepared
    response.reason = "Injected fault"
    return response
