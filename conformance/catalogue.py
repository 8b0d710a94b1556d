"""The requirement catalogue: every normative statement with an ID, source, level and assumed flag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts import yamlload

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE / "requirements.yaml"
LEVELS = ("MUST", "SHOULD", "MAY")
ROLES = ("server", "client")
KINDS = ("contract", "extension")
CAPABILITY_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
KEYS = {"id", "service", "level", "title", "source", "section", "assumed", "note", "role", "kind", "capability",
        "depends_on"}
ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{3}$")


class CatalogueError(ValueError):
    """The catalogue is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Requirement:
    """One normative statement."""

    id: str
    service: str
    level: str
    title: str
    source: str
    section: str
    assumed: bool = False
    note: str = ""
    #: ``server``: the system under test answers what examrig sends; ``client``: examrig's mock judges
    #: what the system under test sends to it.
    role: str = "server"
    #: ``contract``: the real system's behaviour; ``extension``: examrig's own convention or extension,
    #: which a third-party target need not have (checked only where ``capability`` is declared).
    kind: str = "contract"
    #: The optional capability the requirement needs (``tds.idempotency_key``); every extension has one.
    capability: str | None = None
    #: Requirements this one rests on: its scenarios exercise theirs on the way (an ``@examrig`` copy of a
    #: contract scenario, which adds only the convention's assertion), so a break of one of those may fail
    #: this one too. It lets such a copy claim only its convention, so that against a target without the
    #: capability the contract requirement's verdict comes from the contract scenarios alone.
    depends_on: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """The scenario tag that claims this requirement (``req_TDS-REPLY-001``)."""
        return f"req_{self.id}"


def _entries(path: Path) -> tuple[list[Any], list[str]]:
    try:
        data = yamlload.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("requirements", []), list):
        raise CatalogueError(f"{path}: expected a mapping with a 'requirements' list")
    includes = data.get("include", [])
    if not isinstance(includes, list):
        raise CatalogueError(f"{path}: 'include' must be a list of globs")
    return list(data.get("requirements", [])), [str(g) for g in includes]


def load(path: Path | None = None) -> dict[str, Requirement]:
    """Load the catalogue and every file it includes; raises :class:`CatalogueError`."""
    root = path or CATALOGUE
    entries, includes = _entries(root)
    sources: list[tuple[Path, Any]] = [(root, e) for e in entries]
    for pattern in includes:
        for extra in sorted(root.parent.glob(pattern)):
            more, _ = _entries(extra)
            sources.extend((extra, e) for e in more)
    catalogue: dict[str, Requirement] = {}
    for where, entry in sources:
        req = _requirement(where, entry)
        if req.id in catalogue:
            raise CatalogueError(f"{where.name}: duplicate requirement id {req.id}")
        catalogue[req.id] = req
    for req in catalogue.values():
        unknown = [d for d in req.depends_on if d not in catalogue or d == req.id]
        if unknown:
            raise CatalogueError(f"{req.id}: depends_on names {unknown[0]!r}, which is not another requirement")
    return catalogue


def depends_on(catalogue: dict[str, Requirement], rid: str) -> set[str]:
    """Every requirement ``rid`` rests on, directly or through others."""
    seen: set[str] = set()
    todo = list(catalogue[rid].depends_on)
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(catalogue[dep].depends_on)
    return seen


def _requirement(where: Path, entry: Any) -> Requirement:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where.name}: every requirement must be a mapping")
    rid = entry.get("id")
    if not isinstance(rid, str) or not ID_RE.match(rid):
        raise CatalogueError(f"{where.name}: bad requirement id {rid!r} (want e.g. TDS-REPLY-001)")
    missing = [k for k in ("service", "level", "title", "source", "section") if not entry.get(k)]
    if missing:
        raise CatalogueError(f"{where.name}: {rid} lacks {', '.join(missing)}")
    if entry["level"] not in LEVELS:
        raise CatalogueError(f"{where.name}: {rid} level must be one of {', '.join(LEVELS)}")
    unknown = set(entry) - KEYS
    if unknown:
        raise CatalogueError(f"{where.name}: {rid} has unknown key {sorted(unknown)[0]!r}")
    role = entry.get("role", "server")
    if role not in ROLES:
        raise CatalogueError(f"{where.name}: {rid} role must be one of {', '.join(ROLES)}")
    kind = entry.get("kind", "contract")
    if kind not in KINDS:
        raise CatalogueError(f"{where.name}: {rid} kind must be one of {', '.join(KINDS)}")
    capability = entry.get("capability")
    if capability is not None and (not isinstance(capability, str) or not CAPABILITY_RE.match(capability)):
        raise CatalogueError(f"{where.name}: {rid} capability must look like service.name, got {capability!r}")
    if kind == "extension" and capability is None:
        # An extension without a capability could never be declared by an integrator, so a check against
        # a third-party target could neither run it nor say why it did not.
        raise CatalogueError(f"{where.name}: {rid} is an extension and needs a capability")
    deps = entry.get("depends_on", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) and ID_RE.match(d) for d in deps):
        raise CatalogueError(f"{where.name}: {rid} depends_on must be a list of requirement ids")
    return Requirement(id=rid, service=str(entry["service"]), level=str(entry["level"]),
                       title=str(entry["title"]).strip(), source=str(entry["source"]),
                       section=str(entry["section"]), assumed=bool(entry.get("assumed", False)),
                       note=str(entry.get("note", "")).strip(), role=str(role), kind=str(kind),
                       capability=capability, depends_on=tuple(deps))
