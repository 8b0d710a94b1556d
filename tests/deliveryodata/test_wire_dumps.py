"""The JSON Light fast paths of wire.py give the bytes of the slow ones: orjson against json, and encode_entity
(one update, then the Int64/DateTime/navigation properties rewritten) against the per-property loop it replaced."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from contracts.odata.csdl import CsdlModel, format_datetime
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.deliveryodata import wire
from mocks.deliveryodata.service import Service


def _slow(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every document orjson was given (so a test knows the fast path ran, not only json)."""
    calls: list[Any] = []
    real = orjson.dumps

    def counting(data: Any) -> bytes:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(orjson, "dumps", counting)
    return calls


def test_every_character_is_written_as_json_writes_it(fast_calls: list[Any]) -> None:
    # every code point but the surrogates, as a value and as a key: alone for the ASCII range (the escapes),
    # in runs of 512 beyond it
    singles = [chr(c) for c in range(0x100)] + ["\u2028", "\u2029", "\ufeff", "\U0010ffff"]
    for ch in singles:
        one = {"k": ch, ch: "v", "x": f"a{ch}b"}
        assert wire.dumps(one) == _slow(one), repr(ch)
    points = [c for c in range(0x100, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(points), 512):
        text = "".join(map(chr, points[start:start + 512]))
        doc: dict[str, Any] = {"value": text, text[:8]: None}
        assert wire.dumps(doc) == _slow(doc), hex(points[start])
    assert len(fast_calls) == len(singles) + (len(points) + 511) // 512


@pytest.mark.parametrize("value", [0, 1, -1, 2**31, 2**63 - 1, -(2**63), 2**64 - 1, True, False, None, "", "ü€😀"])
def test_scalars(value: Any, fast_calls: list[Any]) -> None:
    doc = {"odata.metadata": "http://h/deliveryodata/400449/$metadata#Attempts/@Element", "v": value}
    assert wire.dumps(doc) == _slow(doc)
    assert fast_calls == [doc]


@pytest.mark.parametrize("doc", [
    {"v": 2**64}, {"v": -(2**63) - 1},  # past 64 bits: orjson refuses, json writes them
    {1: "a", "b": 2},  # a key that is not a string: json converts it
])
def test_what_orjson_refuses_is_written_by_json(doc: dict[Any, Any]) -> None:
    assert wire.dumps(doc) == _slow(doc)


@pytest.mark.parametrize("doc", [
    {"v": 1e16}, {"v": 1e-7}, {"v": 0.1}, {"v": float("nan")}, {"v": float("inf")},  # json's float notation
    {"value": [{"ID": 1}]}, {"odata.error": {"code": "", "message": {"lang": "en-US", "value": "x"}}},  # nested
])
def test_floats_and_nested_documents_go_to_json(doc: dict[str, Any], fast_calls: list[Any]) -> None:
    assert wire.dumps(doc) == _slow(doc)
    assert fast_calls == []


def test_a_lone_surrogate_fails_as_it_did() -> None:
    with pytest.raises(UnicodeEncodeError):
        _slow({"v": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        wire.dumps({"v": "\ud800"})


# -- encode_entity against the loop it replaced ---------------------------------------------------------------


def _reference(model: CsdlModel, type_name: str, entity: dict[str, Any],
               out: dict[str, Any] | None = None) -> dict[str, Any]:
    """The per-property encoder wire.py had before (kept here as the oracle)."""
    etype = model.types[type_name]
    if out is None:
        out = {}
    for name, value in entity.items():
        if name in etype.navigation:
            nav = etype.navigation[name]
            if value is None:
                out[name] = None
            elif nav.many:
                out[name] = [_reference(model, nav.target, v) for v in value]
            else:
                out[name] = _reference(model, nav.target, value)
            continue
        prop = etype.properties[name]  # a KeyError for anything else, as before
        if value is None:
            out[name] = None
        elif prop.type == "Edm.Int64":
            out[name] = str(value)
        elif prop.type == "Edm.DateTime" and isinstance(value, datetime):
            out[name] = format_datetime(value, utc_suffix=(type_name, name) not in wire.UNSPECIFIED_KIND)
        else:
            out[name] = value
    return out


@pytest.fixture(scope="module")
def csdl() -> CsdlModel:
    return Service(Runtime.create(Settings(seed=1), db="sqlite://")).model.csdl


_DATETIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                          timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5))]))


def _value(type_name: str) -> st.SearchStrategy[Any]:
    by_type: dict[str, st.SearchStrategy[Any]] = {
        "Edm.Int16": st.integers(-(2**15), 2**15 - 1), "Edm.Int32": st.integers(-(2**31), 2**31 - 1),
        "Edm.Int64": st.integers(-(2**63), 2**63 - 1), "Edm.Boolean": st.booleans(), "Edm.String": st.text(),
        "Edm.DateTime": _DATETIMES | st.text(max_size=5),  # a DateTime already written passes as it is
    }
    return st.none() | by_type[type_name]


def _entity(model: CsdlModel, type_name: str, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    etype = model.types[type_name]
    fields: dict[str, st.SearchStrategy[Any]] = {name: _value(prop.type) for name, prop in etype.properties.items()}
    if depth:
        for name, nav in etype.navigation.items():
            inner = _entity(model, nav.target, depth - 1)
            fields[name] = st.lists(inner, max_size=2) if nav.many else st.none() | inner
    # any subset of the properties, in any order (the entity's order is the wire's)
    return st.lists(st.sampled_from(sorted(fields)), unique=True).flatmap(
        lambda names: st.fixed_dictionaries({n: fields[n] for n in names}))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_encode_entity_gives_the_reference_bytes(csdl: CsdlModel, data: st.DataObject) -> None:
    type_name = data.draw(st.sampled_from(sorted(csdl.types)))
    entity = data.draw(_entity(csdl, type_name, depth=1))
    before = dict(entity)
    got = wire.encode_entity(csdl, type_name, entity, {"odata.metadata": "m"})
    want = _reference(csdl, type_name, entity, {"odata.metadata": "m"})
    assert list(got) == list(want)
    assert _slow(got) == _slow(want) and wire.dumps(got) == wire.dumps(want)
    assert entity == before  # the caller's entity is not changed
    assert wire.encode_entity(csdl, type_name, entity) == _reference(csdl, type_name, entity)


def test_encode_entity_refuses_what_is_not_in_the_csdl(csdl: CsdlModel) -> None:
    with pytest.raises(KeyError, match="_session"):
        wire.encode_entity(csdl, "Attempt", {"ID": 1, "_session": "secret"})
    with pytest.raises(KeyError, match="tenant"):
        wire.encode_entity(csdl, "Attempt", {"ID": 1, "Result": {"ID": 2, "tenant": "t"}})


def test_the_served_get_is_what_json_writes(tmp_path: Path, fast_calls: list[Any]) -> None:
    service = Service(Runtime.create(Settings(seed=1, data_dir=str(tmp_path)), db=f"sqlite:///{tmp_path / 'f.db'}"))
    service.clock.freeze("t", datetime(2026, 3, 2, 9, 0, 12, 345000, tzinfo=UTC))
    model = service.model
    model.seed("t", "400449", "participants", [{"ID": 1}])
    model.seed("t", "400449", "assessments", [{"ID": "100000001"}])
    model.create_attempt("t", "400449", {"ExternalAttemptID": "x-\"q\"-\\-/", "ParticipantID": 1,
                                         "AssessmentID": "100000001", "UnlockCode": "AB12"})
    auth = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode(), "X-Examrig-Tenant": "t"}
    got = Client(service).get("/deliveryodata/400449/Attempts(1)", headers=auth)
    assert got.status_code == 200
    assert got.data == _slow(json.loads(got.data))  # the order and every byte as json writes the same document
    assert len(fast_calls) == 1 and fast_calls[0]["AssessmentID"] == "100000001"
