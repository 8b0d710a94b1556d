"""hypothesis properties: the $filter parser and query options, the signed-URL verifier, JSON and XML bodies.

Every property is seeded (``derandomize``), has no deadline (a loaded 2-core machine) and a modest
number of examples. Bodies go to the mocks in process (WSGI, no sockets) and must be answered with a
documented status in the service's format; the core's catch-all logging an unexpected error fails the
example with the request that caused it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from contracts.mutate import mutants
from contracts.odata.csdl import load as load_csdl
from contracts.openapi import served_document
from contracts.openapi.responses import ResponseChecker
from mocks.core.errors import ServiceError
from mocks.core.inprocess import WSGIAdapter
from mocks.deliveryodata import signing
from mocks.deliveryodata.odata import FILTERABLE, KNOWN_OPTIONS, QueryOptions, parse_filter, parse_options
from tests.fuzz.conftest import app, unexpected_errors

PROPS = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BODIES = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.function_scoped_fixture])
CSDL = load_csdl()
SETS = sorted(FILTERABLE)

# -- $filter and the query options -------------------------------------------------------------------------------

def _sizes(small: int, *large: int) -> st.SearchStrategy[int]:
    """Small sizes, and the named large ones that cross a limit."""
    return st.one_of(st.integers(min_value=1, max_value=small), st.sampled_from(large))


_WORDS = ["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "(", ")", "null", "true", "false", "'x'", "''",
          "'it''s'", "0", "-1", "2147483648", "9223372036854775808", "99999999999999999999", "1.5", "1e308",
          "datetime'2026-01-01T00:00:00'", "datetime'9999-12-31T23:59:59'", "datetime'0001-01-01'",
          "guid'00000000-0000-0000-0000-000000000000'", "substringof('a',Name)", "Name/Foo", "$it", ",", "/",
          *sorted({p for props in FILTERABLE.values() for p in props})]
filters = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(_WORDS), max_size=24).map(" ".join),
    # deep nesting and long literals: the parser's recursion and Python's int-string limit (hypothesis draws
    # small integers first, so the sizes that matter are named)
    _sizes(50, 500, 1000, 3000).map(lambda n: "(" * n + "ID eq 1" + ")" * n),
    _sizes(50, 500, 1000, 3000).map(lambda n: "not " * n + "ID eq 1"),
    _sizes(50, 500, 1500).map(lambda n: " and ".join(["ID eq 1"] * n)),
)
# long literals apart: hypothesis reports one failure per test, and the int-string limit is its own class
long_literals = _sizes(25, 19, 20, 4300, 4301, 6000).map(lambda n: "ID eq " + "9" * n)


@PROPS
@given(entity_set=st.sampled_from(SETS), text=filters)
def test_filter_parses_or_refuses_with_an_odata_error(entity_set: str, text: str) -> None:
    try:
        parse_filter(text, CSDL, entity_set)
    except ServiceError as exc:
        assert 400 <= exc.status < 500, (text[:200], exc.status, exc.message)


@PROPS
@given(entity_set=st.sampled_from(SETS), text=long_literals)
def test_filter_long_literals_are_refused_with_an_odata_error(entity_set: str, text: str) -> None:
    try:
        parse_filter(text, CSDL, entity_set)
    except ServiceError as exc:
        assert 400 <= exc.status < 500, (text[:200], exc.status, exc.message)


options = st.dictionaries(
    keys=st.one_of(st.sampled_from(KNOWN_OPTIONS), st.sampled_from(["$FILTER", "$top ", "$", "$nosuch"])),
    values=st.one_of(st.text(max_size=60), st.sampled_from(["0", "-1", "1" * 12, "allpages", "none", "ID desc",
                                                            "AttemptList", "AttemptList/Attempts", "ID eq 1"])),
    max_size=4)


@PROPS
@given(entity_set=st.sampled_from(SETS), args=options, single=st.booleans())
def test_query_options_give_options_or_an_odata_error(entity_set: str, args: dict[str, str], single: bool) -> None:
    try:
        result = parse_options(args, CSDL, entity_set, single=single)
    except ServiceError as exc:
        assert 400 <= exc.status < 500, (args, exc.status, exc.message)
        return
    assert isinstance(result, QueryOptions)
    assert result.raw == {k: v for k, v in args.items() if k.startswith("$")}


# -- signed URLs ---------------------------------------------------------------------------------------------------

text_field = st.text(min_size=1, max_size=40)


@PROPS
@given(secret=st.binary(min_size=1, max_size=64), path=text_field, nonce=text_field, stamp=text_field,
       role=st.sampled_from([signing.PARTICIPANT, signing.PROCTOR]), which=st.sampled_from(
           ["path", "nonce", "timestamp", "role", "signature"]), other=text_field)
def test_signed_url_any_change_is_refused(secret: bytes, path: str, nonce: str, stamp: str, role: str, which: str,
                                          other: str) -> None:
    sig = signing.signature(secret, path, nonce, stamp, role)
    good = signing.Presented(nonce=nonce, timestamp=stamp, role=role, signature=sig)
    assert signing.valid(secret, path, good)
    fields = {"path": path, "nonce": nonce, "timestamp": stamp, "role": role, "signature": sig}
    changed = other if other != fields[which] else other + "x"
    if which == "signature" and changed.lower() == sig:  # hex compares case-insensitively: not a change
        changed = changed + "0"
    fields[which] = changed
    presented = signing.Presented(nonce=fields["nonce"], timestamp=fields["timestamp"], role=fields["role"],
                                  signature=fields["signature"])
    assert not signing.valid(secret, fields["path"], presented), (which, changed)
    # another customer's secret (HMAC pads a short key with zeros: flip a bit rather than append one)
    assert not signing.valid(bytes([secret[0] ^ 1]) + secret[1:], path, good)


def test_signed_url_round_trip_through_its_query_string() -> None:
    from datetime import UTC, datetime
    from urllib.parse import parse_qs, urlsplit

    url = signing.signed_url(b"k", "https://x", "/lobby/c/1", "n-1", datetime(2026, 1, 1, tzinfo=UTC), "participant")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert signing.valid(b"k", parts.path, signing.Presented(query["nonce"], query["timestamp"], query["role"],
                                                             query["signature"]))


# -- bodies posted to the mocks ------------------------------------------------------------------------------------

def _session(service: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://mock/", WSGIAdapter(app(service)))
    return session


_CHECKERS: dict[str, ResponseChecker] = {}


def _post(service: str, path: str, body: bytes, content_type: str, **kw: Any) -> requests.Response:
    """Post in process; fail on an unexpected error or an answer the service's OpenAPI document does not declare."""
    headers = {"Content-Type": content_type, "X-Examrig-Tenant": "props", **kw.pop("headers", {})}
    with unexpected_errors() as logged:
        response = _session(service).post("http://mock" + path, data=body, headers=headers, timeout=60, **kw)
    curl = f"curl -X POST 'http://{service}{path}' -H 'Content-Type: {content_type}' --data-binary @- ({len(body)} B)"
    assert not logged, f"{service} logged an unexpected error for {curl}\n" + "\n".join(logged)[-3000:]
    checker = _CHECKERS.setdefault(service, ResponseChecker(served_document(service)))
    problems = checker.check("POST", path.split("?")[0], response.status_code, response.headers.get("Content-Type"),
                             response.content)
    assert not problems, f"{curl}: {problems}"
    return response


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
    | st.sampled_from([2**63, -(2**63) - 1, 10**30, 1e308]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
deep = _sizes(20, 1000, 100_000).map(lambda n: "[" * n + "]" * n)
JSON_ENDPOINTS = [("tds", "/tis"), ("tds", "/student/TIS/API/tisReply"), ("thss", "/api/item/submit"),
                  ("proctoru", "/api/getStudentProfile"), ("openam", "/auth/oauth2/access_token"),
                  ("tds", "/_examrig/clock"), ("dw", "/_examrig/seed"), ("tis", "/_examrig/faults"),
                  ("thss", "/_examrig/score"), ("proctoru", "/_examrig/journal/verify")]


@BODIES
@given(target=st.sampled_from(JSON_ENDPOINTS), body=st.one_of(json_values.map(json.dumps), deep,
                                                              st.text(max_size=50)))
def test_json_bodies_get_a_documented_answer(target: tuple[str, str], body: str) -> None:
    service, path = target
    headers = {"Authorization-Token": "e7a1c0de-0000-4000-8000-000000000001"} if service == "proctoru" else {}
    response = _post(service, path, body.encode("utf-8", "surrogatepass"), "application/json", headers=headers)
    assert response.status_code < 500, (path, body[:200], response.status_code, response.text[:300])


@pytest.fixture(scope="module")
def trts(shared_data: Path) -> list[Any]:
    return [etree.fromstring(p.read_bytes()) for p in sorted((shared_data / "tis" / "trt").glob("*.xml"))]


XML_TARGETS = ["tis", "thss", "dw1", "dw2"]


@BODIES
@given(which=st.integers(min_value=0, max_value=999), seed=st.integers(min_value=0, max_value=2**32),
       target=st.sampled_from(XML_TARGETS))
def test_trt_mutants_get_a_documented_answer(trts: list[Any], which: int, seed: int, target: str) -> None:
    root = trts[which % len(trts)]
    description, mutant = next(mutants(root, seed, 1, max_steps=3))
    body = etree.tostring(mutant, xml_declaration=True, encoding="UTF-8")
    if target == "tis":
        response = _post("tis", "/api/testresult?statusCallback=http%3A%2F%2Ftds.examrig.internal%2Ftis", body,
                         "application/xml")
        # the one 5xx the real TIS gives: a well-formed TRT whose key fields do not parse (reference notes)
        assert response.status_code < 500 or response.json().get("Message") == "Could not persist the request.", \
            (description, response.status_code, response.text[:300])
    elif target == "thss":
        response = _post("thss", "/api/test/submit", *_multipart(body))
        assert response.status_code == 200, (description, response.status_code, response.text[:300])
    else:
        response = _post("dw", f"/{target}/services/xml", body, "application/xml")
        assert response.status_code in (200, 400), (description, response.status_code, response.text[:300])


def _multipart(body: bytes) -> tuple[bytes, str]:
    boundary = "examrigfuzzboundary"
    data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"trt.xml\"\r\n"
            f"Content-Type: application/xml\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
    return data, f"multipart/form-data; boundary={boundary}"


@PROPS
@given(signature=st.text(min_size=1, max_size=70))
def test_lobby_refuses_any_presented_signature_without_a_server_error(signature: str) -> None:
    """Found by the property above: a non-ASCII signature made ``hmac.compare_digest`` raise (a 500)."""
    from urllib.parse import urlencode

    service = app("deliveryodata")
    customer = next(iter(service.config.customers))  # type: ignore[attr-defined]
    query = urlencode({"nonce": "n", "timestamp": "2026-01-01T00:00:00.0000000Z", "role": "participant",
                       "signature": signature})
    with unexpected_errors() as logged:
        response = _session("deliveryodata").get(f"http://mock/lobby/{customer}/lobby/SystemCheck/1?{query}",
                                                 headers={"X-Examrig-Tenant": "props"}, timeout=60)
    assert not logged, "\n".join(logged)[-2000:]
    assert 400 <= response.status_code < 500, (signature, response.status_code, response.text[:300])


odata_keys = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str),
                       st.sampled_from(["9223372036854775807", "9223372036854775808", "99999999999999999999",
                                        "-9223372036854775809", "1L", "'x'", "", "0x10", "²"]))


@BODIES
@given(entity_set=st.sampled_from(["Attempts", "AttemptLists", "Participants", "Assessments", "Appointments"]),
       key=odata_keys, text=st.one_of(filters, long_literals))
def test_odata_keys_and_filters_over_http_never_a_server_error(entity_set: str, key: str, text: str) -> None:
    """The same inputs through the served OData feed: a documented 4xx in OData's error format, never a 5xx."""
    import base64
    from urllib.parse import quote

    session = _session("deliveryodata")
    headers = {"X-Examrig-Tenant": "props", "Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode()}
    for path in (f"/deliveryodata/400449/{entity_set}({quote(key)})",
                 f"/deliveryodata/400449/{entity_set}?$filter={quote(text)}"):
        with unexpected_errors() as logged:
            response = session.get("http://mock" + path, headers=headers, timeout=60)
        assert not logged, f"curl 'http://deliveryodata{path[:300]}'\n" + "\n".join(logged)[-2000:]
        assert response.status_code < 500, (path[:300], response.status_code, response.text[:300])
