"""Range checks at the boundary: integers against their column or Edm type, instants against the clock's range."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from mocks.core.errors import InputError

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
#: every integer column is at most 64 bits wide (SQLite INTEGER, PostgreSQL BIGINT)
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

#: the instants a request may name (an appointment, a window): far enough from datetime's own ends (years 1
#: and 9999) that adding a duration, a lifetime or a time-zone offset never overflows (the clock's own
#: range is mocks.core.clock's)
EARLIEST: Final = datetime(1900, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(9000, 12, 31, 23, 59, 59, tzinfo=UTC)


def ascii_int(text: str, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int | None:
    """``text`` as an integer when it is ASCII decimal digits (an optional ``-``) within [lo, hi], else None.

    ``str.isdigit`` is true for ``²`` and ``٣``, which ``int()`` then refuses or reads: route keys and form
    values are checked here instead.
    """
    body = text[1:] if text.startswith("-") else text
    if not body or len(body) > 20 or not (body.isascii() and body.isdigit()):
        return None
    value = int(text)
    return value if lo <= value <= hi else None


def check_int(value: int, field: str, lo: int = INT64_MIN, hi: int = INT64_MAX, type_name: str = "Int64") -> int:
    """``value`` unchanged when inside [lo, hi]; an :class:`InputError` naming ``field`` otherwise."""
    if not lo <= value <= hi:
        raise InputError(field, f"{value} is outside the range of {type_name} ({lo} to {hi})")
    return value


def check_instant(value: datetime, field: str) -> datetime:
    """``value`` unchanged when between :data:`EARLIEST` and :data:`LATEST`; an :class:`InputError` otherwise."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not EARLIEST <= aware <= LATEST:
        raise InputError(field, f"{value.isoformat()} is outside the supported range "
                                f"({EARLIEST.date().isoformat()} to {LATEST.date().isoformat()})")
    return value
