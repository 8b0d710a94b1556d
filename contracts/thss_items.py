"""THSS item configurations from a v4 test package, as the package loader posts them to ``/api/item/submit``.

The real SupportTool / AssessmentPackageLoader (``tds.teacherhandscoring.model.TeacherHandScoringConfiguration``)
turns every ``Item`` that carries a ``TeacherHandScoring`` element into one JSON object and posts the list to THSS;
TIS's package load does not (TIS never talks to THSS about items). examrig's ``submit trt`` plays that loader.
"""

from __future__ import annotations

import json
from typing import Any, Final

from contracts.xmlsafe import parse_xml

__all__ = ["DEFAULT_DIMENSIONS", "PackageItemsError", "thss_item_configs"]

#: The loader's ``TeacherHandScoring.DEFAULT_DIMENSIONS``: used when the element has no ``<Dimensions>``.
DEFAULT_DIMENSIONS: Final[tuple[dict[str, Any], ...]] = tuple(
    {"conditions": [{"code": "B", "description": "Blank"}, {"code": "I", "description": "Insufficient"},
                    {"code": "L", "description": "Non-Scorable Language"}],
     "description": name, "maxPoints": top, "minPoints": "0"}
    for name, top in (("CONVENTIONS", "2"), ("ELABORATION", "3"), ("ORGANIZATION", "3"))
)


class PackageItemsError(ValueError):
    """A package whose hand-scoring configuration cannot be read; the message names the item."""


def thss_item_configs(package: bytes) -> list[dict[str, Any]]:
    """The THSS item configurations of a v4 test package (one per hand-scoring item, in document order).

    Fields as the loader writes them: ``itemId``, ``bankKey``, ``HandScored`` (``"1"``/``"0"``), ``itemType``,
    ``subject``, ``grade``, ``exemplar``, ``trainingGuide``, ``description``, ``Passage``, ``itemname``,
    ``layout`` (default ``WAI``), ``dimensions`` (the element's ``<Dimensions>`` JSON, else the loader's
    defaults) and ``rubriclist`` (the loader fills it from the item content service, which examrig does not
    have: empty). ``maxScore`` is added by examrig, from the item's ``ItemScoreDimension@scorePoints``: the
    SupportTool's own sample of this JSON (``../shared/data/tis/thss/thss-item-config.example.json``) carries it
    and the thss mock requires it.

    Raises:
        PackageItemsError: ``<Dimensions>`` that is not a JSON list, or an item without an id.
        XmlError: the package is not well-formed XML.
    """
    root = parse_xml(package)
    bank = root.get("bankKey") or ""
    subject = root.get("subject") or ""
    configs: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for test in root.iterfind("Test"):
        grade = test.find("Grades/Grade")
        for item in test.iter("Item"):
            ths = item.find("TeacherHandScoring")
            if ths is None:
                continue
            item_id = item.get("id")
            if not item_id:
                raise PackageItemsError("an Item with TeacherHandScoring has no id")
            if (bank, item_id) in seen:  # the same item in two forms or tests is one THSS item
                continue
            seen.add((bank, item_id))
            configs.append({
                "itemId": item_id,
                "bankKey": bank,
                "HandScored": "1" if item.get("handScored") in ("true", "1") else "0",
                "itemType": item.get("type"),
                "subject": subject,
                "grade": grade.get("value") if grade is not None else None,
                "exemplar": ths.get("exemplar"),
                "trainingGuide": ths.get("trainingGuide"),
                "description": ths.get("description"),
                "Passage": ths.get("passage"),
                "itemname": ths.get("itemname"),
                "layout": ths.get("layout") or "WAI",
                "dimensions": _dimensions(ths.findtext("Dimensions"), item_id),
                "rubriclist": "",
                "maxScore": str(sum(int(d.get("scorePoints") or 0)
                                    for d in item.iterfind("ItemScoreDimensions/ItemScoreDimension"))),
            })
    return configs


def _dimensions(text: str | None, item_id: str) -> list[dict[str, Any]]:
    if text is None or not text.strip():
        return [dict(d) for d in DEFAULT_DIMENSIONS]
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise PackageItemsError(f"item {item_id}: TeacherHandScoring/Dimensions is not JSON ({exc})") from None
    if not isinstance(value, list):
        raise PackageItemsError(f"item {item_id}: TeacherHandScoring/Dimensions must be a JSON list")
    return value
