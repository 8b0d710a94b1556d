"""What ODataLib 5.x's JSON reader takes beyond RFC 8259: unquoted and single-quoted property names, single-quoted
strings (``Microsoft.Data.OData.Json.JsonReader``, ParseName and ParseStringPrimitiveValue, tag 5.6.4)."""

from __future__ import annotations

import json
import re

# ParseName: a name is quoted (" or '), or "a sequence of letters, digits, underscores and dollar signs" (for
# backward compatibility), with '.' and '@' too in JSON Light (instance annotations such as odata.type)
_BARE = re.compile(r"[\w$.@]+")
_SPACE = " \t\n\r"  # IsWhitespaceCharacter: JSON's four
# ParseStringPrimitiveValue's escapes: JSON's, plus \' (for single-quoted strings)
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "/": "/"}


class NotODataJson(ValueError):
    """Text that ODataLib's reader refuses too (the strict parser's error stands)."""


def _string(text: str, start: int) -> tuple[str, int]:
    """The string opened at ``start`` (by " or '), decoded, and the index after its closing quote."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            break
        code = text[i + 1]
        if code == "u":
            digits = text[i + 2:i + 6]
            if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise NotODataJson(f"unrecognized escape sequence '\\u{digits}'")
            out.append(chr(int(digits, 16)))
            i += 6
            continue
        if code not in _ESCAPES:
            raise NotODataJson(f"unrecognized escape sequence '\\{code}'")
        out.append(_ESCAPES[code])
        i += 2
    raise NotODataJson("unexpected end of input in a string")


def to_strict(text: str) -> str:
    """``text`` rewritten as RFC 8259 JSON: every string double-quoted, every bare property name quoted; the
    structure is left for the strict parser to check (so a bare word that is not a name stays as it is and is
    refused there, as ODataLib refuses it)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            value, i = _string(text, i)
            out.append(json.dumps(value, ensure_ascii=False))
            continue
        bare = _BARE.match(text, i)
        if bare is None:
            out.append(ch)
            i += 1
            continue
        word = bare.group()
        j = bare.end()
        while j < n and text[j] in _SPACE:
            j += 1
        # a bare word followed by ':' can only be a property name; anything else (true, 12.5e3, null) is a value
        out.append(json.dumps(word) if j < n and text[j] == ":" else word)
        i = bare.end()
    return "".join(out)


__all__ = ["NotODataJson", "to_strict"]
