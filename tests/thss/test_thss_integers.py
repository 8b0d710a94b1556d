"""Issue 12: integers from an upload's attributes are checked against their 64-bit columns (never OverflowError)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from features.steps.thss import thss_trt
from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.thss.models import ERR_FORMAT, ERR_PROCESSING, InputError, Thss
from tests.dbs import store_url

T = "t1"
OPP = "71a3ee01-f215-4ccd-b74d-df1097a01a0c"
BIG = 2**63  # one past Int64 (the BigInteger columns)
INT32_PAST = 2**31  # one past Int32: a bank key that large is a valid long


def make(options: dict[str, object] | None = None) -> Thss:
    store = Store(store_url())
    clock = Clock()
    clock.freeze(T, datetime(2024, 1, 1, tzinfo=UTC))
    model = Thss(store, clock, IdSource(3), options or {})
    store.create_all()
    return model


@pytest.mark.parametrize("items", [f"{BIG}-1:SA:NOTSCORED", f"200-{BIG}:SA:NOTSCORED"])
def test_an_item_key_beyond_int64_is_a_refused_file_not_a_500(items: str) -> None:
    result = make().import_file(T, "f.xml", thss_trt(OPP, items))
    assert not result.success and result.error is not None
    # refused by the schema (an xs:long) or, past it, by the boundary check naming the attribute
    assert result.error.startswith(ERR_FORMAT) or (result.error.startswith(ERR_PROCESSING)
                                                   and "Item[1]@" in result.error), result.error


def test_a_bank_key_past_int32_is_taken() -> None:
    m = make()
    m.submit_items(T, [{"itemId": "1", "bankKey": str(INT32_PAST), "maxScore": "2", "HandScored": "1",
                        "scoreType": "R", "dimensions": []}])
    result = m.import_file(T, "f.xml", thss_trt(OPP, f"{INT32_PAST}-1:SA:NOTSCORED"))
    assert result.success, result.error
    assert [(r["bankKey"], r["itemId"]) for r in m.queue(T)] == [(INT32_PAST, 1)]


def test_item_configuration_beyond_int64_names_the_field() -> None:
    with pytest.raises(InputError) as caught:
        make().submit_items(T, [{"itemId": str(BIG), "bankKey": "200", "maxScore": "2"}])
    assert caught.value.field == "[0].itemId" and "Int64" in caught.value.reason


def test_the_guide_profile_item_identifier_beyond_int64_names_the_field() -> None:
    doc = (f'<ItemScoreRequest callbackUrl="http://tis.example/cb"><ResponseInfo itemIdentifier="I-{BIG}-1" '
           'itemFormat="SA"><StudentResponse>r</StudentResponse><ContextToken>t</ContextToken></ResponseInfo>'
           "</ItemScoreRequest>").encode()
    with pytest.raises(InputError) as caught:
        make().import_guide(T, doc)
    assert caught.value.field == "ResponseInfo[1]@itemIdentifier (bank)" and "Int64" in caught.value.reason
