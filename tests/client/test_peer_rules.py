"""thss, dw, tds and openam client rules (what a TIS sends its peers) over hand-made journals.

Each peer has a flow that passes (its failure-path rules not exercised) and deviations that each fail exactly
their rule. TIS's own journal is in the timeline where a rule reads it (TIS-IDEM-002: a new pass or a resend).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from conformance.client import RULES, evaluate
from tests.client.journals import Timeline

# the requirements this module checks (tests/conformance/test_catalogue.py: every requirement is claimed)
REQUIREMENTS = ("THSSC-UP-001", "THSSC-UP-002", "THSSC-UP-003", "DWC-TRT-001", "DWC-TRT-002", "DWC-AUTH-001",
                "DWC-RETRY-001", "TDSC-ACK-001", "TDSC-ACK-002", "TDSC-ACK-003", "OAMC-TOK-001", "OAMC-TOK-002",
                "OAMC-TOK-003", "OAMC-TOK-004", "OAMC-TOK-005", "TIS-IDEM-001", "TIS-IDEM-002")
OPP = "21a9c134-579c-af7e-55a0-2a677f742568"
OPP2 = "cc9259bf-7307-cea6-cd63-67a18a3cdab7"
TOKEN = "1c723b2e-c7c0-41bc-beea-1522d6924d4a"
TRT_POST = "/api/testresult?statusCallback=http%3A%2F%2F127.0.0.1%3A6%2Fstudent%2FTIS%2FAPI%2FtisReply"


def key(n: int) -> dict[str, str]:
    return {"Idempotency-Key": f'"tis-2ea42dcd9ec6-{n}"'}


def verdicts(t: Timeline, service: str) -> dict[str, str]:
    got = {r.requirements[0]: r.outcome for r in evaluate(t.entries, [service])}
    assert len(got) == len(RULES[service])
    return got


def broken(got: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in got.items() if v in ("failed", "error")}


def trt(opp: str = OPP, tail: str = "") -> str:
    return f'<TDSReport><Test name="t"/><Opportunity key="{opp}" oppId="1"/>{tail}</TDSReport>'


# --- thss ---------------------------------------------------------------------------------------------


DAEMON = "http://127.0.0.1:3/ItemScoringCallbackRcv.axd"


def upload_body(opp: str = OPP, callback: str = DAEMON, extra: str = "") -> str:
    return (f'--b\r\nContent-Disposition: form-data; name=""; filename="{opp}_1.xml"\r\nContent-Type: text/xml\r\n\r\n'
            f'<?xml version="1.0" encoding="utf-8"?>\n<ItemScoreRequest callbackUrl="{callback}">'
            f"{trt(opp, extra)}</ItemScoreRequest>\r\n--b--\r\n")


def files(*names: str, ok: bool = True, error: str | None = None) -> dict[str, object]:
    return {"Files": [{"FileName": n, "Success": ok, "ErrorMessage": error} for n in names]}


MULTIPART = {"Content-Type": "multipart/form-data; boundary=b", "Authorization": "<redacted>"}


def thss_flow(t: Timeline) -> Timeline:
    t.add("tis", "POST", TRT_POST, body=trt(), headers={"Content-Type": "application/xml"})
    t.add("thss", "POST", "/api/test/submit", body=upload_body(), headers={**MULTIPART, **key(3)},
          response=files(f"{OPP}_1.xml"))
    return t


def test_the_thss_flow_passes() -> None:
    got = verdicts(thss_flow(Timeline("tis", "thss")), "thss")
    assert broken(got) == {}
    assert [k for k, v in got.items() if v == "not-exercised"] == ["TIS-IDEM-002"]


def _invalid_upload(t: Timeline) -> None:
    t.add("thss", "POST", "/api/test/submit", body=upload_body(OPP2), headers={**MULTIPART, **key(8)},
          response=files(f"{OPP2}_1.xml", ok=False, error=" File is not in a correct format. Validation Error: x"))


def _ise_callback(t: Timeline) -> None:
    t.add("thss", "POST", "/api/test/submit", headers={**MULTIPART, **key(8)},
          body=upload_body(OPP2, "http://127.0.0.1:3/ItemScoringCallback.axd"), response=files(f"{OPP2}_1.xml"))


def _two_files(t: Timeline) -> None:
    t.add("thss", "POST", "/api/test/submit", body=upload_body(OPP2), headers={**MULTIPART, **key(8)},
          response=files(f"{OPP2}_1.xml", f"{OPP2}_2.xml"))


def _other_item_set(t: Timeline) -> None:
    t.add("thss", "POST", "/api/test/submit", body=upload_body(extra="<Item/>"), headers={**MULTIPART, **key(8)},
          response=files(f"{OPP}_1.xml"))


def _keyless_upload(t: Timeline) -> None:
    t.add("thss", "POST", "/api/test/submit", body=upload_body(OPP2), headers=MULTIPART,
          response=files(f"{OPP2}_1.xml"))


def _upload_new_key(t: Timeline) -> None:
    t.add("thss", "POST", "/api/test/submit", body=upload_body(), headers={**MULTIPART, **key(8)},
          response=files(f"{OPP}_1.xml"))


THSS: dict[str, tuple[Callable[[Timeline], None], str]] = {
    "invalid upload": (_invalid_upload, "THSSC-UP-001"),
    "the ISE's callback handler": (_ise_callback, "THSSC-UP-002"),
    "two files in one upload": (_two_files, "THSSC-UP-003"),
    "another item set for one reporting version": (_other_item_set, "THSSC-UP-003"),
    "no Idempotency-Key": (_keyless_upload, "TIS-IDEM-001"),
    "resent under a new key": (_upload_new_key, "TIS-IDEM-002"),
}


@pytest.mark.parametrize("case", sorted(THSS))
def test_each_thss_deviation_fails_exactly_its_rule(case: str) -> None:
    make, rid = THSS[case]
    t = thss_flow(Timeline("tis", "thss"))
    make(t)
    assert broken(verdicts(t, "thss")) == {rid: "failed"}


def test_a_resend_under_a_new_key_is_not_judged_without_tis_journal() -> None:
    t = thss_flow(Timeline("tis", "thss"))
    _upload_new_key(t)
    alone = [e for e in t.entries if e.service == "thss"]
    got = {r.requirements[0]: r for r in evaluate(alone, ["thss"])}
    assert got["TIS-IDEM-002"].outcome == "not-exercised" and "serve tis" in got["TIS-IDEM-002"].message


def test_an_upload_past_the_body_limit_without_its_wrapper_in_view_is_error() -> None:
    t = Timeline("thss")
    t.add("thss", "POST", "/api/test/submit", body="--b\r\nContent-Disposition: form-data; filename=x\r\n",
          headers={**MULTIPART, **key(3)}, response=files(f"{OPP}_1.xml"), size=90_000)
    got = {r.requirements[0]: r for r in evaluate(t.entries, ["thss"])}
    assert got["THSSC-UP-002"].outcome == "error" and "limit" in got["THSSC-UP-002"].message


# --- dw -----------------------------------------------------------------------------------------------

XML = {"Content-Type": "application/xml", "Authorization": "<redacted>"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GRANT = "&grant_type=password&username=dw-loader%40example.org&password=p&client_id=examrig&client_secret=s"
ISSUED = {"expires_in": 3600, "token_type": "Bearer", "access_token": TOKEN, "refresh_token": TOKEN}
TOKEN_POST = "/auth/oauth2/access_token?realm=/sbac"


def dw_flow(t: Timeline) -> Timeline:
    t.add("tis", "POST", TRT_POST, body=trt(), headers={"Content-Type": "application/xml"})
    t.add("openam", "POST", TOKEN_POST, body=GRANT, headers=FORM, response=ISSUED)
    t.add("dw", "POST", "/exams/imports", body=trt(), headers={**XML, **key(1)}, status=202,
          response={"id": 1, "status": "ACCEPTED"})
    t.add("dw", "POST", "/dw1/services/xml", body=trt(), headers={**XML, **key(2)})
    return t


def test_the_dw_flow_passes() -> None:
    got = verdicts(dw_flow(Timeline("tis", "openam", "dw")), "dw")
    assert broken(got) == {}
    assert sorted(k for k, v in got.items() if v == "not-exercised") == ["DWC-RETRY-001", "TIS-IDEM-002"]


def test_one_resend_after_a_401_with_a_fresh_token_passes() -> None:
    t = dw_flow(Timeline("tis", "openam", "dw"))
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(5)}, status=401)
    t.add("openam", "POST", TOKEN_POST, body=GRANT, headers=FORM, response=ISSUED)
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(5)}, status=202)
    got = verdicts(t, "dw")
    assert broken(got) == {} and got["DWC-RETRY-001"] == got["DWC-AUTH-001"] == got["TIS-IDEM-002"] == "passed"


def _not_a_trt(t: Timeline) -> None:
    t.add("dw", "POST", "/exams/imports", body='<?xml version="1.0"?><Other/>', headers={**XML, **key(5)},
          status=202)


def _text_plain(t: Timeline) -> None:
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(5), "Content-Type": "text/plain"},
          status=202)


def _no_bearer(t: Timeline) -> None:
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={"Content-Type": "application/xml", **key(5)},
          status=401)


def _retry_after_500(t: Timeline) -> None:
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(5)}, status=500)
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(5)}, status=202)


def _retry_401_same_token(t: Timeline) -> None:
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(5)}, status=401)
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(5)}, status=202)


def _keyless_post(t: Timeline) -> None:
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers=XML, status=202)


def _post_new_key(t: Timeline) -> None:
    t.add("dw", "POST", "/exams/imports", body=trt(), headers={**XML, **key(5)}, status=202)


DW: dict[str, tuple[Callable[[Timeline], None], str]] = {
    "not a TRT": (_not_a_trt, "DWC-TRT-001"),
    "text/plain": (_text_plain, "DWC-TRT-002"),
    "no bearer token": (_no_bearer, "DWC-AUTH-001"),
    "resent after a 500": (_retry_after_500, "DWC-RETRY-001"),
    "resent after a 401 without a new token": (_retry_401_same_token, "DWC-RETRY-001"),
    "no Idempotency-Key": (_keyless_post, "TIS-IDEM-001"),
    "resent under a new key": (_post_new_key, "TIS-IDEM-002"),
}


@pytest.mark.parametrize("case", sorted(DW))
def test_each_dw_deviation_fails_exactly_its_rule(case: str) -> None:
    make, rid = DW[case]
    t = dw_flow(Timeline("tis", "openam", "dw"))
    make(t)
    assert broken(verdicts(t, "dw")) == {rid: "failed"}


def test_a_key_sent_with_two_bodies_fails_idem_001() -> None:
    t = dw_flow(Timeline("tis", "openam", "dw"))
    t.add("dw", "POST", "/exams/imports", body=trt(OPP2), headers={**XML, **key(1)}, status=422)
    assert broken(verdicts(t, "dw")) == {"TIS-IDEM-001": "failed"}


# --- tds ----------------------------------------------------------------------------------------------

JSON = {"Content-Type": "application/json; charset=utf-8"}
ACK = {"oppKey": OPP, "success": True, "trt": None}


def tds_flow(t: Timeline) -> Timeline:
    t.add("tis", "POST", TRT_POST, body=trt(OPP2), headers={"Content-Type": "application/xml"})
    t.add("tds", "POST", "/student/TIS/API/tisReply", body={**ACK, "oppKey": OPP2}, headers={**JSON, **key(2)})
    t.add("tis", "POST", TRT_POST, body=trt(), headers={"Content-Type": "application/xml"})
    t.add("tds", "POST", "/student/TIS/API/tisReply", body=ACK, headers={**JSON, **key(5)})
    token = json.dumps({"clientName": "SBAC", "oppKey": OPP, "itemBank": 200, "itemID": 1, "itemType": "SA"})
    t.add("tis", "POST", "/ItemScoringCallbackRcv.axd", note='{"action": "handscored"}',
          body=f"<ItemScoreResponse><Score><ContextToken><![CDATA[{token}]]></ContextToken></Score></ItemScoreResponse>")
    # the scored pass: the same bytes as the handscoring pass's ack, under the new pass's key
    t.add("tds", "POST", "/student/TIS/API/tisReply", body=ACK, headers={**JSON, **key(7)})
    return t


def test_the_tds_flow_passes() -> None:
    got = verdicts(tds_flow(Timeline("tis", "tds")), "tds")
    assert broken(got) == {}
    assert [k for k, v in got.items() if v == "not-exercised"] == ["TDSC-ACK-003"]
    assert got["TIS-IDEM-002"] == "passed"  # the second pass's ack is judged a new delivery, from TIS's journal


def test_a_failed_ack_that_is_not_resent_passes() -> None:
    t = tds_flow(Timeline("tis", "tds"))
    t.add("tds", "POST", "/student/TIS/API/tisReply", body={**ACK, "success": False, "error": "x"},
          headers={**JSON, **key(9)}, status=500)
    assert verdicts(t, "tds")["TDSC-ACK-003"] == "passed"


def _bad_shape(t: Timeline) -> None:
    t.add("tds", "POST", "/student/TIS/API/tisReply", body={"oppKey": "42", "success": "yes"},
          headers={**JSON, **key(9)}, status=400)


def _ack_text_plain(t: Timeline) -> None:
    t.add("tds", "POST", "/student/TIS/API/tisReply", body={**ACK, "oppKey": OPP2, "success": False},
          headers={"Content-Type": "text/plain", **key(9)}, status=415)


def _ack_retried(t: Timeline) -> None:
    failed = {**ACK, "oppKey": OPP2, "success": False, "error": "failed validation"}
    t.add("tds", "POST", "/student/TIS/API/tisReply", body=failed, headers={**JSON, **key(9)}, status=500)
    t.add("tds", "POST", "/student/TIS/API/tisReply", body=failed, headers={**JSON, **key(9)})


def _ack_keyless(t: Timeline) -> None:
    t.add("tds", "POST", "/tis", body={**ACK, "oppKey": OPP2, "success": False}, headers=JSON)


def _ack_new_key(t: Timeline) -> None:
    t.add("tds", "POST", "/student/TIS/API/tisReply", body=ACK, headers={**JSON, **key(9)})


TDS: dict[str, tuple[Callable[[Timeline], None], str]] = {
    "not the tis-ack shape": (_bad_shape, "TDSC-ACK-001"),
    "text/plain": (_ack_text_plain, "TDSC-ACK-002"),
    "a failed ack resent": (_ack_retried, "TDSC-ACK-003"),
    "no Idempotency-Key": (_ack_keyless, "TIS-IDEM-001"),
    "resent under a new key": (_ack_new_key, "TIS-IDEM-002"),
}


@pytest.mark.parametrize("case", sorted(TDS))
def test_each_tds_deviation_fails_exactly_its_rule(case: str) -> None:
    make, rid = TDS[case]
    t = tds_flow(Timeline("tis", "tds"))
    make(t)
    assert broken(verdicts(t, "tds")) == {rid: "failed"}


# --- openam -------------------------------------------------------------------------------------------


def openam_flow(t: Timeline) -> Timeline:
    t.add("openam", "POST", TOKEN_POST, body=GRANT, headers=FORM, response=ISSUED)
    t.add("openam", "GET", f"/auth/oauth2/tokeninfo?access_token={TOKEN}", headers={}, response={"mail": "m"})
    return t


def test_the_openam_flow_passes() -> None:
    got = verdicts(openam_flow(Timeline("openam")), "openam")
    assert broken(got) == {}
    assert sorted(k for k, v in got.items() if v == "not-exercised") == ["OAMC-TOK-004", "OAMC-TOK-005"]


def _refused(t: Timeline, reason: str) -> None:
    t.add("openam", "GET", f"/auth/oauth2/tokeninfo?access_token={TOKEN}", headers={}, status=400,
          response={"error": "invalid_request"}, note=f"token refused: {reason}")


def test_a_refused_token_replaced_and_a_refresh_ahead_of_expiry_pass() -> None:
    t = openam_flow(Timeline("openam"))
    _refused(t, "revoked")
    t.add("openam", "POST", TOKEN_POST, body=GRANT, headers=FORM, response=ISSUED)
    t.add("openam", "POST", TOKEN_POST, body=GRANT, headers=FORM, response=ISSUED)  # while the last is valid
    got = verdicts(t, "openam")
    assert broken(got) == {} and got["OAMC-TOK-004"] == got["OAMC-TOK-005"] == "passed"


def _no_realm(t: Timeline) -> None:
    t.add("openam", "POST", "/auth/oauth2/access_token", body=GRANT, headers=FORM, response=ISSUED)


def _code_grant(t: Timeline) -> None:
    t.add("openam", "POST", TOKEN_POST, body=GRANT.replace("password&", "authorization_code&", 1), headers=FORM,
          status=400, response={"error": "unsupported_grant_type"})


def _no_client(t: Timeline) -> None:
    t.add("openam", "POST", TOKEN_POST, body=GRANT.split("&client_id")[0], headers=FORM, status=401,
          response={"error": "invalid_client"})


def _never_replaced(t: Timeline) -> None:
    _refused(t, "revoked")


def _expired(t: Timeline) -> None:
    _refused(t, "expired")
    t.add("openam", "POST", TOKEN_POST, body=GRANT, headers=FORM, response=ISSUED)


OPENAM: dict[str, tuple[Callable[[Timeline], None], str]] = {
    "no realm": (_no_realm, "OAMC-TOK-001"),
    "an unsupported grant": (_code_grant, "OAMC-TOK-002"),
    "no client credentials": (_no_client, "OAMC-TOK-003"),
    "a refused token never replaced": (_never_replaced, "OAMC-TOK-004"),
    "a token presented after expires_in": (_expired, "OAMC-TOK-005"),
}


@pytest.mark.parametrize("case", sorted(OPENAM))
def test_each_openam_deviation_fails_exactly_its_rule(case: str) -> None:
    make, rid = OPENAM[case]
    t = openam_flow(Timeline("openam"))
    make(t)
    assert broken(verdicts(t, "openam")) == {rid: "failed"}
