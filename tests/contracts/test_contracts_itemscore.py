"""The per-item ItemScoreRequest/ItemScoreResponse schemas: ISE samples, THSS's callback form, the guide's form."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

from contracts.validate import detect_kind, is_valid, validate
from contracts.xmlsafe import parse_xml

TOKEN = '<ContextToken><![CDATA[{"clientName":"SBAC","oppKey":"k","itemBank":200,"itemID":1,"itemType":"SA"}]]>' \
        '</ContextToken>'


def response(info: str, tail: str = TOKEN) -> bytes:
    return f"<ItemScoreResponse><Score>{info}{tail}</Score></ItemScoreResponse>".encode()


# THSS's callback (reference §2.6): Overall, a rationale Message only for a single dimension with a
# condition code, one Initial read per dimension with a JSON scorer message
THSS_SINGLE = ('<ScoreInfo scorePoint="1" scoreDimension="Overall" scoreStatus="Scored">'
               '<ScoreRationale><Message>{"conditionCode":"B"}</Message></ScoreRationale><SubScoreList>'
               '<ScoreInfo scorePoint="1" scoreDimension="Initial" scoreStatus="Scored"><ScoreRationale>'
               '<Message>{"scorerID":"t@example.org","conditionCode":"B"}</Message></ScoreRationale></ScoreInfo>'
               '</SubScoreList></ScoreInfo>')
THSS_MULTI = ('<ScoreInfo scorePoint="5" scoreDimension="Overall" scoreStatus="Scored"><SubScoreList>'
              + "".join(f'<ScoreInfo scorePoint="{n}" scoreDimension="{d}" scoreStatus="Scored"><SubScoreList>'
                        f'<ScoreInfo scorePoint="{n}" scoreDimension="Initial" scoreStatus="Scored"><ScoreRationale>'
                        '<Message>{"scorerID":"t"}</Message></ScoreRationale></ScoreInfo></SubScoreList></ScoreInfo>'
                        for d, n in (("Organization/Purpose", 2), ("Evidence/Elaboration", 2), ("Conventions", 1)))
              + '</SubScoreList></ScoreInfo>')
# the guide's engine form: structured rationale, maxScore, confLevel, a latency after the token
GUIDE = ('<ScoreInfo scorePoint="0" maxScore="2" scoreDimension="overall" confLevel="1.5,2.5" scoreStatus="Scored">'
         '<ScoreRationale>\n  <Propositions><Proposition name="P1" description="orders them" state="NotAsserted"/>'
         '</Propositions><Bindings/><Message><![CDATA[Score 0.]]></Message>\n</ScoreRationale>'
         '<SubScoreList><!-- children --></SubScoreList></ScoreInfo>')


@pytest.mark.parametrize("doc", [
    response(THSS_SINGLE),
    response(THSS_MULTI),
    response(GUIDE, TOKEN + "<ScoreLatency>10</ScoreLatency>"),
    response('<ScoreInfo scorePoint="-1" scoreDimension="" scoreStatus="NoScoringEngine"/>', ""),
    response('<ScoreInfo scorePoint="0" scoreDimension="" scoreStatus="ScoringError"/>'
             '<ScoreRationale><![CDATA[<CRScore/>]]></ScoreRationale><SubScoreList/>'),
])
def test_valid_forms(doc: bytes) -> None:
    result = validate(doc)
    assert result.schema == "itemscore-response" and result.valid, result.errors


@pytest.mark.parametrize(("doc", "where"), [
    (response(THSS_SINGLE.replace("</Message></ScoreRationale>", "</Message><Message/></ScoreRationale>", 1)),
     "Message"),
    (response(THSS_SINGLE.replace("<Message>", "<Note>", 1).replace("</Message>", "</Note>", 1)), "Note"),
    (response(THSS_SINGLE.replace('{"conditionCode":"B"}', "<b>B</b>", 1)), "Message"),
    (response(THSS_SINGLE.replace('scoreStatus="Scored"', 'scoreStatus="SCORED"', 1)), "scoreStatus"),
    (response(THSS_SINGLE.replace('scorePoint="1"', 'scorePoint="1.5"', 1)), "scorePoint"),
    (response(THSS_SINGLE.replace(' scoreDimension="Overall"', "", 1)), "scoreDimension"),
    (response(GUIDE, "<ScoreLatency>10</ScoreLatency>" + TOKEN), "ContextToken"),
    (response(GUIDE, TOKEN + "<ScoreLatency>soon</ScoreLatency>"), "ScoreLatency"),
    (response(GUIDE.replace("<Bindings/><Message>", "<Message>x</Message><Bindings/><Message>"), "Bindings"),
     "Bindings"),
    (response(GUIDE.replace("<Bindings/>", "<Bindings><Binding/></Bindings>")), "name"),
    (response(""), "Score"),
])
def test_invalid_forms_are_refused_where_they_break(doc: bytes, where: str) -> None:
    result = validate(doc, "itemscore-response")
    assert result.well_formed and not result.valid
    assert any(where in e.reason or where in e.path for e in result.errors), result.errors


def test_every_stored_score_info_in_the_real_trts_is_a_response(shared_data: Path) -> None:
    # TIS stores the ScoreInfo THSS (or the engine) sent and merges it into the TRT as is (reference §2.6, §8),
    # so every ScoreInfo tree of a real TRT item must be a valid callback ScoreInfo
    hand, machine = 0, 0
    for path in sorted((shared_data / "tis" / "trt").glob("*.xml")):
        for item in etree.parse(str(path)).getroot().iter("Item"):
            info = item.find("ScoreInfo")
            if info is None:
                continue
            doc = parse_xml(response(""))
            doc.find("Score").insert(0, copy.deepcopy(info))
            data = etree.tostring(doc)
            assert is_valid(data, "itemscore-response"), (path.name, item.get("key"), validate(data).errors[:3])
            scorer = any((m.text or "").strip().startswith('{"scorerID"') for m in info.iter("Message"))
            hand, machine = hand + scorer, machine + (not scorer)
    assert hand >= 10 and machine >= 100, (hand, machine)


def test_ise_response_sample(shared_data: Path) -> None:
    data = (shared_data / "tis/itemscoring/ItemScoreResponse.ISE-per-item.xml").read_bytes()
    assert detect_kind(parse_xml(data)) == "itemscore-response" and is_valid(data)
    # the sample's rationale is text; the same content as a structured child is also taken
    root = parse_xml(data)
    rationale = root.find("Score/ScoreRationale")
    assert rationale is not None and "CRScore" in (rationale.text or "")
    etree.SubElement(rationale, "Message").text, rationale.text = rationale.text, None
    assert is_valid(etree.tostring(root), "itemscore-response")


REQUEST = ('<ItemScoreRequest callbackUrl="http://tis/cb.axd"><ResponseInfo itemIdentifier="{ident}"'
           ' itemFormat="GI"><StudentResponse encrypted="true"><![CDATA[<Question/>]]></StudentResponse>'
           '<Rubric type="Uri" cancache="true" encrypted="true">file:///rubric.xml</Rubric>'
           '<ContextToken><![CDATA[abc]]></ContextToken>{bindings}</ResponseInfo></ItemScoreRequest>')
BINDINGS = ('<IncomingBindings><Bind name="chosenoption" type="string" value="A"/></IncomingBindings>'
            '<OutgoingBindings><Binding name="objectsetACount"/></OutgoingBindings>')


@pytest.mark.parametrize("ident", ["I-100-1001", "100-1001", "187-2"])
@pytest.mark.parametrize("bindings", ["", BINDINGS])
def test_guide_request_form(ident: str, bindings: str) -> None:
    doc = REQUEST.format(ident=ident, bindings=bindings).encode()
    result = validate(doc)
    assert result.schema == "itemscore-request" and result.valid, result.errors
    assert not is_valid(doc, "thss-upload")


@pytest.mark.parametrize("ident", ["I-x-1", "100", "J-100-1001", "i-100-1001", "I-100", "100-1001-2", "I--100-1"])
def test_bad_item_identifiers(ident: str) -> None:
    result = validate(REQUEST.format(ident=ident, bindings="").encode(), "itemscore-request")
    assert not result.valid and any("itemIdentifier" in e.reason or "itemIdentifier" in e.path
                                    for e in result.errors), result.errors


@pytest.mark.parametrize("bindings", [
    "<OutgoingBindings/><IncomingBindings/>",  # wrong order
    "<IncomingBindings><Bind type='string'/></IncomingBindings>",  # a Bind needs a name
    "<IncomingBindings><Binding name='x'/></IncomingBindings>",
])
def test_bad_bindings(bindings: str) -> None:
    assert not is_valid(REQUEST.format(ident="100-1", bindings=bindings).encode(), "itemscore-request")
