"""Injected time: the system clock, or a frozen clock per tenant advanced over the admin API."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


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
            instant = at if at is not None else self.now(tenant)
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            self._frozen[tenant] = instant.astimezone(UTC)
            self._offset.pop(tenant, None)
            return self._frozen[tenant]

    def set(self, tenant: str, at: datetime, *, frozen: bool = True) -> datetime:
        """Set ``tenant``'s clock to ``at``; frozen there, or running on from it."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if frozen:
            return self.freeze(tenant, at)
        with self._lock:
            self._frozen.pop(tenant, None)
            self._offset[tenant] = at.astimezone(UTC) - datetime.now(UTC)
        return self.now(tenant)

    def advance(self, tenant: str = "default", seconds: float = 0.0) -> datetime:
        """Move ``tenant``'s clock forward (frozen or offset alike)."""
        delta = timedelta(seconds=seconds)
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
