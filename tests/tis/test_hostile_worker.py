"""Issue 12: a hostile TRT the receiver accepted reaches TIS's worker: it is rejected, and the others are processed."""

from __future__ import annotations

import re

from contracts.generate import generate_testpackage, generate_trt
from tests.tis.conftest import Harness

PKG = generate_testpackage(21, items=8, hand_scored=False)


def hostile_trts() -> dict[str, bytes]:
    """Each a well-formed TRT whose key fields parse (so the receiver takes it), hostile past them."""
    def trt(n: int) -> bytes:
        return generate_trt(100 + n, package=PKG)

    crowded = trt(1).replace(b"<Item ", b"<Item " + b" ".join(b'x%d="1"' % i for i in range(5_000)) + b" ", 1)
    deep = trt(2).replace(b"</Opportunity>", b"<Deep>" * 90 + b"</Deep>" * 90 + b"</Opportunity>", 1)
    huge_int = re.sub(rb'(<Item [^>]*?\bposition=")\d+', rb"\g<1>" + str(2**63).encode(), trt(3), count=1)
    big = trt(4)
    item = re.search(rb"<Item .*?</Item>", big, re.DOTALL)
    assert item is not None
    # about 9 MiB (under the receiver's 10 MiB max_body): the first Item repeated, the last copy's position
    # past Int32
    copies = (9 * 1024 * 1024) // len(item.group(0))
    last = re.sub(rb'(\bposition=")\d+', rb"\g<1>" + str(2**31).encode(), item.group(0), count=1)
    big = big.replace(item.group(0), item.group(0) * (copies - 1) + last, 1)
    return {"5000 attributes on an Item": crowded, "nested 90 deep": deep, "a position of 2**63": huge_int,
            "9 MiB, the last Item's position 2**31": big}


#: what TIS's typed reading (XmlSerializer) makes of each: unknown attributes and elements are ignored, so those
#: TRTs are processed as the others; a typed value that does not parse rejects the file, naming it
EXPECTED = {
    "5000 attributes on an Item": (["archive", "destination"], None),
    "nested 90 deep": (["archive", "destination"], None),
    "a position of 2**63": (["reject"], f"Item@position: '{2**63}' is not an int"),
    "9 MiB, the last Item's position 2**31": (["reject"], f"Item@position: '{2**31}' is not an int"),
}


def test_hostile_trts_reach_the_worker_which_rejects_what_it_cannot_read_and_goes_on(harness: Harness) -> None:
    assert harness.load_package(PKG).status_code == 201
    hostile = hostile_trts()
    keys = {}
    for name, doc in hostile.items():
        keys[name] = harness.submitted(doc)
        response = harness.post_trt(doc)
        assert response.status_code == 200, (name, response.status_code, response.text[:200])
    good = generate_trt(200, package=PKG)
    good_key = harness.submitted(good)
    assert harness.post_trt(good).status_code == 200
    # one pass over everything queued: no exception escapes, nothing is left to retry for ever
    processed = harness.tis.process_pending(harness.tenant)
    assert processed == len(hostile) + 1
    assert harness.tis.process_pending(harness.tenant) == 0
    for name, key in keys.items():
        opp = harness.tis.model.opportunity(harness.tenant, key)
        assert opp is not None, name
        locations, message = EXPECTED[name]
        assert [f["location"] for f in opp["files"]] == locations, name
        assert [v["message"] for v in opp["validation"]] == ([message] if message else []), name
    assert [f["location"] for f in harness.tis.model.files(harness.tenant, good_key)] == ["archive", "destination"]
    # the processed ones acknowledged to TDS; one whose deserialization failed is not (processing.py: TIS's
    # "OSS TestFromXML deserialization fatal error" has no acknowledgement)
    acks = {ack["oppKey"]: ack["success"] for ack in harness.acks()}
    assert acks == {**{key: True for name, key in keys.items() if EXPECTED[name][1] is None}, good_key: True}
