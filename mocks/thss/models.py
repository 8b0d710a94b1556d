"""THSS state and rules: item configuration, the per-tenant work queue, scoring policies (no HTTP here)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    or_,
    select,
    update,
)

from contracts.validate import validate
from contracts.xmlsafe import XmlError, parse_xml
from mocks.core import sabotage
from mocks.core.clock import Clock, iso
from mocks.core.errors import InputError
from mocks.core.ids import IdSource
from mocks.core.store import Store

POLICY_KINDS = ("manual", "fixed", "random", "rubric")
PROFILES = ("real", "guide")
ERR_NO_DATA = "Error Code: 1002 Message: File does not contain any data."
ERR_FORMAT = " File is not in a correct format. Validation Error:"
ERR_PROCESSING = "There was an error processing the file. "
DROP_STATUSES = frozenset({"reset", "invalidated"})


class StateError(Exception):
    """An admin action that the assignment's state forbids (``kind``: ``missing`` or ``sent``)."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind}: {key}")
        self.kind = kind
        self.key = key


@dataclass(frozen=True)
class Dimension:
    """One scoring dimension of an item (``dimensions[]`` of the item configuration)."""

    name: str
    min_points: int
    max_points: int
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemConfig:
    """An item as THSS's ``Items`` table holds it (posted to ``/api/item/submit``)."""

    bank_key: int
    item_id: int
    max_score: int
    score_type: str
    hand_scored: bool
    passage: str | None
    rubric_list: str
    dimensions: tuple[Dimension, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def scoring_dimensions(self) -> tuple[Dimension, ...]:
        """The dimensions scored; an item without any is scored as one dimension 0..maxScore."""
        return self.dimensions or (Dimension("Initial", 0, self.max_score),)


def _int_field(obj: dict[str, Any], key: str, where: str, *, required: bool = True, default: int = 0,
               minimum: int | None = 0) -> int:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InputError(f"{where}.{key}", "required")
        return default
    if isinstance(value, bool):
        raise InputError(f"{where}.{key}", "must be an integer")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InputError(f"{where}.{key}", f"'{value}' is not an integer") from None
    if minimum is not None and number < minimum:
        raise InputError(f"{where}.{key}", f"must be at least {minimum}")
    return number


def parse_item_config(obj: Any, where: str) -> ItemConfig:
    """One item configuration as THSS takes it (numbers may be strings, as in the SupportTool's JSON)."""
    if not isinstance(obj, dict):
        raise InputError(where, "must be an object")
    bank = _int_field(obj, "bankKey", where)
    item = _int_field(obj, "itemId", where)
    obj = {"maxScore": 0, **obj} if "maxScore" not in obj and sabotage.on("thss.bad-item-taken") else obj
    max_score = _int_field(obj, "maxScore", where)
    hand = str(obj.get("HandScored", "1")).strip()
    if hand not in ("0", "1", "True", "False", "true", "false"):
        raise InputError(f"{where}.HandScored", "must be '1' or '0'")
    score_type = obj.get("scoreType", "")
    if not isinstance(score_type, str):
        raise InputError(f"{where}.scoreType", "must be a string")
    rubric = obj.get("rubriclist") or ""
    if not isinstance(rubric, str):
        raise InputError(f"{where}.rubriclist", "must be a string of rubric XML")
    passage = obj.get("Passage")
    if passage is not None and not isinstance(passage, str | int):
        raise InputError(f"{where}.Passage", "must be a string or null")
    raw_dims = obj.get("dimensions") or []
    if not isinstance(raw_dims, list):
        raise InputError(f"{where}.dimensions", "must be a list")
    dims = []
    for i, d in enumerate(raw_dims):
        dw = f"{where}.dimensions[{i}]"
        if not isinstance(d, dict):
            raise InputError(dw, "must be an object")
        name = d.get("description") or d.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{dw}.description", "required dimension name")
        lo = _int_field(d, "minPoints", dw, required=False)
        hi = _int_field(d, "maxPoints", dw, required=False, default=max_score)
        if hi < lo:
            raise InputError(f"{dw}.maxPoints", "must not be below minPoints")
        conds = d.get("conditions") or []
        if not isinstance(conds, list) or not all(isinstance(c, dict) and isinstance(c.get("code"), str)
                                                  for c in conds):
            raise InputError(f"{dw}.conditions", "must be a list of {code, description}")
        dims.append(Dimension(name, lo, hi, tuple(c["code"] for c in conds)))
    return ItemConfig(bank, item, max_score, score_type, hand in ("1", "True", "true"),
                      None if passage is None else str(passage), rubric, tuple(dims), dict(obj))


@dataclass(frozen=True)
class Policy:
    """How responses of one item type are scored without a teacher."""

    item_type: str
    kind: str = "manual"
    score: int = 0
    default: int = 0
    delay: float = 0.0
    condition_code: str | None = None
    scorer_id: str = "examrig-policy"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (seed and state)."""
        return {"itemType": self.item_type, "kind": self.kind, "score": self.score, "default": self.default,
                "delay": self.delay, "conditionCode": self.condition_code, "scorerId": self.scorer_id,
                "seed": self.seed}


def parse_policy(obj: Any, where: str) -> Policy:
    """A policy ``{"itemType", "kind", "score"|"default", "delay", "conditionCode", "scorerId", "seed"}``."""
    if not isinstance(obj, dict):
        raise InputError(where, "must be an object")
    unknown = set(obj) - {"itemType", "kind", "score", "default", "delay", "conditionCode", "scorerId", "seed"}
    if unknown:
        raise InputError(f"{where}.{sorted(unknown)[0]}", "unknown property")
    item_type = obj.get("itemType")
    if not isinstance(item_type, str) or not item_type:
        raise InputError(f"{where}.itemType", "required item format such as 'SA' or 'WER'")
    kind = obj.get("kind", "fixed")
    if kind not in POLICY_KINDS:
        raise InputError(f"{where}.kind", f"must be one of {', '.join(POLICY_KINDS)}")
    delay = obj.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise InputError(f"{where}.delay", "must be a number of seconds >= 0")
    cond = obj.get("conditionCode")
    if cond is not None and not isinstance(cond, str):
        raise InputError(f"{where}.conditionCode", "must be a string")
    scorer = obj.get("scorerId", "examrig-policy")
    if not isinstance(scorer, str) or not scorer:
        raise InputError(f"{where}.scorerId", "must be a non-empty string")
    return Policy(item_type, kind, _int_field(obj, "score", where, required=False),
                  _int_field(obj, "default", where, required=False), float(delay), cond, scorer,
                  _int_field(obj, "seed", where, required=False, minimum=None))


@dataclass(frozen=True)
class DimensionScore:
    """A teacher's read of one dimension."""

    name: str
    score: int
    condition_code: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A scored response ready to be posted to TIS (built inside, sent outside any transaction)."""

    tenant: str
    assignment_id: str
    url: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class FileResult:
    """One entry of THSS's ``{"Files":[…]}`` answer."""

    file_name: str | None
    success: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {"FileName": self.file_name, "Success": self.success, "ErrorMessage": self.error}


def _message(data: dict[str, str]) -> str:
    return json.dumps(data, separators=(",", ":"))


def _rationale(data: dict[str, str]) -> str:
    return f"<ScoreRationale><Message>{escape(_message(data))}</Message></ScoreRationale>"


def _read(score: DimensionScore, scorer: str, name: str) -> str:
    data = {"scorerID": scorer}
    if score.condition_code and score.condition_code != "NA":
        data["conditionCode"] = score.condition_code
    return (f'<ScoreInfo scorePoint="{score.score}" scoreDimension={quoteattr(name)} scoreStatus="Scored">'
            f"{_rationale(data)}</ScoreInfo>")


def score_response_xml(scores: list[DimensionScore], single: bool, scorer: str, token: str, *,
                       max_score: int | None = None, latency: int | None = None) -> str:
    """THSS's ``ItemScoreResponse`` (``ExportService``): Overall = the sum, one ``Initial`` read per dimension.

    ``max_score`` and ``latency`` are only written for the guide profile (THSS writes neither).
    """
    total = sum(s.score for s in scores)
    total = max(s.score for s in scores) if len(scores) > 1 and sabotage.on("thss.overall-not-sum") else total
    extra = f' maxScore="{max_score}"' if max_score is not None else ""
    parts = [f'<ItemScoreResponse><Score><ScoreInfo scorePoint="{total}"{extra} scoreDimension="Overall" '
             'scoreStatus="Scored">']
    if single:
        only = scores[0]
        if only.condition_code and only.condition_code != "NA":
            parts.append(_rationale({"conditionCode": only.condition_code}))
        parts.append(f"<SubScoreList>{_read(only, scorer, 'Initial')}</SubScoreList>")
    else:
        parts.append("<SubScoreList>")
        for s in scores:
            parts.append(f'<ScoreInfo scorePoint="{s.score}" scoreDimension={quoteattr(s.name)} '
                         f'scoreStatus="Scored"><SubScoreList>{_read(s, scorer, "Initial")}</SubScoreList>'
                         "</ScoreInfo>")
        parts.append("</SubScoreList>")
    parts.append("</ScoreInfo>")
    parts.append(f"<ContextToken><![CDATA[{token.replace(']]>', ']]]]><![CDATA[>')}]]></ContextToken>")
    if latency is not None:
        parts.append(f"<ScoreLatency>{latency}</ScoreLatency>")
    parts.append("</Score></ItemScoreResponse>")
    return "".join(parts)


_TAG = re.compile(r"<[^>]+>")


def _plain(html: str) -> str:
    text = _TAG.sub(" ", html).replace("\xa0", " ")
    return " ".join(text.split()).lower()


def rubric_samples(rubric_list: str) -> list[tuple[int, str]]:
    """``(scorepoint, plain text)`` of every sample answer in a ``<rubriclist>`` (empty when unusable)."""
    if not rubric_list.strip():
        return []
    try:
        root = parse_xml(rubric_list.encode("utf-8"))
    except XmlError:
        return []
    samples = []
    for sample in root.iter("sample"):
        try:
            point = int(sample.get("scorepoint", ""))
        except ValueError:
            continue
        content = sample.findtext("samplecontent") or ""
        text = _plain(content)
        if text and text != "na":
            samples.append((point, text))
    return samples


class Thss:
    """Items, uploads, the work queue and its scoring, with THSS's observable rules.

    Which items are taken from an upload follows ``TestImportService.PopulateItemsFromTdsReport``:
    configured, hand-scored items whose ``scoreStatus`` is neither empty nor ``SCORED``, plus
    scored configured items sharing a passage with one of those. A re-upload of an opportunity
    replaces its unsent work; a ``reset``/``invalidated`` opportunity drops it.
    """

    def __init__(self, store: Store, clock: Clock, ids: IdSource, options: dict[str, Any]) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        raw = options.get("policies", [])
        if not isinstance(raw, list):
            raise InputError("policies", "must be a list")
        self.config_policies = {p.item_type: p for p in (parse_policy(x, f"policies[{i}]")
                                                        for i, x in enumerate(raw))}
        profile = options.get("profile", "real")
        if profile not in PROFILES:
            raise InputError("profile", f"must be one of {', '.join(PROFILES)}")
        self.default_profile = str(profile)
        self.items: Table = store.table(
            "thss_item",
            Column("bank_key", BigInteger, primary_key=True),
            Column("item_id", BigInteger, primary_key=True),
            Column("data", Text, nullable=False),
            Column("updated", DateTime(timezone=True), nullable=False),
        )
        self.policies: Table = store.table(
            "thss_policy",
            Column("item_type", String(40), primary_key=True),
            Column("data", Text, nullable=False),
        )
        self.settings: Table = store.table(
            "thss_setting",
            Column("name", String(40), primary_key=True),
            Column("value", Text, nullable=False),
        )
        self.uploads: Table = store.table(
            "thss_upload",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("file_name", String(300)),
            Column("opp_key", String(64)),
            Column("success", Integer, nullable=False),
            Column("error", Text),
            Column("items", Integer, nullable=False),
            Column("received", DateTime(timezone=True), nullable=False),
            tenant_in_pk=False,
        )
        self.assignments: Table = store.table(
            "thss_assignment",
            Column("id", String(36), primary_key=True),
            Column("opp_key", String(64), nullable=False, index=True),
            Column("opp_id", String(64)),
            Column("client_name", String(100)),
            Column("callback_url", Text, nullable=False),
            Column("bank_key", BigInteger, nullable=False),
            Column("item_id", BigInteger, nullable=False),
            Column("item_type", String(40), nullable=False),
            Column("response", Text),
            Column("teacher_id", String(100)),
            Column("teacher_name", String(200)),
            Column("profile", String(10), nullable=False),
            Column("token", Text),
            Column("status", String(20), nullable=False),
            Column("due", DateTime(timezone=True)),
            Column("score", Text),
            Column("created", DateTime(timezone=True), nullable=False),
            Column("updated", DateTime(timezone=True), nullable=False),
        )
        self.callbacks: Table = store.table(
            "thss_callback",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("assignment_id", String(36), nullable=False),
            Column("url", Text, nullable=False),
            Column("status", Integer),
            Column("error", Text),
            Column("body", Text, nullable=False),
            Column("sent", DateTime(timezone=True), nullable=False),
            tenant_in_pk=False,
        )

        # the policy worker's poll walks this index instead of scanning the queue
        self.due_index = Index("ix_thss_assignment_due", self.assignments.c.status, self.assignments.c.due)
        self._statements()

    def _statements(self) -> None:
        """The hot paths' statements, built once and executed with parameters."""
        a, t, p, c = self.assignments, self.items, self.policies, self.callbacks
        self._q_due = select(a).where(a.c.status == "pending", a.c.due.is_not(None)).order_by(a.c.due, a.c.created)
        self._q_items_of = select(t.c.bank_key, t.c.item_id, t.c.data).where(
            t.c.tenant == bindparam("b_tenant"), t.c.item_id.in_(bindparam("b_ids", expanding=True)))
        self._q_policy = select(p.c.data).where(p.c.tenant == bindparam("b_tenant"),
                                                p.c.item_type == bindparam("b_type"))
        self._q_claim = update(a).where(a.c.tenant == bindparam("b_tenant"), a.c.id == bindparam("b_id"),
                                        a.c.status == bindparam("b_status")).values(
            status="sending", score=bindparam("b_score"), updated=bindparam("b_now"))
        self._q_insert_callback = c.insert()
        self._q_finished = update(a).where(a.c.tenant == bindparam("b_tenant"), a.c.id == bindparam("b_id")).values(
            status=bindparam("b_status"), updated=bindparam("b_now"))
        self._q_drop_unsent = a.delete().where(a.c.tenant == bindparam("b_tenant"),
                                               a.c.opp_key == bindparam("b_oppkey"),
                                               or_(a.c.status == "pending", a.c.status == "tentative"))
        self._q_insert_assignment = a.insert()
        self._q_insert_upload = self.uploads.insert()

    def upgrade(self) -> None:
        """Bring a database file made by an earlier examrig up to date (the due index)."""
        self.due_index.create(self.store.engine, checkfirst=True)

    @property
    def tables(self) -> list[Table]:
        """Every table of the service."""
        return [self.items, self.policies, self.settings, self.uploads, self.assignments, self.callbacks]

    # -- configuration -------------------------------------------------------------------

    def submit_items(self, tenant: str, data: Any) -> int:
        """``/api/item/submit``: upsert item configurations by (bankKey, itemId); all or nothing."""
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise InputError("body", "must be a JSON array of item configurations")
        configs = [parse_item_config(x, f"[{i}]") for i, x in enumerate(data)]
        configs = [c for c in configs if not c.rubric_list] if any(c.rubric_list for c in configs) and sabotage.on("thss.rubric-items-dropped") else configs  # noqa: E501
        now = self.clock.now(tenant)
        t = self.items
        with self.store.begin() as conn:
            for c in configs:  # an atomic upsert: two submissions of one item at once never collide
                self.store.upsert(conn, t, {"tenant": tenant, "bank_key": c.bank_key, "item_id": c.item_id,
                                            "data": json.dumps(c.raw), "updated": now},
                                  ("tenant", "bank_key", "item_id"))
        return len(configs)

    def items_of(self, tenant: str, keys: set[tuple[int, int]],
                 conn: Connection | None = None) -> dict[tuple[int, int], ItemConfig]:
        """The configured items among ``keys`` ``(bankKey, itemId)``, read in one query (in ``conn`` if given)."""
        if not keys:
            return {}
        if conn is None:
            with self.store.read() as own:
                return self.items_of(tenant, keys, own)
        rows = conn.execute(self._q_items_of, {"b_tenant": tenant, "b_ids": sorted({k for _, k in keys})}).all()
        return {(int(b), int(k)): parse_item_config(json.loads(d), "item") for b, k, d in rows
                if (int(b), int(k)) in keys}

    def item(self, tenant: str, bank_key: int, item_id: int) -> ItemConfig | None:
        """One configured item."""
        t = self.items
        with self.store.read() as conn:
            row = conn.execute(select(t.c.data).where(t.c.tenant == tenant, t.c.bank_key == bank_key,
                                                      t.c.item_id == item_id)).first()
        return None if row is None else parse_item_config(json.loads(row[0]), "item")

    def set_policies(self, tenant: str, data: list[Any]) -> int:
        """Insert or replace scoring policies by item type; all or nothing."""
        policies = [parse_policy(x, f"policies[{i}]") for i, x in enumerate(data)]
        t = self.policies
        with self.store.begin() as conn:
            for p in policies:
                self.store.upsert(conn, t, {"tenant": tenant, "item_type": p.item_type,
                                            "data": json.dumps(p.to_dict())}, ("tenant", "item_type"))
        return len(policies)

    def policy(self, tenant: str, item_type: str, conn: Connection | None = None) -> Policy:
        """The policy for an item type (seeded, then configured, else ``manual``); read in ``conn`` if given."""
        if conn is None:
            with self.store.read() as own:
                return self.policy(tenant, item_type, own)
        row = conn.execute(self._q_policy, {"b_tenant": tenant, "b_type": item_type}).first()
        row = conn.execute(select(self.policies.c.data).where(self.policies.c.tenant == tenant).order_by(self.policies.c.item_type.desc())).first() if row is not None and sabotage.on("thss.policy-type-ignored") else row  # noqa: E501
        if row is not None:
            return parse_policy(json.loads(row[0]), "policy")
        if sabotage.on("thss.unconfigured-type-scored"): return Policy(item_type, "fixed", score=1)  # noqa: E701
        return self.config_policies.get(item_type, Policy(item_type))

    def set_settings(self, tenant: str, data: list[Any]) -> int:
        """Per-tenant settings ``{"name": "profile", "value": "guide"}``."""
        pairs = []
        for i, x in enumerate(data):
            if not isinstance(x, dict) or set(x) != {"name", "value"}:
                raise InputError(f"settings[{i}]", "must be {name, value}")
            if x["name"] != "profile":
                raise InputError(f"settings[{i}].name", "unknown setting (thss has 'profile')")
            if x["value"] not in PROFILES:
                raise InputError(f"settings[{i}].value", f"must be one of {', '.join(PROFILES)}")
            pairs.append((x["name"], x["value"]))
        t = self.settings
        with self.store.begin() as conn:
            for name, value in pairs:
                self.store.upsert(conn, t, {"tenant": tenant, "name": name, "value": value}, ("tenant", "name"))
        return len(pairs)

    def profile(self, tenant: str) -> str:
        """``real`` (THSS's multipart upload) or ``guide`` (also the guide's per-item XML)."""
        t = self.settings
        with self.store.read() as conn:
            row = conn.execute(select(t.c.value).where(t.c.tenant == tenant, t.c.name == "profile")).first()
        return str(row[0]) if row is not None else self.default_profile

    # -- uploads -------------------------------------------------------------------------

    def import_file(self, tenant: str, file_name: str | None, data: bytes) -> FileResult:
        """One uploaded file of ``/api/test/submit``: validate, take the configured items, queue them.

        The work queue's replacement and the upload's record are written in one transaction.
        """
        now = self.clock.now(tenant)
        opp_key: str | None = None
        rows: list[dict[str, Any]] | None = None
        if not data.strip():
            result = FileResult(file_name, False, ERR_NO_DATA)
        else:
            # parsed once: lxml's verdict on the tree, the first problem described only for a refusal
            try:
                root = parse_xml(data)
                valid = validate(root, "thss-upload", detailed=False).valid
                valid = valid or sabotage.on("thss.upload-schema-skipped")
            except XmlError:
                root, valid = None, False
            if not valid or root is None:
                verdict = validate(data, "thss-upload", max_errors=1)
                first = verdict.errors[0] if verdict.errors else None
                result = FileResult(file_name, False, f"{ERR_FORMAT}{first.reason if first else 'invalid'}")
            else:
                try:
                    opp_key, rows = self._take(tenant, root, now)
                    result = FileResult(file_name, True, None)
                except InputError as exc:
                    result = FileResult(file_name, False, f"{ERR_PROCESSING}{exc}")
        with self.store.begin() as conn:
            if opp_key is not None and rows is not None:
                self._replace_in(conn, tenant, opp_key, rows)
            conn.execute(self._q_insert_upload, {"tenant": tenant, "file_name": file_name, "opp_key": opp_key,
                                                 "success": int(result.success), "error": result.error,
                                                 "items": len(rows or ()), "received": now})
        return result

    def _take(self, tenant: str, root: Any, now: datetime) -> tuple[str, list[dict[str, Any]]]:
        """The work rows an upload asks for (written by the caller); none for a dropped opportunity."""
        callback = root.get("callbackUrl", "")
        if not callback.startswith(("http://", "https://")):
            raise InputError("callbackUrl", f"'{callback}' is not an absolute http(s) URL")
        report = root.find("TDSReport")
        opp = report.find("Opportunity") if report is not None else None
        if opp is None:
            raise InputError("Opportunity", "missing")
        opp_key = (opp.get("key") or "").strip().lower()
        if not opp_key:
            raise InputError("Opportunity@key", "required")
        status = (opp.get("status") or "").strip()
        if status in DROP_STATUSES:
            return opp_key, []
        keyed: list[tuple[Any, tuple[int, int]]] = []
        for elem in opp.findall("Item"):
            try:
                keyed.append((elem, (int(elem.get("bankKey", "")), int(elem.get("key", "")))))
            except ValueError:
                continue
        with self.store.read() as conn:  # one read for every item of the upload and their policies
            return opp_key, self._rows_of(conn, tenant, opp, keyed, callback, now)

    def _rows_of(self, conn: Connection, tenant: str, opp: Any, keyed: list[tuple[Any, tuple[int, int]]],
                 callback: str, now: datetime) -> list[dict[str, Any]]:
        opp_key = (opp.get("key") or "").strip().lower()
        known = self.items_of(tenant, {k for _, k in keyed}, conn)
        configured: list[tuple[Any, ItemConfig]] = []
        for elem, ident in keyed:
            cfg = known.get(ident)
            if cfg is not None and cfg.hand_scored:
                configured.append((elem, cfg))
        wanted = [(e, c) for e, c in configured if (e.get("scoreStatus") or "").strip().upper() not in ("", "SCORED")]
        wanted = configured if len(wanted) < len(configured) and sabotage.on("thss.scored-items-taken") else wanted
        passages = {c.passage for _, c in wanted if c.passage}
        wanted += [(e, c) for e, c in configured if c.passage in passages and (e, c) not in wanted]
        rows = []
        policies: dict[str, Policy] = {}
        for elem, cfg in wanted:
            item_type = elem.get("format") or cfg.score_type or "?"
            if item_type not in policies:
                policies[item_type] = self.policy(tenant, item_type, conn)
            policy = policies[item_type]
            rows.append({
                "tenant": tenant, "id": self.ids.uuid(), "opp_key": opp_key, "opp_id": opp.get("oppId"),
                "client_name": opp.get("clientName"), "callback_url": callback, "bank_key": cfg.bank_key,
                "item_id": cfg.item_id, "item_type": item_type, "response": elem.findtext("Response") or "",
                "teacher_id": opp.get("taId"), "teacher_name": opp.get("taName"), "profile": "real",
                "token": None, "status": "pending",
                "due": None if policy.kind == "manual" else now + timedelta(seconds=policy.delay),
                "score": None, "created": now, "updated": now,
            })
        return rows

    def _replace_in(self, conn: Any, tenant: str, opp_key: str, rows: list[dict[str, Any]]) -> None:
        """Within ``conn``'s transaction: the opportunity's unsent work replaced by ``rows``.

        Two uploads of one opportunity at once would each delete the unsent work they see and both insert theirs:
        the opportunity's lock makes the second replace the first's rows instead.
        """
        self.store.lock(conn, tenant, "thss-opportunity", opp_key)
        if not rows and sabotage.on("thss.reset-keeps-work"): return  # noqa: E701
        conn.execute(self._q_drop_unsent, {"b_tenant": tenant, "b_oppkey": opp_key})
        if rows:
            conn.execute(self._q_insert_assignment, rows)

    def import_guide(self, tenant: str, data: bytes) -> int:
        """The guide profile: a per-item ``<ItemScoreRequest><ResponseInfo …>`` document (XML body)."""
        if not data.strip():
            raise InputError("body", "File does not contain any data.")
        verdict = validate(data, "itemscore-request", max_errors=1)
        if not verdict.valid:
            first = verdict.errors[0]
            raise InputError(first.path or "body", first.reason)
        root = parse_xml(data)
        callback = root.get("callbackUrl", "")
        if not callback.startswith(("http://", "https://")):
            raise InputError("callbackUrl", f"'{callback}' is not an absolute http(s) URL")
        now = self.clock.now(tenant)
        rows = []
        for i, info in enumerate(root.findall("ResponseInfo")):
            ident = info.get("itemIdentifier", "")
            match = re.fullmatch(r"(?:I-)?(\d+)-(\d+)", ident.strip())
            if match is None:
                raise InputError(f"ResponseInfo[{i + 1}]@itemIdentifier", f"'{ident}' is not '[I-]bank-item'")
            bank, key = int(match.group(1)), int(match.group(2))
            cfg = self.item(tenant, bank, key)
            if cfg is None or not cfg.hand_scored:
                raise InputError(f"ResponseInfo[{i + 1}]@itemIdentifier", f"item {bank}-{key} is not configured "
                                 "for hand scoring")
            item_type = info.get("itemFormat") or cfg.score_type
            policy = self.policy(tenant, item_type)
            rows.append({
                "tenant": tenant, "id": self.ids.uuid(), "opp_key": f"guide:{self.ids.token(8)}", "opp_id": None,
                "client_name": None, "callback_url": callback, "bank_key": bank, "item_id": key,
                "item_type": item_type, "response": info.findtext("StudentResponse") or "", "teacher_id": None,
                "teacher_name": None, "profile": "guide", "token": (info.findtext("ContextToken") or "").strip(),
                "status": "pending",
                "due": None if policy.kind == "manual" else now + timedelta(seconds=policy.delay),
                "score": None, "created": now, "updated": now,
            })
        with self.store.begin() as conn:
            for row in rows:
                conn.execute(self.assignments.insert().values(**row))
        return len(rows)

    # -- scoring -------------------------------------------------------------------------

    def due(self) -> list[tuple[str, str]]:
        """``(tenant, id)`` of pending work whose policy delay has passed on its tenant's clock."""
        return [(str(r["tenant"]), str(r["id"])) for r in self.due_rows()]

    def due_rows(self) -> list[dict[str, Any]]:
        """The rows of pending work whose policy delay has passed on its tenant's clock, oldest due first."""
        with self.store.read() as conn:
            rows = conn.execute(self._q_due).mappings().all()
        if any(_aware(r["due"]) > self.clock.now(str(r["tenant"])) for r in rows) and sabotage.on("thss.delay-ignored"): return [dict(r) for r in rows]  # noqa: E501, E701
        return [dict(r) for r in rows if _aware(r["due"]) <= self.clock.now(str(r["tenant"]))]

    def claim_policy(self, tenant: str, assignment_id: str, memo: dict[Any, Any] | None = None) -> Delivery | None:
        """Score one due assignment by its type's policy and mark it ``sending``; ``None`` if taken meanwhile.

        ``memo``: a dict kept by the caller for one pass, so policies and item configurations are read once per pass.
        """
        row = self._row(tenant, assignment_id)
        if row is None or row["status"] != "pending":
            return None
        return next(iter(self.claim_policies([row], memo)), None)

    def claim_policies(self, rows: list[dict[str, Any]], memo: dict[Any, Any] | None = None) -> list[Delivery]:
        """Score due rows (as :meth:`due_rows` read them) by policy and mark them ``sending`` in one transaction.

        Each row is claimed by a guarded ``UPDATE`` (still ``pending``), so a row another pass took meanwhile is
        left out; the deliveries of the rows this call claimed are returned, in order.
        """
        memo = {} if memo is None else memo
        by_tenant: dict[str, set[tuple[int, int]]] = {}
        for row in rows:
            if ("item", row["tenant"], row["bank_key"], row["item_id"]) not in memo:
                by_tenant.setdefault(str(row["tenant"]), set()).add((int(row["bank_key"]), int(row["item_id"])))
        for owner, keys in by_tenant.items():  # the rows' item configurations in one read per tenant
            known = self.items_of(owner, keys)
            for bank, key in keys:
                memo[("item", owner, bank, key)] = known.get((bank, key))
        prepared = []
        for row in rows:
            scored = self._policy_scores(str(row["tenant"]), row, memo)
            if scored is not None:
                prepared.append(self._prepare(str(row["tenant"]), row, *scored))
        return self._commit_claims(prepared)

    def _policy_scores(self, tenant: str, row: dict[str, Any],
                       memo: dict[Any, Any]) -> tuple[ItemConfig, list[DimensionScore], str] | None:
        if row["status"] != "pending":
            return None
        pkey = ("policy", tenant, row["item_type"])
        if pkey not in memo:
            memo[pkey] = self.policy(tenant, row["item_type"])
        policy: Policy = memo[pkey]
        ikey = ("item", tenant, row["bank_key"], row["item_id"])
        if ikey not in memo:
            memo[ikey] = self.item(tenant, row["bank_key"], row["item_id"])
        cfg: ItemConfig | None = memo[ikey]
        if policy.kind == "manual" or cfg is None:
            return None
        dims = cfg.scoring_dimensions
        scores: list[DimensionScore]
        if policy.kind == "fixed":
            scores = [DimensionScore(d.name, min(max(policy.score, d.min_points), d.max_points),
                                     policy.condition_code) for d in dims]
        elif policy.kind == "random":
            rng = self.ids.rng(f"thss:{tenant}:{policy.seed}:{row['opp_key']}:{row['bank_key']}-{row['item_id']}")
            scores = [DimensionScore(d.name, rng.randint(d.min_points, d.max_points), policy.condition_code)
                      for d in dims]
        else:
            text = _plain(row["response"] or "")
            matched = [p for p, s in rubric_samples(cfg.rubric_list) if text and (s == text or s in text)]
            value = max(matched) if matched else policy.default
            scores = [DimensionScore(d.name, min(max(value, d.min_points), d.max_points), policy.condition_code)
                      for d in dims]
        return cfg, scores, policy.scorer_id

    def claim_manual(self, tenant: str, assignment_id: str, payload: dict[str, Any]) -> Delivery:
        """The admin API's teacher: ``{"score"}`` or ``{"dimensions":[{"name","score","conditionCode"}]}``."""
        row = self._row(tenant, assignment_id)
        if row is None:
            raise StateError("missing", assignment_id)
        if row["status"] not in ("pending", "tentative"):
            raise StateError("sent", assignment_id)
        cfg = self.item(tenant, row["bank_key"], row["item_id"])
        if cfg is None:
            raise InputError("assignment", f"item {row['bank_key']}-{row['item_id']} is no longer configured")
        dims = cfg.scoring_dimensions
        scorer = payload.get("scorerId") or row["teacher_id"] or "teacher"
        scorer = "teacher" if sabotage.on("thss.admin-scorer-dropped") else scorer
        if not isinstance(scorer, str):
            raise InputError("scorerId", "must be a string")
        raw = payload.get("dimensions")
        if raw is None:
            if "score" not in payload:
                raise InputError("score", "required (or 'dimensions')")
            if len(dims) != 1:
                raise InputError("dimensions", f"item has {len(dims)} dimensions: "
                                 f"{', '.join(d.name for d in dims)}")
            raw = [{"name": dims[0].name, "score": payload["score"], "conditionCode": payload.get("conditionCode")}]
        if not isinstance(raw, list):
            raise InputError("dimensions", "must be a list")
        by_name = {d.name: d for d in dims}
        given: dict[str, DimensionScore] = {}
        for i, d in enumerate(raw):
            where = f"dimensions[{i}]"
            if not isinstance(d, dict):
                raise InputError(where, "must be an object")
            name = d.get("name", dims[0].name if len(dims) == 1 else None)
            if name not in by_name:
                raise InputError(f"{where}.name", f"must be one of {', '.join(by_name)}")
            dim = by_name[name]
            value = d.get("score")
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{where}.score", "must be an integer")
            value = min(max(value, dim.min_points), dim.max_points) if sabotage.on("thss.admin-range-unchecked") else value  # noqa: E501
            if not dim.min_points <= value <= dim.max_points:
                raise InputError(f"{where}.score", f"must be within {dim.min_points}..{dim.max_points}")
            cond = d.get("conditionCode")
            if cond is not None and (not isinstance(cond, str) or (cond != "NA" and dim.conditions
                                                                   and cond not in dim.conditions)):
                raise InputError(f"{where}.conditionCode", f"must be one of NA, {', '.join(dim.conditions)}")
            given[name] = DimensionScore(name, value, cond)
        missing = [d.name for d in dims if d.name not in given]
        if missing:
            raise InputError("dimensions", f"missing {', '.join(missing)}")
        delivery = self._claim(tenant, row, cfg, [given[d.name] for d in dims], scorer)
        if delivery is None:
            raise StateError("sent", assignment_id)
        return delivery

    def _claim(self, tenant: str, row: dict[str, Any], cfg: ItemConfig, scores: list[DimensionScore],
               scorer: str) -> Delivery | None:
        return next(iter(self._commit_claims([self._prepare(tenant, row, cfg, scores, scorer)])), None)

    def _prepare(self, tenant: str, row: dict[str, Any], cfg: ItemConfig, scores: list[DimensionScore],
                 scorer: str) -> tuple[dict[str, Any], dict[str, Any], Delivery]:
        """The guarded claim's parameters, its values and the delivery it enables (nothing written)."""
        single = len(cfg.scoring_dimensions) == 1 and not cfg.dimensions[1:]
        if row["profile"] == "guide":
            token = row["token"] or ""
            body = score_response_xml(scores, single, scorer, token, max_score=cfg.max_score, latency=0)
            content_type = "application/xml"
        else:
            token = json.dumps({"clientName": row["client_name"], "oppKey": row["opp_key"],
                                "itemBank": row["bank_key"], "itemID": row["item_id"], "itemType": row["item_type"]},
                               separators=(",", ":"))
            body = score_response_xml(scores, single, scorer, token)
            content_type = "application/x-www-form-urlencoded"
            content_type = "application/xml" if sabotage.on("thss.callback-not-form") else content_type
        now = self.clock.now(tenant)
        stored = json.dumps({"scorerId": scorer, "total": sum(s.score for s in scores),
                             "dimensions": [{"name": s.name, "score": s.score, "conditionCode": s.condition_code}
                                            for s in scores]})
        # THSS encodes the body as ASCII (non-ASCII characters become '?')
        delivery = Delivery(tenant, row["id"], row["callback_url"], body.encode("ascii", "replace"), content_type)
        return ({"tenant": tenant, "id": row["id"], "status": row["status"]},
                {"status": "sending", "score": stored, "updated": now}, delivery)

    def _commit_claims(self, prepared: list[tuple[dict[str, Any], dict[str, Any], Delivery]]) -> list[Delivery]:
        """Mark every prepared row ``sending`` in one transaction, each only if its status is unchanged."""
        if not prepared:
            return []
        taken = []
        with self.store.begin() as conn:
            for where, values, delivery in prepared:
                done = conn.execute(self._q_claim, {
                    "b_tenant": where["tenant"], "b_id": where["id"], "b_status": where["status"],
                    "b_score": values["score"], "b_now": values["updated"]}).rowcount
                if done == 1:
                    taken.append(delivery)
        return taken

    def finish(self, delivery: Delivery, status: int | None, error: str | None) -> str:
        """Record a callback: 2xx marks the work ``sent``; anything else resets it to ``tentative``, no retry."""
        return self.finish_many([(delivery, status, error)])[0]

    def finish_many(self, outcomes: list[tuple[Delivery, int | None, str | None]]) -> list[str]:
        """Record several callbacks (each as :meth:`finish`) in one transaction; the new status of each."""
        states, logged, marks = [], [], []
        for delivery, status, error in outcomes:
            ok = status is not None and 200 <= status < 300
            ok = ok or sabotage.on("thss.failed-callback-sent")
            now = self.clock.now(delivery.tenant)
            logged.append({"tenant": delivery.tenant, "assignment_id": delivery.assignment_id, "url": delivery.url,
                           "status": status, "error": error, "body": delivery.body.decode("ascii"), "sent": now})
            states.append("sent" if ok else "tentative")
            marks.append({"b_tenant": delivery.tenant, "b_id": delivery.assignment_id, "b_status": states[-1],
                          "b_now": now})
        if outcomes:
            with self.store.begin() as conn:
                conn.execute(self._q_insert_callback, logged)
                conn.execute(self._q_finished, marks)
        return states

    # -- reading -------------------------------------------------------------------------

    def _row(self, tenant: str, assignment_id: str) -> dict[str, Any] | None:
        a = self.assignments
        with self.store.read() as conn:
            row = conn.execute(select(a).where(a.c.tenant == tenant, a.c.id == assignment_id)).mappings().first()
        return dict(row) if row is not None else None

    def queue(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's work queue (every assignment, oldest first) as plain data."""
        a = self.assignments
        with self.store.read() as conn:
            rows = conn.execute(select(a).where(a.c.tenant == tenant).order_by(a.c.created, a.c.bank_key,
                                                                                a.c.item_id)).mappings().all()
        return [_assignment(dict(r)) for r in rows]

    def callback_log(self, tenant: str) -> list[dict[str, Any]]:
        """Every callback attempt of the tenant."""
        c = self.callbacks
        with self.store.read() as conn:
            rows = conn.execute(select(c).where(c.c.tenant == tenant).order_by(c.c.id)).mappings().all()
        return [{"assignment": r["assignment_id"], "url": r["url"], "status": r["status"], "error": r["error"],
                 "body": r["body"], "sent": iso(_aware(r["sent"]))} for r in rows]

    def upload_log(self, tenant: str) -> list[dict[str, Any]]:
        """Every uploaded file of the tenant and its verdict."""
        u = self.uploads
        with self.store.read() as conn:
            rows = conn.execute(select(u).where(u.c.tenant == tenant).order_by(u.c.id)).mappings().all()
        return [{"fileName": r["file_name"], "oppKey": r["opp_key"], "success": bool(r["success"]),
                 "error": r["error"], "items": r["items"], "received": iso(_aware(r["received"]))} for r in rows]


def _assignment(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "oppKey": row["opp_key"], "oppId": row["opp_id"], "clientName": row["client_name"],
            "callbackUrl": row["callback_url"], "bankKey": row["bank_key"], "itemId": row["item_id"],
            "itemType": row["item_type"], "response": row["response"], "teacherId": row["teacher_id"],
            "teacherName": row["teacher_name"], "profile": row["profile"], "status": row["status"],
            "due": iso(_aware(row["due"])) if row["due"] else None,
            "score": json.loads(row["score"]) if row["score"] else None}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = ["Delivery", "Dimension", "DimensionScore", "FileResult", "InputError", "ItemConfig", "Policy", "StateError",
           "Thss", "parse_item_config", "parse_policy", "rubric_samples", "score_response_xml"]
