"""Issue 12: the one bounded JSON reader (mocks/core/jsonbody.py), alone and behind every JSON endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from mocks import registry
from mocks.core import jsonbody
from mocks.core.app import Runtime, ServiceApp
from mocks.core.errors import ServiceError

DEEP = b"[" * 100_000 + b"]" * 100_000


def refused(body: bytes | str, **kw: Any) -> jsonbody.JsonRefused:
    with pytest.raises(jsonbody.JsonRefused) as info:
        jsonbody.loads(body, **kw)
    return info.value


def test_plain_documents_read_as_the_standard_library_reads_them() -> None:
    doc = {"a": [1, 2.5, "x", None, True], "b": {"c": -(2**63), "d": 2**63 - 1}, "é": "ü"}
    assert jsonbody.loads(json.dumps(doc).encode()) == doc
    assert jsonbody.loads('"\\u005b[not a bracket"') == "[[not a bracket"


def test_depth_is_bounded_and_the_offset_named() -> None:
    err = refused(DEEP)
    assert err.field == "body" and "deeper than 64" in err.message and "offset 64" in err.message
    assert jsonbody.loads(b"[" * 64 + b"]" * 64) is not None


def test_brackets_inside_strings_do_not_count() -> None:
    assert jsonbody.loads(json.dumps({"s": "[" * 1000})) == {"s": "[" * 1000}


def test_integers_beyond_int64_name_their_member() -> None:
    err = refused(b'{"Minutes": 9223372036854775808}')
    assert err.field == "Minutes" and "64-bit" in err.message
    assert refused(b'{"a": [0, {"b": -9223372036854775809}]}').field == "a[1].b"
    huge = refused(b'{"n": ' + b"9" * 5000 + b"}")  # beyond Python's int-string limit: no ValueError escapes
    assert huge.field == "n" and len(huge.message) < 200


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(text: str) -> None:
    err = refused(f'{{"advance": {text}}}')
    assert err.field == "advance" and text in err.message


def test_overflowing_floats_and_lone_surrogates_are_refused() -> None:
    assert refused(b'{"x": 1e400}').field == "x"
    assert refused(b'{"s": "\\ud800"}').field == "s"


def test_empty_bodies_malformed_text_and_size() -> None:
    assert refused(b"  ").field == "body"
    assert jsonbody.loads(b"", empty={}) == {}
    assert "line 1 column 2" in refused(b"{x").message
    assert refused(b"\xff\xfe\x00").field == "body"
    assert refused(b"[1]", max_bytes=2).field == "body"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                                         max_size=4),
                              max_leaves=20).map(lambda v: json.dumps(v).encode()),
                 st.integers(1, 300).map(lambda n: b"[" * n + b"]" * n)))
def test_any_input_gives_a_value_or_a_service_error(body: bytes) -> None:
    try:
        value = jsonbody.loads(body)
    except ServiceError as exc:
        assert exc.status == 400 and exc.field
    else:
        json.dumps(value, allow_nan=False).encode("utf-8")  # what came back is JSON again, UTF-8 clean


# -- behind the endpoints: each service's own error format, naming the field -------------------------

@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, ServiceApp]]:
    runtime = Runtime.create(db="sqlite://")
    built = {name: info.cls(runtime) for name, info in registry.available().items()}
    yield built
    for app in built.values():
        app.stop()
    runtime.store.dispose()


@pytest.mark.parametrize("service", sorted(registry.ORDER))
def test_the_admin_door_refuses_deep_json_in_examrig_shape(apps: dict[str, ServiceApp], service: str) -> None:
    response = Client(apps[service]).post("/_examrig/seed", data=DEEP, content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "body" and "deeper than 64" in error["message"]


def test_tds_answers_in_spring_json(apps: dict[str, ServiceApp]) -> None:
    response = Client(apps["tds"]).post("/student/TIS/API/tisReply", data=DEEP, content_type="application/json")
    body = response.get_json()
    assert response.status_code == 400 and body["status"] == 400 and body["field"] == "body"
    assert "JSON parse error" in body["message"] and "path" in body
    big = Client(apps["tds"]).post("/student/TIS/API/tisReply", data=b'{"oppKey": 1e999}',
                                   content_type="application/json")
    assert big.status_code == 400 and big.get_json()["field"] == "oppKey"


def test_thss_answers_in_its_format(apps: dict[str, ServiceApp]) -> None:
    response = Client(apps["thss"]).post("/_examrig/score", data=DEEP, content_type="application/json")
    assert response.status_code == 400  # an admin control: examrig's shape
    assert response.get_json()["error"]["field"] == "body"


def test_proctoru_answers_with_its_response_code(apps: dict[str, ServiceApp]) -> None:
    client = Client(apps["proctoru"])
    response = client.post("/api/getTimeZoneList", data=DEEP, content_type="application/json",
                           headers={"Authorization-Token": "x"})
    assert response.status_code < 500
    body = response.get_json()
    assert "response_code" in body


def test_tis_scoring_callback_always_answers_200(apps: dict[str, ServiceApp]) -> None:
    client = Client(apps["tis"])
    token = '{"oppKey": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "itemBank": 99999999999999999999, "itemID": 1}'
    bodies = [DEEP, b"<ItemScoreResponse>" + b"<a>" * 300, b"\xff\xfe",
              f'<ItemScoreResponse><Score><ScoreInfo scoreStatus="Scored" scorePoint="NaN"/>'
              f"<ContextToken>{token}</ContextToken></Score></ItemScoreResponse>".encode(),
              b'<ItemScoreResponse><Score><ScoreInfo scoreStatus="Scored" scorePoint="1"/>'
              b"<ContextToken>" + b"[" * 10_000 + b"</ContextToken></Score></ItemScoreResponse>"]
    for body in bodies:
        assert client.post("/ItemScoringCallbackRcv.axd", data=body, content_type="text/xml").status_code == 200


def test_deliveryodata_answers_in_odata_error(apps: dict[str, ServiceApp]) -> None:
    import base64
    auth = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode()}
    client = Client(apps["deliveryodata"])
    response = client.post("/deliveryodata/400449/Attempts", data=DEEP, content_type="application/json", headers=auth)
    error = response.get_json()["odata.error"]
    assert response.status_code == 400 and "deeper than 64" in error["message"]["value"]
    response = client.post("/deliveryodata/400449/Attempts", data=b'{"ParticipantID": 1e999}',
                           content_type="application/json", headers=auth)
    assert response.status_code == 400 and "ParticipantID" in response.get_json()["odata.error"]["message"]["value"]
