"""deliveryodata state and rules: attempts, lists, metadata, appointments, results, the lobby and proctor actions."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    exists,
    func,
    inspect,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import OperationalError

from contracts.odata.csdl import CsdlModel, EntityType, load, parse_datetime
from mocks.core.bounds import INT32_MAX
from mocks.core.clock import Clock
from mocks.core.errors import InputError
from mocks.core.ids import IdSource
from mocks.core.store import IntegrityError, Store
from mocks.deliveryodata import errors as e
from mocks.deliveryodata import signing
from mocks.deliveryodata.config import Config, Customer
from mocks.deliveryodata.odata import Lit, Logical, Node, Prop, QueryOptions
from mocks.deliveryodata.sqlfast import Prepared, Readers, read_one

SQL_TYPES: dict[str, Any] = {"Edm.Int32": Integer, "Edm.Int64": BigInteger, "Edm.Int16": SmallInteger,
                             "Edm.Boolean": Boolean, "Edm.String": Text, "Edm.DateTime": DateTime(timezone=True)}
#: Longest string each property takes (characters). Neither the CSDL nor the reference gives a MaxLength, so
#: these are examrig's, marked assumed in the catalogue (DOD-LEN-001, docs/deliveryodata.md "Limits"):
#: URLs as long as IIS's request filtering lets a URL be (maxUrl, 4096 bytes by default: the participant's
#: browser opens them through the service's own pages), the ids and keys as examrig already held them,
#: language tags at RFC 5646's 35 (4.4.1), names at 256, anything else at 4000 (SQL Server's longest
#: non-MAX nvarchar, what the AttemptMetadata Value column already allowed).
URL_MAX_LENGTH = 4096
NAME_MAX_LENGTH = 256
TEXT_MAX_LENGTH = 4000
STRING_MAX_LENGTH: dict[str, int] = {
    "ExternalAttemptID": 64, "ExternalAttemptListID": 64, "ExternalID": NAME_MAX_LENGTH, "UnlockCode": 64, "Key": 200,
    "Language": 35, "PreferredLang": 35, "TimeZoneID": 128, "Status": NAME_MAX_LENGTH,
    "TimezoneTime_Title": NAME_MAX_LENGTH, "Name": NAME_MAX_LENGTH, "FirstName": NAME_MAX_LENGTH,
    "LastName": NAME_MAX_LENGTH,
    "ParticipantName": NAME_MAX_LENGTH, "GroupName": NAME_MAX_LENGTH, "TestCenterName": NAME_MAX_LENGTH,
    "PrimaryEmail": 254, "Password": NAME_MAX_LENGTH, "Author": NAME_MAX_LENGTH, "Editor": NAME_MAX_LENGTH,
}  # (254: RFC 5321's longest forward path, less its angle brackets)


def string_max_length(name: str) -> int:
    """The longest value property ``name`` takes (:data:`STRING_MAX_LENGTH`, URLs, else the text limit)."""
    limit = STRING_MAX_LENGTH.get(name)
    if limit is not None:
        return limit
    return URL_MAX_LENGTH if name.endswith("Url") else TEXT_MAX_LENGTH


RANGES = {"Edm.Int16": (-(2**15), 2**15 - 1), "Edm.Int32": (-(2**31), 2**31 - 1), "Edm.Int64": (-(2**63), 2**63 - 1)}
TABLE_SETS = ("Participants", "Assessments", "TestCenters", "MonitoringTypes", "AttemptLists", "Attempts",
              "AttemptMetadata", "Appointments", "Results", "SessionAuditLogs")
# (set, navigation) -> (target set, local property, remote property)
RELATIONS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("Attempts", "Result"): ("Results", "ResultID", "ID"),
    ("Attempts", "AttemptList"): ("AttemptLists", "AttemptListID", "ID"),
    ("Attempts", "AttemptMetadata"): ("AttemptMetadata", "ID", "AttemptId"),
    ("Attempts", "MonitoringType"): ("MonitoringTypes", "MonitoringTypeID", "ID"),
    ("Attempts", "Appointments"): ("Appointments", "ID", "AttemptID"),
    ("Attempts", "SessionAuditLog"): ("SessionAuditLogs", "ID", "ID"),
    ("AttemptLists", "Attempts"): ("Attempts", "ID", "AttemptListID"),
    ("AttemptLists", "TestCenter"): ("TestCenters", "TestCenterID", "ID"),
    ("AttemptMetadata", "Attempt"): ("Attempts", "AttemptId", "ID"),
    ("Appointments", "Attempt"): ("Attempts", "AttemptID", "ID"),
    ("SessionAuditLogs", "Attempt"): ("Attempts", "ID", "ID"),
    ("Assessments", "Results"): ("Results", "ID", "AssessmentID"),
    ("Results", "Assessment"): ("Assessments", "AssessmentID", "ID"),
    ("Results", "Attempt"): ("Attempts", "AttemptId", "ID"),
    ("TestCenters", "AttemptLists"): ("AttemptLists", "ID", "TestCenterID"),
}
# server-set properties: ignored (or refused, by option) in request bodies
READ_ONLY: dict[str, frozenset[str]] = {
    "Attempts": frozenset({"ID", "ResultID", "ParticipantFacingQMLobbyUrl", "ProctorFacingQMControlsWidgetUrl",
                           "LastModifiedDateTime", "NextBranchedAttemptID", "ReviewUrl"}),
    "AttemptLists": frozenset({"ID", "ProctorFacingQMControlsUrl", "CreatedDateTime"}),
    "AttemptMetadata": frozenset({"ID"}),
    "Appointments": frozenset({"ID"}),
}
ATTEMPT_IMMUTABLE = ("ParticipantID", "AssessmentID", "AssessmentSnapshotID", "Language", "LockRequired")
ATTEMPT_PATCHABLE = ("LockStatus", "ParticipantSystemCheckUrl", "UnlockCode", "UnlockCodeExpiresDateTime",
                     "ParticipantFacingProctorSystemWidgetUrl", "Disabled")
RESULT_TRANSITIONS = frozenset({(1, 6), (1, 7), (6, 1), (6, 7)})
IN_PROGRESS, PAUSED, TERMINATED = 1, 6, 7
FINISHED_BY_USER = 5  # A_Result.Status 5: Finished at User Request (the delivery page's Finish)
SEED_SETS = {"participants": "Participants", "assessments": "Assessments", "testCenters": "TestCenters",
             "monitoringTypes": "MonitoringTypes"}
AUDIT_COLUMNS = ("Sequence", "Timestamp", "AttemptID", "ResultID", "Event", "Actor", "LockStatus", "ResultStatus",
                 "ExtraTime", "Detail")
PROCTOR_ACTIONS = ("Unlock", "Lock", "Pause", "Resume", "AddTime", "Terminate")
PAUSE_COLUMNS: tuple[tuple[str, Any], ...] = (("_paused_at", DateTime(timezone=True)), ("_paused_seconds", Integer))


class SeedError(InputError):
    """Seed data that cannot be loaded; ``field`` names the offending property."""


@dataclass(frozen=True)
class Page:
    """One page of a feed: entities, the total when asked for, and whether more follow."""

    entities: list[dict[str, Any]]
    total: int | None
    more: bool


def _ascii_id(field: str, value: Any, limit: int = 64) -> str:
    if value is None:
        raise e.Required(field=field)
    text = str(value)
    if not text.isascii():
        raise e.NotAscii(field=field)
    if len(text) > limit:
        raise e.TooLong(field=field, limit=limit)
    if not text:
        raise e.Required(field=field)
    return text


def shown(value: Any) -> str:
    """``value`` as the wire has it (``"lots"``, ``true``, ``null``, ``[1]``), never a Python repr in a message."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # not from a JSON body (an Atom text is a str): said plainly
        return str(value)


# .NET's Int32.Parse(s, NumberStyles.Integer, InvariantCulture), what Convert.ChangeType runs for a string: white
# space (U+0009-U+000D, U+0020) either side, one optional sign, ASCII digits only
_DOTNET_INTEGER = re.compile(r"[\t\n\v\f\r ]*([+-]?[0-9]+)[\t\n\v\f\r ]*\Z")
# Boolean.Parse: "True" or "False" in any case, white space and NULs either side
_DOTNET_BOOLEANS = {"true": True, "false": False}
# what ODataLib's JSON reader makes of a JSON value before converting it (JsonReader.ParseValue): a number is an
# Int32 when Int32.TryParse takes it, a Double otherwise
_JSON_KIND = {bool: "Edm.Boolean", str: "Edm.String", float: "Edm.Double"}


def _refused(kind: str, name: str, value: Any) -> e.InvalidValue:
    """The conversion error, made only when a value is refused (its JSON text is not cheap on the POST path)."""
    return e.InvalidValue(field=name, type=kind, value=shown(value))


def _json_kind(value: Any) -> str:
    if type(value) is int:
        return "Edm.Int32" if -(2**31) <= value <= 2**31 - 1 else "Edm.Double"
    return _JSON_KIND.get(type(value), "Edm.Complex")


class DeliveryOData:
    """The service's state in the Store, partitioned by tenant and by customer area.

    Tables follow the CSDL: one column per structural property, named as the
    property, plus ``customer`` in the key. Every write and its SessionAuditLog row
    commit in one transaction.
    """

    def __init__(self, store: Store, clock: Clock, ids: IdSource, config: Config,
                 model: CsdlModel | None = None) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.config = config
        self.csdl = model or load()
        self._prepared: dict[str, Prepared] = {}
        self.readers = Readers(store)
        self.auth_cache: dict[tuple[str, str], Customer] = {}
        self.t: dict[str, Table] = {}
        self._attempt_props = tuple(self.csdl.set_type("Attempts").properties)
        extras: dict[str, list[Any]] = {
            "Attempts": [Column("_session", String(64)),
                         UniqueConstraint("tenant", "customer", "ExternalAttemptID", name="uq_do_attempt_external")],
            "AttemptLists": [UniqueConstraint("tenant", "customer", "ExternalAttemptListID",
                                              name="uq_do_list_external")],
            # the pauses of a result (not OData properties): when the current pause began, and the seconds of the
            # pauses that ended, so the time left does not fall while the proctor holds the assessment
            "Results": [Column(col, kind) for col, kind in PAUSE_COLUMNS],
        }
        for name in TABLE_SETS:
            etype = self.csdl.set_type(name)
            columns = [Column("customer", String(32), primary_key=True)]
            for prop in etype.properties.values():
                columns.append(Column(prop.name, SQL_TYPES[prop.type], primary_key=prop.name == etype.key,
                                      autoincrement=False))
            self.t[name] = store.table(f"do_{name.lower()}", *columns, *extras.get(name, []))
        a, lst = self.t["Attempts"], self.t["AttemptLists"]
        for name, table, col in (("ix_do_att_list", a, "AttemptListID"), ("ix_do_meta_att", self.t["AttemptMetadata"],
                                 "AttemptId"), ("ix_do_appt_att", self.t["Appointments"], "AttemptID")):
            if not any(ix.name == name for ix in table.indexes):
                Index(name, table.c.tenant, table.c.customer, table.c[col])
        if not any(ix.name == "uq_do_list_open" for ix in lst.indexes):
            # at most one open AttemptList per TestCenter, enforced by the database under races too
            Index("uq_do_list_open", lst.c.tenant, lst.c.customer, lst.c.TestCenterID, unique=True,
                  sqlite_where=lst.c.Open == true(), postgresql_where=lst.c.Open == true())
        self.snapshots = store.table("do_snapshots", Column("customer", String(32), primary_key=True),
                                     Column("ID", Integer, primary_key=True, autoincrement=False),
                                     Column("AssessmentID", BigInteger, nullable=False), Column("Language", Text))
        self.audit = store.table(
            "do_audit", Column("id", Integer, primary_key=True, autoincrement=True),
            Column("customer", String(32), nullable=False), Column("attempt_id", Integer, nullable=False),
            Column("at", DateTime(timezone=True), nullable=False), Column("event", String(40), nullable=False),
            Column("actor", String(20), nullable=False), Column("result_id", Integer),
            Column("lock_status", Boolean), Column("result_status", SmallInteger), Column("extra_time", Integer),
            Column("detail", Text), Index("ix_do_audit_att", "tenant", "customer", "attempt_id"), tenant_in_pk=False)
        self.nonces = store.table("do_nonces", Column("customer", String(32), primary_key=True),
                                  Column("nonce", String(64), primary_key=True),
                                  Column("attempt_id", Integer, nullable=False),
                                  Column("used", DateTime(timezone=True), nullable=False))

    @property
    def tables(self) -> list[Table]:
        """Every table of the service (parents first)."""
        return [*(self.t[n] for n in TABLE_SETS), self.snapshots, self.audit, self.nonces]

    def upgrade(self) -> None:
        """Bring a database made by an earlier examrig up to date: the results' pause columns (nullable: a result
        of an older database reads as never paused)."""
        results = self.t["Results"]
        engine = self.store.engine
        present = {c["name"] for c in inspect(engine).get_columns(results.name)}
        quote = engine.dialect.identifier_preparer.quote
        for name, _kind in PAUSE_COLUMNS:
            if name in present:
                continue
            sql_type = results.c[name].type.compile(dialect=engine.dialect)
            exists_clause = "IF NOT EXISTS " if self.store.is_postgres else ""
            try:
                with self.store.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {quote(results.name)} ADD COLUMN {exists_clause}"
                                      f"{quote(name)} {sql_type}"))
            except OperationalError:  # SQLite: another process starting at once added it first
                if name not in {c["name"] for c in inspect(engine).get_columns(results.name)}:
                    raise

    def _prep(self, name: str) -> Prepared:
        """A hot-path statement, compiled once (see sqlfast.Prepared)."""
        found = self._prepared.get(name)
        if found is None:
            found = self._prepared[name] = Prepared(self.store.engine, *self._statement(name))
        return found

    def _statement(self, name: str) -> tuple[Any, list[str] | None]:
        a, s, m = self.t["Attempts"], self.t["Assessments"], self.t["MonitoringTypes"]
        t: Any = bindparam("t")
        c: Any = bindparam("c")
        if name == "launch":
            # GET Attempts(n): the attempt and whether its launch needs the secure browser, in one query
            # the attempt's properties in the CSDL's order (the row is the entity: no copy), then the two flags
            return (select(*(a.c[p] for p in self._attempt_props), s.c.IsSecure, m.c.RequireQSB)
                    .select_from(a.outerjoin(s, and_(s.c.tenant == a.c.tenant, s.c.customer == a.c.customer,
                                                     s.c["ID"] == a.c.AssessmentID))
                                 .outerjoin(m, and_(m.c.tenant == a.c.tenant, m.c.customer == a.c.customer,
                                                    m.c["ID"] == a.c.MonitoringTypeID)))
                    .where(a.c.tenant == t, a.c.customer == c, a.c["ID"] == bindparam("k"))), None
        if name == "attempt_checks":
            # POST Attempts: every reference and the duplicate check in one query
            def there(table: Table, key: str) -> Any:
                return exists().where(table.c.tenant == t, table.c.customer == c, table.c["ID"] == bindparam(key))
            p, lst = self.t["Participants"], self.t["AttemptLists"]
            language = select(s.c.Language).where(s.c.tenant == t, s.c.customer == c, s.c["ID"] == bindparam("a"))
            return select(there(p, "p").label("p"), there(s, "a").label("a"),
                          language.scalar_subquery().label("lang"), there(m, "m").label("m"),
                          there(lst, "l").label("l"),
                          exists().where(a.c.tenant == t, a.c.customer == c,
                                         a.c.ExternalAttemptID == bindparam("x")).label("dup")), None
        if name == "counter":
            k = self.store.counters
            return (update(k).where(k.c.tenant == t, k.c.name == bindparam("n")).values(value=k.c.value + 1)
                    .returning(k.c.value)), None
        if name == "insert_attempt":
            return a.insert(), ["tenant", "customer", *self.csdl.set_type("Attempts").properties, "_session"]
        if name == "insert_sal":
            return self.t["SessionAuditLogs"].insert(), ["tenant", "customer", "ID"]
        if name == "insert_audit":
            return self.audit.insert(), [col.name for col in self.audit.columns if col.name != "id"]
        if name == "result":
            r = self.t["Results"]
            return select(r).where(r.c.tenant == t, r.c.customer == c, r.c["ID"] == bindparam("k")), None
        raise KeyError(name)

    def _next_id(self, conn: Connection, tenant: str, name: str) -> int:
        """The next value of a per-tenant counter in one statement (the core's two when it does not exist yet)."""
        row = self._prep("counter").first(conn, {"t": tenant, "n": name})
        return int(row["value"]) if row is not None else self.store.next_value(conn, tenant, name)

    # -- request bodies -------------------------------------------------------------------------

    def decode(self, entity_set: str, body: dict[str, Any], *, allow_nav: Iterable[str] = (),
               wire: bool = True) -> dict[str, Any]:
        """A JSON object as typed values of ``entity_set``'s properties (types, ranges, unknown names).

        ``wire``: a request body, converted as the real service's reader converts it (ODataLib 5.x, see
        :meth:`_convert`); seed data (``wire=False``) also takes an Int64 as a JSON number.
        """
        etype = self.csdl.set_type(entity_set)
        out: dict[str, Any] = {}
        read_only = READ_ONLY.get(entity_set, frozenset())
        for name, value in body.items():
            if name.startswith("odata.") or "@odata." in name:
                continue
            if name in allow_nav:
                out[name] = value
                continue
            prop = etype.properties.get(name)
            if prop is None:
                raise e.UnknownProperty(field=name, type=self.csdl.qualified(etype.name))
            if name in read_only:
                if self.config.read_only == "reject":
                    raise e.ReadOnlyProperty(field=name)
                continue
            out[name] = self._convert(prop.type, name, value, wire=wire)
        return out

    def _convert(self, kind: str, name: str, value: Any, *, wire: bool = True) -> Any:
        """One JSON value as the property's type, as ODataLib 5.6 converts it for an Edm-typed property
        (``ODataJsonLightReaderUtils.ConvertValue``, the verbose reader's ``ODataJsonReaderUtils.ConvertValue`` the
        same): a JSON string converts to any primitive type (``Convert.ChangeType(s, type, InvariantCulture)``:
        ``"987654321"`` is an Int32, ``"true"`` a Boolean); a JSON number read as an Int32 converts to Int16 or
        Int32 but an Int64 must be quoted; a Double, a Boolean, converts only to its own type. Options put back
        examrig's stricter or looser earlier readings (``int32_as_string = false``, ``int64_as_number = true``).
        """
        if value is None:
            return None
        if kind == "Edm.String":
            if not isinstance(value, str):
                # ODataJsonReaderUtils_CannotConvertInt32/Double/Boolean: no number or Boolean as a string
                raise _refused(kind, name, value)
            limit = string_max_length(name)
            if len(value) > limit:  # at the boundary, before anything is stored (a 2 MB widget URL was)
                raise e.TooLong(field=name, limit=limit)
            return value
        if isinstance(value, str) and kind in ("Edm.Boolean", "Edm.Int16", "Edm.Int32") \
                and not self.config.int32_as_string:
            raise _refused(kind, name, value)
        if kind == "Edm.Boolean":
            if isinstance(value, str):
                found = _DOTNET_BOOLEANS.get(value.strip().strip("\0").strip().lower())
                if found is None:
                    raise _refused(kind, name, value)  # Boolean.Parse's FormatException
                return found
            if not isinstance(value, bool):
                raise _refused(kind, name, value)
            return value
        if kind in RANGES:
            if isinstance(value, str):
                match = _DOTNET_INTEGER.match(value)  # Int16/Int32/Int64.Parse alike
                if match is None or len(match.group(1)) > 21:  # (no int() of 5,000 digits: past Int64 anyway)
                    raise _refused(kind, name, value)
                value = int(match.group(1))
            elif kind == "Edm.Int64" and type(value) is int and not (self.config.int64_as_number or not wire):
                # a JSON number: ConvertInt32Value's "must be quoted", or a Double that converts to no Int64
                raise e.UnquotedInt64(field=name, type=kind, value=shown(value), read_as=_json_kind(value))
            if isinstance(value, bool) or not isinstance(value, int):
                raise _refused(kind, name, value)
            low, high = RANGES[kind]
            if not low <= value <= high:
                raise _refused(kind, name, value)
            return value
        if kind == "Edm.DateTime":
            if not isinstance(value, str):
                raise _refused(kind, name, value)
            try:
                return parse_datetime(value)
            except ValueError:
                raise _refused(kind, name, value) from None
        raise _refused(kind, name, value)

    # -- reading ----------------------------------------------------------------------------------

    def _scope(self, table: Table, tenant: str, customer: str) -> ColumnElement[bool]:
        return and_(table.c.tenant == tenant, table.c.customer == customer)

    def _entity(self, entity_set: str, row: Any) -> dict[str, Any]:
        etype = self.csdl.set_type(entity_set)
        return {p: row[p] for p in etype.properties}

    def _compile(self, table: Table, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Logical):
            left = self._compile(table, node.left)
            if node.op == "not":
                return not_(left)
            assert node.right is not None
            right = self._compile(table, node.right)
            return and_(left, right) if node.op == "and" else or_(left, right)
        a, b = (self._operand(table, x) for x in (node.left, node.right))
        result: ColumnElement[bool]
        if node.op in ("eq", "ne") and (isinstance(node.right, Lit) and node.right.type is None):
            result = a.is_(None) if node.op == "eq" else a.is_not(None)
        elif node.op in ("eq", "ne") and (isinstance(node.left, Lit) and node.left.type is None):
            result = b.is_(None) if node.op == "eq" else b.is_not(None)
        else:
            result = {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[node.op]
        return result

    def _operand(self, table: Table, x: Prop | Lit) -> ColumnElement[Any]:
        return table.c[x.name] if isinstance(x, Prop) else literal(x.value)

    def query(self, tenant: str, customer: str, entity_set: str, opts: QueryOptions) -> Page:
        """A page of a feed: filter, skip, top, server page size, expansions."""
        table = self.t[entity_set]
        where = self._scope(table, tenant, customer)
        if opts.filter is not None:
            where = and_(where, self._compile(table, opts.filter))
        limit = self.config.page_size if opts.top is None else min(opts.top, self.config.page_size)
        order = [(table.c[p].desc() if desc else table.c[p].asc()) for p, desc in opts.orderby] or \
            [table.c["ID"].asc()]
        stmt = select(table).where(where).order_by(*order).offset(opts.skip).limit(limit + 1)
        with self.store.read() as conn:
            rows = conn.execute(stmt).mappings().all()
            total = None
            if opts.inlinecount:
                total = int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())
            entities = [self._entity(entity_set, r) for r in rows[:limit]]
            self._expand(conn, tenant, customer, entity_set, entities, opts.expand)
        more = len(rows) > limit and (opts.top is None or opts.top > limit)
        return Page(entities, total, more)

    def get(self, tenant: str, customer: str, entity_set: str, key: int,
            expand: list[list[str]] | None = None) -> dict[str, Any]:
        """One entity by key (``EntityNotFound`` when there is none)."""
        table = self.t[entity_set]
        with self.store.read() as conn:
            row = conn.execute(select(table).where(self._scope(table, tenant, customer), table.c["ID"] == key)) \
                .mappings().first()
            if row is None:
                raise e.EntityNotFound(type=self.csdl.set_type(entity_set).name, key=key)
            entity = self._entity(entity_set, row)
            self._expand(conn, tenant, customer, entity_set, [entity], expand or [])
        return entity

    def _expand(self, conn: Connection, tenant: str, customer: str, entity_set: str,
                entities: list[dict[str, Any]], paths: list[list[str]]) -> None:
        heads: dict[str, list[list[str]]] = {}
        for path in paths:
            heads.setdefault(path[0], [])
            if len(path) > 1:
                heads[path[0]].append(path[1:])
        for nav, rest in heads.items():
            target, local, remote = RELATIONS[(entity_set, nav)]
            many = self.csdl.set_type(entity_set).navigation[nav].many
            keys = {ent[local] for ent in entities if ent[local] is not None}
            table = self.t[target]
            found: list[dict[str, Any]] = []
            if keys:
                rows = conn.execute(select(table).where(self._scope(table, tenant, customer),
                                                        table.c[remote].in_(sorted(keys)))
                                    .order_by(table.c["ID"])).mappings().all()
                found = [self._entity(target, r) for r in rows]
            if rest:
                self._expand(conn, tenant, customer, target, found, rest)
            by_key: dict[Any, list[dict[str, Any]]] = {}
            for item in found:
                by_key.setdefault(item[remote], []).append(item)
            for ent in entities:
                related = by_key.get(ent[local], []) if ent[local] is not None else []
                value: Any = related[: self.config.expand_limit] if many else (related[0] if related else None)
                # expanded navigation properties come before the scalar ones, as the real service writes them
                scalars = dict(ent)
                ent.clear()
                ent.update({k: v for k, v in scalars.items() if k in self.csdl.set_type(entity_set).navigation})
                ent[nav] = value
                ent.update({k: v for k, v in scalars.items() if k not in ent})

    # -- attempts ---------------------------------------------------------------------------------

    def _exists(self, conn: Connection, tenant: str, customer: str, entity_set: str, key: int) -> Any:
        table = self.t[entity_set]
        return conn.execute(select(table).where(self._scope(table, tenant, customer), table.c["ID"] == key)) \
            .mappings().first()

    def _locked(self, conn: Connection, tenant: str, customer: str, entity_set: str, key: int) -> Any:
        """The row a rule reads and then writes, locked for the rest of the transaction.

        ``SELECT … FOR UPDATE`` on PostgreSQL: a concurrent transaction of the same rule waits here and then
        reads the committed outcome (READ COMMITTED re-reads the locked row), so two lobby Starts cannot both see
        ``ResultID`` empty. SQLite renders no ``FOR UPDATE``: its write transactions (``BEGIN IMMEDIATE``) already
        run one at a time.
        """
        table = self.t[entity_set]
        return conn.execute(select(table).where(self._scope(table, tenant, customer), table.c["ID"] == key)
                            .with_for_update()).mappings().first()

    def _require_ref(self, conn: Connection, tenant: str, customer: str, field: str, entity_set: str,
                     value: Any) -> Any:
        row = self._exists(conn, tenant, customer, entity_set, value)
        if row is None:
            raise e.DanglingReference(field=field, value=value, type=self.csdl.set_type(entity_set).name)
        return row

    def create_attempt(self, tenant: str, customer: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST Attempts (with an optional deep insert of AttemptMetadata)."""
        values = self.decode("Attempts", body, allow_nav=("AttemptMetadata",))
        metadata_in = values.pop("AttemptMetadata", None)
        if metadata_in is not None and not isinstance(metadata_in, list):
            raise e.InvalidValue(field="AttemptMetadata", type="Collection(AttemptMetadata)",
                                 value=shown(metadata_in))
        metadata = [self._metadata_values(item, f"AttemptMetadata[{i}]", deep=True)
                    for i, item in enumerate(metadata_in or [])]
        external = _ascii_id("ExternalAttemptID", values.get("ExternalAttemptID"))
        for name in ("ParticipantID", "AssessmentID"):
            if values.get(name) is None:
                raise e.Required(field=name)
        for name in ("LockRequired", "Disabled"):
            if name in values and values[name] is None:
                raise e.Required(field=name)
        now = self.clock.now(tenant)
        lock_required = bool(values.get("LockRequired", False))
        lock_status = values.get("LockStatus", lock_required)
        if lock_status is None:
            raise e.Required(field="LockStatus")
        unlock_code = self._unlock_code(values.get("UnlockCode"))
        expires = values.get("UnlockCodeExpiresDateTime")
        if unlock_code is not None and expires is None:
            expires = now + timedelta(seconds=self.config.unlock_code_ttl)
        row: dict[str, Any] = {p: None for p in self.csdl.set_type("Attempt" + "s").properties}
        row.update({k: v for k, v in values.items() if k in row})
        row.update(ExternalAttemptID=external, LockRequired=lock_required, LockStatus=lock_status,
                   UnlockCode=unlock_code, UnlockCodeExpiresDateTime=expires, LastModifiedDateTime=now,
                   Disabled=bool(values.get("Disabled", False)), ResultID=None)
        try:
            with self.store.begin() as conn:
                self._check_attempt_refs(conn, tenant, customer, row, external)
                row["ID"] = self._next_id(conn, tenant, f"deliveryodata:{customer}:Attempts")
                self._prep("insert_attempt").run(conn, {**row, "tenant": tenant, "customer": customer,
                                                        "_session": None})
                self._prep("insert_sal").run(conn, {"tenant": tenant, "customer": customer, "ID": row["ID"]})
                for meta in metadata:
                    self._insert_metadata(conn, tenant, customer, row["ID"], meta)
                self._audit(conn, tenant, customer, row, "AttemptCreated", "api", now, None, f"ExternalAttemptID="
                            f"{external}")
        except IntegrityError:
            # the loser of two concurrent POSTs with one ExternalAttemptID lands here
            raise self._duplicate("ExternalAttemptID", external) from None
        return {p: row[p] for p in self.csdl.set_type("Attempts").properties}

    def _duplicate(self, field: str, value: str) -> e.Duplicate:
        return e.Duplicate(status=self.config.duplicate_status, field=field, value=value)

    def _unlock_code(self, value: Any) -> str | None:
        if value is None:
            return None
        if not value or not value.isascii() or not value.isalnum():
            raise e.InvalidValue(field="UnlockCode", type="alphanumeric Edm.String", value=shown(value))
        return str(value)

    def _check_attempt_refs(self, conn: Connection, tenant: str, customer: str, row: dict[str, Any],
                            external: str) -> None:
        found = self._prep("attempt_checks").first(conn, {
            "t": tenant, "c": customer, "p": row["ParticipantID"], "a": row["AssessmentID"],
            "m": row.get("MonitoringTypeID"), "l": row.get("AttemptListID"), "x": external})
        assert found is not None
        if not found["p"]:
            raise e.DanglingReference(field="ParticipantID", value=row["ParticipantID"], type="Participant")
        if not found["a"]:
            raise e.DanglingReference(field="AssessmentID", value=row["AssessmentID"], type="Assessment")
        if row.get("AssessmentSnapshotID") is not None:
            s = self.snapshots
            snap = conn.execute(select(s).where(s.c.tenant == tenant, s.c.customer == customer,
                                                s.c["ID"] == row["AssessmentSnapshotID"])).mappings().first()
            if snap is None or snap["AssessmentID"] != row["AssessmentID"]:
                raise e.DanglingReference(field="AssessmentSnapshotID", value=row["AssessmentSnapshotID"],
                                          type="AssessmentSnapshot of the assessment")
            # the snapshot fixes the language; a Language given with it is ignored (spec)
            row["Language"] = snap["Language"]
        elif row.get("Language") is not None:
            offered = [x.strip() for x in (found["lang"] or "").split(",") if x.strip()]
            if row["Language"] not in offered:
                raise e.InvalidLanguage(assessment=row["AssessmentID"], value=row["Language"])
        if row.get("MonitoringTypeID") is not None and not found["m"]:
            raise e.DanglingReference(field="MonitoringTypeID", value=row["MonitoringTypeID"], type="MonitoringType")
        if row.get("AttemptListID") is not None and not found["l"]:
            raise e.DanglingReference(field="AttemptListID", value=row["AttemptListID"], type="AttemptList")
        if found["dup"]:
            raise self._duplicate("ExternalAttemptID", external)

    def update_attempt(self, tenant: str, customer: str, key: int, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH/MERGE Attempts(key): the patchable properties; immutables refused when changed."""
        values = self.decode("Attempts", body)
        now = self.clock.now(tenant)
        table = self.t["Attempts"]
        with self.store.begin() as conn:
            row = self._locked(conn, tenant, customer, "Attempts", key)
            if row is None:
                raise e.EntityNotFound(type="Attempt", key=key)
            changes: dict[str, Any] = {}
            for name, value in values.items():
                if name in ATTEMPT_PATCHABLE:
                    changes[name] = value
                elif value != row[name]:
                    if name in ATTEMPT_IMMUTABLE:
                        raise e.Immutable(field=name, type="Attempt")
                    raise e.NotPatchable(field=name)
            for name in ("LockStatus", "Disabled"):
                if name in changes and changes[name] is None:
                    raise e.Required(field=name)
            if "UnlockCode" in changes:
                changes["UnlockCode"] = self._unlock_code(changes["UnlockCode"])
                if changes.get("UnlockCodeExpiresDateTime") is None:
                    changes["UnlockCodeExpiresDateTime"] = (
                        now + timedelta(seconds=self.config.unlock_code_ttl)
                        if changes["UnlockCode"] is not None else None)
            changes["LastModifiedDateTime"] = now
            conn.execute(update(table).where(self._scope(table, tenant, customer), table.c["ID"] == key)
                         .values(**changes))
            merged = {**dict(row), **changes}
            if "LockStatus" in changes and changes["LockStatus"] != row["LockStatus"]:
                self._audit(conn, tenant, customer, merged, "Locked" if changes["LockStatus"] else "Unlocked", "api",
                            now, None, "PATCH LockStatus")
        return {p: merged[p] for p in self.csdl.set_type("Attempts").properties}

    # -- attempt lists, metadata, appointments ---------------------------------------------------------

    def create_attempt_list(self, tenant: str, customer: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST AttemptLists."""
        values = self.decode("AttemptLists", body)
        external = _ascii_id("ExternalAttemptListID", values.get("ExternalAttemptListID"))
        if "Open" in values and values["Open"] is None:
            raise e.Required(field="Open")
        now = self.clock.now(tenant)
        row = {"ID": 0, "ExternalAttemptListID": external, "ProctorFacingQMControlsUrl": None, "CreatedDateTime": now,
               "TestCenterID": values.get("TestCenterID"), "Open": bool(values.get("Open", False))}
        table = self.t["AttemptLists"]
        try:
            with self.store.begin() as conn:
                if row["TestCenterID"] is not None:
                    self._require_ref(conn, tenant, customer, "TestCenterID", "TestCenters", row["TestCenterID"])
                if conn.execute(select(table.c["ID"]).where(self._scope(table, tenant, customer),
                                                         table.c.ExternalAttemptListID == external)).first():
                    raise self._duplicate("ExternalAttemptListID", external)
                if row["Open"] and row["TestCenterID"] is not None and conn.execute(
                        select(table.c["ID"]).where(self._scope(table, tenant, customer), table.c.Open == true(),
                                                 table.c.TestCenterID == row["TestCenterID"])).first():
                    raise e.OpenListExists(field="Open", value=row["TestCenterID"])
                row["ID"] = self.store.next_value(conn, tenant, f"deliveryodata:{customer}:AttemptLists")
                conn.execute(table.insert().values(tenant=tenant, customer=customer, **row))
        except IntegrityError as exc:
            # the loser of a race: two lists with one external id, or two open lists of one test center (the
            # partial unique index: PostgreSQL names it, SQLite names its columns)
            message = str(exc.orig)
            if "uq_do_list_open" in message or "TestCenterID" in message:
                raise e.OpenListExists(field="Open", value=row["TestCenterID"]) from None
            raise self._duplicate("ExternalAttemptListID", external) from None
        return row

    def _metadata_values(self, item: Any, where: str, *, deep: bool) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise e.InvalidValue(field=where, type="AttemptMetadata", value=shown(item))
        values = self.decode("AttemptMetadata", item)
        for name, limit in (("Key", 200), ("Value", 4000)):
            value = values.get(name)
            if value is None:
                raise e.Required(field=name)
            if len(value) > limit:
                raise e.TooLong(field=name, limit=limit)
        if not deep and values.get("AttemptId") is None:
            raise e.Required(field="AttemptId")
        return values

    def _insert_metadata(self, conn: Connection, tenant: str, customer: str, attempt_id: int,
                         values: dict[str, Any]) -> dict[str, Any]:
        row = {"ID": self.store.next_value(conn, tenant, f"deliveryodata:{customer}:AttemptMetadata"),
               "AttemptId": attempt_id, "Key": values["Key"], "Value": values["Value"]}
        conn.execute(self.t["AttemptMetadata"].insert().values(tenant=tenant, customer=customer, **row))
        return row

    def create_metadata(self, tenant: str, customer: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST AttemptMetadata."""
        values = self._metadata_values(body, "body", deep=False)
        with self.store.begin() as conn:
            self._require_ref(conn, tenant, customer, "AttemptId", "Attempts", values["AttemptId"])
            return self._insert_metadata(conn, tenant, customer, values["AttemptId"], values)

    def create_appointment(self, tenant: str, customer: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST Appointments."""
        values = self.decode("Appointments", body)
        for name in ("AttemptID", "AppointmentStartUtc"):
            if values.get(name) is None:
                raise e.Required(field=name)
        row: dict[str, Any] = {p: values.get(p) for p in self.csdl.set_type("Appointments").properties}
        with self.store.begin() as conn:
            self._require_ref(conn, tenant, customer, "AttemptID", "Attempts", values["AttemptID"])
            row["ID"] = self.store.next_value(conn, tenant, f"deliveryodata:{customer}:Appointments")
            conn.execute(self.t["Appointments"].insert().values(tenant=tenant, customer=customer, **row))
        return row

    def delete_appointment(self, tenant: str, customer: str, key: int) -> None:
        """DELETE Appointments(key)."""
        table = self.t["Appointments"]
        with self.store.begin() as conn:
            done = conn.execute(table.delete().where(self._scope(table, tenant, customer), table.c["ID"] == key))
            if done.rowcount == 0:
                raise e.EntityNotFound(type="Appointment", key=key)

    # -- results -----------------------------------------------------------------------------------

    def update_result(self, tenant: str, customer: str, key: int, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH/MERGE Results(key): Status (1→6, 1→7, 6→1, 6→7) and ExtraTime only."""
        values = self.decode("Results", body)
        now = self.clock.now(tenant)
        with self.store.begin() as conn:
            row = self._locked(conn, tenant, customer, "Results", key)
            if row is None:
                raise e.EntityNotFound(type="Result", key=key)
            changes: dict[str, Any] = {}
            for name, value in values.items():
                if name == "Status":
                    if value is None:
                        raise e.Required(field="Status")
                    if value != row["Status"]:
                        changes.update(self._transition(row, value, now))
                elif name == "ExtraTime":
                    if value is not None and not 0 <= value <= INT32_MAX:
                        raise e.InvalidValue(field="ExtraTime", type="non-negative Edm.Int32", value=shown(value))
                    changes["ExtraTime"] = value
                elif value != row[name]:
                    raise e.NotPatchable(field=name)
            if changes:
                table = self.t["Results"]
                conn.execute(update(table).where(self._scope(table, tenant, customer), table.c["ID"] == key)
                             .values(**changes))
                attempt = self._exists(conn, tenant, customer, "Attempts", row["AttemptId"])
                if attempt is not None and "Status" in changes:
                    self._audit(conn, tenant, customer, dict(attempt), _EVENTS[changes["Status"]], "api", now,
                                {**dict(row), **changes}, "PATCH Results")
        return {p: {**dict(row), **changes}[p] for p in self.csdl.set_type("Results").properties}

    def _transition(self, result: Any, new: int, now: datetime) -> dict[str, Any]:
        old = result["Status"]
        if (old, new) not in RESULT_TRANSITIONS:
            raise e.InvalidTransition(field="Status", result=result["ID"], old=old, new=new)
        changes: dict[str, Any] = {"Status": new, **_pause_changes(result, new, now)}
        if new == TERMINATED:
            changes.update(WhenFinished=now, StillGoing=False,
                           TimeTaken=int((now - _aware(result["WhenStarted"])).total_seconds())
                           if result["WhenStarted"] else None)
        return changes

    def _new_result(self, conn: Connection, tenant: str, customer: str, attempt: Any, now: datetime) -> dict[str, Any]:
        participant = self._exists(conn, tenant, customer, "Participants", attempt["ParticipantID"])
        meta_t = self.t["AttemptMetadata"]
        metadata = conn.execute(select(meta_t.c.Key, meta_t.c.Value).where(
            self._scope(meta_t, tenant, customer), meta_t.c.AttemptId == attempt["ID"]).order_by(meta_t.c["ID"])).all()
        row: dict[str, Any] = {p: None for p in self.csdl.set_type("Results").properties}
        for special, source in self.config.special_fields.items():
            if special in row and participant is not None and source in participant:
                row[special] = participant[source]
        for key, value in metadata:
            # S1..S10 in the attempt's metadata win over the participant-field mapping (spec)
            if key in {f"S{i}" for i in range(1, 11)}:
                row[f"Special{key[1:]}"] = value
        results = self.t["Results"]
        rng_bits = int(self.ids.token(4), 16) & 0x7FFFFFFF
        while rng_bits == 0 or self._exists(conn, tenant, customer, "Results", rng_bits) is not None:
            rng_bits = int(self.ids.token(4), 16) & 0x7FFFFFFF
        test_center = None
        if attempt["AttemptListID"] is not None:
            lst = self._exists(conn, tenant, customer, "AttemptLists", attempt["AttemptListID"])
            if lst is not None and lst["TestCenterID"] is not None:
                tc = self._exists(conn, tenant, customer, "TestCenters", lst["TestCenterID"])
                test_center = tc["Name"] if tc is not None else None
        row.update(ID=rng_bits, AssessmentID=attempt["AssessmentID"], Status=IN_PROGRESS, WhenStarted=now,
                   ExtraTime=0, StillGoing=True, AttemptId=attempt["ID"], Language=attempt["Language"],
                   TestCenterName=test_center,
                   ParticipantName=participant["Name"] if participant is not None else None,
                   FirstName=participant["FirstName"] if participant is not None else None,
                   LastName=participant["LastName"] if participant is not None else None)
        conn.execute(results.insert().values(tenant=tenant, customer=customer, **row))
        return row

    # -- signed URLs ----------------------------------------------------------------------------------

    def lobby_path(self, customer: str, attempt_id: int) -> str:
        """The path the participant lobby URL signs."""
        return f"/lobby/{customer}/lobby/SystemCheck/{attempt_id}"

    def proctor_path(self, customer: str, attempt_id: int) -> str:
        """The path the proctor widget URL signs."""
        return f"/lobby/{customer}/proctorwidget/Index/{attempt_id}"

    def list_path(self, customer: str, list_id: int) -> str:
        """The path the AttemptList controls URL signs."""
        return f"/lobby/{customer}/attemptlist/Index/{list_id}"

    def attempt_with_urls(self, tenant: str, customer: str, key: int, base: str,
                          expand: list[list[str]] | None = None) -> dict[str, Any]:
        """GET Attempts(key): the entity with freshly minted lobby and proctor URLs."""
        if not expand:
            params = {"t": tenant, "c": customer, "k": key}
            row = (self.readers.first(self._prep("launch"), params) if self.readers.enabled
                   else read_one(self.store, self._prep("launch"), params))
            if row is None:
                raise e.EntityNotFound(type="Attempt", key=key)
            entity = row
            secure = bool(entity.pop("IsSecure")) | bool(entity.pop("RequireQSB"))  # both popped: not properties
        else:
            entity = self.get(tenant, customer, "Attempts", key, expand)
            with self.store.read() as conn:
                assessment = self._exists(conn, tenant, customer, "Assessments", entity["AssessmentID"])
                mt = (self._exists(conn, tenant, customer, "MonitoringTypes", entity["MonitoringTypeID"])
                      if entity["MonitoringTypeID"] is not None else None)
            secure = bool(assessment and assessment["IsSecure"]) or bool(mt and mt["RequireQSB"])
        stamp = signing.timestamp(self.clock.now(tenant))
        secret = self.config.customers[customer].secret
        signer = signing.signer(secret)
        lobby_nonce, proctor_nonce = self.ids.uuids(2)  # one draw: the nonces two uuid() calls give
        lobby = signer.url(base, self.lobby_path(customer, key), lobby_nonce, stamp, signing.PARTICIPANT)
        entity["ParticipantFacingQMLobbyUrl"] = signing.qmsb(secret, lobby) if secure else lobby
        entity["ProctorFacingQMControlsWidgetUrl"] = signer.url(base, self.proctor_path(customer, key),
                                                                proctor_nonce, stamp, signing.PROCTOR)
        return entity

    def proctor_url(self, tenant: str, customer: str, key: int, base: str) -> str:
        """A fresh proctor widget URL for attempt ``key`` (as POST and GET of the entity return it)."""
        return signing.signed_url(self.config.customers[customer].secret, base, self.proctor_path(customer, key),
                                  self.ids.uuid(), self.clock.now(tenant), signing.PROCTOR)

    def list_with_url(self, tenant: str, customer: str, key: int, base: str,
                      expand: list[list[str]] | None = None) -> dict[str, Any]:
        """GET AttemptLists(key) with a fresh controls URL for all its attempts."""
        entity = self.get(tenant, customer, "AttemptLists", key, expand)
        entity["ProctorFacingQMControlsUrl"] = signing.signed_url(
            self.config.customers[customer].secret, base, self.list_path(customer, key), self.ids.uuid(),
            self.clock.now(tenant), signing.PROCTOR)
        return entity

    def _verify(self, tenant: str, customer: str, path: str, presented: signing.Presented, role: str,
                ttl: float) -> None:
        if presented.role != role:
            raise e.WrongRole(role=presented.role)
        if not signing.valid(self.config.customers[customer].secret, path, presented):
            raise e.SignatureInvalid(field="signature")
        try:
            issued = presented.issued()
        except ValueError:
            raise e.SignatureInvalid(field="timestamp") from None
        expires = issued + timedelta(seconds=ttl)
        if self.clock.now(tenant) > expires:
            lobby = role == signing.PARTICIPANT
            raise e.LinkExpired(expired=signing.timestamp(expires), kind="lobby" if lobby else "proctor",
                                ttl=f"{ttl:g}", option="lobby_url_ttl" if lobby else "proctor_url_ttl")

    def proctor_check_list(self, tenant: str, customer: str, list_id: int, presented: signing.Presented) -> None:
        """Verify an AttemptList controls URL on its own (a list without attempts)."""
        self._verify(tenant, customer, self.list_path(customer, list_id), presented, signing.PROCTOR,
                     self.config.proctor_ttl)

    # -- the lobby (participant) -------------------------------------------------------------------------

    def enter_lobby(self, tenant: str, customer: str, key: int, presented: signing.Presented) -> dict[str, Any]:
        """The participant opens the lobby URL: checked, used up, the lobby re-locked when LockRequired."""
        self._verify(tenant, customer, self.lobby_path(customer, key), presented, signing.PARTICIPANT,
                     self.config.lobby_ttl)
        now = self.clock.now(tenant)
        table = self.t["Attempts"]
        session = self.ids.token(16)
        try:
            with self.store.begin() as conn:
                conn.execute(self.nonces.insert().values(tenant=tenant, customer=customer, nonce=presented.nonce,
                                                         attempt_id=key, used=now))
                row = self._locked(conn, tenant, customer, "Attempts", key)
                if row is None:
                    raise e.EntityNotFound(type="Attempt", key=key)
                if row["Disabled"]:
                    raise e.AttemptStateConflict("The attempt is disabled.", field="Disabled")
                changes: dict[str, Any] = {"_session": session}
                if row["LockRequired"]:
                    changes["LockStatus"] = True
                    if not row["LockStatus"]:  # the re-lock changes a property: the attempt was modified
                        changes["LastModifiedDateTime"] = now
                conn.execute(update(table).where(self._scope(table, tenant, customer), table.c["ID"] == key)
                             .values(**changes))
                attempt = {**dict(row), **changes}
                self._audit(conn, tenant, customer, attempt, "LobbyEntered", "participant", now, None,
                            "relocked" if row["LockRequired"] else None)
                return self._lobby_state(conn, tenant, customer, attempt, session)
        except IntegrityError:
            raise e.LinkUsed() from None

    def _lobby_state(self, conn: Connection, tenant: str, customer: str, attempt: dict[str, Any],
                     session: str | None) -> dict[str, Any]:
        check = attempt["ParticipantSystemCheckUrl"]
        if check is None and attempt["MonitoringTypeID"] is not None:
            mt = self._exists(conn, tenant, customer, "MonitoringTypes", attempt["MonitoringTypeID"])
            check = mt["SystemCheckUrl"] if mt is not None else None
        result = (self._exists(conn, tenant, customer, "Results", attempt["ResultID"])
                  if attempt["ResultID"] is not None else None)
        state: dict[str, Any] = {
            "AttemptID": attempt["ID"], "LockRequired": attempt["LockRequired"], "LockStatus": attempt["LockStatus"],
            # about:blank means no system check; null means the default check page
            "SystemCheckRequired": check != "about:blank", "SystemCheckUrl": None if check == "about:blank" else check,
            "ProctorSystemWidgetUrl": attempt["ParticipantFacingProctorSystemWidgetUrl"],
            "Language": attempt["Language"], "ResultID": attempt["ResultID"],
            "ResultStatus": result["Status"] if result is not None else None,
            "ExtraTime": result["ExtraTime"] if result is not None else None,
        }
        if session is not None:
            state["Session"] = session
        return state

    def lobby_status(self, tenant: str, customer: str, key: int, session: str | None) -> dict[str, Any]:
        """The lobby's state for the participant holding ``session`` (the lobby and delivery pages poll it)."""
        with self.store.read() as conn:
            row = self._exists(conn, tenant, customer, "Attempts", key)
            row = _in_session(row, key, session)
            state = self._lobby_state(conn, tenant, customer, dict(row), None)
            assessment = self._exists(conn, tenant, customer, "Assessments", row["AssessmentID"])
            result = (self._exists(conn, tenant, customer, "Results", row["ResultID"])
                      if row["ResultID"] is not None else None)
            participant = self._exists(conn, tenant, customer, "Participants", row["ParticipantID"])
        state["AssessmentName"] = assessment["Name"] if assessment is not None else None
        state["TimeLimit"] = assessment["TimeLimit"] if assessment is not None else None
        state["SecondsLeft"] = seconds_left(result, state["TimeLimit"], self.clock.now(tenant))
        state["ParticipantName"] = participant["Name"] if participant is not None else None
        return state

    def start(self, tenant: str, customer: str, key: int, session: str | None, unlock_code: str | None) \
            -> dict[str, Any]:
        """The participant starts the assessment: unlocked, or with a valid unlock code; creates the Result."""
        now = self.clock.now(tenant)
        table = self.t["Attempts"]
        with self.store.begin() as conn:
            row = self._locked(conn, tenant, customer, "Attempts", key)
            row = _in_session(row, key, session)
            if row["Disabled"]:
                raise e.AttemptStateConflict("The attempt is disabled.", field="Disabled")
            if row["ResultID"] is not None:
                raise e.AttemptStateConflict("The assessment has already been started (ResultID).", field="ResultID")
            detail = None
            if row["LockStatus"]:
                if unlock_code is None:
                    raise e.AttemptStateConflict("The lobby is locked until the proctor unlocks it (LockStatus).",
                                                 field="LockStatus")
                if row["UnlockCode"] is None or not _same(unlock_code, row["UnlockCode"]):
                    raise e.BadUnlockCode("The unlock code is not valid (UnlockCode).", field="UnlockCode")
                expires = row["UnlockCodeExpiresDateTime"]
                if expires is not None and now > _aware(expires):
                    raise e.BadUnlockCode("The unlock code has expired (UnlockCodeExpiresDateTime).",
                                          field="UnlockCodeExpiresDateTime")
                detail = "started with unlock code"
            result = self._new_result(conn, tenant, customer, row, now)
            # ResultID is a property of the attempt: setting it is a modification like any PATCH
            conn.execute(update(table).where(self._scope(table, tenant, customer), table.c["ID"] == key)
                         .values(ResultID=result["ID"], LastModifiedDateTime=now))
            attempt = {**dict(row), "ResultID": result["ID"], "LastModifiedDateTime": now}
            self._audit(conn, tenant, customer, attempt, "Started", "participant", now, result, detail)
            return self._lobby_state(conn, tenant, customer, attempt, None)

    def finish(self, tenant: str, customer: str, key: int, session: str | None) -> dict[str, Any]:
        """The candidate finishes from the delivery page: an in-progress result becomes 5, Finished at User
        Request (A_Result.Status); a paused or terminated one cannot be finished by the candidate."""
        now = self.clock.now(tenant)
        with self.store.begin() as conn:
            # the attempt first, then its result (the proctor controls lock them in this order)
            row = self._locked(conn, tenant, customer, "Attempts", key)
            row = _in_session(row, key, session)
            if row["ResultID"] is None:
                raise e.AttemptStateConflict("The assessment has not been started (ResultID).", field="ResultID")
            result = dict(self._locked(conn, tenant, customer, "Results", row["ResultID"]))
            if result["Status"] != IN_PROGRESS:
                raise e.AttemptStateConflict(f"Cannot finish a result in status {result['Status']} (Status).",
                                             field="Status")
            changes = {"Status": FINISHED_BY_USER, "WhenFinished": now, "StillGoing": False,
                       "TimeTaken": int((now - _aware(result["WhenStarted"])).total_seconds())
                       if result["WhenStarted"] else None}
            results = self.t["Results"]
            conn.execute(update(results).where(self._scope(results, tenant, customer),
                                               results.c["ID"] == result["ID"]).values(**changes))
            result.update(changes)
            attempt = dict(row)
            self._audit(conn, tenant, customer, attempt, "Finished", "participant", now, result, None)
            return self._lobby_state(conn, tenant, customer, attempt, None)

    # -- the proctor widget -------------------------------------------------------------------------------

    def proctor(self, tenant: str, customer: str, key: int, presented: signing.Presented, action: str,
                minutes: int | None = None, list_id: int | None = None) -> dict[str, Any]:
        """A proctor control (``Index`` reads the state) through the attempt's or its list's signed URL."""
        path = self.list_path(customer, list_id) if list_id is not None else self.proctor_path(customer, key)
        self._verify(tenant, customer, path, presented, signing.PROCTOR, self.config.proctor_ttl)
        now = self.clock.now(tenant)
        attempts = self.t["Attempts"]
        with self.store.begin() as conn:
            # the attempt first, then its result: every rule that locks both locks them in this order
            row = (self._exists if action == "Index" else self._locked)(conn, tenant, customer, "Attempts", key)
            if row is None or (list_id is not None and row["AttemptListID"] != list_id):
                raise e.EntityNotFound(type="Attempt", key=key)
            attempt = dict(row)
            if action == "Index":
                return self._lobby_state(conn, tenant, customer, attempt, None)
            result = (dict(self._locked(conn, tenant, customer, "Results", row["ResultID"]))
                      if row["ResultID"] is not None else None)
            if action in ("Unlock", "Lock"):
                want = action == "Lock"
                if bool(row["LockStatus"]) == want:
                    raise e.AttemptStateConflict(f"The lobby is already {'locked' if want else 'unlocked'} "
                                                 "(LockStatus).", field="LockStatus")
                conn.execute(update(attempts).where(self._scope(attempts, tenant, customer), attempts.c["ID"] == key)
                             .values(LockStatus=want, LastModifiedDateTime=now))
                attempt.update(LockStatus=want, LastModifiedDateTime=now)
                event = "Locked" if want else "Unlocked"
                detail = None
            else:
                if result is None:
                    raise e.AttemptStateConflict("The assessment has not been started (ResultID).", field="ResultID")
                changes: dict[str, Any]
                if action == "AddTime":
                    if minutes is None or not 0 < minutes <= INT32_MAX:
                        raise e.InvalidValue(field="Minutes", type="positive Edm.Int32", value=shown(minutes))
                    if result["Status"] not in (IN_PROGRESS, PAUSED):
                        raise e.AttemptStateConflict(f"Time cannot be added to a result in status {result['Status']}"
                                                     " (Status).", field="Status")
                    total = (result["ExtraTime"] or 0) + minutes
                    if total > INT32_MAX:  # ExtraTime is an Edm.Int32: the sum stays inside it
                        raise e.InvalidValue(field="Minutes", type="Edm.Int32 (ExtraTime would exceed it)",
                                             value=shown(minutes))
                    changes = {"ExtraTime": total}
                    event, detail = "TimeAdded", f"+{minutes} min"
                else:
                    new = {"Pause": PAUSED, "Resume": IN_PROGRESS, "Terminate": TERMINATED}[action]
                    if (result["Status"], new) not in RESULT_TRANSITIONS:
                        raise e.AttemptStateConflict(f"Cannot {action.lower()} a result in status {result['Status']} "
                                                     "(Status).", field="Status")
                    changes = self._transition(result, new, now)
                    event, detail = _EVENTS[new], None
                results = self.t["Results"]
                conn.execute(update(results).where(self._scope(results, tenant, customer),
                                                   results.c["ID"] == result["ID"]).values(**changes))
                result.update(changes)
            self._audit(conn, tenant, customer, attempt, event, "proctor", now, result, detail)
            return self._lobby_state(conn, tenant, customer, attempt, None)

    # -- SessionAuditLog ----------------------------------------------------------------------------------

    def _audit(self, conn: Connection, tenant: str, customer: str, attempt: dict[str, Any], event: str, actor: str,
               now: datetime, result: dict[str, Any] | None, detail: str | None) -> None:
        if result is None and attempt.get("ResultID") is not None:
            result = self._prep("result").first(conn, {"t": tenant, "c": customer, "k": attempt["ResultID"]})
        self._prep("insert_audit").run(conn, dict(
            tenant=tenant, customer=customer, attempt_id=attempt["ID"], at=now, event=event, actor=actor,
            result_id=result["ID"] if result else None, lock_status=attempt.get("LockStatus"),
            result_status=result["Status"] if result else None, extra_time=result["ExtraTime"] if result else None,
            detail=detail))

    def audit_rows(self, tenant: str, customer: str, key: int) -> list[dict[str, Any]]:
        """The attempt's session audit log as rows (``EntityNotFound`` when there is no such attempt)."""
        a = self.audit
        with self.store.read() as conn:
            if self._exists(conn, tenant, customer, "SessionAuditLogs", key) is None:
                raise e.EntityNotFound(type="SessionAuditLog", key=key)
            rows = conn.execute(select(a).where(a.c.tenant == tenant, a.c.customer == customer,
                                                a.c.attempt_id == key).order_by(a.c.id)).mappings().all()
        return [{"Sequence": i + 1, "Timestamp": signing.timestamp(_aware(r["at"])), "AttemptID": r["attempt_id"],
                 "ResultID": r["result_id"], "Event": r["event"], "Actor": r["actor"], "LockStatus": r["lock_status"],
                 "ResultStatus": r["result_status"], "ExtraTime": r["extra_time"], "Detail": r["detail"]}
                for i, r in enumerate(rows)]

    def audit_csv(self, tenant: str, customer: str, key: int) -> str:
        """SessionAuditLogs(key)/$value: the rows as CSV with a header line."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=AUDIT_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for row in self.audit_rows(tenant, customer, key):
            writer.writerow({k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v)
                             for k, v in row.items()})
        return out.getvalue()

    # -- seeding ----------------------------------------------------------------------------------------------

    def seed(self, tenant: str, customer: str, collection: str, items: list[Any]) -> int:
        """Insert or replace seed entities written with their OData property names; all or nothing."""
        if collection == "assessmentSnapshots":
            return self._seed_snapshots(tenant, customer, items)
        entity_set = SEED_SETS[collection]
        etype = self.csdl.set_type(entity_set)
        rows = [self._seed_row(etype, entity_set, item, f"{collection}[{i}]") for i, item in enumerate(items)]
        table = self.t[entity_set]
        with self.store.begin() as conn:
            for row in rows:
                conn.execute(table.delete().where(self._scope(table, tenant, customer), table.c["ID"] == row["ID"]))
                conn.execute(table.insert().values(tenant=tenant, customer=customer, **row))
        return len(rows)

    def _seed_row(self, etype: EntityType, entity_set: str, item: Any, where: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise SeedError(where, "must be an object")
        try:
            values = self.decode(entity_set, item, wire=False)
        except e.UnknownProperty as exc:
            raise SeedError(f"{where}.{exc.field}", "unknown property") from None
        except e.InvalidValue as exc:
            raise SeedError(f"{where}.{exc.field}", exc.message) from None
        if values.get("ID") is None:
            raise SeedError(f"{where}.ID", "required")
        row: dict[str, Any] = {p: values.get(p) for p in etype.properties}
        defaults: dict[str, Any] = {"RegistrationDateTime": self.clock.now(), "Revision": 1, "Name": f"#{row['ID']}"}
        for name, prop in etype.properties.items():
            if row[name] is None and not prop.nullable and name != "ID":
                row[name] = defaults.get(name, False if prop.type == "Edm.Boolean" else None)
                if row[name] is None:
                    raise SeedError(f"{where}.{name}", "required")
        if "Password" in row:
            row["Password"] = None  # write-only: never read back
        return row

    def _seed_snapshots(self, tenant: str, customer: str, items: list[Any]) -> int:
        rows = []
        for i, item in enumerate(items):
            where = f"assessmentSnapshots[{i}]"
            if not isinstance(item, dict) or set(item) - {"ID", "AssessmentID", "Language"}:
                raise SeedError(where, "must be an object of ID, AssessmentID, Language")
            try:
                rows.append({"ID": self._convert("Edm.Int32", "ID", item.get("ID"), wire=False),
                             "AssessmentID": self._convert("Edm.Int64", "AssessmentID", item.get("AssessmentID"),
                                                           wire=False),
                             "Language": self._convert("Edm.String", "Language", item.get("Language"))})
            except e.InvalidValue as exc:
                raise SeedError(f"{where}.{exc.field}", exc.message) from None
            if rows[-1]["ID"] is None or rows[-1]["AssessmentID"] is None:
                raise SeedError(where, "ID and AssessmentID are required")
        s = self.snapshots
        with self.store.begin() as conn:
            for row in rows:
                conn.execute(s.delete().where(s.c.tenant == tenant, s.c.customer == customer, s.c["ID"] == row["ID"]))
                conn.execute(s.insert().values(tenant=tenant, customer=customer, **row))
        return len(rows)

    def bulk_attempts(self, tenant: str, customer: str, count: int, participant: int, assessment: int,
                      prefix: str = "bulk") -> None:
        """Insert ``count`` plain attempts at once (benchmarks: a store of 10^5 attempts)."""
        now = self.clock.now(tenant)
        props = list(self.csdl.set_type("Attempts").properties)
        with self.store.begin() as conn:
            start = self.store.next_value(conn, tenant, f"deliveryodata:{customer}:Attempts")
            ids = range(start, start + count)
            conn.execute(self.store.counters.update().where(
                self.store.counters.c.tenant == tenant,
                self.store.counters.c.name == f"deliveryodata:{customer}:Attempts").values(value=start + count - 1))
            blank = dict.fromkeys(props)
            conn.execute(self.t["Attempts"].insert(), [
                {**blank, "tenant": tenant, "customer": customer, "ID": i, "ExternalAttemptID": f"{prefix}-{i}",
                 "ParticipantID": participant, "AssessmentID": assessment, "LockStatus": True, "LockRequired": True,
                 "LastModifiedDateTime": now, "Disabled": False} for i in ids])
            conn.execute(self.t["SessionAuditLogs"].insert(), [
                {"tenant": tenant, "customer": customer, "ID": i} for i in ids])

    def state(self, tenant: str, customer: str, key: int) -> dict[str, Any] | None:
        """An attempt with its result and audit events, for checks."""
        try:
            attempt = self.get(tenant, customer, "Attempts", key, [["Result"], ["AttemptMetadata"]])
            rows = self.audit_rows(tenant, customer, key)
        except e.EntityNotFound:
            return None
        return {"attempt": attempt, "audit": rows}


_EVENTS = {PAUSED: "Paused", IN_PROGRESS: "Resumed", TERMINATED: "Terminated"}


def _paused_for(result: Any, now: datetime) -> float:
    """Seconds the result has been paused: the ended pauses plus the current one, if any."""
    current = result["_paused_at"]
    return (result["_paused_seconds"] or 0) + ((now - _aware(current)).total_seconds() if current else 0.0)


def _pause_changes(result: Any, new: int, now: datetime) -> dict[str, Any]:
    """What a status change does to the pause record: a pause starts the clock of the pause, leaving it (resume or
    terminate) adds its length to the paused seconds."""
    if new == PAUSED and result["Status"] != PAUSED:
        return {"_paused_at": now}
    if result["Status"] == PAUSED and new != PAUSED:
        return {"_paused_at": None, "_paused_seconds": int(_paused_for(result, now))}
    return {}


def _in_session(row: Any, key: int, session: str | None) -> Any:
    """The attempt row, when it exists and ``session`` is the lobby session it holds (else the lobby's errors)."""
    if row is None:
        raise e.EntityNotFound(type="Attempt", key=key)
    if not session or row["_session"] is None or not _same(session, row["_session"]):
        raise e.SessionInvalid()
    return row


def seconds_left(result: Any, time_limit: int | None, now: datetime) -> int | None:
    """The candidate's time left in whole seconds: TimeLimit + ExtraTime minutes less the time the result has run,
    where paused time does not count and a finished or terminated result stops at WhenFinished; ``None`` without a
    result, a start or a time limit.

    The sources say the proctor pauses (Status 6) and adds time (ExtraTime) but not how a pause meets the time
    limit; examrig takes the candidate's view that a paused assessment's time stands still.
    """
    if result is None or result["WhenStarted"] is None or time_limit is None:
        return None
    end = _aware(result["WhenFinished"]) if result["WhenFinished"] is not None else now
    ran = (end - _aware(result["WhenStarted"])).total_seconds() - _paused_for(result, end)
    allowed = (time_limit + (result["ExtraTime"] or 0)) * 60
    return max(0, allowed - int(ran))


def _same(a: str, b: str) -> bool:
    import hmac
    return hmac.compare_digest(a.encode(), b.encode())


def _aware(value: datetime) -> datetime:
    from datetime import UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
