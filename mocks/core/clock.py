"""Injected time: the system clock, or a frozen clock per tenant advanced over the admin API."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta

# The instants a mock's clock may show. Far outside them the wire formats break (epoch milliseconds before
# 1970 go negative, year 9999 plus a token lifetime overflows datetime, a four-digit year is assumed
# everywhere), so a clock set or advanced out of them is refused rather than left to fail later as a 500.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


class ClockRangeError(ValueError):
    """A clock instant or step out of bounds; ``field`` names the admin property (``set`` or ``advance``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_instant(at: datetime, field: str = "set") -> datetime:
    """``at`` as aware UTC, or :class:`ClockRangeError` when it is outside [EARLIEST, LATEST)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= at < LATEST
    except OverflowError:  # year 1 or 9999 shifted by its UTC offset
        inside = False
    if not inside:
        raise ClockRangeError(field, f"{field} must be an instant from {iso(EARLIEST)} to before {iso(LATEST)}")
    return at.astimezone(UTC)


def check_step(seconds: float, base: datetime) -> timedelta:
    """``seconds`` as a timedelta that keeps ``base`` in bounds, or :class:`ClockRangeError` (``advance``)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ClockRangeError("advance", "advance must be a finite number of seconds")
    span = (LATEST - EARLIEST).total_seconds()
    if abs(seconds) > span:
        raise ClockRangeError("advance", f"advance must be within {span:.0f} seconds either way")
    delta = timedelta(seconds=seconds)
    check_instant(base + delta, "advance")
    return delta


class Clock:
    """Wall-clock time for a mock, frozen or free per tenant.

    Each tenant either follows the system clock or has its own frozen instant, so a
    scenario that freezes time never disturbs another running beside it. All
    datetimes are timezone-aware UTC. ``monotonic`` is for durations only and is never
    frozen.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: dict[str, datetime] = {}
        self._offset: dict[str, timedelta] = {}

    def now(self, tenant: str = "default") -> datetime:
        """The current instant for ``tenant``."""
        frozen = self._frozen.get(tenant)
        if frozen is not None:
            return frozen
        base = datetime.now(UTC)
        offset = self._offset.get(tenant)
        return base + offset if offset is not None else base

    def is_frozen(self, tenant: str = "default") -> bool:
        """Whether ``tenant``'s clock is frozen."""
        return tenant in self._frozen

    def freeze(self, tenant: str = "default", at: datetime | None = None) -> datetime:
        """Freeze ``tenant``'s clock at ``at`` (default: its current instant)."""
        with self._lock:
            instant = check_instant(at) if at is not None else self.now(tenant)
            self._frozen[tenant] = instant.astimezone(UTC)
            self._offset.pop(tenant, None)
            return self._frozen[tenant]

    def set(self, tenant: str, at: datetime, *, frozen: bool = True) -> datetime:
        """Set ``tenant``'s clock to ``at``; frozen there, or running on from it."""
        at = check_instant(at)
        if frozen:
            return self.freeze(tenant, at)
        with self._lock:
            self._frozen.pop(tenant, None)
            self._offset[tenant] = at.astimezone(UTC) - datetime.now(UTC)
        return self.now(tenant)

    def advance(self, tenant: str = "default", seconds: float = 0.0) -> datetime:
        """Move ``tenant``'s clock forward (frozen or offset alike)."""
        delta = check_step(seconds, self.now(tenant))
        with self._lock:
            if tenant in self._frozen:
                self._frozen[tenant] += delta
            else:
                self._offset[tenant] = self._offset.get(tenant, timedelta()) + delta
        return self.now(tenant)

    def unfreeze(self, tenant: str = "default") -> datetime:
        """Return ``tenant`` to the system clock."""
        with self._lock:
            self._frozen.pop(tenant, None)
            self._offset.pop(tenant, None)
        return self.now(tenant)

    def reset(self, tenant: str | None = None) -> None:
        """Unfreeze one tenant, or all of them."""
        with self._lock:
            if tenant is None:
                self._frozen.clear()
                self._offset.clear()
            else:
                self._frozen.pop(tenant, None)
                self._offset.pop(tenant, None)

    @staticmethod
    def wall() -> datetime:
        """Real wall-clock time, never frozen (journal timestamps)."""
        return datetime.now(UTC)

    @staticmethod
    def monotonic() -> float:
        """Seconds from an arbitrary origin, for measuring durations."""
        return time.monotonic()

    def describe(self, tenant: str = "default") -> dict[str, object]:
        """The clock's state as plain data for the admin API."""
        return {"tenant": tenant, "now": iso(self.now(tenant)), "frozen": self.is_frozen(tenant)}


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and milliseconds."""
    value = value.astimezone(UTC)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond // 1000:03d}Z")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 instant (``Z`` allowed); naive values are taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
