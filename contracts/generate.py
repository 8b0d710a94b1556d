"""Seeded, deterministic generators of TRTs, v4 test packages and Questionmark participants."""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from faker import Faker
from lxml import etree  # type: ignore[import-untyped]

from contracts.xmlsafe import parse_xml

__all__ = [
    "HAND_SCORED_TYPES",
    "MACHINE_TYPES",
    "TRT_KINDS",
    "PackageInfo",
    "generate_combined_trts",
    "generate_participants",
    "generate_testpackage",
    "generate_trt",
    "read_package",
]

#: The scoring states a generated TRT can be in (see :func:`generate_trt`).
TRT_KINDS: Final[tuple[str, ...]] = ("machine", "partial", "scored", "combined")
#: Item formats the delivery system scores itself.
MACHINE_TYPES: Final[tuple[str, ...]] = ("MC", "MS", "EBSR", "TI", "GI", "HTQ")
#: Item formats scored by a hand-scoring system (EQ goes to the machine scorer later, like them).
HAND_SCORED_TYPES: Final[tuple[str, ...]] = ("ER", "WER", "SA", "EQ")
_HAND_ROUTED: Final = ("ER", "WER", "SA")
_POINTS: Final = {
    "MC": 1,
    "MS": 1,
    "EBSR": 1,
    "TI": 1,
    "GI": 1,
    "HTQ": 1,
    "EQ": 1,
    "SA": 2,
    "ER": 2,
    "WER": 4,
}
_EPOCH: Final = datetime(2017, 9, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PackageItem:
    """One item of a package: identity, format, points, IRT parameters and blueprint claim."""

    key: int
    bank_key: int
    format: str
    points: int
    hand_scored: bool
    claim: str
    a: float
    b: float
    c: float = 0.0


@dataclass(frozen=True)
class PackageSegment:
    """A segment of a test: id, position, algorithm, form, items."""

    id: str
    position: int
    algorithm: str
    form_key: str
    items: tuple[PackageItem, ...]


@dataclass(frozen=True)
class PackageTest:
    """A deliverable test of a package (a component, for combined packages)."""

    id: str
    label: str
    segments: tuple[PackageSegment, ...]


@dataclass(frozen=True)
class PackageInfo:
    """What a TRT generator needs from a v4 test package (see :func:`read_package`)."""

    id: str
    subject: str
    grade: str
    academic_year: str
    bank_key: int
    version: str
    combined: bool
    tests: tuple[PackageTest, ...]
    slope: float = 1.0
    intercept: float = 0.0
    cuts: tuple[float, ...] = field(default_factory=tuple)


def _rng(seed: int | str, salt: str) -> random.Random:
    return random.Random(f"{salt}:{seed}")


def _faker(seed: int | str, salt: str) -> Faker:
    fake = Faker("en_US")
    fake.seed_instance(f"{salt}:{seed}")
    return fake


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _sub(parent: Any, tag: str, **attrs: Any) -> Any:
    return etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})


def _serialize(root: Any) -> bytes:
    etree.indent(root, space="  ")
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return data


# ------------------------------------------------------------------------------------ test package


def generate_testpackage(
    seed: int | str,
    *,
    items: int = 12,
    combined: bool = False,
    subject: str | None = None,
    grade: int | None = None,
    hand_scored: bool = True,
) -> bytes:
    """Generate a v4 test package, deterministic by ``seed``, valid against the v4 schemas.

    The package carries what a TIS needs to score its TRTs: per-item IRT parameters
    (``IRT3PLn`` a, b, c for one-point items, ``IRTGPC`` a, b0..bn for polytomous ones), a test
    (or, combined, a package) blueprint element with scoring rules (attemptedness, theta, scale
    score, performance level, raw score, item count) and performance-level cut scores, claim
    blueprint elements, and the scale ``slope``/``intercept`` as segment item-selection properties.

    Args:
        seed: the seed; the same arguments give the same bytes.
        items: how many items per test (combined: per component).
        combined: a combined package (``BlueprintElement type="package"``) of an adaptive (CAT)
            and a fixed-form (Perf) component test, as TIS merges them.
        subject: ``MATH`` or ``ELA`` (seeded choice when None).
        grade: 3 to 11 (seeded choice when None).
        hand_scored: include hand-scored formats (ER, WER, SA) and EQ, with TeacherHandScoring.

    Returns:
        The UTF-8 XML document.
    """
    rng = _rng(seed, "package")
    subject = subject or rng.choice(("MATH", "ELA"))
    grade = grade or rng.randint(3, 11)
    letter = "M" if subject == "MATH" else "E"
    bank = rng.choice((187, 200))
    year = 2016 + rng.randint(0, 4)
    version = str(rng.randint(1000, 9999))
    tag = f"{rng.randint(100, 999)}"
    slope, intercept = round(rng.uniform(75, 95), 1), round(rng.uniform(2400, 2550), 1)
    base = intercept - 1.2 * slope
    cuts = [round(base + k * 0.9 * slope) for k in range(5)]
    claims = [f"{tag}-Claim{n}" for n in range(1, 4)]
    used: set[int] = set()

    def make_items(count: int, allow_hand: bool) -> list[PackageItem]:
        result = []
        formats = list(MACHINE_TYPES) + (list(HAND_SCORED_TYPES) * 2 if allow_hand else [])
        for index in range(count):
            fmt = rng.choice(formats)
            if allow_hand and index == 0:
                fmt = "WER" if subject == "ELA" else "SA"
            if allow_hand and index == 1:
                fmt = "EQ"
            key = rng.randint(1000, 99999)
            while key in used:
                key = rng.randint(1000, 99999)
            used.add(key)
            result.append(
                PackageItem(
                    key=key,
                    bank_key=bank,
                    format=fmt,
                    points=_POINTS[fmt],
                    hand_scored=fmt in _HAND_ROUTED,
                    claim=rng.choice(claims),
                    a=round(rng.uniform(0.3, 1.6), 5),
                    b=round(rng.uniform(-2.5, 3.0), 5),
                    c=round(rng.uniform(0.0, 0.25), 5) if fmt in ("MC", "EBSR") else 0.0,
                )
            )
        return result

    if combined:
        package_id = f"SBAC-ICA-COMBINED-G{grade}{letter}-{tag}"
        tests = [
            (f"SBAC-ICA-CAT-G{grade}{letter}-{tag}", "CAT", "adaptive", make_items(items, False)),
            (
                f"SBAC-ICA-Perf-G{grade}{letter}-{tag}",
                "Performance Task",
                "fixedform",
                make_items(items, hand_scored),
            ),
        ]
    else:
        package_id = f"SBAC-IAB-FIXED-G{grade}{letter}-{tag}"
        tests = [(package_id, "Interim Assessment Block", "fixedform", make_items(items, hand_scored))]

    root = etree.Element(
        "TestPackage",
        id=package_id,
        publisher="SBAC_PT",
        publishDate=_iso(_EPOCH + timedelta(days=rng.randint(0, 300))),
        subject=subject,
        type="interim" if not combined else "summative",
        version=f"{version}.0",
        bankKey=str(bank),
        academicYear=f"{year}-{year + 1}",
    )
    blueprint = _sub(root, "Blueprint")
    top = _sub(blueprint, "BlueprintElement", id=package_id, type="package" if combined else "test")
    scoring = _sub(top, "Scoring")
    levels = _sub(scoring, "PerformanceLevels")
    for level in range(4):
        _sub(
            levels,
            "PerformanceLevel",
            pLevel=level + 1,
            scaledLo=f"{cuts[level]:.1f}",
            scaledHi=f"{cuts[level + 1]:.1f}",
        )
    rules = _sub(scoring, "Rules")
    rule = _sub(
        rules, "Rule", name="SBACAttemptedness" if combined else "SBACIABAttemptedness", computationOrder=10
    )
    if combined:
        param = _sub(
            rule,
            "Parameter",
            id=str(uuid.UUID(int=rng.getrandbits(128))),
            name="testPart",
            type="int",
            position=1,
        )
        _sub(param, "Property", name="indextype", value="string")
        for part, (test_id, *_rest) in enumerate(tests, start=1):
            _sub(param, "Value", index=test_id, value=part)
    theta = _sub(rules, "Rule", name="SBACTheta", computationOrder=20)
    for position, (name, value) in enumerate((("LOT", -4.5941), ("HOT", 4.3794), ("seLimit", 2.5)), start=1):
        param = _sub(
            theta,
            "Parameter",
            id=str(uuid.UUID(int=rng.getrandbits(128))),
            name=name,
            type="double",
            position=position,
        )
        _sub(param, "Value", value=value)
    for order, name in (
        (30, "ScaleScore"),
        (40, "TestPerformanceLevel"),
        (50, "RawScore"),
        (60, "ItemCount"),
    ):
        _sub(rules, "Rule", name=name, computationOrder=order)
    if combined:
        for test_id, *_rest in tests:
            _sub(top, "BlueprintElement", id=test_id, type="test")
    for claim in claims:
        _sub(blueprint, "BlueprintElement", id=claim, type="claim", label=claim.rpartition("-")[2])

    for test_id, label, algorithm, test_items in tests:
        test = _sub(root, "Test", id=test_id, label=f"Grade {grade} {subject} {label}")
        grades = _sub(test, "Grades")
        _sub(grades, "Grade", value=grade)
        segments = _sub(test, "Segments")
        segment = _sub(
            segments,
            "Segment",
            id=test_id,
            position=1,
            algorithmType=algorithm,
            algorithmImplementation="AIR ADAPTIVE" if algorithm == "adaptive" else "FAIRWAY ROUNDROBIN",
        )
        seg_bp = _sub(segment, "SegmentBlueprint")
        sbe = _sub(
            seg_bp,
            "SegmentBlueprintElement",
            idRef=test_id,
            minExamItems=len(test_items),
            maxExamItems=len(test_items),
        )
        selection = _sub(sbe, "ItemSelection")
        _sub(selection, "Property", name="slope", value=slope)
        _sub(selection, "Property", name="intercept", value=intercept)
        if algorithm == "adaptive":
            container = _sub(segment, "Pool")
        else:
            forms = _sub(segment, "SegmentForms")
            container = _sub(forms, "SegmentForm", id=f"{test_id}::FORM1", cohort="Default")
            _sub(_sub(container, "Presentations"), "Presentation", code="ENU", label="English")
        for item in test_items:
            group = _sub(container, "ItemGroup", id=f"G-{bank}-{item.key}")
            element = _sub(
                group,
                "Item",
                id=str(item.key),
                type=item.format,
                handScored="true" if item.hand_scored else None,
            )
            _sub(_sub(element, "Presentations"), "Presentation", code="ENU")
            refs = _sub(element, "BlueprintReferences")
            _sub(refs, "BlueprintReference", idRef=test_id)
            _sub(refs, "BlueprintReference", idRef=item.claim)
            dims = _sub(element, "ItemScoreDimensions")
            if item.points == 1:
                dim = _sub(
                    dims, "ItemScoreDimension", measurementModel="IRT3PLn", scorePoints=1, weight="1.0"
                )
                for name, value in (("a", item.a), ("b", item.b), ("c", item.c)):
                    _sub(dim, "ItemScoreParameter", measurementParameter=name, value=value)
            else:
                dim = _sub(
                    dims,
                    "ItemScoreDimension",
                    measurementModel="IRTGPC",
                    scorePoints=item.points,
                    weight="1.0",
                )
                _sub(dim, "ItemScoreParameter", measurementParameter="a", value=item.a)
                for step in range(item.points):
                    _sub(
                        dim,
                        "ItemScoreParameter",
                        measurementParameter=f"b{step}",
                        value=round(item.b + 0.4 * step, 5),
                    )
            if item.hand_scored:
                ths = _sub(
                    element, "TeacherHandScoring", description=f"{item.format} item {item.key}", layout="WAI"
                )
                # the scoring dimensions THSS needs (the package loader posts them to /api/item/submit);
                # without them the loader would send its three WER-style defaults for every item
                _sub(ths, "Dimensions").text = etree.CDATA(json.dumps(_hand_dimensions(item)))
    return _serialize(root)


#: the SBAC writing rubric (a WER item's three dimensions, as the scoring daemon's resolution rule names them)
WER_DIMENSIONS: Final = (("Organization/Purpose", 4), ("Evidence/Elaboration", 4), ("Conventions", 2))
_CONDITIONS: Final = (("B", "Blank"), ("I", "Insufficient"), ("L", "Non-Scorable Language"))


def _hand_dimensions(item: PackageItem) -> list[dict[str, Any]]:
    """THSS dimensions of a hand-scored item, in the JSON shape of ``TeacherHandScoring/Dimensions``."""
    dims = WER_DIMENSIONS if item.format == "WER" else (("Correct Answer", item.points),)
    return [{"conditions": [{"code": c, "description": d} for c, d in _CONDITIONS], "description": name,
             "maxPoints": str(top), "minPoints": "0"} for name, top in dims]


def read_package(data: bytes | Any) -> PackageInfo:
    """Extract what TRT generation needs from a v4 test package (bytes or a parsed element).

    Reads the package identity, its tests, their segments (in position order), each segment's
    first form (or pool) and its items with their format, points, IRT parameters and first
    non-test blueprint reference, the cut scores of the top blueprint element, and the scale
    slope/intercept from the first ``ItemSelection`` that has them.
    """
    root = parse_xml(bytes(data)) if isinstance(data, bytes | bytearray) else data
    if hasattr(root, "getroot"):
        root = root.getroot()
    bank = int(root.get("bankKey"))
    tests = []
    for test in root.findall("Test"):
        segments = []
        for seg in test.iterfind("Segments/Segment"):
            form = seg.find("SegmentForms/SegmentForm")
            container = form if form is not None else seg.find("Pool")
            items = []
            for item in container.iterfind("ItemGroup/Item"):
                dim = item.find("ItemScoreDimensions/ItemScoreDimension")
                params = {
                    p.get("measurementParameter"): float(p.get("value"))
                    for p in dim.iterfind("ItemScoreParameter")
                }
                refs = [r.get("idRef") for r in item.iterfind("BlueprintReferences/BlueprintReference")]
                items.append(
                    PackageItem(
                        key=int(item.get("id")),
                        bank_key=bank,
                        format=item.get("type"),
                        points=int(dim.get("scorePoints")),
                        hand_scored=item.get("handScored") in ("true", "1"),
                        claim=next((r for r in refs if r != test.get("id")), "") or "",
                        a=params.get("a", 1.0),
                        b=params.get("b", params.get("b0", 0.0)),
                        c=params.get("c", 0.0),
                    )
                )
            segments.append(
                PackageSegment(
                    id=seg.get("id"),
                    position=int(seg.get("position") or 1),
                    algorithm=seg.get("algorithmType"),
                    form_key=form.get("id") if form is not None else "",
                    items=tuple(items),
                )
            )
        segments.sort(key=lambda s: s.position)
        tests.append(PackageTest(id=test.get("id"), label=test.get("label"), segments=tuple(segments)))
    props = {p.get("name"): p.get("value") for p in root.iterfind(".//ItemSelection/Property")}
    top = root.find("Blueprint/BlueprintElement")
    cuts = sorted(
        {
            float(v)
            for pl in top.iterfind("Scoring/PerformanceLevels/PerformanceLevel")
            for v in (pl.get("scaledLo"), pl.get("scaledHi"))
        }
    )
    grade = root.find("Test/Grades/Grade")
    return PackageInfo(
        id=root.get("id"),
        subject=root.get("subject"),
        grade=grade.get("value") if grade is not None else "",
        academic_year=root.get("academicYear"),
        bank_key=bank,
        version=root.get("version").split(".")[0],
        combined=top.get("type") == "package",
        tests=tuple(tests),
        slope=float(props.get("slope", 1.0)),
        intercept=float(props.get("intercept", 0.0)),
        cuts=tuple(cuts),
    )


# -------------------------------------------------------------------------------------------- TRT


@dataclass
class _Examinee:
    key: int
    first: str
    last: str
    ssid: str
    dob: str
    sex: str
    district: tuple[str, str]
    school: tuple[str, str]
    state: str


def _examinee(seed: int | str) -> _Examinee:
    fake, rng = _faker(seed, "examinee"), _rng(seed, "examinee")
    return _Examinee(
        key=rng.randint(100000, 9999999),
        first=fake.first_name(),
        last=fake.last_name(),
        ssid=f"SSID{rng.randint(10**6, 10**7 - 1)}",
        # not fake.date_of_birth(): that depends on today's date, and generation must not
        dob=f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(2000, 2010)}",
        sex=rng.choice(("Male", "Female")),
        district=(f"D{rng.randint(1000, 9999)}", f"{fake.city()} Unified"),
        school=(f"S{rng.randint(10000, 99999)}", f"{fake.last_name()} Elementary"),
        state=fake.state_abbr(),
    )


def _score_value(rng: random.Random, item: PackageItem, ability: float) -> int:
    p = item.c + (1 - item.c) / (1 + math.exp(-1.7 * item.a * (ability - item.b)))
    return sum(1 for _ in range(item.points) if rng.random() < p)


def _trt(
    seed: int | str,
    kind: str,
    package: PackageInfo,
    test: PackageTest,
    examinee: _Examinee,
    opportunity: int,
    window: str,
    start: datetime,
) -> bytes:
    rng = _rng(seed, f"trt:{kind}:{test.id}")
    scored = kind == "scored"
    ability = rng.gauss(0.0, 1.0)
    root = etree.Element("TDSReport")
    _sub(
        root,
        "Test",
        name=f"(SBAC_PT){test.id}-{package.academic_year.replace('-', '-')}",
        subject=package.subject,
        testId=test.id,
        bankKey=package.bank_key,
        contract="SBAC_PT",
        mode="online",
        grade=package.grade.zfill(2),
        handScoreProject=0 if not scored else None,
        assessmentType="ICA" if package.combined else "IAB",
        academicYear=package.academic_year.split("-")[-1],
        assessmentVersion=package.version,
    )
    exam = _sub(root, "Examinee", key=examinee.key, isDemo=0)
    ctx_date = _iso(start - timedelta(minutes=5))
    for context in ("INITIAL", "FINAL"):
        for name, value in (
            ("StudentIdentifier", examinee.ssid),
            ("FirstName", examinee.first),
            ("LastOrSurname", examinee.last),
            ("Sex", examinee.sex),
            ("DOB", examinee.dob),
            ("Grade", package.grade.zfill(2)),
        ):
            _sub(exam, "ExamineeAttribute", context=context, name=name, value=value, contextDate=ctx_date)
        for name, entity, value in (
            ("DistrictID", examinee.district[0], examinee.district[0]),
            ("DistrictName", examinee.district[0], examinee.district[1]),
            ("SchoolID", examinee.school[0], examinee.school[0]),
            ("SchoolName", examinee.school[0], examinee.school[1]),
            ("StateName", examinee.state, examinee.state),
        ):
            _sub(
                exam,
                "ExamineeRelationship",
                context=context,
                name=name,
                value=value,
                contextDate=ctx_date,
                entityKey=int(entity[1:]) if entity[1:].isdigit() else rng.randint(1, 10**6),
            )
    all_items = [(seg, item) for seg in test.segments for item in seg.items]
    duration = timedelta(minutes=rng.randint(20, 90))
    end = start + duration
    status = "scored" if scored else "completed"
    complete = "Complete"
    opp = _sub(
        root,
        "Opportunity",
        server="tds-exam-1",
        database="exam" if not scored else "session",
        clientName="SBAC_PT",
        key=str(uuid.UUID(int=rng.getrandbits(128))),
        oppId=str(rng.randint(10**6, 5 * 10**6)) if scored else "0",
        startDate=_iso(start),
        status=status,
        validity=None if scored else "valid",
        completeness=None if scored else "complete",
        opportunity=opportunity,
        statusDate=_iso(end + timedelta(seconds=30)),
        dateCompleted=_iso(end),
        pauseCount=rng.randint(0, 3),
        itemCount=len(all_items),
        ftCount=0,
        windowId=window,
        windowOpportunity="",
        dateForceCompleted="",
        abnormalStarts=0,
        gracePeriodRestarts=0,
        taId=f"ta{rng.randint(1000, 9999)}@example.org",
        taName=_faker(seed, "ta").name(),
        sessionId=f"SES-{rng.randint(1000, 9999)}",
        qaLevel="",
        reportingVersion=1,
        completeStatus=complete if scored else None,
        administrationCondition="Valid" if scored else None,
        assessmentParticipantSessionPlatformUserAgent="Mozilla/5.0 (X11; Linux x86_64) SecureBrowser/10.4",
        effectiveDate=f"{package.academic_year.split('-')[0]}-08-15",
    )
    for seg in test.segments:
        _sub(
            opp,
            "Segment",
            id=seg.id,
            position=seg.position,
            formId=seg.form_key.rpartition("::")[2] or None,
            formKey=f"{package.bank_key}-{rng.randint(100, 999)}" if seg.form_key else None,
            algorithm=seg.algorithm,
            algorithmVersion="0",
        )
    for acc_type, value, code in (
        ("Language", "English", "ENU"),
        ("Print Size", "No default zoom applied", "TDS_PS_L0"),
    ):
        _sub(opp, "Accommodation", type=acc_type, value=value, code=code, segment=0)
    raw = 0
    item_scores: list[tuple[PackageItem, int]] = []
    elements = []
    for position, (seg, item) in enumerate(all_items, start=1):
        points = _score_value(rng, item, ability)
        machine_scores = not item.hand_scored and not (kind == "partial" and item.format == "EQ")
        if kind in ("machine", "combined") and item.format == "EQ":
            machine_scores = True
        is_scored = scored or machine_scores
        if is_scored:
            raw += points
            item_scores.append((item, points))
        admin = start + duration * position / (len(all_items) + 1)
        element = etree.Element(
            "Item",
            {
                k: str(v)
                for k, v in dict(
                    position=position,
                    segmentId=seg.id,
                    bankKey=item.bank_key,
                    key=item.key,
                    operational=1,
                    isSelected=1,
                    format=item.format,
                    score=points if is_scored else -1,
                    scoreStatus="SCORED" if is_scored else "NOTSCORED",
                    adminDate=_iso(admin),
                    numberVisits=rng.randint(1, 3),
                    mimeType="text/xml" if item.format in ("TI", "GI", "EQ", "HTQ") else "text/plain",
                    clientId=f"{rng.randint(1000, 9999)}",
                    strand=item.claim.rpartition("-")[2] or "Claim1",
                    contentLevel=f"{item.claim.rpartition('-')[2] or 'Claim1'}|T{rng.randint(1, 9)}",
                    pageNumber=position,
                    pageVisits=rng.randint(1, 3),
                    pageTime=rng.randint(5000, 300000),
                    responseDuration=rng.randint(5, 300),
                    dropped=0,
                ).items()
            },
        )
        response = _sub(element, "Response", date=_iso(admin), type="value")
        if item.format in ("MC", "EBSR"):
            response.text = etree.CDATA(rng.choice("ABCD"))
        elif item.format == "MS":
            response.text = etree.CDATA(",".join(sorted(rng.sample("ABCDE", 2))))
        elif item.format in ("ER", "WER", "SA"):
            response.text = etree.CDATA(_faker(f"{seed}:{item.key}", "essay").paragraph(nb_sentences=4))
        else:
            response.text = etree.CDATA(
                f'<itemResponse><response id="1"><value>{points}</value></response></itemResponse>'
            )
        info = _sub(
            element,
            "ScoreInfo",
            scorePoint=points if is_scored else -1,
            maxScore=item.points,
            scoreDimension="overall",
            scoreStatus="Scored" if is_scored else "NotScored",
        )
        if scored and item.hand_scored:
            rationale = _sub(info, "ScoreRationale")
            message = {"scorerID": str(rng.randint(1, 999)), "conditionCode": None}
            _sub(rationale, "Message").text = json.dumps(message, separators=(",", ":"))
            subs = _sub(info, "SubScoreList")
            dims = ("D", "C") if item.format == "WER" else ("Initial", "Final")
            for dim in dims:
                _sub(
                    subs,
                    "ScoreInfo",
                    scorePoint=min(points, item.points),
                    maxScore=item.points,
                    scoreDimension=dim,
                    scoreStatus="Scored",
                )
        elements.append(element)
    if scored:
        max_raw = sum(i.points for i, _ in item_scores) or 1
        fraction = min(max(raw / max_raw, 0.02), 0.98)
        theta = max(-4.5941, min(4.3794, math.log(fraction / (1 - fraction))))
        se = round(1 / math.sqrt(max(1.0, 0.4 * len(item_scores))), 6)
        scale = package.intercept + theta * package.slope
        cuts = package.cuts or (0.0,)
        level = max(1, min(4, sum(1 for cut in cuts[1:-1] if round(scale) >= cut) + 1))
        for of, label, value, error in (
            ("Overall", "Attempted", "Y", ""),
            ("Overall", "ThetaScore", f"{theta:.15g}", f"{se:.15g}"),
            ("Overall", "ScaleScore", f"{scale:.15g}", f"{se * package.slope:.15g}"),
            ("Overall", "PerformanceLevel", str(level), ""),
            ("Overall", "ItemCount", str(len(all_items)), "0"),
            ("Overall", "RawScore", str(raw), "0"),
            ("ENU|TDS_PS_L0", "Accommodation", "", ""),
        ):
            _sub(opp, "Score", measureOf=of, measureLabel=label, value=value, standardError=error)
    for element in elements:
        opp.append(element)
    return _serialize(root)


def generate_trt(
    seed: int | str,
    *,
    kind: str = "machine",
    items: int = 12,
    package: bytes | PackageInfo | None = None,
    component: int = 1,
) -> bytes:
    """Generate one TRT (TDSReport), deterministic by ``seed``.

    Kinds:

    * ``machine``: as the delivery system's transmitter sends it: ``oppId="0"``, ``database="exam"``,
      status ``completed``, ``validity``/``completeness`` set, every item ``SCORED`` if machine-scored
      and ``NOTSCORED`` with ``score="-1"`` if hand-scored, and no opportunity ``<Score>``.
      Valid against the strict profile (``trt-strict``, the transmitter's schema).
    * ``partial``: the same, with EQ items also left ``NOTSCORED`` (waiting for the machine scorer),
      so ER, WER, SA and EQ items are all unscored. Valid against ``trt-strict``.
    * ``scored``: as TIS writes it after scoring and merging hand scores: every item ``SCORED``,
      hand-score ``ScoreInfo`` trees (``Initial``/``Final`` reads, ``D``/``C`` for WER) with a JSON
      scorer message, opportunity ``<Score>``s (Attempted, ThetaScore, ScaleScore,
      PerformanceLevel, ItemCount, RawScore, Accommodation), ``completeStatus="Complete"``, no
      validity/completeness, status ``scored``. Valid against the lenient profile (``trt``).
    * ``combined``: component ``component`` (1 = CAT, 2 = Perf) of a combined package, in the
      transmitter shape; see :func:`generate_combined_trts` for a matching pair.

    Args:
        seed: the seed; the same arguments give the same bytes.
        kind: one of :data:`TRT_KINDS`.
        items: items per test when the package is generated here.
        package: the v4 package (bytes or :class:`PackageInfo`) the TRT belongs to; generated
            from ``seed`` when None (combined when ``kind="combined"``).
        component: which component test of a combined package (1-based).

    Raises:
        ValueError: an unknown ``kind``, or a ``component`` the package does not have.
    """
    if kind not in TRT_KINDS:
        raise ValueError(f"unknown TRT kind {kind!r} (known: {', '.join(TRT_KINDS)})")
    info = _package_info(seed, package, items, kind == "combined")
    if not 1 <= component <= len(info.tests):
        raise ValueError(f"package {info.id} has {len(info.tests)} test(s), no component {component}")
    rng = _rng(seed, "opportunity")
    start = _EPOCH + timedelta(days=rng.randint(10, 200), minutes=rng.randint(0, 600))
    return _trt(
        seed,
        kind,
        info,
        info.tests[component - 1],
        _examinee(seed),
        rng.randint(1, 3),
        f"WIN-{info.academic_year}",
        start,
    )


def generate_combined_trts(
    seed: int | str, *, items: int = 12, package: bytes | PackageInfo | None = None
) -> list[bytes]:
    """Generate the component TRTs of one combined opportunity (one per component test).

    They share what TIS's merge requires: the examinee, the opportunity number, the window and
    the mode; they start a few days apart. Each is in the transmitter shape (strict profile).

    Args:
        seed: the seed.
        items: items per component when the package is generated here.
        package: a combined v4 package (bytes or :class:`PackageInfo`); generated when None.
    """
    info = _package_info(seed, package, items, True)
    rng = _rng(seed, "opportunity")
    start = _EPOCH + timedelta(days=rng.randint(10, 200), minutes=rng.randint(0, 600))
    examinee, number = _examinee(seed), rng.randint(1, 3)
    return [
        _trt(
            f"{seed}:{n}",
            "combined",
            info,
            test,
            examinee,
            number,
            f"WIN-{info.academic_year}",
            start + timedelta(days=n),
        )
        for n, test in enumerate(info.tests)
    ]


def _package_info(
    seed: int | str, package: bytes | PackageInfo | None, items: int, combined: bool
) -> PackageInfo:
    if isinstance(package, PackageInfo):
        return package
    if package is None:
        package = generate_testpackage(seed, items=items, combined=combined)
    return read_package(package)


# ----------------------------------------------------------------------------------- participants


def generate_participants(seed: int | str, count: int) -> list[dict[str, Any]]:
    """Generate Questionmark delivery OData ``Participants``, deterministic by ``seed``.

    Each is a dict with the OData property names: ``ID`` (Int32), ``Name`` (the login),
    ``FirstName``, ``LastName``, ``PrimaryEmail``, ``PreferredLang``, ``SsoId``, ``Blocked``,
    ``RegistrationDateTime`` (UTC ISO 8601 with ``Z``), ``Details1``..``Details3`` and
    ``Password`` (``None``: write-only in the real service). IDs and names are unique in a batch.
    """
    fake, rng = _faker(seed, "participants"), _rng(seed, "participants")
    people: list[dict[str, Any]] = []
    ids: set[int] = set()
    names: set[str] = set()
    while len(people) < count:
        first, last = fake.first_name(), fake.last_name()
        ident = rng.randint(1, 2**31 - 1)
        name = f"{first[0]}{last}{rng.randint(1, 999)}".lower()
        if ident in ids or name in names:
            continue
        ids.add(ident)
        names.add(name)
        registered = _EPOCH + timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
        people.append(
            {
                "ID": ident,
                "Name": name,
                "FirstName": first,
                "LastName": last,
                "PrimaryEmail": f"{name}@{fake.free_email_domain()}",
                "PreferredLang": rng.choice(("en-US", "en-GB", "es-ES", "fr-FR")),
                "SsoId": str(uuid.UUID(int=rng.getrandbits(128))),
                "Blocked": rng.random() < 0.05,
                "RegistrationDateTime": registered.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Details1": fake.company(),
                "Details2": fake.city(),
                "Details3": f"Grade {rng.randint(3, 12)}",
                "Password": None,
            }
        )
    return people
