"""The WSGI application every mock is: routing, tenancy, errors, journal, faults, admin."""

from __future__ import annotations

import builtins
import heapq
import io
import logging
import re
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, ClassVar

try:  # POSIX: the kernel's count of queued bytes (ServiceApp._read_arriving)
    import fcntl
    import termios
except ImportError:  # pragma: no cover - Windows reads every late body under its deadline
    fcntl = termios = None  # type: ignore[assignment]

from sqlalchemy import Table
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.routing import IntegerConverter, Map, Rule, ValidationError
from werkzeug.wrappers import Request, Response

from mocks.core import errors
from mocks.core.bounds import INT64_MAX, INT64_MIN
from mocks.core.clock import Clock, iso
from mocks.core.control import Control
from mocks.core.faults import MALFORMED_BODY, AppliedFault, truncated
from mocks.core.ids import IdSource
from mocks.core.journal import BODY_LIMIT, SECRET_HEADERS, Entry, body_digest, redact_headers
from mocks.core.outbound import TENANT_HEADER, Outbound
from mocks.core.render import ErrorRenderer, header_list, render_json_error
from mocks.core.routing import ShapeRouter
from mocks.core.settings import Settings
from mocks.core.store import Store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("examrig")
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
ADMIN_PREFIX = "/_examrig"
SOCKET_KEY = "examrig.socket"
CONN_KEY = "examrig.connection"

View = Callable[..., Response]


@dataclass
class Runtime:
    """What the mocks of one process share: settings, store, clock, ids and topology."""

    settings: Settings
    store: Store
    clock: Clock = field(default_factory=Clock)
    ids: IdSource = field(default_factory=IdSource)
    topology: dict[str, str] = field(default_factory=dict)
    # requests transport adapters by URL prefix: peers reached in process (mocks/core/inprocess.py)
    mounts: dict[str, Any] = field(default_factory=dict)
    # where clocks, fault rules and the journal live: memory, or the database (mocks/core/control.py)
    control: Control = None  # type: ignore[assignment]  # set in __post_init__
    # options this process runs with instead of the configured ones, by service (with --processes N: its share
    # of TIS's workers); /_examrig/config shows the configured ones, which every process has the same
    process_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.control is None:
            self.control = Control(self.store)

    @classmethod
    def create(cls, settings: Settings | None = None, *, db: str | None = None) -> Runtime:
        """A runtime from settings; ``db`` overrides the database URL (``sqlite://`` for memory)."""
        settings = settings or Settings()
        store = Store(db or settings.db, data_dir=settings.data_dir, synchronous=settings.sqlite_synchronous)
        shared = settings.shared_control if settings.shared_control is not None else settings.processes > 1
        control = Control(store, shared=shared, poll_ms=settings.control_poll_ms)
        return cls(settings=settings, store=store, clock=control.clock(),
                   ids=IdSource(settings.seed, instance=control.instance), topology=dict(settings.topology),
                   control=control)


class Int64Converter(IntegerConverter):
    """werkzeug's ``int`` converter kept inside the 64-bit columns every key lands in, ASCII digits only.

    werkzeug's takes any run of ``\\d`` (``²`` and ``٣`` among them) of any length: a 20-digit key reached
    SQLite and raised OverflowError (a 500). Out of range is no match, a 404 like any unknown key.
    """

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, INT64_MAX if max is None else builtins.min(max, INT64_MAX), signed)
        if self.min is None:
            self.min = INT64_MIN
        # as werkzeug's own for mocks.core.routing: range and ASCII are checked by to_python
        self.digit_neutral = self.regex == r"\d+"

    def to_python(self, value: str) -> Any:
        if not value.isascii():
            raise ValidationError()
        return super().to_python(value)


class Ctx:
    """One request as a view sees it: the app, the request, the tenant and the route.

    ``environ``, ``method`` and ``path`` are always there; ``request`` (werkzeug's
    ``Request``) is built on first use, so a view that needs only the environ (the hot
    GETs) never pays for it.
    """

    def __init__(self, app: ServiceApp, request: Request | None, tenant: str, route: str | None,
                 body: bytes, environ: WSGIEnvironment | None = None, method: str | None = None,
                 path: str | None = None) -> None:
        self.app = app
        self._request = request
        self.environ: WSGIEnvironment = environ if environ is not None else request.environ  # type: ignore[union-attr]
        self.method = method or self.request.method
        self.path = path or self.request.path
        self.tenant = tenant
        self.route = route
        self.body = body
        self.notes: dict[str, Any] = {}

    @property
    def request(self) -> Request:
        """werkzeug's view of the request (built once, when first asked for)."""
        if self._request is None:
            self._request = Request(self.environ)
        return self._request

    def now(self) -> datetime:
        """The tenant's current instant."""
        return self.app.clock.now(self.tenant)


class ServiceApp:
    """Base class of every mock.

    A subclass sets ``name`` and ``error_renderer``, returns its routes from
    :meth:`routes` as ``(Rule, view)`` pairs (a view takes the :class:`Ctx` and the
    rule's converted values), declares its tables in :meth:`define_tables`, and
    answers the admin hooks :meth:`seed`, :meth:`state` (and :meth:`reset` when a
    plain delete by tenant is not enough).
    """

    name: ClassVar[str] = "service"
    error_renderer: ClassVar[ErrorRenderer] = staticmethod(render_json_error)
    #: the ``[services.<name>]`` options the service reads beyond the core's (mocks.core.settings.COMMON_OPTIONS):
    #: any other name there is refused at start-up, with the nearest known one (check_service_options)
    declared_options: ClassVar[frozenset[str]] = frozenset()
    #: seconds a body written after its head is waited for with the thread neither parked nor under the deadline
    #: (``_read_arriving``): it comes within a millisecond from http.client and urllib3, and the pool starts a
    #: spare for a parked thread only after 20 ms, so parking for it bought nothing
    body_wait: ClassVar[float] = 0.005

    def __init__(self, runtime: Runtime, options: dict[str, Any] | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.options = dict(self.settings.service(self.name))
        self.options.update(options or {})
        own = runtime.process_options.get(self.name, {})
        #: the options as configured, where this process runs with its own values (its share of the workers)
        self.configured_options = {k: self.options[k] for k in own if k in self.options}
        self.options.update(own)
        self.store = runtime.store
        self.clock = runtime.clock
        self.ids = runtime.ids
        self.journal = runtime.control.journal(
            self.name, int(self.options.get("journal_capacity", self.settings.journal_capacity)))
        self.faults = runtime.control.faults(self.name, self.settings.seed)
        self.metrics = runtime.control.metrics(self.name, self.journal)
        self.max_body = int(self.options.get("max_body", self.settings.max_body))
        self.outbound = Outbound(self.name, self.journal, self.faults, mounts=runtime.mounts,
                                 timeout=float(self.options.get("outbound_timeout",
                                                                self.settings.outbound_timeout)))
        # set by mocks.core.server.bind: the server's ElasticPool (None in process)
        self.parking: Any = None
        self.outbound.parked = self.parked
        self.tables: list[Table] = self.define_tables()
        self.store.create_all()
        self.views: dict[str, View] = {}
        rules: list[Rule] = []
        for rule, view in self.routes():
            self.views[str(rule.endpoint)] = view
            rules.append(rule.empty())  # a Rule belongs to one Map: copy, so module-level rules can be shared
        for rule, view in self.admin_routes():
            endpoint = f"admin:svc:{rule.endpoint}"
            copy = rule.empty()
            copy.endpoint = endpoint
            copy.rule = ADMIN_PREFIX + rule.rule
            self.views[endpoint] = view
            rules.append(copy)
        from mocks.core.admin import admin_rules
        rules.extend(admin_rules(ADMIN_PREFIX))
        # merge_slashes off: werkzeug would answer '//' with a redirect to its bind host (an invented
        # 'http://examrig/...'); a path with '//' is matched as it is, or by the service's route_alias
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False,
                           converters={"int": Int64Converter, **self.converters()})
        self._adapter = self.url_map.bind("examrig", "/")
        self._router = ShapeRouter(self.url_map, self._adapter, alias=self.route_alias)

    @contextmanager
    def parked(self) -> Iterator[None]:
        """Wrap a wait (latency, a peer's answer): the server keeps its base count of working threads meanwhile."""
        parking = self.parking
        if parking is None or not parking.park():
            yield
            return
        try:
            yield
        finally:
            parking.unpark()

    # -- hooks for subclasses ----------------------------------------------------------

    def define_tables(self) -> list[Table]:
        """The service's tables (made with ``self.store.table``)."""
        return []

    def routes(self) -> list[tuple[Rule, View]]:
        """The service's routes."""
        return []

    def admin_routes(self) -> list[tuple[Rule, View]]:
        """Service-specific test controls, mounted under ``/_examrig/`` beside the core ones.

        Their rules are written relative to the admin prefix (``Rule("/score")`` serves
        ``/_examrig/score``); like every admin call they are not journaled, never faulted,
        and their errors use examrig's JSON error shape.
        """
        return []

    def converters(self) -> dict[str, Any]:
        """Extra werkzeug converters for the service's rules."""
        return {}

    def route_alias(self, path: str) -> str | None:
        """Another path to route when ``path`` matches no rule (e.g. with empty segments dropped), or None.

        Asked only on a miss, so the matched paths pay nothing for it; the view still sees the
        request's real path.
        """
        return None

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        """Load collections of objects into ``tenant``; returns counts per collection."""
        if payload:
            raise errors.BadRequest(field=sorted(payload)[0],
                                    message=f"unknown seed collection '{sorted(payload)[0]}'")
        return {}

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        """One object for checks, or ``None``; unknown collections raise ``NotFound``."""
        raise errors.NotFound(message=f"unknown state collection '{collection}'")

    def reset(self, tenant: str | None = None) -> None:
        """Forget the state of one tenant or all (tables, clock, faults, journal)."""
        self.store.reset(self.tables, tenant)

    def public_config(self) -> dict[str, Any]:
        """Service options shown by ``GET /_examrig/config`` (secrets are redacted there)."""
        return dict(self.options)

    def start(self) -> None:
        """Start background workers (called by the server)."""

    def stop(self) -> None:
        """Stop background workers and wait for them."""

    # -- helpers for views -------------------------------------------------------------

    def peer_url(self, peer: str) -> str:
        """The base URL of peer service ``peer`` from the topology."""
        url = self.runtime.topology.get(peer)
        if not url:
            raise errors.InternalError(message=f"no base URL configured for peer '{peer}'", ref=peer)
        return url.rstrip("/")

    def render_error(self, error: errors.ServiceError, path: str, tenant: str = "default") -> Response:
        """Render an error in the service's wire format (examrig's JSON shape under the admin door)."""
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return render_json_error(error, path)
        return type(self).error_renderer(error, path, self.clock.now(tenant))

    def http_error(self, exc: HTTPException, request: Request) -> errors.ServiceError:
        """Map a werkzeug routing error to the service's error type."""
        if isinstance(exc, WzMethodNotAllowed):
            return errors.MethodNotAllowed(method=request.method)
        if exc.code == 404:
            return errors.NotFound(message=f"No resource matches '{request.path}'")
        err = errors.BadRequest(message=exc.description or exc.name)
        return err

    # -- WSGI --------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        incoming = _Incoming(environ)
        response, ctx, applied, reset = self._handle(incoming)
        duration = (time.monotonic() - started) * 1000.0
        body = response.get_data() if not response.is_streamed else b""
        status = response.status_code
        sent = body
        terminal = next((f for f in applied if f.kind != "latency"), None)
        if terminal is not None and terminal.kind == "truncate":
            sent = truncated(body, float(terminal.params["fraction"]))
            response.headers["Connection"] = "close"
        elif terminal is not None and terminal.kind == "malformed":
            sent = body = MALFORMED_BODY
        route = ctx.route if ctx else None
        tenant = ctx.tenant if ctx else "default"
        if not incoming.path.startswith(ADMIN_PREFIX):
            self._journal(incoming, ctx, tenant, route, response, body, applied, duration)
        self.metrics.observe(route or "unmatched", status, duration)
        if reset:
            _abort_connection(environ)
            raise ConnectionResetError("examrig: injected connection reset")
        if terminal is not None and terminal.kind == "truncate":
            response.headers["Content-Length"] = str(len(body))
            start_response(response.status, _with_date(list(response.headers.items())))
            return _CutOff(sent, environ)
        if terminal is not None and terminal.kind == "malformed":
            response.set_data(sent)

        def dated(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, _with_date(headers), exc_info)

        return response(environ, dated)

    def _read_body(self, incoming: _Incoming) -> bytes:
        """The request body (b"" without reading when the request declares none), at most ``max_body``.

        Framing as RFC 9112 section 6 asks: one decimal ``Content-Length`` (a list of differing
        values is a 400), a declared or chunked body over ``max_body`` is a 413 (never cut and
        handed to the view), a malformed chunked body is a 400. The whole body must arrive within
        ``body_timeout`` seconds (408): the server's own timeout is per read, so a client sending a
        byte every few seconds held a thread for ever. The thread is parked while it reads, so slow
        readers never take the server's base threads from the other connections.
        """
        environ = incoming.environ
        raw = (environ.get("CONTENT_LENGTH") or "").strip()
        chunked = bool(environ.get("wsgi.input_terminated")) or "HTTP_TRANSFER_ENCODING" in environ
        length: int | None = None
        if raw:
            values = {part.strip() for part in raw.split(",")}
            if len(values) != 1 or not all(v.isascii() and v.isdigit() for v in values):
                raise errors.BadRequest(field="Content-Length",
                                        message="Content-Length must be one decimal number (RFC 9112 section 6.3)",
                                        headers={"Connection": "close"})
            text = values.pop()
            length = int(text) if len(text) <= 20 else self.max_body + 1
            if length > self.max_body:
                raise errors.PayloadTooLarge(limit=self.max_body, headers={"Connection": "close"})
        if not chunked and not length:
            return b""
        stream = environ["wsgi.input"]
        # cheroot's ChunkedRFile reads a whole chunk of the size the client declares: bounded here, an
        # absurd size is a 413 before any allocation (the chunk-size lines count too, hence the slack)
        if chunked and getattr(stream, "maxlen", None) is not None \
                and (not stream.maxlen or stream.maxlen > self.max_body + 65536):
            stream.maxlen = self.max_body + 65536
        body = b""
        started = time.monotonic()
        if not chunked and length:
            # a body that came with the headers (any small POST) is read from memory: that cannot wait, so it
            # needs neither the deadline nor parking, whose watcher and watchdog threads were woken by every POST
            # (twice the context switches per request; bench/bench_dod_cpu.py). One written after the head
            # (http.client, urllib3) is usually there within a millisecond: waited for briefly, unparked
            body = stream.read(length) if _buffered(environ) >= length \
                else self._read_arriving(stream, environ, length)
        if chunked or length is None or len(body) < length:
            rest = self._read_within(stream, environ, None if chunked or length is None else length - len(body),
                                     spent=time.monotonic() - started)
            body = body + rest if body else rest
        # the body is read once, here; werkzeug (forms, files) and the views see it from memory
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        return body

    def _read_arriving(self, stream: Any, environ: WSGIEnvironment, length: int) -> bytes:
        """What of a ``length``-byte body arrives within ``body_wait`` seconds, read without parking or a deadline.

        Only on a plain TCP socket under cheroot (``SOCKET_KEY`` is a ``socket.socket``, its ``rfile`` what
        ``_buffered`` reads): the kernel's count of queued bytes (``FIONREAD``) plus cheroot's buffer is read
        through ``stream``, which then never blocks; between reads the thread waits for more in ``poll``,
        never past ``body_wait`` in all. Over TLS the raw socket's bytes may be half a record (a read could
        block) and decrypted ones may wait inside OpenSSL with nothing on the socket, so a TLS body, a chunked
        one or one behind another server gets b"" here and is read by ``_read_within``, as is whatever is
        still missing after the wait.
        """
        sock = environ.get(SOCKET_KEY)
        if type(sock) is not socket.socket or _POLLIN is None or _FIONREAD is None or self.body_wait <= 0:
            return b""
        fd = sock.fileno()
        parts: list[bytes] = []
        got = 0
        end = time.monotonic() + self.body_wait
        poller: Any = None
        try:
            while got < length:
                ready = _buffered(environ) + _queued(fd)
                if ready:
                    part = stream.read(min(ready, length - got))
                    if not part:
                        break
                    parts.append(part)
                    got += len(part)
                    continue
                left = end - time.monotonic()
                if left <= 0:
                    break
                if poller is None:
                    poller = select.poll()
                    poller.register(fd, _POLLIN)
                events = poller.poll(left * 1000.0)
                if not events or events[0][1] & ~_POLLIN or not _queued(fd):
                    break  # the wait is over; or the client hung up or reset (``_read_within`` answers that)
        except OSError as exc:
            raise errors.BadRequest(field="body", message=f"request body unreadable: {exc}",
                                    headers={"Connection": "close"}) from None
        return b"".join(parts)

    def _read_within(self, stream: Any, environ: WSGIEnvironment, length: int | None, spent: float = 0.0) -> bytes:
        """Read ``length`` bytes (or to the end of a chunked body) before the deadline; parked meanwhile.

        ``spent`` is the time the body was already waited for (``_read_arriving``): the deadline is for the whole
        body.
        """
        deadline = float(self.options.get("body_timeout", self.settings.body_timeout))
        parts: list[bytes] = []
        got = 0
        watch = _WATCHDOG.arm(environ.get(SOCKET_KEY), max(deadline - spent, 0.0))
        try:
            with self.parked():
                while length is None or got < length:
                    want = 65536 if length is None else min(65536, length - got)
                    try:
                        part = stream.read(want)
                    except (OverflowError, MemoryError) as exc:
                        raise errors.PayloadTooLarge(limit=self.max_body, headers={"Connection": "close"}) from exc
                    except OSError as exc:
                        if watch.fired:
                            raise errors.RequestTimeout(seconds=f"{deadline:g}",
                                                        headers={"Connection": "close"}) from None
                        if "Too Large" in str(exc):  # cheroot: a chunk past maxlen (IOError) or MaxSizeExceeded
                            raise errors.PayloadTooLarge(limit=self.max_body,
                                                         headers={"Connection": "close"}) from None
                        raise errors.BadRequest(field="body", message=f"request body unreadable: {exc}",
                                                headers={"Connection": "close"}) from None
                    except ValueError as exc:  # cheroot: a chunk size that is not hexadecimal, a missing CRLF
                        raise errors.BadRequest(field="Transfer-Encoding", message=f"malformed chunked body: {exc}",
                                                headers={"Connection": "close"}) from None
                    if not part:
                        break
                    parts.append(part)
                    got += len(part)
                    if got > self.max_body:
                        raise errors.PayloadTooLarge(limit=self.max_body, headers={"Connection": "close"})
        finally:
            watch.disarm()
        if watch.fired:
            raise errors.RequestTimeout(seconds=f"{deadline:g}", headers={"Connection": "close"})
        return b"".join(parts)

    def _handle(self, incoming: _Incoming) -> tuple[Response, Ctx | None, list[AppliedFault], bool]:
        ctx: Ctx | None = None
        applied: list[AppliedFault] = []
        environ, path, method = incoming.environ, incoming.path, incoming.method
        try:
            tenant = environ.get("HTTP_X_EXAMRIG_TENANT", "default").strip() or "default"
            if not TENANT_RE.match(tenant):
                raise errors.BadRequest(field=TENANT_HEADER,
                                        message=f"{TENANT_HEADER} must be 1-64 letters, digits, '_', '.', ':' "
                                                "or '-'")
            body = self._read_body(incoming)
            # one adapter for every request: routing needs only the path and the method
            endpoint, values = self._router.match(path, method)
            ctx = Ctx(self, incoming.built, tenant, str(endpoint), body, environ, method, path)
            incoming.ctx = ctx
            if str(endpoint).startswith("admin:"):
                from mocks.core.admin import dispatch_admin
                return dispatch_admin(self, ctx, str(endpoint), values), ctx, applied, False
            applied = self.faults.decide(direction="inbound", tenant=tenant, method=method,
                                         path=path, route=str(endpoint))
            for fault in applied:
                if fault.kind == "latency":
                    with self.parked():
                        time.sleep(float(fault.params["delay_ms"]) / 1000.0)
            terminal = next((f for f in applied if f.kind != "latency"), None)
            if terminal is not None and terminal.kind == "reset":
                return Response(b"", status=500), ctx, applied, True
            if terminal is not None and terminal.kind == "status":
                rule = self.faults.rule(terminal.rule)
                return Response(rule.body if rule else "", status=int(terminal.params["status"]),
                                headers=rule.headers if rule else None), ctx, applied, False
            return self.views[str(endpoint)](ctx, **values), ctx, applied, False
        except errors.ServiceError as exc:
            return self.render_error(exc, path, ctx.tenant if ctx else "default"), ctx, applied, False
        except HTTPException as exc:
            if exc.code == 413:
                return self.render_error(errors.PayloadTooLarge(limit=self.max_body), path), \
                    ctx, applied, False
            return self.render_error(self.http_error(exc, incoming.request), path), ctx, applied, False
        except Exception as exc:
            ref = self.ids.token(4)
            log.exception("unexpected error in %s (ref %s)", self.name, ref)
            err = errors.InternalError(ref=ref)
            if ctx is not None:
                ctx.notes["exception"] = f"{type(exc).__name__}: {exc}"
            return self.render_error(err, path), ctx, applied, False

    def _journal(self, incoming: _Incoming, ctx: Ctx | None, tenant: str, route: str | None,
                 response: Response, body: bytes, applied: list[AppliedFault], duration: float) -> None:
        """Record the exchange; the entry's formatting is deferred to its first read (journal.record_deferred)."""
        if ctx is not None:
            req_body = ctx.body
        elif incoming.built is not None:  # refused before routing: what was read of the body, if anything
            try:
                req_body = incoming.built.get_data(cache=True)
            except HTTPException:
                req_body = b""
        else:
            req_body = b""
        # only values that no longer change are kept: a copy of the environ's plain strings (the
        # request headers and URL parts), the body bytes (a large body is digested now instead of
        # being held), the response headers as a list, the notes of a finished request
        environ = {k: v for k, v in incoming.environ.items() if type(v) is str}
        wall = time.time()
        method, path, status = incoming.method, incoming.path, response.status_code
        response_headers = tuple(header_list(response))
        req_kept = req_body if len(req_body) <= BODY_LIMIT else body_digest(req_body)
        resp_kept = body if len(body) <= BODY_LIMIT else body_digest(body)
        self.journal.record_deferred(tenant, _inbound_entry, self.name, tenant, wall, environ, method, path, route,
                                     status, response_headers, req_kept, resp_kept, round(duration, 3),
                                     applied or None, (ctx.notes or None) if ctx else None)


_POLLIN: int | None = getattr(select, "POLLIN", None) if hasattr(select, "poll") else None
_FIONREAD: int | None = getattr(termios, "FIONREAD", None) if termios is not None else None
_NO_BYTES = bytes(4)


def _queued(fd: int) -> int:
    """How many bytes the kernel holds for ``fd`` that a read would return now (``FIONREAD``; 0 if unknown)."""
    if _FIONREAD is None:
        return 0
    count: int = struct.unpack("i", fcntl.ioctl(fd, _FIONREAD, _NO_BYTES))[0]
    return count


def _buffered(environ: WSGIEnvironment) -> int:
    """How many bytes the server has already read off the client's socket past the request head (0 if unknown).

    cheroot reads a connection through one ``makefile.StreamReader`` (a ``_pyio.BufferedReader``, whose
    ``_read_buf``/``_read_pos`` its own ``has_data()`` reads too); a body no longer than this is read from
    memory, without a wait. Behind any other server (or a cheroot without those attributes) it is 0, and the
    body is read under its deadline as before.
    """
    reader = getattr(environ.get(CONN_KEY), "rfile", None)
    buf = getattr(reader, "_read_buf", None)
    pos = getattr(reader, "_read_pos", None)
    if not isinstance(buf, bytes | bytearray) or not isinstance(pos, int):
        return 0
    return len(buf) - pos


class _Incoming:
    """The request as the core handles it: the environ, its method and path (as werkzeug reads them), and
    werkzeug's ``Request`` only once something needs it (a body to read, a view that asks, an error)."""

    __slots__ = ("built", "ctx", "environ", "method", "path")

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        # werkzeug's Request.path: PATH_INFO as the server decoded it (latin-1) read back as UTF-8, one leading /
        self.path = "/" + (environ.get("PATH_INFO") or "").encode("latin1").decode(errors="replace").lstrip("/")
        self.built: Request | None = None
        self.ctx: Ctx | None = None

    @property
    def request(self) -> Request:
        """werkzeug's Request, shared with the Ctx."""
        if self.ctx is not None:
            return self.ctx.request
        if self.built is None:
            self.built = Request(self.environ)
        return self.built


def _inbound_entry(seq: int, service: str, tenant: str, wall: float, environ: dict[str, str], method: str,
                   path: str, route: str | None, status: int, response_headers: tuple[tuple[str, str], ...],
                   req_kept: bytes | tuple[str, str, int], resp_kept: bytes | tuple[str, str, int],
                   duration_ms: float, applied: list[AppliedFault] | None, notes: dict[str, Any] | None) -> Entry:
    """The journal entry of an inbound exchange, built when the journal is read (see ``ServiceApp._journal``)."""
    req_text, req_sha, req_size = req_kept if isinstance(req_kept, tuple) else body_digest(req_kept)
    resp_text, resp_sha, resp_size = resp_kept if isinstance(resp_kept, tuple) else body_digest(resp_kept)
    notes = notes or {}
    return Entry(
        seq=seq, ts=iso(datetime.fromtimestamp(wall, UTC)), direction="in", service=service, tenant=tenant,
        method=method, url=_raw_url(environ), path=path, route=route,
        request_headers=_environ_headers(environ),
        request_body=req_text, request_sha256=req_sha, request_size=req_size,
        status=status, response_headers=redact_headers(response_headers),
        response_body=resp_text, response_sha256=resp_sha, response_size=resp_size,
        duration_ms=duration_ms,
        fault={"applied": [f.to_dict() for f in applied]} if applied else None,
        validation=notes.get("validation"), error=notes.get("exception") or notes.get("error"),
        note=notes.get("note"),
    )


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header's value for now, formatted once a second (servers format it per response)."""
    global _date_cache
    now = int(time.time())
    cached = _date_cache
    if cached[0] != now:
        cached = _date_cache = (now, formatdate(now, usegmt=True))
    return cached[1]


def _with_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with a Date header (RFC 9110 5.6.7) unless the response has one."""
    for name, _ in headers:
        if name.lower() == "date":
            return headers
    headers.append(("Date", _http_date()))
    return headers


# environ key -> (header name, is secret); "" for keys that are not headers
_HEADER_NAMES: dict[str, tuple[str, bool]] = {}


def _header_name(key: str) -> tuple[str, bool]:
    if not (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")):
        return "", False
    name = (key[5:] if key.startswith("HTTP_") else key).replace("_", "-").title()
    return name, name.lower() in SECRET_HEADERS


def _environ_headers(environ: WSGIEnvironment) -> dict[str, str]:
    """The request headers straight from the environ, secrets redacted (cheaper than EnvironHeaders)."""
    out: dict[str, str] = {}
    names = _HEADER_NAMES
    for key, value in environ.items():
        known = names.get(key)
        if known is None:
            known = _header_name(key)
            if len(names) < 2048:  # clients choose header names: keep the cache bounded
                names[key] = known
        name, secret = known
        if name and value:
            out[name] = "<redacted>" if secret else value
    return out


def _raw_url(environ: WSGIEnvironment) -> str:
    """The request URL as received (werkzeug's ``request.url`` also converts to an IRI, at a cost)."""
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    query = environ.get("QUERY_STRING", "")
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")


class _CutOff:
    """A body that stops short: once the server has written it, the connection is closed.

    The response declared the full ``Content-Length``, so the client reads a short
    body and then end-of-file: an incomplete read, never a hang on a kept-alive socket.
    """

    def __init__(self, data: bytes, environ: WSGIEnvironment) -> None:
        self.data = data
        self.environ = environ

    def __iter__(self) -> Iterator[bytes]:
        yield self.data

    def close(self) -> None:
        conn = self.environ.get(CONN_KEY)
        sock = self.environ.get(SOCKET_KEY)
        if conn is None or not isinstance(sock, socket.socket):
            return
        try:
            conn.wfile.flush()
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _abort_connection(environ: WSGIEnvironment) -> None:
    """Reset the client's TCP connection (RST) when the server exposes the socket."""
    sock = environ.get(SOCKET_KEY)
    if isinstance(sock, socket.socket):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass



class _Watch:
    """One armed deadline; ``fired`` once the watchdog cut the read side of its socket."""

    __slots__ = ("at", "disarmed", "fired", "sock")

    def __init__(self, sock: socket.socket | None, at: float) -> None:
        self.sock = sock
        self.at = at
        self.fired = False
        self.disarmed = False

    def disarm(self) -> None:
        with _WATCHDOG.lock:  # never cut a socket whose body was read in time (its connection lives on)
            self.disarmed = True

    def __lt__(self, other: _Watch) -> bool:
        return self.at < other.at


class _Watchdog:
    """Whole-body deadlines for every mock of the process: one thread, a heap of armed watches.

    When a deadline passes before the body is read, the read side of the client's socket is shut
    (``SHUT_RD``): the read blocked in the server wakes with end-of-file and the request ends with
    a 408. Arming costs a lock and a heap push; the thread starts on first use and sleeps while
    nothing is armed.
    """

    def __init__(self) -> None:
        self._heap: list[_Watch] = []
        self.lock = threading.Lock()
        self._cond = threading.Condition(self.lock)
        self._thread: threading.Thread | None = None

    def arm(self, sock: Any, seconds: float) -> _Watch:
        watch = _Watch(sock if isinstance(sock, socket.socket) else None, time.monotonic() + seconds)
        if watch.sock is None:  # in process (werkzeug's test client, inprocess adapters): nothing to cut
            return watch
        with self._cond:
            heapq.heappush(self._heap, watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="examrig body deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0] is watch:
                self._cond.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0].disarmed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                first = self._heap[0]
                delay = first.at - time.monotonic()
                if delay > 0:
                    self._cond.wait(min(delay, 1.0))
                    continue
                heapq.heappop(self._heap)
                if not first.disarmed and first.sock is not None:
                    first.fired = True
                    with suppress(OSError):
                        first.sock.shutdown(socket.SHUT_RD)


_WATCHDOG = _Watchdog()
