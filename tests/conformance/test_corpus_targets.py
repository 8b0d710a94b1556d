"""What the corpus needs of a target: state hook and capability options, and ``unsupported`` where they lack."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Skipped

from conformance.outcomes import UNSUPPORTED_PREFIX, HarnessError, is_unsupported
from conformance.targets import (
    STATE_HOOK_HEADER,
    Rig,
    TargetError,
    check_state_hook,
    parse_capabilities,
    parse_state_hooks,
)
from tests.conformance.independent.tds_receiver import TdsReceiver, serving

KEY = "aa19a641-c782-4426-8586-e7d77edf2d02"


def test_options_parse_and_refuse_nonsense() -> None:
    assert parse_state_hooks("tds=http://h:1/hook/") == {"tds": "http://h:1/hook"}
    assert parse_capabilities(["tds.idempotency_key,examrig.conventions", " dw.idempotency_key "]) == {
        "tds.idempotency_key", "examrig.conventions", "dw.idempotency_key"}
    assert parse_capabilities(None) == frozenset()
    with pytest.raises(TargetError, match="state hook 'tds' must look like"):
        parse_state_hooks(["tds"])
    with pytest.raises(TargetError, match=r"must look like service\.name"):
        parse_capabilities("idempotency")
    with pytest.raises(TargetError, match="not a target"):
        Rig(targets={}, state_hooks={"tds": "http://127.0.0.1:1"}).close()


def _unsupported_reason(call: object) -> str:
    with pytest.raises(Skipped) as info:
        call()  # type: ignore[operator]
    reason = str(info.value.msg)
    assert is_unsupported(reason), reason
    return reason


def test_a_target_with_its_state_hook_is_seeded_and_read_through_it() -> None:
    receiver = TdsReceiver()
    with serving(receiver) as url:
        rig = Rig(targets={"tds": url})
        try:
            assert rig.state_hooks == {"tds": url + "/_examrig"}
            seeded = rig.admin("tds", "POST", "seed", tenant="t1",
                               json={"opportunities": [{"oppKey": KEY, "status": "expired"}]})
            assert seeded.status_code == 201, seeded.text
            assert rig.admin("tds", "GET", f"state/opportunities/{KEY}", tenant="t1").json()["status"] == "expired"
            assert rig.admin("tds", "GET", f"state/opportunities/{KEY}", tenant="t2").status_code == 404
            # Operations of examrig's admin door that are not the state hook are unsupported on a target.
            reason = _unsupported_reason(lambda: rig.admin("tds", "GET", "journal", tenant="t1"))
            assert "'journal' is not part of the state hook" in reason
            # A seed that does not fit the schema is the harness's error, not the target's fail.
            with pytest.raises(HarnessError, match=r"does not fit contracts/statehook/tds\.json"):
                rig.admin("tds", "POST", "seed", tenant="t1", json={"opportunities": [{"oppKey": "x"}]})
            assert not rig.has_capability("tds.idempotency_key")
            assert rig.has_capability("dw.idempotency_key")  # dw is examrig's mock in this run
        finally:
            rig.close()


def test_without_a_state_hook_the_scenario_is_unsupported_and_the_probe_runs_once() -> None:
    probes: list[str] = []
    receiver = TdsReceiver(state_hook=False)
    original = receiver.__call__

    def counting(environ: dict[str, object], start_response: object) -> list[bytes]:
        if str(environ.get("PATH_INFO", "")).endswith("/health"):
            probes.append(str(environ.get("HTTP_" + STATE_HOOK_HEADER.upper().replace("-", "_"))))
        return original(environ, start_response)  # type: ignore[arg-type]

    with serving(counting) as url:  # type: ignore[arg-type]
        rig = Rig(targets={"tds": url}, capabilities=frozenset({"tds.idempotency_key"}))
        try:
            for _ in range(3):
                reason = _unsupported_reason(lambda: rig.admin("tds", "POST", "seed", json={"opportunities": []}))
                assert reason.startswith(UNSUPPORTED_PREFIX + "the scenario needs tds's state hook"), reason
                assert "answered 404" in reason, reason
            assert probes == ["1"], probes
            assert rig.has_capability("tds.idempotency_key")
        finally:
            rig.close()


def test_the_schemas_hold_what_the_receiver_answers() -> None:
    check_state_hook("tds", "health", {"status": "ok", "service": "tds", "state_hook": 1})
    with pytest.raises(HarnessError, match="state/journal"):
        check_state_hook("tds", "state/journal", {})
    with pytest.raises(HarnessError, match="'status' is a required property"):
        check_state_hook("tds", "state/opportunities", {"oppKey": KEY, "audit": []})
