"""Idempotency keys on TIS's deliveries: parsing, the key on the wire, the same key on a resend, a new one for a
resubmission, and the upgrade of an older database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from contracts.generate import generate_testpackage, generate_trt
from mocks.core.app import Runtime
from mocks.core.errors import InputError
from mocks.core.idempotency import MAX_KEY, fingerprint, parse_key
from mocks.core.settings import Settings
from mocks.tis.service import Service as TisService
from tests.tis.conftest import Harness

REQUIREMENTS = ("TIS-IDEM-001",)
PKG = generate_testpackage(41, items=8, hand_scored=False)


@pytest.mark.parametrize(("value", "key"), [
    (None, None), ('"tis-ab12-7"', "tis-ab12-7"), ("tis-ab12-7", "tis-ab12-7"), ("  spaced key ", "spaced key"),
    ("x" * MAX_KEY, "x" * MAX_KEY)])
def test_key_parsing_accepts_sf_strings_and_bare_tokens(value: str | None, key: str | None) -> None:
    assert parse_key(value) == key


@pytest.mark.parametrize(("value", "reason"), [
    ("", "must not be empty"), ('""', "must not be empty"), ("x" * (MAX_KEY + 1), "at most 255"),
    ("tis-dé", "printable ASCII"), ('"a"b"', "printable ASCII"), ("tab\there", "printable ASCII")])
def test_bad_keys_are_refused_naming_the_header(value: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        parse_key(value)
    assert info.value.field == "Idempotency-Key" and reason in info.value.reason


def test_fingerprint_tells_method_path_query_and_body_apart() -> None:
    base = fingerprint("POST", "/tis", "", b"{}")
    assert base == fingerprint("post", "/tis", "", b"{}")
    assert len({base, fingerprint("PUT", "/tis", "", b"{}"), fingerprint("POST", "/tis2", "", b"{}"),
                fingerprint("POST", "/tis", "jobid=1", b"{}"), fingerprint("POST", "/tis", "", b"{ }")}) == 5


def _wire_keys(harness: Harness, path_part: str) -> list[str]:
    """The Idempotency-Key of every outbound call of the harness's tenant to a URL containing ``path_part``."""
    entries = harness.tis.journal.query(direction="out", tenant=harness.tenant).entries
    return [e.request_headers.get("Idempotency-Key", "") for e in entries if path_part in e.url]


def _process_one(harness: Harness, seed: int) -> str:
    """Post one machine-scored TRT whose opportunity TDS holds as submitted, process it; its key."""
    harness.load_package(PKG)
    trt = generate_trt(seed, package=PKG)
    key = harness.submitted(trt)
    harness.post_trt(trt)
    harness.tis.process_pending(harness.tenant)
    return key


def test_every_delivery_carries_its_own_key_as_stored_in_the_outbox(harness: Harness) -> None:
    key = _process_one(harness, 1)
    opp = harness.tis.model.opportunity(harness.tenant, key)
    assert opp is not None
    sends = {s["kind"]: s["idempotencyKey"] for s in opp["sends"]}
    assert set(sends) == {"dw", "ack"} and sends["dw"] != sends["ack"]
    assert all(k.startswith("tis-") for k in sends.values())
    assert _wire_keys(harness, "dw.standin") == [f'"{sends["dw"]}"']
    assert _wire_keys(harness, "tisReply") == [f'"{sends["ack"]}"']


def test_a_send_in_doubt_is_resent_with_its_key_and_tds_applies_it_once(harness: Harness) -> None:
    key = _process_one(harness, 2)
    # as after a kill between TDS's answer and the 'sent' mark: the ack is still 'sending' in the outbox
    o = harness.tis.model.outbox
    with harness.tis.store.begin() as conn:
        conn.execute(o.update().where(o.c.tenant == harness.tenant, o.c.kind == "ack").values(state="sending"))
    assert harness.tis.processor.recover() >= 1
    wire = _wire_keys(harness, "tisReply")
    assert len(wire) == 2 and wire[0] == wire[1]  # resent, with the same key
    opp = harness.tds.model.opportunity(harness.tenant, key)
    assert opp is not None and [a["accessType"] for a in opp["audit"]] == ["reported"]  # applied once
    notes = [e.note for e in harness.tds.journal.query(direction="in", tenant=harness.tenant).entries]
    assert sum('"replay": true' in (n or "") for n in notes) == 1


def test_an_admin_resubmission_is_a_new_delivery_with_new_keys(harness: Harness) -> None:
    harness.dw_status = 500
    key = _process_one(harness, 3)
    harness.dw_status = 202
    harness.tis.seed(harness.tenant, {"resubmissions": [{"oppKey": key}]})
    harness.tis.process_pending(harness.tenant)
    dw_keys = _wire_keys(harness, "dw.standin")
    ack_keys = _wire_keys(harness, "tisReply")
    assert len(dw_keys) == 2 and len(set(dw_keys)) == 2
    assert len(ack_keys) == 2 and len(set(ack_keys)) == 2
    opp = harness.tds.model.opportunity(harness.tenant, key)
    assert opp is not None and [a["accessType"] for a in opp["audit"]] == ["rejected", "reported"]


def test_keys_never_repeat_after_a_restart_with_the_same_seed(tmp_path: Path) -> None:
    """The key's nonce comes from a seeded stream (the same after a restart): outbox ids keep the keys apart."""
    db = f"sqlite:///{tmp_path / 'tis.db'}"
    keys: list[str] = []
    for _ in range(2):
        runtime = Runtime.create(Settings(seed=5), db=db)
        tis = TisService(runtime, {"worker": False})
        with tis.store.begin() as conn:
            fileid = conn.execute(tis.model.q_insert_repo, {
                "tenant": "t", "location": "archive", "testname": "x", "oppid": 1, "oppkey": "k", "testee": 1,
                "statusdate": tis.clock.now("t"), "isdemo": False, "contents": "<TDSReport/>", "callbackurl": None,
                "scoremode": "default", "daterecorded": tis.clock.now("t"), "requeue": False}).inserted_primary_key[0]
            tis.processor._enqueue(conn, "t", fileid, "ack", "http://x/", "{}", "application/json", None)
        keys += [s["idempotencyKey"] for s in tis.model.opportunity("t", "k")["sends"]]  # type: ignore[index]
        tis.reset("t")  # a reset forgets the rows, not the ids handed out
        runtime.store.dispose()
    assert len(keys) == 2 and len(set(keys)) == 2


def test_an_older_database_gets_the_key_column(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'old.db'}"
    runtime = Runtime.create(Settings(seed=1), db=db)
    TisService(runtime, {"worker": False})
    with runtime.store.begin() as conn:  # as a database file made before the keys existed
        conn.execute(text("ALTER TABLE tis_outbox DROP COLUMN key_nonce"))
    runtime.store.dispose()
    runtime = Runtime.create(Settings(seed=1), db=db)
    tis = TisService(runtime, {"worker": False})
    with runtime.store.read() as conn:
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(tis_outbox)"))]
    assert "key_nonce" in columns
    assert tis.model.opportunity("t", "nothing") is None
    runtime.store.dispose()
