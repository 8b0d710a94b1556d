"""jsonbody's shortcuts (the opener count before the depth scan, the pathless check before the naming one) answer
exactly as the full checks do, refusals and their messages included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mocks.core import jsonbody

# members each shortcut must still see: surrogates, Int64 edges and past them, long integers, nesting
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**25]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
    st.sampled_from(["\ud800", "a\udfffb", "\\u005b", "[[{"]),
)
DOCS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=4), st.just("\udc00")), inner, max_size=4)), max_leaves=24)
EDGES = ["NaN", '{"a": -Infinity}', "1e400", "[-1e400]", "[" * 70 + "]" * 70, "[" * 64 + "]" * 64,
         "[" * 65 + "]" * 65, '{"a": [' * 40 + "1" + "]}" * 40, '"[[[[" ', '["\\ud800"]', '{"\\udfff": 1}',
         '{"k": 123456789012345678901}', "", "{", '{"a": 1}']


def _answer(body: str | bytes) -> tuple[str, Any]:
    try:
        return "value", jsonbody.loads(body)
    except jsonbody.JsonRefused as exc:
        return "refused", (exc.field, exc.message)


def _same(body: str | bytes) -> None:
    fast = _answer(body)
    with pytest.MonkeyPatch.context() as full:  # both shortcuts off: the depth scan and the naming check always
        full.setattr(jsonbody, "_too_deep", jsonbody._depth_at)
        full.setattr(jsonbody, "_fine", lambda value, strings: False)
        reference = _answer(body)
    assert fast == reference, body


@settings(max_examples=100, derandomize=True, deadline=None)
@given(DOCS)
def test_documents_answer_as_the_full_checks(doc: Any) -> None:
    _same(json.dumps(doc))  # every surrogate as a \u escape, as a client writes it
    _same(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"))  # raw bytes (not UTF-8 then)
    _same(json.dumps(doc, ensure_ascii=False).encode("utf-16", "surrogatepass"))  # RFC 8259 8.1 detection


@pytest.mark.parametrize("raw", EDGES)
def test_edge_documents_answer_as_the_full_checks(raw: str) -> None:
    _same(raw)
    _same(raw.encode("utf-8", "surrogatepass"))


def test_the_shortcuts_still_refuse() -> None:
    """The common path is no bypass: each kind of refusal still comes, naming its member."""
    cases = {'{"a": {"b": 9223372036854775808}}': "a.b", '{"x": [1, NaN]}': "x[1]", '{"f": 1e400}': "f",
             '{"s": "\\ud800"}': "s", '{"\\udc00": 1}': "body", '[{"k": 123456789012345678901}]': "[0].k"}
    for body, field in cases.items():
        with pytest.raises(jsonbody.JsonRefused) as info:
            jsonbody.loads(body)
        assert info.value.field == field, body
    with pytest.raises(jsonbody.JsonRefused, match="deeper than 64"):
        jsonbody.loads("[" * 65 + "]" * 65)
