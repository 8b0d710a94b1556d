"""v4 test packages as TIS loads them: test keys, items, IRT parameters, scoring rules, combinations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.xmlsafe import XmlError, parse_xml


class PackageError(ValueError):
    """A test package TIS cannot load (the loader's exception message)."""


@dataclass(frozen=True)
class Dimension:
    """One ItemScoreDimension: measurement model, points, weight and parameters."""

    name: str
    model: str
    points: int
    weight: float
    params: dict[str, float]


@dataclass(frozen=True)
class PackageItem:
    """An item of the bank as the blueprint knows it (``{bank}-{id}``)."""

    bank_key: int
    key: int
    format: str
    hand_scored: bool
    refs: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    segment: str

    @property
    def name(self) -> str:
        """``{bankKey}-{key}``, TIS's item name."""
        return f"{self.bank_key}-{self.key}"


@dataclass(frozen=True)
class Segment:
    """A segment: id, position, algorithm, minimum items, scale transformation."""

    id: str
    position: int
    algorithm: str
    min_items: int
    slope: float
    intercept: float
    form_keys: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One scoring rule of a blueprint element."""

    name: str
    order: int
    measure_of: str
    measure_label: str
    params: dict[str, Any]


@dataclass
class Blueprint:
    """What TIS needs to validate and score the TRTs of one test name."""

    test_name: str
    test_id: str
    package_key: str
    role: str  # standalone | component | combined
    items: dict[str, PackageItem] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    cuts: list[tuple[int, float, float]] = field(default_factory=list)
    strands: dict[str, str] = field(default_factory=dict)
    # component only: its segment id -> (combined test name, combined segment id, position)
    combination: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    # combined only: combined segment ids in position order, and the component test names
    components: list[str] = field(default_factory=list)


@dataclass
class LoadedPackage:
    """A parsed package: its key, the assessments it defines and the blueprints by test name."""

    key: str
    assessment_keys: list[str]
    blueprints: dict[str, Blueprint]
    item_names: list[str]


# rule name -> the measure label its results are written under when the rule has no @measure
DEFAULT_LABELS = {
    "SBACAttemptedness": "Attempted", "SBACIABAttemptedness": "Attempted", "SBACBlockAttemptedness": "Attempted",
    "SBACTheta": "ThetaScore", "SBACCATTheta": "ThetaScore", "SBACCATMultiStrandTheta": "ThetaScore",
    "SBACMultiStrandTheta": "ThetaScore", "ScaleScore": "ScaleScore", "TestPerformanceLevel": "PerformanceLevel",
    "SEBasedPLWithRounding": "PerformanceLevel", "RawScore": "RawScore", "MultiStrandRawScore": "RawScore",
    "ItemCount": "ItemCount", "ItemCountScored": "ItemCountScored",
}


def _float(value: str | None, default: float, where: str) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise PackageError(f"Input string was not in a correct format: {where}='{value}'") from None


def _req(el: Any, name: str) -> str:
    value = el.get(name)
    if value is None or value == "":
        raise PackageError(f"Value cannot be null. Parameter name: {el.tag}@{name}")
    return str(value)


def _rule_params(rule: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in rule.iterfind("Parameter"):
        name = _req(p, "name")
        values = list(p.iterfind("Value"))
        if any(v.get("index") is not None for v in values):
            params[name] = {str(v.get("index")): str(v.get("value")) for v in values}
        elif values:
            params[name] = str(values[0].get("value"))
    return params


def parse_package(data: bytes) -> LoadedPackage:
    """Parse a v4 test package; raises :class:`PackageError` with the loader's message."""
    try:
        root = parse_xml(data)
    except XmlError as exc:
        raise PackageError(f"There is an error in XML document: {exc}") from None
    if root.tag != "TestPackage":
        raise PackageError(f"<{root.tag} xmlns=''> was not expected.")
    publisher, _pkg_id, year = _req(root, "publisher"), _req(root, "id"), _req(root, "academicYear")
    try:
        bank = int(_req(root, "bankKey"))
    except ValueError:
        raise PackageError(f"Input string was not in a correct format: TestPackage@bankKey='{root.get('bankKey')}'") \
            from None

    def key(ident: str) -> str:
        return f"({publisher}){ident}-{year}"

    elements = list(root.iter("BlueprintElement"))
    combined_el = next((e for e in elements if (e.get("type") or "").lower() == "package"), None)
    test_el = next((e for e in elements if (e.get("type") or "").lower() == "test"), None)
    top = combined_el if combined_el is not None else test_el
    if top is None:
        raise PackageError("Sequence contains no matching element: BlueprintElement[@type='test']")
    package_key = key(_req(top, "id"))
    strands = {str(e.get("id")): str(e.get("type")) for e in elements}

    rules: list[Rule] = []
    cuts: list[tuple[int, float, float]] = []
    for el in elements:
        kind = (el.get("type") or "").lower()
        measure_of = "Overall" if kind in ("test", "package") else str(el.get("id"))
        if combined_el is not None and kind == "test":
            continue  # only the package blueprint is scored for combined packages
        for r in el.iterfind("Scoring/Rules/Rule"):
            name = _req(r, "name")
            label = r.get("measure") or DEFAULT_LABELS.get(name, name)
            order = int(_float(r.get("computationOrder"), 0, "Rule@computationOrder"))
            rules.append(Rule(name, order, measure_of, label, _rule_params(r)))
        if el is top:
            for pl in el.iterfind("Scoring/PerformanceLevels/PerformanceLevel"):
                cuts.append((int(_float(pl.get("pLevel"), 0, "PerformanceLevel@pLevel")),
                             _float(pl.get("scaledLo"), 0, "PerformanceLevel@scaledLo"),
                             _float(pl.get("scaledHi"), 0, "PerformanceLevel@scaledHi")))
    rules.sort(key=lambda r: r.order)
    cuts.sort()

    blueprints: dict[str, Blueprint] = {}
    assessment_keys: list[str] = []
    item_names: list[str] = []
    combined_name = key(_req(combined_el, "id")) if combined_el is not None else ""
    combo = Blueprint(combined_name, str(combined_el.get("id")) if combined_el is not None else "",
                      package_key, "combined", rules=rules, cuts=cuts, strands=strands)
    position = 0
    for test in root.iterfind("Test"):
        test_id = _req(test, "id")
        name = key(test_id)
        assessment_keys.append(name)
        bp = Blueprint(name, test_id, package_key, "component" if combined_el is not None else "standalone",
                       rules=[] if combined_el is not None else rules, cuts=cuts, strands=strands)
        for seg in test.iterfind("Segments/Segment"):
            seg_id = _req(seg, "id")
            props = {str(p.get("name")): str(p.get("value")) for p in seg.iterfind(".//ItemSelection/Property")}
            min_items = 0
            for sbe in seg.iterfind("SegmentBlueprint/SegmentBlueprintElement"):
                if sbe.get("idRef") == seg_id or sbe.get("idRef") == test_id:
                    min_items = int(_float(sbe.get("minExamItems"), 0, "SegmentBlueprintElement@minExamItems"))
                    break
            forms = [str(f.get("id")) for f in seg.iterfind("SegmentForms/SegmentForm")]
            segment = Segment(seg_id, int(_float(seg.get("position"), 1, "Segment@position")),
                              str(seg.get("algorithmType") or "fixedform"), min_items,
                              _float(props.get("slope"), 1.0, "slope"),
                              _float(props.get("intercept"), 0.0, "intercept"),
                              tuple(forms))
            bp.segments.append(segment)
            for item in seg.iter("Item"):
                dims = []
                for d in item.iterfind("ItemScoreDimensions/ItemScoreDimension"):
                    params = {str(p.get("measurementParameter")):
                              _float(p.get("value"), 0.0, "ItemScoreParameter@value")
                              for p in d.iterfind("ItemScoreParameter")}
                    dims.append(Dimension(str(d.get("dimension") or ""), str(d.get("measurementModel") or "IRT3PLn"),
                                          int(_float(d.get("scorePoints"), 1, "ItemScoreDimension@scorePoints")),
                                          _float(d.get("weight"), 1.0, "ItemScoreDimension@weight"), params))
                refs = tuple(str(r.get("idRef")) for r in item.iterfind("BlueprintReferences/BlueprintReference"))
                pi = PackageItem(bank, int(_float(_req(item, "id"), 0, "Item@id")), _req(item, "type"),
                                 item.get("handScored") in ("true", "1"), refs, tuple(dims), seg_id)
                bp.items[pi.name] = pi
                item_names.append(pi.name)
            if combined_el is not None:
                position += 1
                combined_seg = f"({publisher}){seg_id}-COMBINED-{year}"
                bp.combination[seg_id] = (combined_name, combined_seg, position)
                combo.segments.append(Segment(combined_seg, position, segment.algorithm, segment.min_items,
                                              segment.slope, segment.intercept, segment.form_keys))
                combo.items.update({k: PackageItem(v.bank_key, v.key, v.format, v.hand_scored, v.refs, v.dimensions,
                                                   combined_seg) for k, v in bp.items.items()})
        bp.segments.sort(key=lambda s: s.position)
        blueprints[name] = bp
        combo.components.append(name)
    if combined_el is not None:
        blueprints[combined_name] = combo
        assessment_keys.append(combined_name)
    return LoadedPackage(package_key, assessment_keys, blueprints, item_names)
