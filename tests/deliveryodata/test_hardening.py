"""Issue 12: $filter is bounded (depth, node count, literal size) with Web API's own messages; never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.deliveryodata.errors import InvalidQuery
from mocks.deliveryodata.odata import MAX_NODE_COUNT, NODE_COUNT_EXCEEDED, TOO_DEEP, parse_filter

AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode()}


@pytest.fixture(scope="module")
def app() -> Iterator[ServiceApp]:
    runtime = Runtime.create(db="sqlite://")
    built = registry.build("deliveryodata", runtime)
    yield built
    built.stop()
    runtime.store.dispose()


def refused(app: ServiceApp, text: str) -> str:
    with pytest.raises(InvalidQuery) as info:
        parse_filter(text, app.model.csdl, "Attempts")  # type: ignore[attr-defined]
    return info.value.message


def test_deep_parentheses_and_nots_are_refused_with_odatalib_text(app: ServiceApp) -> None:
    assert TOO_DEEP in refused(app, "(" * 100_000 + "ID eq 1" + ")" * 100_000)
    # each not is a node too: the node count is passed first, as Web API's validator would
    assert NODE_COUNT_EXCEEDED in refused(app, "not " * 100_000 + "ID eq 1")


def test_too_many_nodes_is_web_apis_node_count_error(app: ServiceApp) -> None:
    text = " or ".join(["ID eq 1"] * 40)
    assert NODE_COUNT_EXCEEDED in refused(app, text)
    assert "'100'" in NODE_COUNT_EXCEEDED and MAX_NODE_COUNT == 100
    parse_filter(" or ".join(["ID eq 1"] * 20), app.model.csdl, "Attempts")  # type: ignore[attr-defined]


@pytest.mark.parametrize("literal", ["9" * 5000, "9" * 5000 + "L", "-" + "1" * 20])
def test_long_number_literals_are_refused_not_a_valueerror(app: ServiceApp, literal: str) -> None:
    message = refused(app, f"ID eq {literal}")
    assert "Unrecognized" in message and len(message) < 300


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.text(max_size=60),
                 st.lists(st.sampled_from(["(", ")", "not", "and", "or", "ID", "eq", "1", "9" * 30, "'x'", "null",
                                           "datetime'2024-01-01T00:00:00'", "ParticipantID", "lt", "2147483648"]),
                          max_size=40).map(" ".join)))
def test_any_filter_parses_or_is_an_invalid_query(app: ServiceApp, text: str) -> None:
    try:
        parse_filter(text, app.model.csdl, "Attempts")  # type: ignore[attr-defined]
    except InvalidQuery as exc:
        assert exc.status == 400 and exc.field == "$filter"


def test_a_hostile_filter_over_http_is_an_odata_error(app: ServiceApp) -> None:
    client = Client(app)
    for text in ("(" * 5000 + "ID eq 1" + ")" * 5000, "ID eq " + "9" * 5000, " or ".join(["ID eq 1"] * 60)):
        response = client.get("/deliveryodata/400449/Attempts", query_string={"$filter": text}, headers=AUTH)
        assert response.status_code == 400, text[:40]
        assert "odata.error" in response.get_json()
