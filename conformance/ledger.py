"""The ledger of known failures (``--ledger FILE``): requirement IDs whose ``fail`` is expected, with a reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

import yaml

from contracts import yamlload


class LedgerError(ValueError):
    """The ledger file cannot be used; the message is one line naming the file and the entry."""


@dataclass(frozen=True)
class Entry:
    """One known failure."""

    id: str
    reason: str
    expires: dt.date | None = None


def load(path: Path, known: Container[str], today: dt.date) -> tuple[dict[str, str], list[str]]:
    """The live entries (``{id: reason}``) and warnings for the expired ones.

    The file is a YAML list of ``{id, reason, expires?}``; an unknown requirement ID, a missing
    reason or a date that is not ``YYYY-MM-DD`` is an error, so a typo never silently ledgers nothing.
    An entry whose ``expires`` is before ``today`` is ignored with a warning: the failure is no longer
    excused.
    """
    try:
        data = yamlload.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LedgerError(f"ledger {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise LedgerError(f"ledger {path}: not YAML ({' '.join(str(exc).split())})") from None
    if data is None:
        data = []
    if not isinstance(data, list):
        raise LedgerError(f"ledger {path}: expected a list of entries (- id: …, reason: …)")
    live: dict[str, str] = {}
    warnings: list[str] = []
    for n, item in enumerate(data, start=1):
        entry = _entry(path, n, item, known)
        if entry.id in live:
            raise LedgerError(f"ledger {path}: entry {n}: {entry.id} is listed twice")
        if entry.expires is not None and entry.expires < today:
            warnings.append(f"ledger {path}: entry {entry.id} expired on {entry.expires.isoformat()}; ignored")
            continue
        live[entry.id] = entry.reason
    return live, warnings


def _entry(path: Path, n: int, item: object, known: Container[str]) -> Entry:
    where = f"ledger {path}: entry {n}"
    if not isinstance(item, dict):
        raise LedgerError(f"{where}: expected a mapping with id and reason")
    unknown = set(item) - {"id", "reason", "expires"}
    if unknown:
        raise LedgerError(f"{where}: unknown key {sorted(map(str, unknown))[0]!r}")
    rid, reason, expires = item.get("id"), item.get("reason"), item.get("expires")
    if not isinstance(rid, str) or rid not in known:
        raise LedgerError(f"{where}: {rid!r} is not a requirement of the catalogue")
    if not isinstance(reason, str) or not reason.strip():
        raise LedgerError(f"{where}: {rid} needs a reason")
    if expires is None:
        return Entry(rid, reason.strip())
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise LedgerError(f"{where}: {rid} expires {expires!r} is not a date (YYYY-MM-DD)") from None
    if not isinstance(expires, dt.date):
        raise LedgerError(f"{where}: {rid} expires must be a date (YYYY-MM-DD)")
    return Entry(rid, reason.strip(), expires)


__all__ = ["Entry", "LedgerError", "load"]
