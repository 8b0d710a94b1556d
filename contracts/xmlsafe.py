"""Hardened parsing of untrusted XML: no DTDs, no entities, no network, bounded size and depth."""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "HARDENED_OPTIONS",
    "UnsafeXmlError",
    "XmlError",
    "XmlParseError",
    "check_untrusted",
    "depth_exceeds",
    "hardened_parser",
    "parse_xml",
]

#: Largest document accepted by default (32 MiB; real TRTs are tens of KB, test packages a few MB).
DEFAULT_MAX_BYTES: Final = 32 * 1024 * 1024
#: Deepest element nesting accepted by default (a TRT nests about ten levels deep).
DEFAULT_MAX_DEPTH: Final = 100

# The prolog may hold an XML declaration, comments, processing instructions and white space
# before a DOCTYPE; a DOCTYPE can appear nowhere else, so this anchored scan is complete.
# (Tempered tokens: a PI or comment ends at its first terminator, so the scan cannot run past
# the prolog into, say, escaped markup inside the document.)
_PROLOG_DOCTYPE = re.compile(rb"\A(?:\s+|<\?(?:(?!\?>).)*\?>|<!--(?:(?!-->).)*-->)*<!DOCTYPE", re.DOTALL)
_PROLOG_DOCTYPE_TEXT = re.compile(
    r"\A\ufeff?(?:\s+|<\?(?:(?!\?>).)*\?>|<!--(?:(?!-->).)*-->)*<!DOCTYPE", re.DOTALL
)


class XmlError(ValueError):
    """Base of the XML input errors; ``str(err)`` is always a single line.

    Attributes:
        line: 1-based line of the problem, when known.
        column: 1-based column of the problem, when known.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(" ".join(message.split()))
        self.line = line
        self.column = column


class XmlParseError(XmlError):
    """The input is not well-formed XML."""


class UnsafeXmlError(XmlError):
    """The input uses a feature refused for untrusted XML (DTD, entities) or exceeds a size or depth bound."""


#: libxml2's options for untrusted XML, for etree.XMLParser and etree.iterparse alike. huge_tree=False keeps
#: libxml2's own limits (depth 256, text node size, entity amplification); the DOCTYPE is refused before
#: parsing (check_untrusted), so no entity is ever declared or expanded.
HARDENED_OPTIONS: Final[dict[str, bool]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_blank_text": False,
    "collect_ids": False,
}


def hardened_parser(schema: Any = None) -> Any:
    """A parser with :func:`parse_xml`'s options; given an ``etree.XMLSchema``, one that validates as it parses.

    A validating parser must be used with :func:`check_untrusted` before and the DOCTYPE and depth checks
    after, as :func:`parse_xml` does.
    """
    return etree.XMLParser(schema=schema, **HARDENED_OPTIONS)


_PARSER: Final = hardened_parser()


def _has_doctype(data: bytes) -> bool:
    head = data[:65536]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        for enc in ("utf-16",) if head[:2] in (b"\xff\xfe", b"\xfe\xff") else (
            ("utf-16-be",) if head[:1] == b"\x00" else ("utf-16-le",)
        ):
            text = head[: len(head) // 2 * 2].decode(enc, errors="replace")
            return _PROLOG_DOCTYPE_TEXT.match(text) is not None
    if head[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        return b"D\x00\x00\x00O\x00\x00\x00C" in head or b"\x00\x00\x00D\x00\x00\x00O" in head
    if head[:3] == b"\xef\xbb\xbf":
        head = head[3:]
    return _PROLOG_DOCTYPE.match(head) is not None


@functools.lru_cache(maxsize=8)
def _deeper_than(max_depth: int) -> Any:
    # One location step per level, evaluated by libxml2 in C: each step visits the elements of one level
    # once, so the test is linear in the document. A walk in Python cost more than the parse itself on
    # documents of many small elements (100,000 empty <Item/>: 10 ms of 17 for 100 KB), which made
    # refusing such a document three times the price of validating a real one (issue 12's speed bar).
    return etree.XPath("boolean(/" + "/".join(["*"] * (max_depth + 1)) + ")")


def depth_exceeds(root: Any, max_depth: int) -> bool:
    """Whether elements under ``root``'s document nest deeper than ``max_depth`` (the root is depth 1)."""
    return bool(_deeper_than(max_depth)(root))


def check_untrusted(data: bytes | bytearray | memoryview | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The checks :func:`parse_xml` makes before parsing (type, size, emptiness, no DOCTYPE), and the bytes.

    For a caller that parses with a parser of its own (a schema-validating one: contracts.validate), which
    must then also refuse a DOCTYPE in the parsed tree's ``docinfo`` and check the depth (:func:`depth_exceeds`).

    Raises:
        UnsafeXmlError: oversize input or a DOCTYPE.
        XmlParseError: empty input.
    """
    if isinstance(data, str):
        data = re.sub(r"\A\s*<\?xml[^>]*\?>", "", data).encode("utf-8")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_xml() needs bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"document too large: {len(data)} bytes (limit {max_bytes})")
    if not data or data.isspace():  # (strip() would copy a 10 MiB document to learn this)
        raise XmlParseError("document is empty", line=1, column=1)
    if _has_doctype(data):
        raise UnsafeXmlError("DOCTYPE declarations are not allowed (no DTDs or entities in untrusted XML)")
    return data


def parse_xml(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse untrusted XML bytes safely and return the root element (an ``lxml.etree._Element``).

    Use this for every XML document that comes from outside the process (requests, uploads,
    files on the command line). It never touches the network, never loads or honours a DTD,
    never expands an entity, and bounds both size and nesting depth, so its time and memory
    are linear in ``len(data)``.

    Args:
        data: the raw document. A ``str`` is accepted too and is encoded as UTF-8 after any
            XML declaration is removed.
        max_bytes: refuse documents longer than this many bytes.
        max_depth: refuse documents whose elements nest deeper than this (the root is depth 1).
            libxml2 additionally stops at 256 whatever this says.

    Returns:
        The root element; ``root.getroottree()`` gives the document.

    Raises:
        UnsafeXmlError: oversize input, a DOCTYPE (and so any DTD, external or internal entity,
            entity bomb), or nesting deeper than ``max_depth``.
        XmlParseError: input that is not well-formed XML (including undefined entity references).
    """
    data = check_untrusted(data, max_bytes=max_bytes)
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = (exc.position if exc.position else (None, None))
        msg = str(exc.msg or exc)
        if "depth" in msg.lower():
            raise UnsafeXmlError(f"elements nested too deeply: {msg}", line=line, column=column) from None
        if "huge" in msg.lower():  # libxml2's other limits (a 10 MB start tag, a text node): not a depth
            raise UnsafeXmlError(f"beyond libxml2's size limits: {msg}", line=line, column=column) from None
        if "amplification" in msg.lower() or ("entity" in msg.lower() and "loop" in msg.lower()):
            raise UnsafeXmlError(f"entity expansion refused: {msg}", line=line, column=column) from None
        raise XmlParseError(f"not well-formed XML: {msg}", line=line, column=column) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise UnsafeXmlError("DOCTYPE declarations are not allowed (no DTDs or entities in untrusted XML)")
    if depth_exceeds(root, max_depth):
        raise UnsafeXmlError(f"elements nested too deeply (limit {max_depth})")
    return root
