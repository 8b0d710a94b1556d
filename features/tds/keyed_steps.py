"""Steps about idempotency keys on TIS's deliveries (examrig's receivers: dw, tds); registered by the conftests
of features/dw and features/tds with :func:`register` (step texts are per directory, not global)."""

from __future__ import annotations

import json
from typing import Any

import requests
from pytest_bdd import parsers, then, when

from conformance.outcomes import unsupported
from conformance.targets import Rig

HEADER = "Idempotency-Key"


def _send(rig: Rig, tenant: str, context: dict[str, Any], service: str, path: str, key: str, **kwargs: Any) -> None:
    headers = dict(kwargs.pop("headers", {}))
    headers[HEADER] = f'"{key}"'
    context.setdefault("since_keyed", _next_seq(rig, service, tenant))
    context["response"] = rig.request(service, "POST", path, tenant=tenant, headers=headers, **kwargs)
    context.setdefault("keyed_responses", []).append(context["response"])


def _next_seq(rig: Rig, service: str, tenant: str) -> int | None:
    if not rig.is_mock(service):
        return None
    return int(rig.admin(service, "GET", "health", tenant=tenant).json()["journal"]["next_seq"])


def post_keyed(rig: Rig, tenant: str, context: dict[str, Any], service: str, path: str, key: str, data: bytes,
               content_type: str, **headers: str) -> None:
    """POST ``data`` with an idempotency key; the responses are kept in order (``keyed_responses``)."""
    _send(rig, tenant, context, service, path, key, data=data, headers={"Content-Type": content_type, **headers})


def register() -> None:
    """Define the generic steps in the calling conftest's namespace."""

    @when(parsers.parse('TIS sends to {service} "{path}" with idempotency key "{key}" the JSON:'), stacklevel=2)
    def keyed_json(rig: Rig, tenant: str, context: dict[str, Any], service: str, path: str, key: str,
                   docstring: str) -> None:
        """A JSON POST carrying ``Idempotency-Key``."""
        post_keyed(rig, tenant, context, service, path, key, docstring.encode("utf-8"), "application/json")

    @then("the response is marked as a replay", stacklevel=2)
    def marked_replay(context: dict[str, Any]) -> None:
        """``Idempotent-Replayed: true``: the answer came from the receiver's ledger."""
        response: requests.Response = context["response"]
        assert response.headers.get("Idempotent-Replayed") == "true", dict(response.headers)

    @then("the keyed responses are identical", stacklevel=2)
    def identical(context: dict[str, Any]) -> None:
        """Every response to the key had the first one's status and body."""
        responses: list[requests.Response] = context["keyed_responses"]
        assert len(responses) >= 2, responses
        first = responses[0]
        for other in responses[1:]:
            assert (other.status_code, other.content) == (first.status_code, first.content), \
                (first.status_code, first.text[:300], other.status_code, other.text[:300])

    @then(parsers.parse('the {service} journal notes {count:d} replay of idempotency key "{key}"'), stacklevel=2)
    def journal_replays(rig: Rig, tenant: str, context: dict[str, Any], service: str, count: int, key: str) -> None:
        """The receiver's journal: every request with the key since the scenario's first, ``count`` noted replays."""
        if not rig.is_mock(service):
            unsupported(f"{service} is a third-party target: it has no examrig journal to read replays from")
        window = rig.admin(service, "GET", "journal", tenant=tenant,
                           params={"since": context.get("since_keyed"), "direction": "in"}).json()
        mine = [e for e in window["entries"] if e["request_headers"].get(HEADER, "").strip('"') == key]
        assert mine, f"no inbound request with {HEADER} {key} in {window['count']} entries"
        replays = [e for e in mine if json.loads(e["note"] or "{}").get("replay") is True]
        assert len(replays) == count, [e["note"] for e in mine]
