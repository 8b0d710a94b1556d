"""OData v3 system query options as Web API OData v5 validates them: $filter parser, $expand, paging."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.odata.csdl import CsdlModel, EntityType, parse_datetime
from mocks.deliveryodata.errors import InvalidQuery, NotACollection, UnsupportedQueryParameter

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
NUMERIC = ("Edm.Int16", "Edm.Int32", "Edm.Int64")
OPS = {"eq": "Equal", "ne": "NotEqual", "lt": "LessThan", "le": "LessThanOrEqual", "gt": "GreaterThan",
       "ge": "GreaterThanOrEqual"}
KNOWN_OPTIONS = ("$filter", "$expand", "$top", "$skip", "$inlinecount", "$orderby", "$select", "$format",
                 "$skiptoken", "$count")
MAX_EXPAND_DEPTH = 2

# the documented filter and expand properties per feed (where the docs list none: the key, assumed)
FILTERABLE: dict[str, tuple[str, ...]] = {
    "Attempts": ("ID", "ExternalAttemptID", "ScheduleID", "AttemptListID"),
    "AttemptLists": ("ID", "ExternalAttemptListID"),
    "AttemptMetadata": ("ID", "AttemptId"),
    "Appointments": ("ID", "AttemptID"),
    "SessionAuditLogs": ("ID",),
    "Participants": ("ID", "Name"),
    "Assessments": ("ID", "Name"),
    "Results": ("ID", "AssessmentID", "ParticipantName", "GroupName", "WhenFinished"),
    "TestCenters": ("ID", "Name"),
    "MonitoringTypes": ("ID", "Name"),
}
EXPANDABLE: dict[str, tuple[str, ...]] = {
    "Attempts": ("AttemptList", "AttemptMetadata", "MonitoringType", "Result"),
    "AttemptLists": ("Attempts",),
    "AttemptMetadata": ("Attempt",),
    "Appointments": ("Attempt",),
    "Assessments": ("Results",),
}
NO_ORDERBY = ("Attempts", "AttemptLists", "AttemptMetadata")


@dataclass(frozen=True)
class Prop:
    """A property reference in a filter."""

    name: str
    type: str


@dataclass(frozen=True)
class Lit:
    """A typed literal (``type`` is ``None`` for ``null``)."""

    type: str | None
    value: Any


@dataclass(frozen=True)
class Compare:
    """``left op right``."""

    op: str
    left: Prop | Lit
    right: Prop | Lit


@dataclass(frozen=True)
class Logical:
    """``left and|or right``, or ``not left`` (``right`` is ``None``)."""

    op: str
    left: Node
    right: Node | None = None


Node = Compare | Logical


@dataclass
class QueryOptions:
    """The validated options of one request."""

    filter: Node | None = None
    expand: list[list[str]] = field(default_factory=list)
    top: int | None = None
    skip: int = 0
    inlinecount: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)


_TOKEN = re.compile(r"""\s*(?:(?P<dt>datetime'[^']*')|(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:[lL])?(?![\w.]))
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<lp>\()|(?P<rp>\))|(?P<bad>\S))""", re.X)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            break
        kind = match.lastgroup
        start = match.start(kind)
        if kind == "bad":
            raise InvalidQuery(detail=f"Syntax error at position {start} in '{text}'.", field="$filter")
        out.append((kind, match.group(kind), start))
        pos = match.end()
    return out


#: Web API's default ``MaxNodeCount`` (ODataValidationSettings), and its message when a filter has more
#: nodes (System.Web.OData's FilterQueryValidator; each comparison counts its two operands too)
MAX_NODE_COUNT = 100
NODE_COUNT_EXCEEDED = (f"The node count limit of '{MAX_NODE_COUNT}' has been exceeded. To increase the limit, set "
                       "the 'MaxNodeCount' property on EnableQueryAttribute or ODataValidationSettings.")
#: nesting (parentheses, ``not``) before ODataLib's parser gives up; ODataLib v3 allows 800, but Python's
#: recursion would not (a filter of 100,000 '(' raised RecursionError, a 500), and a tree this deep
#: has passed the node count long before; the message is ODataLib's (UriQueryExpressionParser_TooDeep)
MAX_DEPTH = 100
TOO_DEEP = "Recursion depth exceeded allowed limit."
#: an Int64 has 19 digits: a longer literal is refused before int() (Python refuses 4,300 digits and more)
_MAX_DIGITS = 19


class _FilterParser:
    def __init__(self, text: str, etype: EntityType, qualified: str, filterable: tuple[str, ...]) -> None:
        self.text = text
        self.etype = etype
        self.qualified = qualified
        self.filterable = filterable
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.nodes = 0

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(TOO_DEEP)

    def count(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODE_COUNT:
            raise self.fail(NODE_COUNT_EXCEEDED)

    def fail(self, message: str) -> InvalidQuery:
        return InvalidQuery(detail=message, field="$filter")

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise self.fail(f"Syntax error: expression expected at position {len(self.text)} in '{self.text}'.")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise self.fail(f"Syntax error at position {extra[2]} in '{self.text}'.")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while (tok := self.peek()) is not None and tok[:2] == ("word", "or"):
            self.i += 1
            self.count(1)
            node = Logical("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while (tok := self.peek()) is not None and tok[:2] == ("word", "and"):
            self.i += 1
            self.count(1)
            node = Logical("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[:2] == ("word", "not"):
            self.i += 1
            self.count(1)
            self.enter()
            node = Logical("not", self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[0] == "lp":
            self.i += 1
            self.enter()
            node = self.or_expr()
            self.depth -= 1
            close = self.take()
            if close[0] != "rp":
                raise self.fail(f"')' or operator expected at position {close[2]} in '{self.text}'.")
            return node
        left = self.operand()
        op_tok = self.take()
        if op_tok[0] != "word" or op_tok[1] not in OPS:
            raise self.fail(f"Syntax error at position {op_tok[2]} in '{self.text}'.")
        right = self.operand()
        self.check_types(op_tok[1], left, right)
        self.count(3)
        return Compare(op_tok[1], left, right)

    def operand(self) -> Prop | Lit:
        kind, text, pos = self.take()
        if kind == "str":
            return Lit("Edm.String", text[1:-1].replace("''", "'"))
        if kind == "dt":
            try:
                return Lit("Edm.DateTime", parse_datetime(text[9:-1]))
            except ValueError:
                raise self.fail(f"Unrecognized 'Edm.DateTime' literal '{text}' at '{pos}' in '{self.text}'.") from None
        if kind == "num":
            if len(text.lstrip("-").rstrip("lL")) > _MAX_DIGITS or not text.isascii():
                kind_name = "Edm.Int64" if text[-1] in "lL" else "Edm.Int32"
                shown = text if len(text) <= 40 else text[:40] + "..."
                raise self.fail(f"Unrecognized '{kind_name}' literal '{shown}' at '{pos}' in the $filter.")
            if text[-1] in "lL":
                value = int(text[:-1])
                if not INT64[0] <= value <= INT64[1]:
                    raise self.fail(f"Unrecognized 'Edm.Int64' literal '{text}' at '{pos}' in '{self.text}'.")
                return Lit("Edm.Int64", value)
            value = int(text)
            if not INT32[0] <= value <= INT32[1]:
                raise self.fail(f"Unrecognized 'Edm.Int32' literal '{text}' at '{pos}' in '{self.text}'.")
            return Lit("Edm.Int32", value)
        if kind == "word":
            if text in ("true", "false"):
                return Lit("Edm.Boolean", text == "true")
            if text == "null":
                return Lit(None, None)
            prop = self.etype.properties.get(text)
            if prop is None:
                raise self.fail(f"Could not find a property named '{text}' on type '{self.qualified}'.")
            if text not in self.filterable:
                raise self.fail(f"The property '{text}' cannot be used in the $filter query option.")
            return Prop(text, prop.type)
        raise self.fail(f"Syntax error at position {pos} in '{self.text}'.")

    def check_types(self, op: str, left: Prop | Lit, right: Prop | Lit) -> None:
        a, b = left.type, right.type
        if a is None or b is None:
            if op not in ("eq", "ne"):
                raise self.fail(f"A binary operator with incompatible types was detected. Found operand types "
                                f"'{a or 'null'}' and '{b or 'null'}' for operator kind '{OPS[op]}'.")
            return
        if a == b or (a in NUMERIC and b in NUMERIC):
            return
        raise self.fail(f"A binary operator with incompatible types was detected. Found operand types '{a}' and "
                        f"'{b}' for operator kind '{OPS[op]}'.")


def parse_filter(text: str, model: CsdlModel, entity_set: str) -> Node:
    """Parse and type-check ``$filter`` against the feed's filterable properties."""
    etype = model.set_type(entity_set)
    return _FilterParser(text, etype, model.qualified(etype.name), FILTERABLE.get(entity_set, ("ID",))).parse()


def _non_negative(name: str, value: str) -> int:
    if not re.fullmatch(r"\d{1,9}", value.strip()):
        raise InvalidQuery(detail=f"Invalid value '{value}' for {name} query option found. The {name} query option "
                                  "requires a non-negative integer value.", field=name)
    return int(value)


def parse_expand(text: str, model: CsdlModel, entity_set: str) -> list[list[str]]:
    """``$expand`` paths, each segment a documented expandable navigation property, at most two deep."""
    paths: list[list[str]] = []
    for item in text.split(","):
        segments = [s.strip() for s in item.strip().split("/")]
        if not item.strip() or "" in segments:
            raise InvalidQuery(detail=f"Syntax error in $expand '{text}'.", field="$expand")
        if len(segments) > MAX_EXPAND_DEPTH:
            raise InvalidQuery(detail=f"The request includes a $expand path which is too deep. The maximum depth "
                                      f"allowed is {MAX_EXPAND_DEPTH}. To increase the limit, set the "
                                      "'MaxExpansionDepth' property on EnableQueryAttribute or "
                                      "ODataValidationSettings.", field="$expand")
        current = entity_set
        for seg in segments:
            etype = model.set_type(current)
            nav = etype.navigation.get(seg)
            if nav is None:
                raise InvalidQuery(detail=f"Could not find a property named '{seg}' on type "
                                          f"'{model.qualified(etype.name)}'.", field="$expand")
            if seg not in EXPANDABLE.get(current, ()):
                raise InvalidQuery(detail=f"The property '{seg}' cannot be used in the $expand query option.",
                                   field="$expand")
            current = next(s for s, t in model.sets.items() if t == nav.target)
        if segments not in paths:
            paths.append(segments)
    return paths


def parse_options(args: Mapping[str, str], model: CsdlModel, entity_set: str, *, single: bool,
                  orderby_mode: str = "reject") -> QueryOptions:
    """Validate the request's ``$`` options for a feed (``single``: an entity URL)."""
    opts = QueryOptions(raw={k: v for k, v in args.items() if k.startswith("$")})
    for name in opts.raw:
        if name not in KNOWN_OPTIONS:
            raise UnsupportedQueryParameter(field=name)
    for name, option in (("$select", "Select"), ("$format", "Format"), ("$skiptoken", "SkipToken")):
        if name in opts.raw:
            raise InvalidQuery(detail=f"Query option '{option}' is not allowed. To allow it, set the "
                                      "'AllowedQueryOptions' property on EnableQueryAttribute or "
                                      "QueryValidationSettings.", field=name)
    if "$count" in opts.raw:
        raise UnsupportedQueryParameter(field="$count")
    if single and any(k in opts.raw for k in ("$filter", "$orderby", "$top", "$skip", "$inlinecount")):
        raise NotACollection(field=next(k for k in ("$filter", "$orderby", "$top", "$skip", "$inlinecount")
                                        if k in opts.raw))
    if "$orderby" in opts.raw:
        if entity_set in NO_ORDERBY:
            if orderby_mode == "reject":
                raise InvalidQuery(detail="Query option 'OrderBy' is not allowed. To allow it, set the "
                                          "'AllowedQueryOptions' property on EnableQueryAttribute or "
                                          "QueryValidationSettings.", field="$orderby")
        else:
            opts.orderby = _orderby(opts.raw["$orderby"], model, entity_set)
    if "$filter" in opts.raw:
        opts.filter = parse_filter(opts.raw["$filter"], model, entity_set)
    if "$expand" in opts.raw:
        opts.expand = parse_expand(opts.raw["$expand"], model, entity_set)
    if "$top" in opts.raw:
        opts.top = _non_negative("$top", opts.raw["$top"])
    if "$skip" in opts.raw:
        opts.skip = _non_negative("$skip", opts.raw["$skip"])
    if "$inlinecount" in opts.raw:
        value = opts.raw["$inlinecount"]
        if value not in ("allpages", "none"):
            raise InvalidQuery(detail=f"'{value}' is not a valid value for $inlinecount; use 'allpages' or 'none'.",
                               field="$inlinecount")
        opts.inlinecount = value == "allpages"
    return opts


def _orderby(text: str, model: CsdlModel, entity_set: str) -> list[tuple[str, bool]]:
    etype = model.set_type(entity_set)
    out: list[tuple[str, bool]] = []
    for item in text.split(","):
        parts = item.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
            raise InvalidQuery(detail=f"Syntax error in $orderby '{text}'.", field="$orderby")
        if parts[0] not in etype.properties:
            raise InvalidQuery(detail=f"Could not find a property named '{parts[0]}' on type "
                                      f"'{model.qualified(etype.name)}'.", field="$orderby")
        if parts[0] not in FILTERABLE.get(entity_set, ("ID",)):
            raise InvalidQuery(detail=f"The property '{parts[0]}' cannot be used in the $orderby query option.",
                               field="$orderby")
        out.append((parts[0], len(parts) == 2 and parts[1] == "desc"))
    return out
