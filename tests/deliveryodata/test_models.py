"""Model tests for deliveryodata: rules, options, filter parser, paging, signing, seed generation (no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.odata.csdl import check_json_light, format_datetime, load, parse_datetime
from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.deliveryodata import errors as e
from mocks.deliveryodata import signing
from mocks.deliveryodata.config import ConfigError, load_config
from mocks.deliveryodata.models import DeliveryOData, SeedError
from mocks.deliveryodata.odata import parse_options
from mocks.deliveryodata.seedgen import generate
from tests.dbs import store_url

T, C = "t", "400449"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ATTEMPT = {"ExternalAttemptID": "ext-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}


def make(**options: Any) -> DeliveryOData:
    store = Store(store_url())
    clock = Clock()
    clock.freeze(T, NOW)
    model = DeliveryOData(store, clock, IdSource(7), load_config(options, "secret"))
    store.create_all()
    model.seed(T, C, "participants", [{"ID": 987654321, "Name": "ada", "Details1": "d1"}])
    model.seed(T, C, "assessments", [{"ID": "1234567890876543", "Language": "en-US,fr-FR", "IsSecure": False}])
    model.seed(T, C, "testCenters", [{"ID": 7, "Name": "Heathrow"}])
    return model


def opts(model: DeliveryOData, entity_set: str, **args: str) -> Any:
    return parse_options(args, model.csdl, entity_set, single=False, orderby_mode=model.config.orderby)


def test_create_sets_server_values_and_defaults() -> None:
    model = make()
    att = model.create_attempt(T, C, {**ATTEMPT, "LockRequired": True, "UnlockCode": "1234"})
    assert (att["ID"], att["LockStatus"], att["ResultID"], att["Disabled"]) == (1, True, None, False)
    assert att["LastModifiedDateTime"] == NOW
    assert att["UnlockCodeExpiresDateTime"] == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(("status", "option"), [(409, {}), (400, {"duplicate_external_id_status": 400})])
def test_duplicate_external_id_status_is_configurable(status: int, option: dict[str, Any]) -> None:
    model = make(**option)
    model.create_attempt(T, C, dict(ATTEMPT))
    with pytest.raises(e.Duplicate) as caught:
        model.create_attempt(T, C, dict(ATTEMPT))
    assert caught.value.status == status and caught.value.field == "ExternalAttemptID"


def test_external_ids_are_per_customer_and_tenant() -> None:
    model = make(customers={"400449": {}, "500500": {}})
    model.seed(T, "500500", "participants", [{"ID": 987654321}])
    model.seed(T, "500500", "assessments", [{"ID": "1234567890876543"}])
    assert model.create_attempt(T, "500500", dict(ATTEMPT))["ID"] == 1
    assert model.create_attempt(T, C, dict(ATTEMPT))["ID"] == 1


def test_read_only_properties_reject_mode() -> None:
    with pytest.raises(e.ReadOnlyProperty) as caught:
        make(read_only_properties="reject").create_attempt(T, C, {**ATTEMPT, "ResultID": 3})
    assert caught.value.field == "ResultID"
    assert make().create_attempt(T, C, {**ATTEMPT, "ResultID": 3})["ResultID"] is None


def test_int32_as_string_option() -> None:
    body = {**ATTEMPT, "ParticipantID": "987654321"}
    # ODataLib converts a JSON string to the Int32 (Convert.ChangeType): the default
    assert make().create_attempt(T, C, dict(body))["ParticipantID"] == 987654321
    with pytest.raises(e.InvalidValue):
        make(int32_as_string=False).create_attempt(T, C, dict(body))


def test_int64_must_be_quoted_unless_the_option_says_otherwise() -> None:
    model = make()
    assert model.decode("Attempts", {"AssessmentID": "1234567890876543"})["AssessmentID"] == 1234567890876543
    for number in (1234567890876543, 12):  # read as a Double, as an Int32: neither converts to an Int64
        with pytest.raises(e.UnquotedInt64) as caught:
            model.decode("Attempts", {"AssessmentID": number})
        assert "must be quoted" in caught.value.message and "AssessmentID" in caught.value.message
    assert make(int64_as_number=True).decode("Attempts", {"AssessmentID": 12})["AssessmentID"] == 12
    with pytest.raises(e.InvalidValue):
        model.decode("Attempts", {"AssessmentID": str(2**63)})


def test_metadata_limits() -> None:
    model = make()
    att = model.create_attempt(T, C, dict(ATTEMPT))
    model.create_metadata(T, C, {"AttemptId": att["ID"], "Key": "k" * 200, "Value": "v" * 4000})
    with pytest.raises(e.TooLong) as caught:
        model.create_metadata(T, C, {"AttemptId": att["ID"], "Key": "k" * 201, "Value": "v"})
    assert caught.value.field == "Key"
    with pytest.raises(e.TooLong):
        model.create_metadata(T, C, {"AttemptId": att["ID"], "Key": "k", "Value": "v" * 4001})
    with pytest.raises(e.UnknownProperty):
        model.create_metadata(T, C, {"AttemptID": att["ID"], "Key": "k", "Value": "v"})
    with pytest.raises(e.DanglingReference):
        model.create_metadata(T, C, {"AttemptId": 99, "Key": "k", "Value": "v"})


def test_attempt_list_rules() -> None:
    model = make()
    first = model.create_attempt_list(T, C, {"ExternalAttemptListID": "L1", "TestCenterID": 7, "Open": True,
                                             "CreatedDateTime": "2000-01-01T00:00:00Z"})
    assert first["CreatedDateTime"] == NOW
    with pytest.raises(e.OpenListExists):
        model.create_attempt_list(T, C, {"ExternalAttemptListID": "L2", "TestCenterID": 7, "Open": True})
    model.create_attempt_list(T, C, {"ExternalAttemptListID": "L3", "TestCenterID": 7, "Open": False})
    with pytest.raises(e.Duplicate):
        model.create_attempt_list(T, C, {"ExternalAttemptListID": "L1"})
    for bad, error in (("é", e.NotAscii), ("x" * 65, e.TooLong), (None, e.Required)):
        with pytest.raises(error):
            model.create_attempt_list(T, C, {"ExternalAttemptListID": bad})
    with pytest.raises(e.DanglingReference):
        model.create_attempt_list(T, C, {"ExternalAttemptListID": "L4", "TestCenterID": 8})


def test_patch_updates_last_modified_and_unlock_expiry() -> None:
    model = make()
    att = model.create_attempt(T, C, dict(ATTEMPT))
    model.clock.advance(T, 30)
    updated = model.update_attempt(T, C, att["ID"], {"UnlockCode": "999999"})
    assert updated["LastModifiedDateTime"] == datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
    assert updated["UnlockCodeExpiresDateTime"] == datetime(2026, 3, 2, 9, 15, 30, tzinfo=UTC)
    with pytest.raises(e.InvalidValue):
        model.update_attempt(T, C, att["ID"], {"UnlockCode": "12-34"})


def test_filter_paging_and_inlinecount() -> None:
    model = make()
    model.bulk_attempts(T, C, 250, 987654321, 1234567890876543)
    page = model.query(T, C, "Attempts", opts(model, "Attempts", **{"$inlinecount": "allpages"}))
    assert (len(page.entities), page.total, page.more) == (100, 250, True)
    last = model.query(T, C, "Attempts", opts(model, "Attempts", **{"$skip": "200"}))
    assert (len(last.entities), last.more) == (50, False)
    top = model.query(T, C, "Attempts", opts(model, "Attempts", **{"$top": "100"}))
    assert top.more is False
    found = model.query(T, C, "Attempts", opts(model, "Attempts", **{
        "$filter": "(ID ge 10 and ID lt 13) or ExternalAttemptID eq 'bulk-200'"}))
    assert [a["ID"] for a in found.entities] == [10, 11, 12, 200]
    none = model.query(T, C, "Attempts", opts(model, "Attempts", **{"$filter": "not (AttemptListID eq null)"}))
    assert none.entities == []


@pytest.mark.parametrize(("args", "text"), [
    ({"$filter": "AssessmentID eq 1L"}, "cannot be used in the $filter"),
    ({"$filter": "ID eq 1234567890123"}, "Unrecognized 'Edm.Int32' literal '1234567890123'"),
    ({"$filter": "ID eq 'x'"}, "incompatible types"),
    ({"$filter": "Nope eq 1"}, "Could not find a property named 'Nope'"),
    ({"$filter": "ID eq"}, "expression expected"),
    ({"$orderby": "ID"}, "Query option 'OrderBy' is not allowed"),
    ({"$select": "ID"}, "Query option 'Select' is not allowed"),
    ({"$format": "json"}, "Query option 'Format' is not allowed"),
    ({"$top": "-1"}, "non-negative integer"),
    ({"$expand": "AttemptList/Attempts/Result"}, "too deep"),
    ({"$expand": "Appointments"}, "cannot be used in the $expand"),
])
def test_query_refusals(args: dict[str, str], text: str) -> None:
    model = make()
    with pytest.raises(e.InvalidQuery) as caught:
        opts(model, "Attempts", **args)
    assert text in caught.value.message


def test_unknown_option_and_single_entity_refusals() -> None:
    model = make()
    with pytest.raises(e.UnsupportedQueryParameter):
        opts(model, "Attempts", **{"$foo": "1"})
    with pytest.raises(e.NotACollection):
        parse_options({"$top": "1"}, model.csdl, "Attempts", single=True)
    assert opts(make(orderby_on_attempts="ignore"), "Attempts", **{"$orderby": "ID"}).orderby == []
    assert opts(model, "Results", **{"$orderby": "ID desc"}).orderby == [("ID", True)]


def test_int64_filter_literal_with_suffix() -> None:
    model = make()
    node = opts(model, "Results", **{"$filter": "AssessmentID eq 1234567890876543L"}).filter
    assert node is not None and node.right.value == 1234567890876543  # type: ignore[union-attr]


def test_signatures_cover_every_signed_part() -> None:
    url = signing.signed_url(b"k", "http://h", "/lobby/1/lobby/SystemCheck/2", "n", NOW, "participant")
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    good = signing.Presented(query["nonce"], query["timestamp"], query["role"], query["signature"])
    assert signing.valid(b"k", "/lobby/1/lobby/SystemCheck/2", good)
    assert not signing.valid(b"other", "/lobby/1/lobby/SystemCheck/2", good)
    assert not signing.valid(b"k", "/lobby/1/lobby/SystemCheck/3", good)
    assert not signing.valid(b"k", "/lobby/1/lobby/SystemCheck/2", good.__class__("m", *list(query.values())[1:]))
    assert query["timestamp"] == "2026-03-02T09:00:00.0000000Z"


def test_result_transitions_and_specials() -> None:
    model = make()
    att = model.create_attempt(T, C, {**ATTEMPT, "AttemptMetadata": [{"Key": "S2", "Value": "meta"}]})
    url = model.attempt_with_urls(T, C, att["ID"], "http://h")["ParticipantFacingQMLobbyUrl"]
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    state = model.enter_lobby(T, C, att["ID"], signing.Presented(*query.values()))
    started = model.start(T, C, att["ID"], state["Session"], None)
    result = model.get(T, C, "Results", started["ResultID"])
    assert (result["Special1"], result["Special2"], result["Status"]) == ("d1", "meta", 1)
    for old_new_ok in ((2, False), (6, True), (6, True), (7, True), (1, False)):
        new, ok = old_new_ok
        if ok:
            model.update_result(T, C, result["ID"], {"Status": new})
        else:
            with pytest.raises(e.InvalidTransition):
                model.update_result(T, C, result["ID"], {"Status": new})
    assert [r["Event"] for r in model.audit_rows(T, C, att["ID"])] == \
        ["AttemptCreated", "LobbyEntered", "Started", "Paused", "Terminated"]


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        load_config({"duplicate_external_id_status": 422}, "s")
    with pytest.raises(ConfigError):
        load_config({"lobby_url_ttl": 0}, "s")
    with pytest.raises(ConfigError):
        load_config({"customers": {"bad id": {}}}, "s")
    cfg = load_config({}, "s")
    assert (cfg.default_customer, cfg.lobby_ttl, cfg.customers["400449"].user) == ("400449", 60.0, "examrig")


def test_generated_seed_is_deterministic_and_loads() -> None:
    spec = {"seed": 3, "participants": 5, "assessments": 2, "testCenters": 2, "monitoringTypes": 3}
    assert generate(spec) == generate(dict(spec))
    assert generate(spec) != generate({**spec, "seed": 4})
    model = make()
    for name, items in generate(spec).items():
        assert model.seed(T, C, name, items) == len(items)
    with pytest.raises(SeedError):
        generate({"seed": 1, "people": 3})
    with pytest.raises(SeedError):
        model.seed(T, C, "participants", [{"ID": 1, "Shoe": 4}])


def test_datetime_format_and_csdl_checker_catch_departures() -> None:
    assert format_datetime(datetime(2015, 10, 1, 15, 22, 22, 3700, tzinfo=UTC)) == "2015-10-01T15:22:22.0037Z"
    assert format_datetime(datetime(2017, 3, 14, 18, 4, 39, tzinfo=UTC)) == "2017-03-14T18:04:39Z"
    assert parse_datetime("2015-10-01T15:22:22.0037078Z").microsecond == 3707
    model = load()
    good = {"odata.metadata": "http://h/deliveryodata/1/$metadata#TestCenters/@Element", "ID": 1, "Name": "x"}
    assert check_json_light(model, good, "http://h/deliveryodata/1/") == []
    assert check_json_light(model, {**good, "ID": "1"})
    assert check_json_light(model, {**good, "Name": None})
    assert check_json_light(model, {k: v for k, v in good.items() if k != "Name"})
    att = {"odata.metadata": "http://h/x/$metadata#Results/@Element", "AssessmentID": 5}
    assert any("Int64" in p for p in check_json_light(model, att))
