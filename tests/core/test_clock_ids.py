"""Clock (frozen per tenant) and the id source (deterministic by seed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mocks.core.clock import Clock, iso, parse_iso
from mocks.core.ids import IdSource


def test_frozen_clock_is_per_tenant_and_advances_to_the_second() -> None:
    clock = Clock()
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    clock.freeze("a", at)
    assert clock.now("a") == at
    assert clock.now("b") != at and not clock.is_frozen("b")
    assert clock.advance("a", 900) == at + timedelta(minutes=15)
    clock.unfreeze("a")
    assert abs((clock.now("a") - datetime.now(UTC)).total_seconds()) < 5


def test_set_running_clock_keeps_an_offset() -> None:
    clock = Clock()
    past = datetime(2020, 1, 1, tzinfo=UTC)
    now = clock.set("t", past, frozen=False)
    assert abs((now - past).total_seconds()) < 1
    assert not clock.is_frozen("t")
    clock.reset()
    assert clock.now("t").year >= 2026


def test_iso_round_trip() -> None:
    value = datetime(2026, 11, 21, 8, 30, 15, 123000, tzinfo=UTC)
    assert iso(value) == "2026-11-21T08:30:15.123Z"
    assert parse_iso("2026-11-21T08:30:15.123Z") == value
    assert parse_iso("2026-11-21T08:30:15").tzinfo is not None


def test_seeded_ids_are_reproducible_and_valid_uuids() -> None:
    a, b = IdSource(42), IdSource(42)
    first = [a.uuid() for _ in range(5)]
    assert first == [b.uuid() for _ in range(5)]
    assert all(len(u) == 36 and u[14] == "4" for u in first)
    assert IdSource(43).uuid() != first[0]
    assert a.rng("x").random() == b.rng("x").random()
    assert len(a.token(8)) == 16


def test_unseeded_ids_differ() -> None:
    assert IdSource().uuid() != IdSource().uuid()


def test_uuid_is_exactly_what_the_uuid_module_makes_of_the_same_bits() -> None:
    import random
    import uuid

    from mocks.core.ids import IdSource

    ids = IdSource(seed=11)
    twin = random.Random()
    twin.setstate(ids._main.getstate())
    for _ in range(2000):
        assert ids.uuid() == str(uuid.UUID(int=twin.getrandbits(128), version=4))
    assert uuid.UUID(ids.uuid()).version == 4


def test_uuids_in_one_draw_are_the_uuids_one_at_a_time() -> None:
    for seed, instance in ((11, 0), (11, 3), (None, 0)):
        batched, single = IdSource(seed, instance), IdSource(seed, instance)
        single._main.setstate(batched._main.getstate())  # the unseeded source too: the same stream from here
        for count in (1, 2, 2, 3, 2) * 200:
            assert batched.uuids(count) == [single.uuid() for _ in range(count)]
        assert batched.uuid() == single.uuid()  # and the stream goes on from the same place


def test_clock_refuses_instants_and_steps_out_of_bounds() -> None:
    import math

    import pytest

    from mocks.core.clock import ClockRangeError
    clock = Clock()
    at = datetime(2026, 3, 1, tzinfo=UTC)
    clock.freeze("a", at)
    for seconds in (1e20, math.nan, math.inf, -math.inf, 40e9):
        with pytest.raises(ClockRangeError) as info:
            clock.advance("a", seconds)
        assert info.value.field == "advance"
    assert clock.now("a") == at  # a refused step changes nothing
    for text in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "1969-12-31T23:59:59Z"):
        with pytest.raises(ClockRangeError) as info:
            clock.set("a", parse_iso(text))
        assert info.value.field == "set"
    with pytest.raises(ClockRangeError):
        clock.advance("a", -60 * 86400 * 365)  # before 1970
    assert clock.set("a", datetime(2999, 12, 31, tzinfo=UTC)).year == 2999
