"""Issue 12: what the receiver stores is bounded by its columns (never a database error, never an unexpected 500)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from contracts.generate import generate_trt
from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.tis.trt import OPPKEY_WIDTH, TESTNAME_WIDTH
from mocks.tis.views import CALLBACK_MAX_LENGTH

CALLBACK = "http://tds.example/student/TIS/API/tisReply"


@pytest.fixture
def app() -> Iterator[ServiceApp]:
    runtime = Runtime.create(db="sqlite://")
    built = registry.build("tis", runtime)
    yield built
    built.stop()
    runtime.store.dispose()


def post(app: ServiceApp, trt: bytes, **query: str) -> tuple[int, str]:
    """The status and Web API's ``Message``."""
    response = Client(app).post("/api/testresult", query_string={"statusCallback": CALLBACK, **query}, data=trt,
                                content_type="application/xml")
    body = response.get_json(silent=True) or {}
    return response.status_code, str(body.get("Message", ""))


def test_an_overlong_test_name_or_key_is_tis_persist_failure(app: ServiceApp) -> None:
    trt = generate_trt(1, kind="scored")
    long_name = re.sub(rb'(<Test name=")[^"]*', rb"\g<1>" + b"n" * (TESTNAME_WIDTH + 1), trt, count=1)
    long_key = re.sub(rb'(<Opportunity [^>]*?\bkey=")[^"]*', rb"\g<1>" + b"k" * (OPPKEY_WIDTH + 1), trt, count=1)
    assert long_name != trt and long_key != trt
    for doc in (long_name, long_key):
        # the reference's answer for a TRT whose key fields cannot be persisted (reference/tis-thss-tds-dw.md)
        assert post(app, doc) == (500, "Could not persist the request.")
    assert post(app, trt) == (200, "")


@pytest.mark.parametrize(("query", "answer"), [
    ({"statusCallback": "http://tds.example/" + "c" * CALLBACK_MAX_LENGTH}, "Illegal statusCallback format."),
    ({"scoremode": "s" * 33}, "This request is not properly formatted."),
])
def test_overlong_query_values_are_refused(app: ServiceApp, query: dict[str, str], answer: str) -> None:
    assert post(app, generate_trt(1, kind="scored"), **query) == (400, answer)
