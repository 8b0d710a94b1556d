"""Hand-made journal entries for the client-rule tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mocks.core.journal import Entry

BASE = {"deliveryodata": "http://127.0.0.1:1", "proctoru": "http://127.0.0.1:2", "tis": "http://127.0.0.1:3",
        "thss": "http://127.0.0.1:4", "dw": "http://127.0.0.1:5", "tds": "http://127.0.0.1:6",
        "openam": "http://127.0.0.1:7"}


class Journal:
    """Builds entries with increasing seq, one service and tenant, the real-clock ts given per entry."""

    def __init__(self, service: str, tenant: str = "default") -> None:
        self.service, self.tenant = service, tenant
        self.entries: list[Entry] = []

    def add(self, method: str, target: str, *, body: Any = None, status: int = 200, response: Any = None,
            headers: dict[str, str] | None = None, ts: str = "2026-12-01T10:00:00Z", direction: str = "in",
            fault: bool = False, note: str | None = None, size: int | None = None) -> Entry:
        text = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
        rtext = response if isinstance(response, str) else ("" if response is None else json.dumps(response))
        hdrs = {"Authorization": "<redacted>", "Content-Type": "application/json"} if headers is None else headers
        path = target.split("?", 1)[0]
        entry = Entry(seq=len(self.entries) + 1, ts=ts, direction=direction, service=self.service,
                      tenant=self.tenant, method=method, url=BASE[self.service] + target, path=path,
                      request_headers=hdrs, request_body=text,
                      request_sha256=hashlib.sha256(text.encode()).hexdigest(),
                      request_size=size if size is not None else len(text.encode()), status=status,
                      response_body=rtext, response_size=len(rtext.encode()),
                      fault={"applied": [{"kind": "delay"}]} if fault else None, note=note)
        self.entries.append(entry)
        return entry


class Timeline:
    """Several services' journals written in one order: each entry's real-clock ts one second after the last
    (seqs number each journal apart, as the mocks' journals do; the rules compare ts across journals)."""

    def __init__(self, *services: str, tenant: str = "default") -> None:
        self.journals = {s: Journal(s, tenant) for s in services}
        self.clock = 0

    def add(self, service: str, method: str, target: str, **kw: Any) -> Entry:
        self.clock += 1
        ts = f"2026-12-01T10:{self.clock // 60:02d}:{self.clock % 60:02d}.000Z"
        return self.journals[service].add(method, target, ts=ts, **kw)

    @property
    def entries(self) -> list[Entry]:
        return [e for j in self.journals.values() for e in j.entries]
