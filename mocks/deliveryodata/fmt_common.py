"""What every format of the service shares: entity URLs, the set of a type, the writer's inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.odata.csdl import CsdlModel

_SET_OF: dict[int, tuple[CsdlModel, dict[str, str]]] = {}


def set_of(model: CsdlModel, type_name: str) -> str:
    """The entity set of an entity type (each type has one set in the served CSDL)."""
    cached = _SET_OF.get(id(model))
    if cached is None or cached[0] is not model:
        cached = (model, {t: s for s, t in model.sets.items()})
        _SET_OF[id(model)] = cached
    return cached[1][type_name]


def key_literal(model: CsdlModel, type_name: str, value: Any) -> str:
    """The key predicate as an OData URI literal (``42``, ``9788463565326947L``)."""
    etype = model.types[type_name]
    return f"{value}L" if etype.properties[etype.key].type == "Edm.Int64" else str(value)


def entity_url(root: str, model: CsdlModel, type_name: str, entity: dict[str, Any]) -> str:
    """The entity's id and edit link: ``<root>Set(key)``."""
    key = model.types[type_name].key
    return f"{root}{set_of(model, type_name)}({key_literal(model, type_name, entity[key])})"


def utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


@dataclass(frozen=True)
class Feed:
    """A feed as every format writes it: its set, entities, total (``$inlinecount``) and next link."""

    entity_set: str
    entities: list[dict[str, Any]]
    total: int | None
    next_link: str | None
