"""Issue 12: TIS reads a TRT's integers as .NET does (long for the key fields, int for the typed ones), in range."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from contracts.generate import generate_trt
from contracts.xmlsafe import parse_xml
from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.tis.trt import FieldError, key_fields, typed_check

CALLBACK = "http://tds.example/student/TIS/API/tisReply"


def with_attr(trt: bytes, element: str, attr: str, value: str) -> bytes:
    changed = re.sub(rb"(<" + element.encode() + rb" [^>]*?\b" + attr.encode() + rb'=")[^"]*',
                     rb"\g<1>" + value.encode(), trt, count=1)
    assert changed != trt
    return changed


@pytest.fixture
def app() -> Iterator[ServiceApp]:
    runtime = Runtime.create(db="sqlite://")
    built = registry.build("tis", runtime, {"worker": False})
    yield built
    built.stop()
    runtime.store.dispose()


@pytest.mark.parametrize(("element", "attr"), [("Opportunity", "oppId"), ("Examinee", "key")])
def test_key_fields_beyond_int64_are_tis_persist_failure_not_an_overflow(app: ServiceApp, element: str,
                                                                         attr: str) -> None:
    trt = with_attr(generate_trt(1, kind="scored"), element, attr, str(2**63))
    response = Client(app).post("/api/testresult", query_string={"statusCallback": CALLBACK}, data=trt,
                                content_type="application/xml")
    body = response.get_json()
    # the reference's answer for key fields that do not parse (long.Parse overflows), naming the field
    assert response.status_code == 500 and body["Message"] == "Could not persist the request."
    assert body["MessageDetail"].startswith(f"{element}@{attr}: '{2**63}' is not a long")
    # the largest long is a long
    fine = with_attr(generate_trt(1, kind="scored"), element, attr, str(2**63 - 1))
    assert key_fields(parse_xml(fine)) is not None


@pytest.mark.parametrize(("value", "ok"), [(str(2**31), False), (str(2**31 - 1), True), ("+7", True),
                                           (" 7 ", True), ("²", False), ("-" + str(2**31), True)])
def test_typed_int_attributes_are_int32(value: str, ok: bool) -> None:
    root = parse_xml(with_attr(generate_trt(1, kind="scored"), "Item", "position", value))
    if ok:
        typed_check(root)
    else:
        with pytest.raises(FieldError, match="Item@position"):
            typed_check(root)
