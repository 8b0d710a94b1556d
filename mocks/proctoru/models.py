"""ProctorU institutions, students, proctor availability and the reservation lifecycle (no HTTP here)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Column, Connection, DateTime, Integer, String, Table, Text, func, select, update

from mocks.core.clock import Clock
from mocks.core.errors import InputError
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.proctoru import errors, timezones

SCHEDULED, STARTED, ENDED, CANCELLED, NO_SHOW = "scheduled", "started", "ended", "cancelled", "no_show"
STATUSES = (SCHEDULED, STARTED, ENDED, CANCELLED, NO_SHOW)
ACTIVE = (SCHEDULED, STARTED)
# the activity report's ProctorNotes by status (the vocabulary SmarterServices' client reads)
NOTES = {SCHEDULED: "fulfillment created", STARTED: "fulfillment started", ENDED: "fulfillment ended",
         CANCELLED: "reservation cancelled", NO_SHOW: "no show"}
DEFAULT_TOKEN = "e7a1c0de-0000-4000-8000-000000000001"
DEFAULT_INSTITUTION = "examrig"
STUDENT_FIELDS = ("first_name", "last_name", "email", "address1", "city", "state", "country", "zipcode",
                  "phone1", "time_zone_id")


class SeedError(InputError):
    """Seed data that cannot be loaded; ``field`` names the offending property."""


@dataclass(frozen=True)
class Institution:
    """A ProctorU customer and its API token."""

    id: str
    token: str
    name: str


@dataclass(frozen=True)
class Options:
    """The rules no source fixes, as configurable numbers (see docs/proctoru.md)."""

    default_token: str | None = DEFAULT_TOKEN
    stale_seconds: int = 300
    slot_minutes: int = 15
    slot_capacity: int = 10
    begin_early_minutes: int = 15
    no_show_minutes: int = 15
    error_window_seconds: int = 3600
    fee: float = 30.0
    strict_reservation_id: bool = True
    base_url: str = "https://demo.proctoru.com"
    reservation_no_start: int = 907886100

    @classmethod
    def from_mapping(cls, options: dict[str, Any]) -> Options:
        """Options from the service's option table (unknown keys are left to the service)."""
        kwargs: dict[str, Any] = {}
        for name, default in cls().__dict__.items():
            if name in options:
                value = options[name]
                kwargs[name] = type(default)(value) if default is not None and value is not None else value
        return cls(**kwargs)


@dataclass(frozen=True)
class AdHoc:
    """An ``addAdHocProcess`` request: schedule, or reschedule when ``reservation_no`` is given."""

    student_id: str
    first_name: str
    last_name: str
    email: str
    time_zone_id: str
    start: datetime | None  # None with takeitnow=Y
    duration: int
    reservation_id: str
    reservation_no: int | None = None
    description: str = ""
    notes: str = ""
    profile: tuple[tuple[str, str], ...] = ()
    attempt_id: int | None = None


@dataclass(frozen=True)
class Begun:
    """What ``beginReservation`` did; ``attempt_id`` is set when the deliveryodata link is still to be made."""

    url: str
    reservation: dict[str, Any]
    attempt_id: int | None


def iso_z(value: datetime) -> str:
    """UTC, seconds, ``Z`` (ProctorU's ``start_date``)."""
    return _aware(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(value: datetime) -> datetime:
    """In UTC; a naive value (as SQLite returns them, always stored in UTC) is taken as UTC."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)


class ProctorU:
    """The state of the ProctorU API, per tenant.

    A reservation is ``scheduled`` by ``addAdHocProcess``, ``started`` by
    ``beginReservation``, ``cancelled`` by ``removeReservation``; the clock ends a
    started session after its duration and turns a scheduled one nobody began into
    a ``no_show`` once ``no_show_minutes`` past its start. Every call settles those
    clock-driven transitions first, in the same transaction.
    """

    def __init__(self, store: Store, clock: Clock, ids: IdSource, options: Options | None = None) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.options = options or Options()
        self.institutions: Table = store.table(
            "pu_institution",
            Column("token", String(100), primary_key=True),
            Column("institution", String(100), nullable=False),
            Column("name", String(200), nullable=False),
        )
        self.students: Table = store.table(
            "pu_student",
            Column("institution", String(100), primary_key=True),
            Column("student_id", String(50), primary_key=True),
            *(Column(name, String(255)) for name in STUDENT_FIELDS),
            Column("created", DateTime(timezone=True), nullable=False),
            Column("updated", DateTime(timezone=True), nullable=False),
        )
        self.reservations: Table = store.table(
            "pu_reservation",
            Column("reservation_no", Integer, primary_key=True, autoincrement=False),
            Column("institution", String(100), nullable=False, index=True),
            Column("reservation_id", String(100), nullable=False),
            Column("student_id", String(50), nullable=False),
            Column("start_date", DateTime(timezone=True), nullable=False),
            Column("duration", Integer, nullable=False),
            Column("time_zone_id", String(60), nullable=False),
            Column("description", Text, nullable=False),
            Column("notes", Text, nullable=False),
            Column("status", String(20), nullable=False),
            Column("created", DateTime(timezone=True), nullable=False),
            Column("updated", DateTime(timezone=True), nullable=False),
            Column("began_at", DateTime(timezone=True)),
            Column("ended_at", DateTime(timezone=True)),
            Column("cancelled_at", DateTime(timezone=True)),
            Column("reschedules", Integer, nullable=False, default=0),
            Column("login_token", String(64), nullable=False),
            Column("session_url", Text),
            Column("attempt_id", Integer),
            Column("link_status", String(20)),
            Column("link_error", Text),
            Column("appointment_id", String(64)),
            Column("proctor_widget_url", Text),
        )
        self.availability: Table = store.table(
            "pu_availability",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("starts", DateTime(timezone=True), nullable=False),
            Column("ends", DateTime(timezone=True), nullable=False),
            Column("capacity", Integer, nullable=False),
            tenant_in_pk=False,
        )
        self.error_log: Table = store.table(
            "pu_error",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("institution", String(100), nullable=False),
            Column("at", DateTime(timezone=True), nullable=False),
            tenant_in_pk=False,
        )

    @property
    def tables(self) -> list[Table]:
        """Every table of the service."""
        return [self.institutions, self.students, self.reservations, self.availability, self.error_log]

    # -- institutions, freshness, error counts -----------------------------------------

    def institution(self, tenant: str, token: str) -> Institution | None:
        """The institution whose API token is ``token`` (the default one unless disabled)."""
        t = self.institutions
        with self.store.read() as conn:
            row = conn.execute(select(t).where(t.c.tenant == tenant, t.c.token == token)).mappings().first()
        if row is not None:
            return Institution(row["institution"], row["token"], row["name"])
        if self.options.default_token and token == self.options.default_token:
            return Institution(DEFAULT_INSTITUTION, token, "examrig default institution")
        return None

    def check_fresh(self, tenant: str, sent: datetime | None) -> None:
        """``stale request`` when ``time_sent`` is further than ``stale_seconds`` from the real clock and from the
        tenant's clock alike.

        ``time_sent`` is the client's wall clock (the xBlock's ``utcnow()``): a client cannot know the tenant's
        simulated time, so once a tester advanced it (to reach a reservation's start or a no-show) comparing with
        it alone refused every call as stale (issue 15 item 5). The real clock is what a real client's time_sent
        tracks; the tenant's clock stays accepted for a scenario whose client stamps the simulated time.
        """
        if sent is None or self.options.stale_seconds <= 0:
            return
        at = _aware(sent)
        skew = min(abs((self.clock.wall() - at).total_seconds()), abs((self.clock.now(tenant) - at).total_seconds()))
        if skew > self.options.stale_seconds:
            raise errors.StaleRequest(field="time_sent")

    def note_error(self, tenant: str, institution: str) -> int:
        """Record one error answer; returns how many the institution had in the window before it."""
        now = self.clock.now(tenant)
        since = now - timedelta(seconds=self.options.error_window_seconds)
        e = self.error_log
        with self.store.begin() as conn:
            self._lock_institution(conn, tenant, institution)
            count = conn.execute(select(func.count()).select_from(e).where(
                e.c.tenant == tenant, e.c.institution == institution, e.c.at > since)).scalar_one()
            conn.execute(e.insert().values(tenant=tenant, institution=institution, at=now))
        return int(count)

    # -- time zones and availability -------------------------------------------------

    def time_zones(self, tenant: str) -> list[dict[str, object]]:
        """``getTimeZoneList``: every Windows zone with its current local time and DST flag."""
        now = self.clock.now(tenant)
        return [zone.to_dict(now) for zone in timezones.ZONES]

    def available_times(self, tenant: str, inst: Institution, *, time_zone_id: str, start: datetime,
                        duration: int, student_id: str | None = None,
                        takeitnow: bool = False) -> list[dict[str, object]]:
        """``getScheduleInfoAvailableTimesList``: the free slots of the 24 hours from ``start``.

        Slots are ``slot_minutes`` apart, in the future, inside an availability window
        (all day when none is seeded) and below that window's proctor capacity counting
        every active reservation that overlaps ``[slot, slot + duration)``.
        """
        zone = timezones.find(time_zone_id)
        if zone is None:
            raise errors.TimeZoneNotFound(field="time_zone_id")
        _check_duration(duration)
        now = self.clock.now(tenant)
        step = timedelta(minutes=self.options.slot_minutes)
        length = timedelta(minutes=duration)
        with self.store.begin() as conn:
            self._settle(conn, tenant, now)
            if student_id is not None:
                self._student(conn, tenant, inst, student_id)
            windows = self._windows(conn, tenant)
            r = self.reservations
            busy = [(_aware(row[0]), _aware(row[0]) + timedelta(minutes=int(row[1]))) for row in conn.execute(
                select(r.c.start_date, r.c.duration).where(r.c.tenant == tenant, r.c.status.in_(ACTIVE)))]
        start = _aware(start)
        if takeitnow:
            first = _ceil(now, timedelta(minutes=1))
            candidates = [first]
        else:
            candidates = [start + i * step for i in range(int(timedelta(days=1) / step))]
        slots: list[dict[str, object]] = []
        for slot in candidates:
            if slot < now:
                continue
            capacity = self._capacity(windows, slot, slot + length)
            taken = sum(1 for b_start, b_end in busy if b_start < slot + length and slot < b_end)
            if capacity is None or taken >= capacity:
                continue
            local = slot.astimezone(zone.zone)
            slots.append({"start_date": iso_z(slot), "local_start_date": local.isoformat(timespec="seconds"),
                          "fee": self.options.fee, "fee_premium": 0, "fee_discount": 0})
        return slots

    def _windows(self, conn: Connection, tenant: str) -> list[tuple[datetime, datetime, int]]:
        a = self.availability
        return [(_aware(row[0]), _aware(row[1]), int(row[2])) for row in conn.execute(
            select(a.c.starts, a.c.ends, a.c.capacity).where(a.c.tenant == tenant).order_by(a.c.starts))]

    def _capacity(self, windows: list[tuple[datetime, datetime, int]], start: datetime,
                  end: datetime) -> int | None:
        if not windows:
            return self.options.slot_capacity
        for w_start, w_end, capacity in windows:
            if w_start <= start and end <= w_end:
                return capacity
        return None

    # -- reservations ------------------------------------------------------------------

    def add_adhoc(self, tenant: str, inst: Institution, req: AdHoc) -> dict[str, Any]:
        """``addAdHocProcess``: upsert the student, then schedule (or reschedule) one reservation."""
        if timezones.find(req.time_zone_id) is None:
            raise errors.TimeZoneNotFound(field="time_zone_id")
        _check_duration(req.duration)
        now = self.clock.now(tenant)
        start = now if req.start is None else _aware(req.start)
        if start < now:
            raise errors.StartInPast(field="start_date")
        end = start + timedelta(minutes=req.duration)
        r = self.reservations
        with self.store.begin() as conn:
            self._lock_institution(conn, tenant, inst.id)
            self._settle(conn, tenant, now)
            current: dict[str, Any] | None = None
            if req.reservation_no is not None:
                current = self._reservation(conn, tenant, inst, req.reservation_no, req.student_id)
                if current["status"] == CANCELLED:
                    raise errors.ReservationCancelled(field="reservation_no")
                if current["status"] not in ACTIVE:
                    raise errors.ReservationNotFound(field="reservation_no")
            clash = conn.execute(select(r.c.reservation_no).where(
                r.c.tenant == tenant, r.c.institution == inst.id, r.c.reservation_id == req.reservation_id)).first()
            if clash is not None and (current is None or int(clash[0]) != current["reservation_no"]):
                raise errors.ReservationIdExists(field="reservation_id")
            self._check_overlap(conn, tenant, inst, req.student_id, start, end,
                                None if current is None else int(current["reservation_no"]))
            self._upsert_student(conn, tenant, inst, req, now)
            values: dict[str, Any] = {
                "start_date": start, "duration": req.duration, "time_zone_id": req.time_zone_id,
                "description": req.description, "notes": req.notes, "updated": now,
            }
            if req.attempt_id is not None:
                values.update(attempt_id=req.attempt_id, link_status=None, link_error=None)
            if current is not None:
                # a reschedule keeps the reservation's number and its first reservation_id; a
                # started session goes back to scheduled at the new time
                number = int(current["reservation_no"])
                values.update(status=SCHEDULED, began_at=None, session_url=None,
                              reschedules=int(current["reschedules"]) + 1)
                conn.execute(update(r).where(r.c.tenant == tenant, r.c.reservation_no == number).values(**values))
                reservation_id = str(current["reservation_id"])
            else:
                number = self.store.next_value(conn, tenant, "proctoru.reservation_no",
                                               start=self.options.reservation_no_start)
                reservation_id = req.reservation_id
                conn.execute(r.insert().values(
                    tenant=tenant, reservation_no=number, institution=inst.id, reservation_id=reservation_id,
                    student_id=req.student_id, status=SCHEDULED, created=now, reschedules=0,
                    login_token=self.ids.token(20), **values))
            token = conn.execute(select(r.c.login_token).where(
                r.c.tenant == tenant, r.c.reservation_no == number)).scalar_one()
        back = quote(f"{self.options.base_url}/students/reservations", safe="")
        url = (f"{self.options.base_url}/students/reservations?login_token={token}&reservation_no={number}"
               f"&return_to={back}")
        return {"balance": 0.0, "reservation_id": reservation_id, "reservation_no": number, "url": url}

    def _check_overlap(self, conn: Connection, tenant: str, inst: Institution, student_id: str, start: datetime,
                       end: datetime, skip: int | None) -> None:
        """``OVERLAP`` when another active reservation of the student meets ``[start, end)``."""
        r = self.reservations
        for row in conn.execute(select(r.c.reservation_no, r.c.start_date, r.c.duration).where(
                r.c.tenant == tenant, r.c.institution == inst.id, r.c.student_id == student_id,
                r.c.status.in_(ACTIVE))):
            if skip is not None and int(row[0]) == skip:
                continue
            other = _aware(row[1])
            if other < end and start < other + timedelta(minutes=int(row[2])):
                raise errors.Overlap(field="start_date")

    def move(self, tenant: str, inst: Institution, reservation_no: int, start: datetime,
             reservation_id: str | None) -> dict[str, Any]:
        """``moveReservation``: a new start for a scheduled or started reservation, under a new number.

        SmarterServices' fixture answers a move of 907886102 with reservation_no 907886517 and
        an ``/students/order`` URL whose ``reservation_no`` is the new number in (Ruby) base64.
        examrig renumbers the reservation in place (the old number is then unknown), keeps its
        reservation_id, duration and deliveryodata link, and puts it back to ``scheduled``.
        """
        now = self.clock.now(tenant)
        start = _aware(start)
        if start < now:
            raise errors.StartInPast(field="start_date")
        r = self.reservations
        with self.store.begin() as conn:
            self._lock_institution(conn, tenant, inst.id)
            self._settle(conn, tenant, now)
            row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.reservation_no == reservation_no)
                               ).mappings().first()
            if row is None:
                raise errors.ReservationNotFound(field="reservation_no")
            if row["institution"] != inst.id:
                raise errors.ReservationNotForInstitution(field="reservation_no")
            if row["status"] == CANCELLED:
                raise errors.ReservationCancelled(field="reservation_no")
            if row["status"] not in ACTIVE:
                raise errors.ReservationNotFound(field="reservation_no")
            if (reservation_id is not None and self.options.strict_reservation_id
                    and row["reservation_id"] != reservation_id):
                raise errors.ReservationNotFound(field="reservation_id")
            end = start + timedelta(minutes=int(row["duration"]))
            self._check_overlap(conn, tenant, inst, str(row["student_id"]), start, end, reservation_no)
            number = self.store.next_value(conn, tenant, "proctoru.reservation_no",
                                           start=self.options.reservation_no_start)
            conn.execute(update(r).where(r.c.tenant == tenant, r.c.reservation_no == reservation_no).values(
                reservation_no=number, start_date=start, status=SCHEDULED, began_at=None, session_url=None,
                reschedules=int(row["reschedules"]) + 1, updated=now))
        encoded = quote(base64.encodebytes(str(number).encode()).decode(), safe="")
        url = f"{self.options.base_url}/students/order?login_token={row['login_token']}&reservation_no={encoded}"
        return {"balance": self.options.fee, "reservation_id": row["reservation_id"], "reservation_no": number,
                "url": url}

    def auto_login(self, tenant: str, inst: Institution, student_id: str, changes: dict[str, str],
                   apply: bool) -> dict[str, Any]:
        """``autoLogin``: a one-click login URL for a known student; ``update=Y`` also applies the profile sent."""
        if apply and "time_zone_id" in changes and timezones.find(changes["time_zone_id"]) is None:
            raise errors.TimeZoneNotFound(field="time_zone_id")
        now = self.clock.now(tenant)
        s = self.students
        where = (s.c.tenant == tenant, s.c.institution == inst.id, s.c.student_id == student_id)
        with self.store.begin() as conn:
            if conn.execute(select(s.c.student_id).where(*where)).first() is None:
                raise errors.AutoLoginStudentNotFound(field="student_id")
            values = {k: v for k, v in changes.items() if k in STUDENT_FIELDS}
            if apply and values:
                conn.execute(update(s).where(*where).values(updated=now, **values))
        return {"url": f"{self.options.base_url}/session/auto_login?token={self.ids.token(20)}"}

    def remove(self, tenant: str, inst: Institution, student_id: str, reservation_no: int) -> dict[str, Any]:
        """``removeReservation``: cancel a scheduled or started reservation; the fee goes back on account."""
        now = self.clock.now(tenant)
        r = self.reservations
        with self.store.begin() as conn:
            self._lock_institution(conn, tenant, inst.id)
            self._settle(conn, tenant, now)
            self._student(conn, tenant, inst, student_id)
            current = self._reservation(conn, tenant, inst, reservation_no, student_id)
            if current["status"] == CANCELLED:
                raise errors.ReservationCancelled(field="reservation_no")
            if current["status"] not in ACTIVE:
                raise errors.ReservationNotFound(field="reservation_no")
            conn.execute(update(r).where(r.c.tenant == tenant, r.c.reservation_no == reservation_no)
                         .values(status=CANCELLED, cancelled_at=now, updated=now))
        return {"onaccount": f"{self.options.fee:.2f}"}

    def student_reservations(self, tenant: str, inst: Institution, student_id: str | None) -> list[dict[str, Any]]:
        """``getStudentReservationList``: the pending (scheduled or started) reservations, soonest first."""
        now = self.clock.now(tenant)
        r = self.reservations
        with self.store.begin() as conn:
            self._settle(conn, tenant, now)
            query = select(r).where(r.c.tenant == tenant, r.c.institution == inst.id, r.c.status.in_(ACTIVE))
            if student_id is not None:
                self._student(conn, tenant, inst, student_id)
                query = query.where(r.c.student_id == student_id)
            rows = conn.execute(query.order_by(r.c.start_date, r.c.reservation_no)).mappings().all()
        return [{"reservation_no": row["reservation_no"], "reservation_id": row["reservation_id"], "exam_id": None,
                 "description": row["description"], "courseno": None, "instructor": None,
                 "start_date": iso_z(row["start_date"]), "test": row["description"], "escalated": False}
                for row in rows]

    def begin(self, tenant: str, inst: Institution, student_id: str, reservation_id: str | None,
              reservation_no: int | None) -> Begun:
        """``beginReservation``: open the proctoring session from ``begin_early_minutes`` before the start."""
        now = self.clock.now(tenant)
        r = self.reservations
        with self.store.begin() as conn:
            self._lock_institution(conn, tenant, inst.id)
            self._settle(conn, tenant, now)
            self._student(conn, tenant, inst, student_id)
            if reservation_no is not None:
                current = self._reservation(conn, tenant, inst, reservation_no, student_id)
                if (reservation_id is not None and self.options.strict_reservation_id
                        and current["reservation_id"] != reservation_id):
                    raise errors.ReservationNotFound(field="reservation_id")
            else:
                row = conn.execute(select(r).where(
                    r.c.tenant == tenant, r.c.institution == inst.id, r.c.student_id == student_id,
                    r.c.reservation_id == reservation_id)).mappings().first()
                if row is None:
                    raise errors.ReservationNotFound(field="reservation_id")
                current = dict(row)
            number = int(current["reservation_no"])
            if current["status"] == CANCELLED:
                raise errors.ReservationCancelled(field="reservation_no")
            if current["status"] not in ACTIVE:
                raise errors.ReservationNotFound(field="reservation_no")
            if current["status"] == SCHEDULED:
                opens = _aware(current["start_date"]) - timedelta(minutes=self.options.begin_early_minutes)
                if now < opens:
                    raise errors.ReservationInFuture(field="reservation_no")
                url = (f"{self.options.base_url}/students/fulfillments/{number}/launch"
                       f"?login_token={current['login_token']}")
                conn.execute(update(r).where(r.c.tenant == tenant, r.c.reservation_no == number)
                             .values(status=STARTED, began_at=now, session_url=url, updated=now))
            row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.reservation_no == number)).mappings().one()
            data = _reservation_dict(row)
        attempt = data["deliveryodata"]["attempt_id"] if data["deliveryodata"]["status"] != "linked" else None
        return Begun(url=str(data["session_url"]), reservation=data, attempt_id=attempt)

    def record_link(self, tenant: str, reservation_no: int, *, status: str, error: str | None = None,
                    appointment_id: str | None = None, proctor_widget_url: str | None = None) -> None:
        """Remember how the deliveryodata link of a begun reservation went."""
        r = self.reservations
        with self.store.begin() as conn:
            conn.execute(update(r).where(r.c.tenant == tenant, r.c.reservation_no == reservation_no).values(
                link_status=status, link_error=error, appointment_id=appointment_id,
                proctor_widget_url=proctor_widget_url))

    def activity(self, tenant: str, inst: Institution, student_id: str | None, start: datetime,
                 end: datetime) -> list[dict[str, Any]]:
        """``clientActivityReport``: every reservation starting in ``[start, end]``, whatever its status."""
        now = self.clock.now(tenant)
        r, s = self.reservations, self.students
        with self.store.begin() as conn:
            self._settle(conn, tenant, now)
            query = select(r, s.c.first_name, s.c.last_name).select_from(r.join(
                s, (s.c.tenant == r.c.tenant) & (s.c.institution == r.c.institution)
                & (s.c.student_id == r.c.student_id))).where(
                r.c.tenant == tenant, r.c.institution == inst.id, r.c.start_date >= _aware(start),
                r.c.start_date <= _aware(end))
            if student_id is not None:
                self._student(conn, tenant, inst, student_id)
                query = query.where(r.c.student_id == student_id)
            rows = conn.execute(query.order_by(r.c.start_date, r.c.reservation_no)).mappings().all()
        report: list[dict[str, Any]] = []
        for row in rows:
            status = str(row["status"])
            began = row["began_at"] is not None or status == ENDED
            ends = row["ended_at"] or (_aware(row["start_date"]) + timedelta(minutes=int(row["duration"])))
            report.append({
                "ReservationNo": row["reservation_no"], "ReservationId": row["reservation_id"],
                "StudentId": row["student_id"], "Student": f"{row['first_name']} {row['last_name']}".strip(),
                "Description": row["description"], "StartDate": iso_z(row["start_date"]), "EndDate": iso_z(ends),
                "Duration": row["duration"], "ProctorNotes": NOTES[status], "TestSubmitted": status == ENDED,
                "Authenticated": began, "CheckID": began,
            })
        return report

    # -- students ----------------------------------------------------------------------

    def edit_student(self, tenant: str, inst: Institution, student_id: str, changes: dict[str, str]) -> dict[str, Any]:
        """``editStudent``: change a known student's profile."""
        if "time_zone_id" in changes and timezones.find(changes["time_zone_id"]) is None:
            raise errors.TimeZoneNotFound(field="time_zone_id")
        now = self.clock.now(tenant)
        s = self.students
        with self.store.begin() as conn:
            self._student(conn, tenant, inst, student_id)
            values = {k: v for k, v in changes.items() if k in STUDENT_FIELDS}
            conn.execute(update(s).where(s.c.tenant == tenant, s.c.institution == inst.id,
                                         s.c.student_id == student_id).values(updated=now, **values))
            return self._student(conn, tenant, inst, student_id)

    def student_profile(self, tenant: str, inst: Institution, student_id: str) -> dict[str, Any]:
        """``getStudentProfile``: one student as ProctorU knows it."""
        with self.store.read() as conn:
            return self._student(conn, tenant, inst, student_id)

    def _student(self, conn: Connection, tenant: str, inst: Institution, student_id: str) -> dict[str, Any]:
        s = self.students
        row = conn.execute(select(s).where(s.c.tenant == tenant, s.c.institution == inst.id,
                                           s.c.student_id == student_id)).mappings().first()
        if row is None:
            raise errors.StudentNotFound(field="student_id")
        profile: dict[str, Any] = {"student_id": row["student_id"]}
        profile.update({name: row[name] for name in STUDENT_FIELDS})
        profile["active"] = True
        return profile

    def _upsert_student(self, conn: Connection, tenant: str, inst: Institution, req: AdHoc, now: datetime) -> None:
        s = self.students
        values: dict[str, Any] = {"first_name": req.first_name, "last_name": req.last_name, "email": req.email,
                                  "time_zone_id": req.time_zone_id, **dict(req.profile), "updated": now}
        where = (s.c.tenant == tenant, s.c.institution == inst.id, s.c.student_id == req.student_id)
        if conn.execute(select(s.c.student_id).where(*where)).first() is None:
            conn.execute(s.insert().values(tenant=tenant, institution=inst.id, student_id=req.student_id,
                                           created=now, **values))
        else:
            conn.execute(update(s).where(*where).values(**values))

    def _reservation(self, conn: Connection, tenant: str, inst: Institution, number: int,
                     student_id: str) -> dict[str, Any]:
        r = self.reservations
        row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.reservation_no == number,
                                           r.c.institution == inst.id, r.c.student_id == student_id)
                           ).mappings().first()
        if row is None:
            raise errors.ReservationNotFound(field="reservation_no")
        return dict(row)

    # -- the clock ---------------------------------------------------------------------

    def _lock_institution(self, conn: Connection, tenant: str, institution: str) -> None:
        """The institution's bookings (reservation ids unique, a student's reservations never overlap, its error
        count) are read and then written: one booking at a time per institution (Store.lock)."""
        self.store.lock(conn, tenant, "proctoru-institution", institution)

    def _settle(self, conn: Connection, tenant: str, now: datetime) -> None:
        """Apply the transitions the clock drives: no-shows and ended sessions."""
        r = self.reservations
        late = now - timedelta(minutes=self.options.no_show_minutes)
        conn.execute(update(r).where(r.c.tenant == tenant, r.c.status == SCHEDULED, r.c.start_date < late)
                     .values(status=NO_SHOW, updated=now))
        for row in conn.execute(select(r.c.reservation_no, r.c.start_date, r.c.began_at, r.c.duration).where(
                r.c.tenant == tenant, r.c.status == STARTED)).all():
            ends = max(_aware(row[1]), _aware(row[2] or row[1])) + timedelta(minutes=int(row[3]))
            if ends <= now:
                conn.execute(update(r).where(r.c.tenant == tenant, r.c.reservation_no == row[0])
                             .values(status=ENDED, ended_at=ends, updated=now))

    # -- admin -------------------------------------------------------------------------

    def reservation(self, tenant: str, number: int) -> dict[str, Any] | None:
        """One reservation as plain data (admin state), after settling the clock's transitions."""
        r = self.reservations
        with self.store.begin() as conn:
            self._settle(conn, tenant, self.clock.now(tenant))
            row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.reservation_no == number)
                               ).mappings().first()
        return _reservation_dict(row) if row is not None else None

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        """Load ``institutions`` ``{token, institution, name}`` and ``availability`` ``{start, end, capacity}``."""
        institutions = _items(payload, "institutions")
        availability = _items(payload, "availability")
        inst_rows: list[dict[str, Any]] = []
        for i, item in enumerate(institutions):
            where = f"institutions[{i}]"
            _only(item, where, {"token", "institution", "name"})
            token, ident = item.get("token"), item.get("institution")
            if not isinstance(token, str) or not token:
                raise SeedError(f"{where}.token", "must be a non-empty string")
            if not isinstance(ident, str) or not ident:
                raise SeedError(f"{where}.institution", "must be a non-empty string")
            name = str(item.get("name") or ident)
            # the columns' widths (token String(100), institution String(100), name String(200))
            for column, value, width in (("token", token, 100), ("institution", ident, 100), ("name", name, 200)):
                if len(value) > width:
                    raise SeedError(f"{where}.{column}", f"is longer than {width} characters")
            inst_rows.append({"tenant": tenant, "token": token, "institution": ident, "name": name})
        slot_rows: list[dict[str, Any]] = []
        for i, item in enumerate(availability):
            where = f"availability[{i}]"
            _only(item, where, {"start", "end", "capacity"})
            starts, ends = _seed_time(item, "start", where), _seed_time(item, "end", where)
            if ends <= starts:
                raise SeedError(f"{where}.end", "must be after start")
            capacity = item.get("capacity", self.options.slot_capacity)
            if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
                raise SeedError(f"{where}.capacity", "must be a non-negative integer")
            slot_rows.append({"tenant": tenant, "starts": starts, "ends": ends, "capacity": capacity})
        t, a = self.institutions, self.availability
        with self.store.begin() as conn:
            for row in inst_rows:
                conn.execute(t.delete().where(t.c.tenant == tenant, t.c.token == row["token"]))
                conn.execute(t.insert().values(**row))
            if "availability" in payload:
                conn.execute(a.delete().where(a.c.tenant == tenant))
                for row in slot_rows:
                    conn.execute(a.insert().values(**row))
        return {"institutions": len(inst_rows), "availability": len(slot_rows)}


def _reservation_dict(row: Any) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return iso_z(value) if value is not None else None

    return {
        "reservation_no": row["reservation_no"], "reservation_id": row["reservation_id"],
        "institution": row["institution"], "student_id": row["student_id"], "status": row["status"],
        "start_date": iso_z(row["start_date"]), "duration": row["duration"], "time_zone_id": row["time_zone_id"],
        "description": row["description"], "notes": row["notes"], "began_at": when(row["began_at"]),
        "ended_at": when(row["ended_at"]), "cancelled_at": when(row["cancelled_at"]),
        "reschedules": row["reschedules"], "session_url": row["session_url"],
        "deliveryodata": {"attempt_id": row["attempt_id"], "status": row["link_status"], "error": row["link_error"],
                          "appointment_id": row["appointment_id"],
                          "proctor_widget_url": row["proctor_widget_url"]},
    }


def _check_duration(duration: int) -> None:
    if duration <= 0 or duration > 24 * 60:
        raise errors.InvalidValue(field="duration", reason="must be between 1 and 1440 minutes")


def _ceil(value: datetime, step: timedelta) -> datetime:
    base = value.replace(second=0, microsecond=0)
    return base if base == value else base + step


def _items(payload: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = payload.get(name, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SeedError(name, "must be a list of objects")
    return items


def _only(item: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = set(item) - allowed
    if unknown:
        raise SeedError(f"{where}.{sorted(unknown)[0]}", "unknown property")


def _seed_time(item: dict[str, Any], name: str, where: str) -> datetime:
    value = item.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise SeedError(f"{where}.{name}", "must be an ISO 8601 instant") from None
