"""A fast path in front of werkzeug's URL matching, for the path shapes a mock sees again and again.

werkzeug's state-machine matcher walks the path part by part in Python on every request
(about a tenth of a GET on the mocks' hot paths). Most requests repeat a few *shapes*: the
same path with other numbers in it (``/deliveryodata/400449/Attempts(17)``,
``/deliveryodata/400449/Attempts(4711)``). :class:`ShapeRouter` asks werkzeug once per
shape and method, and afterwards matches the rule werkzeug chose with that rule's own
anchored regular expression.

It is exact, not a heuristic. A shape is remembered only when the rule werkzeug chose is
the only rule whose pattern matches the path at all, and with the same values. Every other
path of that shape differs only in its runs of digits, and every pattern of the map is
*digit-neutral* (no digit in any rule's static text; only converters whose pattern accepts
any run of digits wherever it accepts one), so no other rule can match it either; the
remembered rule is re-checked on every path by its own pattern and its converters (a
``ValidationError`` falls back to werkzeug). A map that is not digit-neutral throughout is
simply not served by the fast path. Misses, redirects, 404 and 405 always come from werkzeug.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, Map, MapAdapter, Rule, ValidationError
from werkzeug.routing.converters import AnyConverter, IntegerConverter, PathConverter, UnicodeConverter
from werkzeug.routing.rules import parse_converter_args

# werkzeug's own syntax of a variable part: <converter(arguments):name>
_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?"
                       r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class _Compiled:
    endpoint: str
    pattern: re.Pattern[str]  # one group per variable, named after it
    variables: tuple[tuple[str, BaseConverter], ...]  # (variable, converter)
    methods: frozenset[str] | None
    # the variables whose converter's to_python is not the identity (BaseConverter's): the others are the
    # matched text as it is
    converting: tuple[tuple[str, BaseConverter], ...]

    def match(self, path: str, method: str) -> dict[str, Any] | None:
        if self.methods is not None and method not in self.methods:
            return None
        found = self.pattern.match(path)
        if found is None:
            return None
        values = found.groupdict()
        try:
            for name, conv in self.converting:
                values[name] = conv.to_python(values[name])
        except ValidationError:
            return None
        return values


def digit_neutral(converter: BaseConverter) -> bool:
    """Whether ``converter``'s pattern accepts any run of digits wherever it accepts one."""
    if getattr(converter, "digit_neutral", False):
        return True
    if type(converter) in (UnicodeConverter, PathConverter):
        return converter.regex in ("[^/]{1,}", "[^/]+", "[^/].*?")  # no length bounds
    if type(converter) is IntegerConverter:
        return converter.regex == r"\d+"  # no fixed digits (min and max are checked by to_python)
    if type(converter) is AnyConverter:
        return not any(ch.isdigit() for ch in converter.regex)
    return False


def _compile(url_map: Map, rule: Rule) -> _Compiled | None:
    """The rule as one anchored pattern, or None when it is not digit-neutral (or has defaults)."""
    if rule.defaults or rule.host or rule.subdomain:
        return None
    text, pos, pattern, variables = rule.rule, 0, ["^"], []
    for found in _VARIABLE.finditer(text):
        static = text[pos:found.start()]
        if any(ch.isdigit() for ch in static):
            return None
        pattern.append(re.escape(static))
        name = found.group("converter") or "default"
        args, kwargs = parse_converter_args(found.group("arguments")) if found.group("arguments") else ((), {})
        try:
            converter = url_map.converters[name](url_map, *args, **kwargs)
        except (KeyError, TypeError, ValueError):
            return None
        if not digit_neutral(converter):
            return None
        variable = found.group("variable")
        pattern.append(f"(?P<{variable}>{converter.regex})")
        variables.append((variable, converter))
        pos = found.end()
    tail = text[pos:]
    if any(ch.isdigit() for ch in tail):
        return None
    pattern.append(re.escape(tail) + "$")
    try:
        compiled = re.compile("".join(pattern))
    except re.error:  # a variable named twice, or a converter's pattern with a group of the same name
        return None
    if sorted(compiled.groupindex) != sorted(name for name, _ in variables):
        return None  # a converter's pattern has named groups of its own: groupdict() would carry them
    methods = frozenset(rule.methods) if rule.methods is not None else None
    converting = tuple((name, conv) for name, conv in variables
                       if type(conv).to_python is not BaseConverter.to_python)
    return _Compiled(str(rule.endpoint), compiled, tuple(variables), methods, converting)


class ShapeRouter:
    """werkzeug's ``MapAdapter.match(path, method)``, answered from remembered shapes where that is exact."""

    CAPACITY = 4096

    def __init__(self, url_map: Map, adapter: MapAdapter,
                 alias: Callable[[str], str | None] | None = None) -> None:
        self.adapter = adapter
        self.alias = alias
        rules = list(url_map.iter_rules())
        compiled = [_compile(url_map, rule) for rule in rules]
        self.enabled = all(c is not None for c in compiled)
        self._rules: list[_Compiled] = [c for c in compiled if c is not None]
        self._by_rule = {id(rule): c for rule, c in zip(rules, compiled, strict=True) if c is not None}
        self._shapes: dict[tuple[str, str], _Compiled | None] = {}

    def match(self, path: str, method: str) -> tuple[str, Mapping[str, Any]]:
        """(endpoint, values) as werkzeug answers them; werkzeug's exceptions for misses.

        A path that matches nothing is tried once more as the ``alias`` callable rewrites it (when
        it does); a miss of that too is the original path's 404.
        """
        try:
            return self._match(path, method)
        except NotFound:
            other = self.alias(path) if self.alias is not None else None
            if other is None or other == path:
                raise
            return self._match(other, method)

    def _match(self, path: str, method: str) -> tuple[str, Mapping[str, Any]]:
        if not self.enabled:
            endpoint, values = self.adapter.match(path, method)
            return str(endpoint), values
        key = (method, _DIGITS.sub("0", path))
        known = self._shapes.get(key)
        if known is not None:
            fast = known.match(path, method)
            if fast is not None:
                return known.endpoint, fast
        rule, values = self.adapter.match(path, method, return_rule=True)
        if key not in self._shapes:
            self._remember(key, path, method, rule, values)
        return str(rule.endpoint), values

    def _remember(self, key: tuple[str, str], path: str, method: str, rule: Rule,
                  values: Mapping[str, Any]) -> None:
        matching = [c for c in self._rules if c.match(path, method) is not None]
        chosen = self._by_rule.get(id(rule))
        exact = len(matching) == 1 and matching[0] is chosen and chosen.match(path, method) == values
        if len(self._shapes) >= self.CAPACITY:
            self._shapes.clear()  # shapes are few in practice; never grow without bound
        self._shapes[key] = chosen if exact else None
