"""Schema validation of examrig's wire documents: compiled-once XSDs, kind detection, readable errors."""

from __future__ import annotations

import functools
import itertools
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

from contracts.jsonschema_lite import json_errors
from contracts.xmlsafe import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, UnsafeXmlError, XmlError, parse_xml

__all__ = [
    "JSON_SCHEMA_NAMES",
    "MAX_ATTRIBUTES",
    "MAX_ERRORS",
    "READABLE_MAX_BYTES",
    "SCHEMA_DIR",
    "SCHEMA_NAMES",
    "UnknownSchemaError",
    "ValidationIssue",
    "ValidationResult",
    "detect_kind",
    "is_valid",
    "json_schema",
    "lxml_schema",
    "schema_path",
    "validate",
    "validate_json",
]

#: Directory of examrig's own schema files.
SCHEMA_DIR: Final = Path(__file__).resolve().parent / "schemas"

#: XML schema names, in the order the CLI lists them.
SCHEMA_NAMES: Final[tuple[str, ...]] = (
    "trt",
    "trt-strict",
    "testpackage",
    "thss-upload",
    "itemscore-request",
    "itemscore-response",
)

#: JSON schema names (files ``schemas/<name>.schema.json``).
JSON_SCHEMA_NAMES: Final[tuple[str, ...]] = ("tis-ack", "thss-upload-result")

#: How many problems of an invalid document are described (positions, reasons); the rest are counted.
#: Describing one costs a walk of the tree, so describing them all was quadratic in the document: a TRT
#: with 10,000 unknown attributes kept a server busy for minutes (issue 12).
MAX_ERRORS: Final = 50

#: xmlschema re-derives reasons only for documents up to this size (and at most MAX_ERRORS problems):
#: it is pure Python, hundreds of times slower than lxml, and builds every error of an element eagerly
#: (2,000 unknown attributes on one element cost it 30 s even when only 20 errors were asked for).
READABLE_MAX_BYTES: Final = 256 * 1024

_ROOT_KINDS: Final = {
    "TDSReport": "trt",
    "TestPackage": "testpackage",
    "ItemScoreResponse": "itemscore-response",
}


class UnknownSchemaError(ValueError):
    """A schema name that is not one of :data:`SCHEMA_NAMES` (or :data:`JSON_SCHEMA_NAMES`)."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a document.

    Attributes:
        line: 1-based line of the offending element (None when unknown, e.g. JSON).
        column: 1-based column of the offending element's start tag (None when unknown).
        path: XPath of the offending element (``/TDSReport/Opportunity/Item[3]``), or a JSON
            pointer for JSON documents; ``""`` for document-level problems.
        reason: what is wrong, in one line.
    """

    line: int | None
    column: int | None
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.line or 0}:{self.column or 0}"
        return f"{where}: {self.path or '/'}: {self.reason}"


@dataclass(frozen=True)
class ValidationResult:
    """The verdict on one document.

    Attributes:
        valid: True when the document is well-formed, safe, and valid against ``schema``.
        schema: the schema name used (the detected kind when none was given; ``""`` if undetectable).
        errors: the first problems found (at most ``max_errors`` of :func:`validate`), in document
            order; empty when valid.
        well_formed: False when the document could not be parsed at all (malformed or refused as
            unsafe); ``errors`` then holds the single parse error.
        error_count: how many problems the validator found in all (``len(errors)`` or more).
    """

    valid: bool
    schema: str
    errors: list[ValidationIssue] = field(default_factory=list)
    well_formed: bool = True
    error_count: int = -1

    def __post_init__(self) -> None:
        if self.error_count < len(self.errors):
            object.__setattr__(self, "error_count", len(self.errors))

    def __bool__(self) -> bool:
        return self.valid

    @property
    def more(self) -> int:
        """How many problems were found beyond those described in ``errors``."""
        return self.error_count - len(self.errors)

    def messages(self) -> list[str]:
        """One line per described problem, then ``… and N more errors`` when some were only counted."""
        lines = [str(issue) for issue in self.errors]
        if self.more:
            lines.append(f"... and {self.more} more error(s) not described")
        return lines


def schema_path(name: str) -> Path:
    """Return the file of the XML schema called ``name``.

    Raises:
        UnknownSchemaError: ``name`` is not in :data:`SCHEMA_NAMES`.
    """
    if name not in SCHEMA_NAMES:
        raise UnknownSchemaError(f"unknown schema {name!r} (known: {', '.join(SCHEMA_NAMES)})")
    return SCHEMA_DIR / f"{name}.xsd"


_lock = threading.Lock()
# libxml2 fails ("Internal error") when two threads compile a schema at once, and functools.cache
# does not stop two first calls from both compiling: compile under a lock, once
_compile_lock = threading.Lock()
_compiled: dict[str, Any] = {}
_readable: dict[str, Any] = {}


def lxml_schema(name: str) -> Any:
    """Return the compiled ``lxml.etree.XMLSchema`` for ``name``, compiled once per process.

    Compilation is serialised (concurrent first uses from several threads are safe). lxml schema
    objects are not safe to share between threads while validating, so each call of
    :func:`validate` holds a lock around the (fast) validation step itself.

    Raises:
        UnknownSchemaError: ``name`` is not in :data:`SCHEMA_NAMES`.
    """
    schema = _compiled.get(name)
    if schema is None:
        with _compile_lock:
            schema = _compiled.get(name)
            if schema is None:
                path = schema_path(name)
                schema = etree.XMLSchema(etree.parse(str(path),
                                                     etree.XMLParser(resolve_entities=False, no_network=True)))
                _compiled[name] = schema
    return schema


def _xmlschema_schema(name: str) -> Any:
    schema = _readable.get(name)
    if schema is None:
        with _compile_lock:
            schema = _readable.get(name)
            if schema is None:
                import xmlschema

                schema = xmlschema.XMLSchema10(str(schema_path(name)))
                _readable[name] = schema
    return schema


@functools.cache
def json_schema(name: str) -> dict[str, Any]:
    """Return the JSON schema called ``name`` (one of :data:`JSON_SCHEMA_NAMES`) as a dict.

    Raises:
        UnknownSchemaError: ``name`` is not in :data:`JSON_SCHEMA_NAMES`.
    """
    if name not in JSON_SCHEMA_NAMES:
        raise UnknownSchemaError(f"unknown JSON schema {name!r} (known: {', '.join(JSON_SCHEMA_NAMES)})")
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text("utf-8"))
    return loaded


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def detect_kind(root: Any) -> str:
    """Return the schema name that fits a document, judged from its root element.

    ``TDSReport`` gives ``"trt"`` (the lenient profile; ask for ``"trt-strict"`` explicitly),
    ``TestPackage`` gives ``"testpackage"``, ``ItemScoreResponse`` gives ``"itemscore-response"``,
    and ``ItemScoreRequest`` gives ``"thss-upload"`` when it wraps a ``TDSReport`` and
    ``"itemscore-request"`` otherwise (the per-item ``ResponseInfo`` form).

    Args:
        root: an lxml element or element tree.

    Raises:
        ValueError: the root element is none of those.
    """
    if hasattr(root, "getroot"):
        root = root.getroot()
    name = _local(root.tag)
    if name in _ROOT_KINDS:
        return _ROOT_KINDS[name]
    if name == "ItemScoreRequest":
        for child in root:
            if _local(child.tag) == "TDSReport":
                return "thss-upload"
        return "itemscore-request"
    raise ValueError(f"unknown document kind: root element <{name or root.tag}>")


#: How far back in document order :func:`_position_of` looks for same-tag elements on the same line;
#: beyond it the column is left unknown (a document of one long line would otherwise cost a walk of
#: the tree per described problem).
_POSITION_WALK: Final = 10_000


def _preceding(elem: Any) -> Any:
    """The elements before ``elem`` in reverse document order (the XPath ``preceding`` and ``ancestor`` axes)."""
    node = elem
    while True:
        prev = node.getprevious()
        if prev is None:
            node = node.getparent()
            if node is None:
                return
            yield node
            continue
        while len(prev):
            prev = prev[-1]
        node = prev
        yield node


def _position_of(lines: list[bytes] | None, root: Any, elem: Any) -> tuple[int | None, int | None]:
    """Best-effort (line, column) of ``elem``'s start tag from the raw bytes.

    libxml2 records the line on which a start tag *ends*; a tag whose attributes span several
    lines is therefore looked for backwards from there. The cost is bounded (:data:`_POSITION_WALK`
    elements, the start of one line): the caller describes a few problems of any document.
    """
    line = getattr(elem, "sourceline", None)
    if lines is None or line is None or not 0 < line <= len(lines):
        return line, None
    tag = b"<" + _local(elem.tag).encode()
    ends = (b" ", b">", b"/", b"\t", b"\r", b"\n", b"")

    def nth_start(text: bytes, nth: int) -> int:
        """The offset of the ``nth`` (0-based) start tag ``tag`` in ``text``, or -1."""
        pos = text.find(tag)
        while pos >= 0:
            if text[pos + len(tag) : pos + len(tag) + 1] in ends:
                if nth == 0:
                    return pos
                nth -= 1
            pos = text.find(tag, pos + 1)
        return -1

    def last_start(text: bytes) -> int:
        pos = text.rfind(tag)
        while pos >= 0 and text[pos + len(tag) : pos + len(tag) + 1] not in ends:
            pos = text.rfind(tag, 0, pos)
        return pos

    # which of the elements with this tag recorded on this line is it? (document order keeps lines
    # non-decreasing, so the walk back ends at the first element of an earlier line)
    nth = 0
    for walked, other in enumerate(_preceding(elem)):
        if walked >= _POSITION_WALK:
            return line, None
        if other.sourceline is None or other.sourceline < line:
            break
        if other.tag == elem.tag:
            nth += 1
    here = nth_start(lines[line - 1], nth)
    if here >= 0:
        return line, here + 1
    for back in range(line - 2, max(line - 200, 0) - 1, -1):
        found = last_start(lines[back])
        if found >= 0:
            return back + 1, found + 1
    return line, None


def _lxml_issues(schema: Any, root: Any, lines: list[bytes] | None, limit: int) -> list[ValidationIssue]:
    tree = root.getroottree()
    issues = []
    for entry in itertools.islice(schema.error_log, limit):
        elem = None
        if entry.path:
            try:
                found = tree.xpath(entry.path)
                elem = found[0] if found else None
            except etree.XPathError:
                elem = None
        line, column = (entry.line or None, entry.column or None)
        if elem is not None:
            line, column = _position_of(lines, root, elem)
        issues.append(ValidationIssue(line, column, entry.path or "", " ".join(entry.message.split())))
    return issues


def _xmlschema_issues(name: str, root: Any, lines: list[bytes] | None, limit: int) -> list[ValidationIssue]:
    tree = root.getroottree()
    issues = []
    for err in itertools.islice(_xmlschema_schema(name).iter_errors(tree), limit):
        elem = err.elem if etree.iselement(err.elem) else None
        line, column = _position_of(lines, root, elem) if elem is not None else (None, None)
        path = tree.getpath(elem) if elem is not None else (err.path or "")
        reason = " ".join(str(err.reason or err.message).split())
        issues.append(ValidationIssue(line, column, path, reason))
    return issues


#: More attributes than any element of examrig's schemas declares (the TRT's widest has about 20): such an
#: element is invalid whatever the schema says, and libxml2 reports each undeclared attribute at a cost
#: a hundred times a valid one's, so the verdict is taken here, in one pass over the tree.
MAX_ATTRIBUTES: Final = 200


def _crowded_element(root: Any) -> tuple[Any, int] | None:
    """The first element with more than :data:`MAX_ATTRIBUTES` attributes, and how many it has."""
    for elem in root.iter():
        count = len(elem.attrib)
        if count > MAX_ATTRIBUTES:
            return elem, count
    return None


def _to_root(doc: Any, max_bytes: int, max_depth: int) -> tuple[Any, list[bytes] | None]:
    if isinstance(doc, bytes | bytearray | memoryview | str):
        data = doc.encode("utf-8") if isinstance(doc, str) else bytes(doc)
        root = parse_xml(data, max_bytes=max_bytes, max_depth=max_depth)
        return root, data.split(b"\n")
    if hasattr(doc, "getroot"):
        return doc.getroot(), None
    if etree.iselement(doc):
        return doc, None
    raise TypeError(f"cannot validate a {type(doc).__name__}: pass bytes or an lxml element/tree")


def validate(
    doc: Any,
    schema: str | None = None,
    *,
    detailed: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_errors: int = MAX_ERRORS,
) -> ValidationResult:
    """Validate one XML document against one of examrig's schemas.

    Bytes are parsed with :func:`contracts.xmlsafe.parse_xml` (hardened); a document that is not
    well-formed or is refused as unsafe gives an invalid result with ``well_formed=False`` rather
    than an exception. Validation itself uses lxml with the schema compiled once per process; an
    invalid document's first ``max_errors`` problems are described (lxml's message, the element's
    XPath, line and column) and the others only counted (``error_count``), so refusing a document
    costs about what validating it does. When ``detailed`` is true and the document is small (at most
    :data:`READABLE_MAX_BYTES`, at most ``max_errors`` problems), the reasons are re-derived with
    ``xmlschema`` (lxml's messages stand if it finds none or fails).

    Args:
        doc: raw bytes (or str) of the document, or an already parsed lxml element or tree.
        schema: one of :data:`SCHEMA_NAMES`; ``None`` detects it from the root (:func:`detect_kind`).
        detailed: derive error reasons with xmlschema (far slower; bounded as above).
        max_bytes: size bound passed to :func:`parse_xml` for raw input.
        max_depth: nesting bound passed to :func:`parse_xml` for raw input.
        max_errors: how many problems are described at most (the rest are counted).

    Returns:
        A :class:`ValidationResult`; ``bool(result)`` is ``result.valid``.

    Raises:
        UnknownSchemaError: ``schema`` is not a known schema name.
        TypeError: ``doc`` is neither bytes/str nor an lxml element or tree.
    """
    if schema is not None:
        schema_path(schema)
    try:
        root, lines = _to_root(doc, max_bytes, max_depth)
    except XmlError as exc:
        reason = f"unsafe XML refused: {exc}" if isinstance(exc, UnsafeXmlError) else str(exc)
        issue = ValidationIssue(exc.line, exc.column, "", reason)
        return ValidationResult(False, schema or "", [issue], well_formed=False)
    detected = schema is None
    if schema is None:
        try:
            schema = detect_kind(root)
        except ValueError as exc:
            line, column = _position_of(lines, root, root)
            issue = ValidationIssue(line, column, "/" + _local(root.tag), str(exc))
            return ValidationResult(False, "", [issue])
    crowded = _crowded_element(root)
    if crowded is not None:
        elem, count = crowded
        line, column = _position_of(lines, root, elem)
        reason = (f"{count} attributes on one element: none of examrig's schemas declares more than "
                  f"{MAX_ATTRIBUTES} on an element")
        issue = ValidationIssue(line, column, root.getroottree().getpath(elem), reason)
        return ValidationResult(False, schema, [issue], error_count=count)
    compiled = lxml_schema(schema)
    limit = max(1, max_errors)
    with _lock:
        ok = compiled.validate(root.getroottree())
        total = 0 if ok else len(compiled.error_log)
        # A TRT as the transmitter sends it (completeness none/partial/complete) fits only the strict
        # profile, a scored one as TIS and the warehouse take it only the lenient one: a detected TRT is
        # valid when either profile accepts it, and named by the one that did. The profiles differ in a
        # few attributes, so a document with many lenient errors is not tried again (each error costs
        # libxml2 far more than a valid element: a second pass doubled the price of refusing).
        if not ok and detected and schema == "trt" and total <= limit \
                and lxml_schema("trt-strict").validate(root.getroottree()):
            return ValidationResult(True, "trt-strict")
        issues = [] if ok else _lxml_issues(compiled, root, lines, limit)
    if ok:
        return ValidationResult(True, schema)
    size = len(doc) if isinstance(doc, bytes | bytearray | memoryview | str) else None
    if detailed and total <= limit and size is not None and size <= READABLE_MAX_BYTES:
        try:
            readable = _xmlschema_issues(schema, root, lines, limit)
        except Exception:  # xmlschema is a nicety: lxml's verdict and messages stand if it fails
            readable = []
        if readable:
            issues = readable
    return ValidationResult(False, schema, issues, error_count=max(total, len(issues)))


def is_valid(doc: Any, schema: str | None = None) -> bool:
    """Return whether ``doc`` is valid against ``schema`` (detected when None), by the fast path."""
    return validate(doc, schema, detailed=False).valid


def validate_json(doc: bytes | str | Any, schema: str) -> ValidationResult:
    """Validate a JSON document against one of examrig's JSON schemas (:data:`JSON_SCHEMA_NAMES`).

    Args:
        doc: the raw JSON (bytes or str) or an already decoded value (dict, list ...).
        schema: ``"tis-ack"`` (TIS acknowledgement ``{"oppKey","success","error","trt"}``) or
            ``"thss-upload-result"`` (``{"Files":[{"FileName","Success","ErrorMessage"}]}``).

    Returns:
        A :class:`ValidationResult` whose issue paths are JSON pointers and lines/columns None
        (except for a JSON syntax error, which carries its position).

    Raises:
        UnknownSchemaError: ``schema`` is not a known JSON schema name.
    """
    spec = json_schema(schema)
    value: Any = doc
    if isinstance(doc, bytes | str):
        try:
            value = json.loads(doc)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            col = getattr(exc, "colno", None)
            issue = ValidationIssue(line, col, "", f"not JSON: {exc}")
            return ValidationResult(False, schema, [issue], well_formed=False)
    issues = [ValidationIssue(None, None, path, reason) for path, reason in json_errors(value, spec)]
    return ValidationResult(not issues, schema, issues)


def iter_issue_lines(results: Iterable[tuple[str, ValidationResult]]) -> Iterable[str]:
    """Yield ``file:line:column: path: reason`` lines for a batch of results (used by the CLI)."""
    for name, result in results:
        for issue in result.errors:
            yield f"{name}:{issue}"
        if result.more:
            yield f"{name}: ... and {result.more} more error(s) not described"
