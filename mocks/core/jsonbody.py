"""The one bounded JSON reader of every view and the admin door: depth, size and number range checked."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from mocks.core.errors import BadRequest

#: Deepest nesting of arrays and objects accepted. The services' bodies nest three or four levels; the
#: standard library's decoder recurses, and a body of 100,000 ``[`` raised RecursionError (a 500).
MAX_DEPTH: Final = 64

#: Integers are kept inside a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT) everywhere.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# longest decimal an Int64 can be, with its sign: longer digit runs are refused before int() sees them
# (Python refuses to convert more than 4,300 digits, with a ValueError that names no field)
_INT_DIGITS: Final = 20

# strings and the brackets outside them; a string is skipped whole so its brackets never count
_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


class JsonRefused(BadRequest):
    """A body the reader refuses; ``field`` names the offending member (``body`` for the document itself).

    ``reason`` says why in a few words. Views turn it into their service's own error type so the
    wire format stays the service's (``odata.error``, Spring JSON, ProctorU's ``response_code`` …);
    the admin door renders it as it is.
    """

    code = "invalid_json"
    template = "{field}: {reason}"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field=field, reason=reason)
        self.reason = reason


class _Huge:
    """An integer literal too long to be an Int64, kept as text until its member is known."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Constant:
    """``NaN``, ``Infinity`` or ``-Infinity``: not JSON (RFC 8259 section 6), accepted by Python's decoder."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _parse_int(text: str) -> Any:
    return int(text) if len(text) <= _INT_DIGITS else _Huge(text)


_DECODER: Final = json.JSONDecoder(parse_int=_parse_int, parse_constant=_Constant)


def _depth_at(data: bytes, limit: int) -> int | None:
    """The offset where nesting first exceeds ``limit``, or None (linear; a C regex finds the tokens)."""
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in (b"]", b"}"):
            depth -= 1
    return None


def _too_deep(data: bytes, limit: int) -> int | None:
    """:func:`_depth_at`, skipped when the body has no more openers than ``limit`` (no deeper than that)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return None
    return _depth_at(data, limit)


def _member(path: list[str | int]) -> str:
    """``Minutes``, ``items[2].score``: the member's path as the error's ``field``."""
    if not path:
        return "body"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _check(value: Any) -> None:
    """Refuse non-finite numbers, integers beyond Int64 and lone surrogates, naming the member (iterative)."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if _SURROGATE.search(key):
                    raise JsonRefused(_member(path) if path else "body", "a member name holds a lone surrogate")
                stack.append((child, [*path, key]))
        elif isinstance(node, list):
            stack.extend((child, [*path, i]) for i, child in enumerate(node))
        elif isinstance(node, _Huge):
            raise JsonRefused(_member(path), f"integer {node.text[:24]}{'…' if len(node.text) > 24 else ''} "
                                             "is outside the 64-bit range")
        elif isinstance(node, _Constant):
            raise JsonRefused(_member(path), f"{node.text} is not a JSON number")
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                raise JsonRefused(_member(path), f"integer {node} is outside the 64-bit range")
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise JsonRefused(_member(path), "number is outside the range of a double")
        elif isinstance(node, str) and _SURROGATE.search(node):
            raise JsonRefused(_member(path), "string holds a lone surrogate (not UTF-8)")


def _fine(value: Any, strings: bool) -> bool:
    """Whether :func:`_check` finds nothing to refuse in ``value``, without keeping paths (the common case, so
    cheaply: exact types, one stack); ``strings`` false skips the surrogate search (no ``\\u`` escape in the
    text, and a decoded text holds no surrogate otherwise)."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        kind = type(node)
        if kind is str:
            if strings and _SURROGATE.search(node):
                return False
        elif kind is int:
            if not INT64_MIN <= node <= INT64_MAX:
                return False
        elif kind is dict:
            if strings and any(_SURROGATE.search(key) for key in node):
                return False
            extend(node.values())
        elif kind is list:
            extend(node)
        elif kind is float:
            if not math.isfinite(node):
                return False
        elif node is not None and kind is not bool:  # _Huge, _Constant
            return False
    return True


def loads(body: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int | None = None,
          empty: Any = ...) -> Any:
    """Decode one JSON document from a request body, bounded.

    Args:
        body: the raw body (UTF-8, or any encoding RFC 8259 section 8.1 detects) or text.
        max_depth: refuse arrays and objects nested deeper than this.
        max_bytes: refuse larger bodies (the app's ``max_body`` already bounds what is read).
        empty: the value of an empty or blank body; without it an empty body is refused.

    Returns:
        The decoded value: integers inside Int64, finite floats, strings that encode as UTF-8.

    Raises:
        JsonRefused: for anything else, never another exception; ``field`` names the member
            (``Minutes``, ``items[2].score``) or ``body``, the message gives the position.
    """
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if max_bytes is not None and len(data) > max_bytes:
        raise JsonRefused("body", f"larger than {max_bytes} bytes")
    if not data.strip():
        if empty is not ...:
            return empty
        raise JsonRefused("body", "a JSON body is required")
    deep = _too_deep(data, max_depth)
    if deep is not None:
        raise JsonRefused("body", f"nested deeper than {max_depth} levels at offset {deep}")
    try:
        text = data.decode(json.detect_encoding(data))
    except (UnicodeDecodeError, LookupError):
        raise JsonRefused("body", "is not UTF-8 text") from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte order mark: RFC 8259 lets a parser ignore it
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonRefused("body", f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # a last guard: the depth scan keeps the decoder shallow
        raise JsonRefused("body", f"is not valid JSON: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}") \
            from None
    if not _fine(value, "\\u" in text):
        _check(value)  # names the member it refuses
    return value
