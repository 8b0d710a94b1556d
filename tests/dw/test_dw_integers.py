"""Issue 12: integers and strings from a TRT's attributes against the warehouse's columns: refused, never a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from contracts.generate import generate_trt
from mocks import registry
from mocks.core.app import Runtime, ServiceApp

BIG = 2**63


@pytest.fixture
def app() -> Iterator[ServiceApp]:
    runtime = Runtime.create(db="sqlite://")
    built = registry.build("dw", runtime)
    yield built
    built.stop()
    runtime.store.dispose()


def dw1(app: ServiceApp, doc: bytes) -> tuple[int, str]:
    response = Client(app).post("/dw1/services/xml", data=doc, content_type="application/xml")
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("value", [str(BIG), str(2**31)])
def test_item_keys_past_int64_or_int32_are_answered_not_a_500(app: ServiceApp, value: str) -> None:
    assert Client(app).post("/_examrig/seed", json={"items": ["200-1"]}).status_code < 300
    doc = re.sub(rb'(<Item [^>]*?\bbankKey=")[^"]*', rb"\g<1>" + value.encode(), generate_trt(1, kind="scored"),
                 count=1)
    status, text = dw1(app, doc)
    assert status in (200, 400), text  # refused by the schema, or not in the catalogue: in DW's own answer
    assert "Exception" not in text and value in text, text


def test_seeded_item_keys_beyond_int64_are_a_seed_error(app: ServiceApp) -> None:
    response = Client(app).post("/_examrig/seed", json={"items": [f"{BIG}-1"]})
    assert response.status_code == 400 and "items[0]" in response.get_data(as_text=True)
    assert Client(app).post("/_examrig/seed", json={"items": [f"{2**31}-1"]}).status_code < 300


def test_an_opportunity_key_wider_than_its_column_is_bad_format(app: ServiceApp) -> None:
    doc = re.sub(rb'(<Opportunity [^>]*?\bkey=")[^"]*', rb"\g<1>" + b"k" * 65, generate_trt(1, kind="scored"),
                 count=1)
    status, text = dw1(app, doc)
    assert status == 400 and "Opportunity@key: longer than 64 characters" in text, text
