"""Schema validation of examrig's wire documents: compiled-once XSDs, kind detection, readable errors."""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

from contracts.jsonschema_lite import json_errors
from contracts.xmlsafe import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    UnsafeXmlError,
    XmlError,
    check_untrusted,
    depth_exceeds,
    hardened_parser,
    parse_xml,
)

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
    #: the parsed tree's root when the document was given as bytes and found valid (None otherwise): a
    #: caller that goes on to read the document need not parse it again
    root: Any = field(default=None, compare=False, repr=False)

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


#: The first attribute beyond :data:`MAX_ATTRIBUTES` on any element, found by libxml2 in one pass (a walk
#: in Python cost a third of validating a document of many small elements).
_CROWDED: Final = etree.XPath(f"(//*/@*[{MAX_ATTRIBUTES + 1}])[1]")


def _crowded_element(root: Any) -> tuple[Any, int] | None:
    """The first element with more than :data:`MAX_ATTRIBUTES` attributes, and how many it has."""
    found = _CROWDED(root)
    if not found:
        return None
    elem = found[0].getparent()
    return elem, len(elem.attrib)


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


# -- the linear path ---------------------------------------------------------------------------------------
#
# lxml's XMLSchema.validate(tree) records every problem with its node's XPath, and libxml2 computes that path
# by counting the node's preceding siblings: a TRT whose 12,000 Items each carry an undeclared attribute cost
# 12,000 x 6,000 sibling steps (49 s for 10 MiB, where validating a valid one takes 1 s). A parser that
# validates as it parses reports the same problems, in the same order, without a node, so its cost is the
# parse's and the validation's, linear in the document. It gives the verdict and the count; the tree is
# validated again only to place the first problems, when that costs at most _PLACE_BUDGET sibling steps.

#: Sibling steps the placing of problems may cost, per byte of the document (a step is a few ns; validating
#: costs about 100 ns a byte): past it the first problems are described by lxml's messages without a place.
_PLACE_STEPS_PER_BYTE: Final = 4

_SNIFF = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?(?:(?!\?>).)*\?>|<!--(?:(?!-->).)*-->)*<(?:[A-Za-z_][\w.-]*:)?"
                    rb"([A-Za-z_][\w.-]*)", re.DOTALL)


#: Raw documents up to this size whose elements have fewer than _NARROW children each are validated on their tree
#: by lxml directly (a real TRT of a few dozen Items is; a generated one of 10 MiB, or 10,000 <Item/>, is not)
_SMALL_BYTES: Final = 64 * 1024
_NARROW: Final = 64


def _root_name(data: bytes) -> str | None:
    found = _SNIFF.match(data[:65536])
    return found.group(1).decode("ascii", "replace") if found is not None else None


def _sniff_kind(data: bytes) -> str | None:
    """The schema a document's root element names, read from its first bytes (None when not plain)."""
    name = _root_name(data)
    if name in _ROOT_KINDS:
        return _ROOT_KINDS[name]
    if name == "ItemScoreRequest":  # confirmed on the tree by detect_kind (a TDSReport child, not any)
        return "thss-upload" if b"TDSReport" in data else "itemscore-request"
    return None


@dataclass
class _Streamed:
    """What the validating parse found: the tree when valid, else the count and the first problems."""

    root: Any = None
    total: int = 0
    messages: list[str] = field(default_factory=list)
    schema_only: bool = True  # every problem a validity one (False: not well-formed or refused by libxml2)

    @property
    def valid(self) -> bool:
        return self.root is not None


_local_parsers = threading.local()


def _validating_parser(name: str) -> Any:
    """This thread's validating parser for schema ``name`` (a parser is not shared between threads; the
    compiled schema is only read by it)."""
    parsers: dict[str, Any] | None = getattr(_local_parsers, "parsers", None)
    if parsers is None:
        parsers = _local_parsers.parsers = {}
    parser = parsers.get(name)
    if parser is None:
        parser = parsers[name] = hardened_parser(lxml_schema(name))
    return parser


def _stream(name: str, data: bytes, limit: int) -> _Streamed:
    """Parse ``data`` validating it against schema ``name`` as it is parsed: the tree when it is valid.

    (A validating parser drops the tree of an invalid document; etree.iterparse and XMLPullParser keep it,
    but report a document that is not well-formed as merely invalid, without the parse error: the tree of
    an invalid document is parsed again, by parse_xml.)
    """
    parser = _validating_parser(name)
    try:
        return _Streamed(root=etree.fromstring(data, parser))
    except etree.XMLSyntaxError:
        log = parser.error_log  # this parse's (the exception's is the thread's last 100 problems of any parse)
        schema_only = all(entry.domain == _SCHEMASV for entry in log)
        messages = [" ".join(entry.message.split()) for entry in itertools.islice(log, limit)]
        return _Streamed(total=len(log), messages=messages, schema_only=schema_only)


_SCHEMASV: Final = etree.ErrorDomains.SCHEMASV


def _widest_below(root: Any, width: int) -> bool:
    """Whether no element under ``root`` has ``width`` or more element children (libxml2, one pass)."""
    return not root.xpath(f"boolean(//*[*[{max(1, width)}]])")


def _place_cheaply(root: Any, problems: int, size: int) -> bool:
    """Whether validating ``root``'s tree to place ``problems`` problems stays within the placing budget."""
    # each problem's path counts its node's and ancestors' preceding siblings (text nodes among them)
    return _widest_below(root, _PLACE_STEPS_PER_BYTE * size // (4 * max(1, problems)))


def _strict_may_accept(messages: list[str]) -> bool:
    """Whether the strict TRT profile may accept what the lenient one refused for ``messages``.

    The profiles differ only in attribute declarations (contracts/schemas/trt*.xsd), so a problem of an
    element's content (an unexpected or missing element) is one under both: trying the strict profile
    then would only double the price of refusing.
    """
    return all(", attribute '" in message for message in messages)


def _invalid_result(name: str, root: Any, lines: list[bytes] | None, size: int | None, limit: int,
                    streamed: _Streamed | None, detailed: bool) -> ValidationResult:
    """The described problems of a document known (or about to be found) invalid against ``name``."""
    total = streamed.total if streamed is not None else -1
    issues: list[ValidationIssue] = []
    if streamed is None or total <= limit or _place_cheaply(root, total, size or 0):
        compiled = lxml_schema(name)
        with _lock:
            ok = compiled.validate(root.getroottree())
            if ok:  # the tree validation disagrees with the parser's (not seen): the tree's verdict stands
                return ValidationResult(True, name, root=root if lines is not None else None)
            issues = _lxml_issues(compiled, root, lines, limit)
            total = max(total, len(compiled.error_log))
    else:
        issues = [ValidationIssue(None, None, "", message) for message in streamed.messages]
    return _refused(name, root, lines, limit, issues, total, detailed and size is not None
                    and size <= READABLE_MAX_BYTES)


def _refused(schema: str, root: Any, lines: list[bytes] | None, limit: int, issues: list[ValidationIssue], total: int,
             readable_wanted: bool) -> ValidationResult:
    """An invalid document's result: xmlschema's readable reasons instead of lxml's when the document is small
    enough and has few problems (``readable_wanted`` and at most ``limit`` of them)."""
    if readable_wanted and total <= limit:
        try:
            readable = _xmlschema_issues(schema, root, lines, limit)
        except Exception:  # xmlschema is a nicety: lxml's verdict and messages stand if it fails
            readable = []
        if readable:
            issues = readable
    return ValidationResult(False, schema, issues, error_count=max(total, len(issues)))


def _maybe_crowded(data: bytes) -> bool:
    """Whether some start tag of ``data`` may hold more than :data:`MAX_ATTRIBUTES` attributes.

    Such a tag has hundreds of ``=`` and no ``<`` (an attribute value cannot hold one) in a row: found in
    C by splitting at ``<`` (5% of a validation), before the parser reports each undeclared attribute at
    a cost ten times a valid one's. A long text with many ``=`` is a candidate too; the tree decides.
    """
    pieces = data.split(b"<")
    if max(map(len, pieces)) < 4 * MAX_ATTRIBUTES:
        return False
    return any(piece.count(b"=") > MAX_ATTRIBUTES for piece in pieces if len(piece) >= 4 * MAX_ATTRIBUTES)


def _crowded_result(name: str, root: Any, lines: list[bytes] | None) -> ValidationResult | None:
    crowded = _crowded_element(root)
    if crowded is None:
        return None
    elem, count = crowded
    line, column = _position_of(lines, root, elem)
    reason = (f"{count} attributes on one element: none of examrig's schemas declares more than "
              f"{MAX_ATTRIBUTES} on an element")
    issue = ValidationIssue(line, column, root.getroottree().getpath(elem), reason)
    return ValidationResult(False, name, [issue], error_count=count)


def _unsafe_result(exc: XmlError, schema: str | None) -> ValidationResult:
    reason = f"unsafe XML refused: {exc}" if isinstance(exc, UnsafeXmlError) else str(exc)
    return ValidationResult(False, schema or "", [ValidationIssue(exc.line, exc.column, "", reason)],
                            well_formed=False)


def _validate_bytes(data: bytes, schema: str | None, kind: str, limit: int, max_bytes: int, max_depth: int,
                    detailed: bool) -> ValidationResult | None:
    """The linear path for raw input whose kind is known or read from its root; None: take the tree path."""
    if _maybe_crowded(data):
        try:
            root = parse_xml(data, max_bytes=max_bytes, max_depth=max_depth)
        except XmlError as exc:
            return _unsafe_result(exc, schema)
        if schema is None and detect_kind(root) != kind:
            return None
        crowded = _crowded_result(kind, root, data.split(b"\n"))
        if crowded is not None:
            return crowded
    streamed = _stream(kind, data, limit)
    if not streamed.schema_only:
        return None  # not well-formed, or beyond a libxml2 limit: parse_xml names the problem
    if streamed.valid:
        root = streamed.root
        tree = root.getroottree()
        if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
            return _unsafe_result(UnsafeXmlError("DOCTYPE declarations are not allowed (no DTDs or entities "
                                                 "in untrusted XML)"), schema)
        if depth_exceeds(root, max_depth):
            return _unsafe_result(UnsafeXmlError(f"elements nested too deeply (limit {max_depth})"), schema)
        if schema is None and detect_kind(root) != kind:
            return None
        return ValidationResult(True, kind, root=root)
    try:
        root = parse_xml(data, max_bytes=max_bytes, max_depth=max_depth)
    except XmlError as exc:
        return _unsafe_result(exc, schema)
    if schema is None and detect_kind(root) != kind:
        return None
    lines = data.split(b"\n")  # (no element can be crowded: _maybe_crowded said so, or the tree did)
    # see validate(): a detected TRT is valid under either profile
    if schema is None and kind == "trt" and streamed.total <= limit and _strict_may_accept(streamed.messages):
        with _lock:
            strict = lxml_schema("trt-strict").validate(root.getroottree())
        if strict:
            return ValidationResult(True, "trt-strict", root=root)
    return _invalid_result(kind, root, lines, len(data), limit, streamed, detailed)


def validate(
    doc: Any,
    schema: str | None = None,
    *,
    detailed: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_errors: int = MAX_ERRORS,
) -> ValidationResult:
    """Validate one XML document against one of examrig's schemas, at a cost linear in the document.

    Bytes are parsed with the hardened options of :mod:`contracts.xmlsafe`; a document that is not
    well-formed or is refused as unsafe gives an invalid result with ``well_formed=False`` rather
    than an exception. Raw input whose kind is given or read from its root is parsed by a parser that
    validates as it parses (schemas compiled once per process): a valid document costs one pass and its
    tree is returned (``result.root``). An invalid document's first ``max_errors`` problems are described
    (lxml's message, the element's XPath, line and column) and the others only counted
    (``error_count``); when placing them in the tree would cost more than the document's validation
    (thousands of problems among thousands of siblings), the first ones are described by lxml's messages
    alone, without a place. When ``detailed`` is true and the document is small (at most
    :data:`READABLE_MAX_BYTES`, at most ``max_errors`` problems), the reasons are re-derived with
    ``xmlschema`` (lxml's messages stand if it finds none or fails).

    Args:
        doc: raw bytes (or str) of the document, or an already parsed lxml element or tree.
        schema: one of :data:`SCHEMA_NAMES`; ``None`` detects it from the root (:func:`detect_kind`).
        detailed: derive error reasons with xmlschema (far slower; bounded as above).
        max_bytes: size bound for raw input (as :func:`contracts.xmlsafe.parse_xml`'s).
        max_depth: nesting bound for raw input (as :func:`contracts.xmlsafe.parse_xml`'s).
        max_errors: how many problems are described at most (the rest are counted).

    Returns:
        A :class:`ValidationResult`; ``bool(result)`` is ``result.valid``.

    Raises:
        UnknownSchemaError: ``schema`` is not a known schema name.
        TypeError: ``doc`` is neither bytes/str nor an lxml element or tree.
    """
    if schema is not None:
        schema_path(schema)
    limit = max(1, max_errors)
    raw = isinstance(doc, bytes | bytearray | memoryview | str)
    pre: tuple[Any, list[bytes]] | None = None
    if raw:
        try:
            data = check_untrusted(doc.encode("utf-8") if isinstance(doc, str) else bytes(doc), max_bytes=max_bytes)
        except XmlError as exc:
            return _unsafe_result(exc, schema)
        kind = schema or _sniff_kind(data)
        if kind is not None and len(data) <= _SMALL_BYTES:
            # small and narrow: lxml's own validation of the tree costs one pass less than the linear path, and
            # placing a problem costs at most _NARROW sibling steps a level (no quadratic case is left)
            try:
                parsed = parse_xml(data, max_bytes=max_bytes, max_depth=max_depth)
            except XmlError as exc:
                return _unsafe_result(exc, schema)
            if _widest_below(parsed, _NARROW):
                pre = (parsed, data.split(b"\n"))
                kind = None
        if kind is not None:
            done = _validate_bytes(data, schema, kind, limit, max_bytes, max_depth, detailed)
            if done is not None:
                return done
    try:
        root, lines = pre if pre is not None else _to_root(doc, max_bytes, max_depth)
    except XmlError as exc:
        return _unsafe_result(exc, schema)
    detected = schema is None
    if schema is None:
        try:
            schema = detect_kind(root)
        except ValueError as exc:
            line, column = _position_of(lines, root, root)
            issue = ValidationIssue(line, column, "/" + _local(root.tag), str(exc))
            return ValidationResult(False, "", [issue])
    crowded = _crowded_result(schema, root, lines)
    if crowded is not None:
        return crowded
    size = len(doc) if raw else None
    # a tree handed in: lxml's own validation when placing every problem is cheap whatever their number
    # (no element with many children), else the linear path over its serialisation for verdict and count
    streamed: _Streamed | None = None
    if not raw and not _widest_below(root, 256):
        data = etree.tostring(root.getroottree())
        size = len(data)
        streamed = _stream(schema, data, limit)
        if streamed.valid:
            return ValidationResult(True, schema)
        if not streamed.schema_only:
            streamed = None  # refused by libxml2 only when reparsed: the tree's own validation decides
    if streamed is None:
        compiled = lxml_schema(schema)
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
                return ValidationResult(True, "trt-strict", root=root if raw else None)
            issues = [] if ok else _lxml_issues(compiled, root, lines, limit)
        if ok:
            return ValidationResult(True, schema, root=root if raw else None)
        return _refused(schema, root, lines, limit, issues, total, detailed and size is not None
                        and size <= READABLE_MAX_BYTES)
    if detected and schema == "trt" and streamed.total <= limit and _strict_may_accept(streamed.messages):
        with _lock:
            if lxml_schema("trt-strict").validate(root.getroottree()):
                return ValidationResult(True, "trt-strict", root=root if raw else None)
    return _invalid_result(schema, root, lines, size, limit, streamed, detailed)


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
