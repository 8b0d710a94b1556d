"""TRT (TDSReport) reading and writing as TIS's typed model does it: key fields, typed checks, serialisation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from mocks.core import bounds

_DT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$")
_XS_DT_RE = re.compile(r"^-?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


class FieldError(ValueError):
    """A key or typed field that does not parse; ``field`` names it as ``Element@attribute``."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class KeyFields:
    """What the receiver stores beside the TRT."""

    test_name: str
    opp_id: int
    status_date: datetime
    testee: int
    is_demo: bool
    opp_key: str


def parse_datetime(text: str) -> datetime:
    """A .NET ``DateTime.Parse``-like reading (ISO or ``yyyy-MM-dd HH:mm:ss.fff``); naive is UTC."""
    value = text.strip()
    if not _DT_RE.match(value):
        raise ValueError(f"'{text}' is not a valid DateTime")
    value = value.replace(" ", "T").replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _xml_int(raw: str, lo: int = bounds.INT64_MIN, hi: int = bounds.INT64_MAX) -> int | None:
    """``raw`` as XmlConvert reads an integer (white space and a leading sign allowed) within [lo, hi], else None."""
    text = raw.strip()
    if text.startswith("+") and text[1:2].isdigit():
        text = text[1:]
    return bounds.ascii_int(text, lo, hi)


def _long(el: Any, where: str, attr: str) -> int:
    raw = el.get(attr)
    # long.Parse: ASCII digits within Int64 (int() took 2**63, which SQLite's INTEGER then refused: a 500)
    value = _xml_int(str(raw)) if raw is not None else None
    if value is None:
        raise FieldError(f"{where}@{attr}", f"'{raw}' is not a long" if raw is not None else "missing")
    return value


#: the widths of the columns the key fields are stored in (mocks/tis/models.py)
TESTNAME_WIDTH = 255
OPPKEY_WIDTH = 64


def key_fields(root: Any) -> KeyFields:
    """``XMLAdapterOSS.GetKeyValues``: Test name, oppId, statusDate, Examinee key (raises :class:`FieldError`)."""
    test = root.find("Test")
    if test is None:
        raise FieldError("TDSReport/Test", "missing")
    name = test.get("name") or ""
    if not name:
        raise FieldError("Test@name", "empty")
    if len(name) > TESTNAME_WIDTH:  # stored in String(255) columns (PostgreSQL refuses a wider value: a DataError)
        raise FieldError("Test@name", f"longer than {TESTNAME_WIDTH} characters")
    opp = root.find("Opportunity")
    if opp is None:
        raise FieldError("TDSReport/Opportunity", "missing")
    opp_id = _long(opp, "Opportunity", "oppId")
    raw_date = opp.get("statusDate")
    try:
        status_date = parse_datetime(raw_date or "")
    except ValueError:
        raise FieldError("Opportunity@statusDate", f"'{raw_date}' is not a valid DateTime") from None
    examinee = root.find("Examinee")
    if examinee is None:
        raise FieldError("TDSReport/Examinee", "missing")
    testee = _long(examinee, "Examinee", "key")
    # Convert.ToBoolean: only "true"/"false" parse; anything else is stored as false
    is_demo = (examinee.get("isDemo") or "").strip().lower() == "true"
    opp_key = (opp.get("key") or "").strip().lower()
    if len(opp_key) > OPPKEY_WIDTH:  # a Guid is 36; the oppkey columns are String(64)
        raise FieldError("Opportunity@key", f"longer than {OPPKEY_WIDTH} characters")
    return KeyFields(name, opp_id, status_date, testee, is_demo, opp_key)


_INT_ATTRS = {
    "Test": ("bankKey", "handScoreProject"),
    "Opportunity": ("opportunity", "reportingVersion", "pauseCount", "itemCount", "ftCount",
                    "gracePeriodRestarts", "abnormalStarts"),
    "Segment": ("position",),
    "Item": ("position", "bankKey", "key", "operational", "isSelected", "dropped", "numberVisits", "pageNumber",
             "pageVisits", "pageTime"),
    "Accommodation": ("segment",),
}
_DATE_ATTRS = {"Opportunity": ("statusDate", "startDate", "dateCompleted", "dateForceCompleted")}
_TYPED_TAGS = tuple(_INT_ATTRS)


def typed_check(root: Any) -> None:
    """The XmlSerializer's typed reading: raise :class:`FieldError` for the first value that does not parse."""
    opp = root.find("Opportunity")
    if opp is None or root.find("Test") is None or root.find("Examinee") is None:
        raise FieldError("TDSReport", "Test, Examinee and Opportunity are required")
    try:
        uuid.UUID(opp.get("key") or "")
    except ValueError:
        raise FieldError("Opportunity@key", f"'{opp.get('key')}' is not a Guid") from None
    _long(opp, "Opportunity", "oppId")
    _long(root.find("Examinee"), "Examinee", "key")
    for el in root.iter(*_TYPED_TAGS):  # in document order, only the elements with typed attributes
        for attr in _INT_ATTRS.get(el.tag, ()):
            raw = el.get(attr)
            # the XmlSerializer's int: Int32 (the bank and item keys are stored, in BigInteger columns)
            if raw is not None and _xml_int(raw, bounds.INT32_MIN, bounds.INT32_MAX) is None:
                raise FieldError(f"{el.tag}@{attr}", f"'{raw}' is not an int")
        for attr in _DATE_ATTRS.get(el.tag, ()):
            raw = el.get(attr)
            if raw and not _XS_DT_RE.match(raw):
                raise FieldError(f"{el.tag}@{attr}", f"'{raw}' is not an xs:dateTime")
        if el.tag == "Item":
            raw = el.get("score")
            if raw not in (None, ""):
                try:
                    float(str(raw))
                except ValueError:
                    raise FieldError("Item@score", f"'{raw}' is not a double") from None


def serialize(root: Any) -> bytes:
    """The TRT as TIS writes it to targets: UTF-8, no XML declaration, indented."""
    etree.indent(root, space="  ")
    data: bytes = etree.tostring(root, encoding="utf-8")
    return data


def serialize_utf16_declared(root: Any) -> str:
    """The TRT as the ack's ``trt`` carries it (``StringWriter``: a UTF-16 declaration)."""
    etree.indent(root, space="  ")
    body: str = etree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-16"?>\n' + body


def item_name(item: Any) -> str:
    """``{bankKey}-{key}``."""
    return f"{item.get('bankKey')}-{item.get('key')}"
