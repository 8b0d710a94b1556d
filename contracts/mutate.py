"""Seeded, schema-blind mutations of XML documents (equivalence corpora and 'XSD-invalid' faults)."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

__all__ = ["MUTATION_KINDS", "mutants", "mutate"]

# Values chosen to sit on type boundaries: empty and blank strings, signs, fractions, overflow,
# case variants of enumerations the formats use, dates with and without time, booleans.
_TRICKY_VALUES: Final = (
    "", " ", "  x ", "-1", "-2", "0", "1", "2", "255", "256", "-0", "+1", "1.5", "12.0", "1e3", "NaN", "INF",
    "-INF", "4294967295", "4294967296", "18446744073709551616", "-9223372036854775809", "abc", "true",
    "false", "TRUE", "NOTSCORED", "notscored", "Scored", "SCORED", "scored", "NotScored", "APPEALED",
    "WaitingForMachineScore", "complete", "Complete", "partial", "Partial", "none", "valid", "invalid",
    "Valid", "SD", "IN", "value", "reference", "INITIAL", "FINAL", "initial", "online", "Online", "paper",
    "completed", "submitted", "Submitted", "text/plain", "text/html", "audio/mp3", "2017-01-01T00:00:00",
    "2017-01-01T00:00:00.123Z", "2017-01-01", "2014-11-07 16:12:19.432", "2017-13-45T25:00:00", "A", "AB",
    "a", "x\ty", "00000000-0000-0000-0000-000000000000",
)

_UNKNOWN_NAMES: Final = ("Extra", "Notes", "Score", "Item", "Segment", "Test", "Message", "ScoreInfo")


def _all_elements(root: Any) -> list[Any]:
    return [el for el in root.iter() if isinstance(el.tag, str)]


def _drop_attribute(rng: random.Random, root: Any) -> str | None:
    els = [el for el in _all_elements(root) if el.attrib]
    if not els:
        return None
    el = rng.choice(els)
    name = rng.choice(sorted(el.attrib))
    del el.attrib[name]
    return f"drop @{name} of {root.getroottree().getpath(el)}"


def _bad_value(rng: random.Random, root: Any) -> str | None:
    els = [el for el in _all_elements(root) if el.attrib]
    if not els:
        return None
    el = rng.choice(els)
    name = rng.choice(sorted(el.attrib))
    if rng.random() < 0.25:
        # a value borrowed from elsewhere in the document: realistic type confusion
        donors = [v for e in rng.sample(els, min(len(els), 8)) for v in e.attrib.values()]
        value = rng.choice(donors) if donors else rng.choice(_TRICKY_VALUES)
    else:
        value = rng.choice(_TRICKY_VALUES)
    el.set(name, value)
    return f"set @{name}={value!r} on {root.getroottree().getpath(el)}"


def _recase_value(rng: random.Random, root: Any) -> str | None:
    els = [el for el in _all_elements(root) if el.attrib]
    if not els:
        return None
    el = rng.choice(els)
    name = rng.choice(sorted(el.attrib))
    old = el.get(name)
    value = rng.choice((old.upper(), old.lower(), old.title(), f" {old} ", f"{old}\n", old.swapcase()))
    el.set(name, value)
    return f"recase @{name}={value!r} on {root.getroottree().getpath(el)}"


def _extra_attribute(rng: random.Random, root: Any) -> str | None:
    el = rng.choice(_all_elements(root))
    name = rng.choice(("extra", "score", "key", "status", "id", "type", "xmlns_x"))
    if name in el.attrib:
        name = name + "2"
    el.set(name, rng.choice(_TRICKY_VALUES))
    return f"add @{name} to {root.getroottree().getpath(el)}"


def _reorder(rng: random.Random, root: Any) -> str | None:
    parents = [el for el in _all_elements(root) if len(el) >= 2]
    if not parents:
        return None
    parent = rng.choice(parents)
    children = [c for c in parent if isinstance(c.tag, str)]
    if len(children) < 2:
        return None
    i = rng.randrange(len(children) - 1)
    j = rng.randrange(i + 1, len(children)) if rng.random() < 0.5 else i + 1
    a, b = children[i], children[j]
    path = root.getroottree().getpath(a)
    # swap a and b through a placeholder, keeping every other sibling where it was
    marker = etree.Comment("swap")
    a.addprevious(marker)
    b.addprevious(a)
    marker.addprevious(b)
    parent.remove(marker)
    return f"swap {path} with a later sibling"


def _extra_element(rng: random.Random, root: Any) -> str | None:
    el = rng.choice(_all_elements(root))
    if rng.random() < 0.5 and el is not root:
        dup = copy.deepcopy(el)
        el.addnext(dup)
        return f"duplicate {root.getroottree().getpath(el)}"
    new = etree.Element(rng.choice(_UNKNOWN_NAMES))
    kids = list(el)
    if kids and rng.random() < 0.7:
        rng.choice(kids).addprevious(new)
    else:
        el.append(new)
    return f"insert <{new.tag}> into {root.getroottree().getpath(el)}"


def _empty_element(rng: random.Random, root: Any) -> str | None:
    el = rng.choice(_all_elements(root))
    path = root.getroottree().getpath(el)
    mode = rng.randrange(3)
    if mode == 0:
        for child in list(el):
            el.remove(child)
        el.text = None
        return f"empty {path}"
    if mode == 1:
        el.attrib.clear()
        return f"strip attributes of {path}"
    el.text = rng.choice(("text", " ", "0"))
    return f"add text to {path}"


def _remove_element(rng: random.Random, root: Any) -> str | None:
    els = [el for el in _all_elements(root) if el is not root]
    if not els:
        return None
    el = rng.choice(els)
    path = root.getroottree().getpath(el)
    parent = el.getparent()
    parent.remove(el)
    return f"remove {path}"


def _rename_element(rng: random.Random, root: Any) -> str | None:
    el = rng.choice(_all_elements(root))
    path = root.getroottree().getpath(el)
    el.tag = rng.choice((el.tag.lower(), el.tag.upper(), *_UNKNOWN_NAMES))
    return f"rename {path} to <{el.tag}>"


MUTATIONS: Final[dict[str, Callable[[random.Random, Any], str | None]]] = {
    "drop-attribute": _drop_attribute,
    "bad-value": _bad_value,
    "recase-value": _recase_value,
    "extra-attribute": _extra_attribute,
    "reorder": _reorder,
    "extra-element": _extra_element,
    "empty-element": _empty_element,
    "remove-element": _remove_element,
    "rename-element": _rename_element,
}
#: The mutation kinds, as named in mutation descriptions and ``mutate(kinds=...)``.
MUTATION_KINDS: Final[tuple[str, ...]] = tuple(MUTATIONS)
# bad values are the richest source of near-miss documents, so they are drawn more often
_WEIGHTS: Final = {"bad-value": 4, "drop-attribute": 2, "recase-value": 2}


def mutate(root: Any, rng: random.Random, *, kinds: tuple[str, ...] = MUTATION_KINDS) -> tuple[str, Any]:
    """Return ``(description, mutated_copy)``: one random, schema-blind mutation of ``root``.

    ``root`` is never modified. The mutations know nothing of any schema: they drop, add or change
    attributes (boundary and enumeration-like values, letter case, white space), reorder, duplicate,
    insert, empty, remove and rename elements. A mutant may therefore still be valid.

    Args:
        root: an lxml element (usually a document root).
        rng: the random source (seed it for reproducible corpora).
        kinds: the subset of :data:`MUTATION_KINDS` to draw from.
    """
    names = list(kinds)
    weights = [_WEIGHTS.get(k, 1) for k in names]
    for _ in range(20):
        kind = rng.choices(names, weights)[0]
        clone = copy.deepcopy(root)
        description = MUTATIONS[kind](rng, clone)
        if description is not None:
            return f"{kind}: {description}", clone
    raise ValueError("document too small to mutate")


def mutants(root: Any, seed: int | str, count: int, *, max_steps: int = 2) -> Iterator[tuple[str, Any]]:
    """Yield ``count`` seeded mutants of ``root`` as ``(description, element)``, 1..max_steps mutations deep.

    Args:
        root: the document to mutate (left unchanged).
        seed: the seed; the same seed and document give the same corpus.
        count: how many mutants to yield.
        max_steps: the most mutations stacked on one mutant.
    """
    rng = random.Random(f"mutants:{seed}")
    for _ in range(count):
        description, current = mutate(root, rng)
        steps = [description]
        for _ in range(rng.randrange(max_steps)):
            more, current = mutate(current, rng)
            steps.append(more)
        yield "; ".join(steps), current
