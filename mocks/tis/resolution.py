"""Item resolution of the scoring daemon (SBACItemResolutionRuleWER) and the stored ScoreInfo serialisation."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from mocks.core import sabotage

WER_DIMENSIONS = ("Conventions", "Evidence/Elaboration", "Organization/Purpose")
WER_SCORER = "SBACItemResolutionRuleWER"


class ResolutionError(ValueError):
    """A hand score the resolution rule cannot resolve (the daemon logs it and the score is lost)."""


def round_half_away(value: float) -> int:
    """.NET ``Math.Round(x, MidpointRounding.AwayFromZero)``."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _children(info: Any) -> dict[str, Any]:
    sub = info.find("SubScoreList")
    if sub is None:
        return {}
    return {str(c.get("scoreDimension") or ""): c for c in sub.findall("ScoreInfo")}


def _point(info: Any, name: str) -> float:
    try:
        return float(info.get("scorePoint") or "")
    except ValueError:
        raise ResolutionError(f"dimension {name}: scorePoint '{info.get('scorePoint')}' is not a number") from None


def resolve_wer(info: Any) -> Any:
    """Append the D and C dimensions to a WER item's Overall ScoreInfo and set Overall to D + C (in place).

    D = round-half-away-from-zero((Evidence/Elaboration + Organization/Purpose) / 2) with one ``Final`` child;
    C = a copy of Conventions whose single ``Initial`` read becomes ``Final`` scored by the rule.
    """
    if info.get("scoreDimension") != "Overall":
        raise ResolutionError(f"WER resolution needs the top dimension Overall, got '{info.get('scoreDimension')}'")
    dims = _children(info)
    missing = [d for d in WER_DIMENSIONS if d not in dims]
    if missing:
        raise ResolutionError(f"WER resolution: dimension {missing[0]} missing")
    evidence, purpose = (_point(dims[d], d) for d in ("Evidence/Elaboration", "Organization/Purpose"))
    d_score = round_half_away((evidence + purpose) / 2)
    d_score = round_half_away(evidence + purpose) if sabotage.on("tis.wer-d-summed") else d_score
    d_max = round_half_away((float(dims["Evidence/Elaboration"].get("maxScore") or 0)
                             + float(dims["Organization/Purpose"].get("maxScore") or 0)) / 2)
    sub = info.find("SubScoreList")
    d_el = etree.SubElement(sub, "ScoreInfo", scorePoint=str(d_score), maxScore=str(d_max), scoreDimension="D",
                            scoreStatus="Scored")
    etree.SubElement(etree.SubElement(d_el, "SubScoreList"), "ScoreInfo", scorePoint=str(d_score),
                     maxScore=str(d_max), scoreDimension="Final", scoreStatus="Scored")
    c_el = copy.deepcopy(dims["Conventions"])
    c_el.set("scoreDimension", "C")
    reads = _children(c_el)
    if list(reads) != ["Initial"]:
        raise ResolutionError("WER resolution: Conventions needs exactly one Initial read")
    final = reads["Initial"]
    final.set("scoreDimension", "Final")
    message = final.find("ScoreRationale/Message")
    if message is None:
        rationale = final.find("ScoreRationale")
        if rationale is None:
            rationale = etree.SubElement(final, "ScoreRationale")
        message = etree.SubElement(rationale, "Message")
    try:
        data = json.loads(message.text or "{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    data["scorerID"] = WER_SCORER
    message.text = json.dumps(data, separators=(",", ":"))
    sub.append(c_el)
    c_score = _point(c_el, "Conventions")
    info.set("scorePoint", _num(d_score + c_score))
    info.set("scoreStatus", "Scored")
    return info


def stored_score_info(info: Any) -> str:
    """The ScoreInfo as the daemon stores it (the ISE serialisation: ``maxScore`` written, 0 when THSS sent none)."""
    out = copy.deepcopy(info)
    for el in out.iter("ScoreInfo"):
        attrs = dict(el.attrib)
        el.attrib.clear()
        order = ("scorePoint", "maxScore", "scoreDimension", "scoreStatus")
        attrs.setdefault("maxScore", "0")
        for name in order:
            if name in attrs:
                el.set(name, attrs.pop(name))
        for name, value in attrs.items():
            el.set(name, value)
    text: str = etree.tostring(out, encoding="unicode")
    return text


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
