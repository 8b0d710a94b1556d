"""Serve one or several mocks in one process, each on its own port."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cheroot import server as cheroot_server
from cheroot import wsgi as cheroot_wsgi
from cheroot.workers import threadpool as cheroot_threadpool

from mocks.core.app import CONN_KEY, SOCKET_KEY, ServiceApp

# cheroot keeps the last of several Content-Length headers; RFC 9112 section 6.3 makes a list of them an
# error. Joined like a list header, they no longer read as one number and cheroot answers 400 itself
# (the app refuses such a list too, behind any server: mocks.core.app ServiceApp._read_body).
_LIST_HEADERS: list[bytes] = cheroot_server.comma_separated_headers  # type: ignore[attr-defined]
if b"Content-Length" not in _LIST_HEADERS:
    _LIST_HEADERS.append(b"Content-Length")


class ServeError(RuntimeError):
    """A server could not start (port in use, bad address); the message is one line."""


class _Server(Protocol):
    def stop(self) -> None: ...


class SocketGateway(cheroot_wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, exposing the client socket so a fault can reset it."""

    def get_environ(self) -> Any:
        env: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        env[SOCKET_KEY] = self.req.conn.socket
        env[CONN_KEY] = self.req.conn
        return env


class ElasticPool:
    """Keeps a server's working threads at its base count while some of them wait.

    The pool is small on purpose (``server_threads``, default :data:`DEFAULT_THREADS`): the
    mocks' requests are CPU work under one GIL, and every thread beyond what the cores can
    run only adds GIL hand-offs and queueing (bench/bench_deliveryodata.py sweeps it). A
    request that is about to wait (an injected latency fault, a call to a peer) *parks* its
    thread. A watcher looks every ``tick`` seconds: for every thread parked longer than
    ``patience`` it starts a spare worker, so the other connections are still served by the
    base count; when the waits end the spares are retired (a shutdown request on cheroot's
    queue, taken by whichever worker is idle). Short waits (a local peer answering in a few
    ms) cost no thread at all. Up to ``ceiling`` threads in all. cheroot never resizes its
    pool by itself, so only this class changes it. Threads that are not this server's
    workers (a service's background workers) are never counted.
    """

    def __init__(self, server: Any, ceiling: int = 256, patience: float = 0.02, tick: float = 0.01) -> None:
        self.server = server
        self.pool = server.requests
        self.ceiling = ceiling
        self.patience = patience
        self.tick = tick
        self._lock = threading.Lock()
        self._since: dict[int, float] = {}  # parked worker thread id -> when it parked
        self.spares = 0
        self._stopping = threading.Event()
        self._wake = threading.Event()  # set by park: the watcher sleeps on it while nothing is parked
        self._watcher: threading.Thread | None = None

    @property
    def parked(self) -> int:
        """How many of this server's workers are waiting now."""
        return len(self._since)

    def park(self) -> bool:
        """The calling thread is about to wait; False (and nothing done) unless it is one of this server's workers."""
        current = threading.current_thread()
        if not isinstance(current, cheroot_threadpool.WorkerThread) or current.server is not self.server:
            return False
        with self._lock:
            self._since[current.ident or 0] = time.monotonic()
            self._wake.set()
            if self._watcher is None and not self._stopping.is_set():
                self._watcher = threading.Thread(target=self._watch, name="examrig pool watcher", daemon=True)
                self._watcher.start()
        return True

    def unpark(self) -> None:
        """The calling worker has finished waiting (after a ``park`` that returned True)."""
        with self._lock:
            self._since.pop(threading.current_thread().ident or 0, None)
            self._retire_extra()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            if not self._since and not self.spares:  # idle: no ticking until the next park (or the stop)
                self._wake.wait()
                self._wake.clear()
                continue
            if self._stopping.wait(self.tick):
                break
            with self._lock:
                now = time.monotonic()
                long_waits = sum(1 for since in self._since.values() if now - since >= self.patience)
                while self.spares < long_waits and len(self.pool._threads) < self.ceiling:
                    worker = cheroot_threadpool.WorkerThread(self.server)  # type: ignore[no-untyped-call]
                    worker.name = f"examrig spare {worker.name}"
                    worker.start()
                    self.pool._threads.append(worker)
                    self.spares += 1
                self._retire_extra()

    def _retire_extra(self) -> None:
        # the caller holds the lock
        while self.spares > len(self._since) and not self._stopping.is_set():
            self.spares -= 1
            self.pool._clear_dead_threads()
            self.pool._pending_shutdowns.append(None)
            self.pool._queue.put(cheroot_threadpool._SHUTDOWNREQUEST)  # type: ignore[attr-defined]

    def stop(self) -> None:
        """No resizing once the server stops (its stop joins the threads it knows)."""
        with self._lock:
            self._stopping.set()
            self._wake.set()


@dataclass
class Served:
    """One mock bound to a port."""

    name: str
    app: ServiceApp
    host: str
    port: int
    kind: str
    server: Any = None
    thread: threading.Thread | None = None
    stopper: Callable[[], None] = field(default=lambda: None)
    scheme: str = "http"

    @property
    def url(self) -> str:
        """The base URL clients use (a wildcard host becomes loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"


DEFAULT_THREADS = 3


def bind(name: str, app: ServiceApp, host: str, port: int, *, debug: bool = False,
         threads: int = DEFAULT_THREADS, tls: tuple[str, str] | None = None, reuse_port: bool = False) -> Served:
    """Bind ``app`` to ``host:port`` (0 picks a free port) without serving yet.

    ``threads`` is the base count of working threads (see :class:`ElasticPool`: threads
    waiting on a latency fault or a peer are replaced while they wait). ``tls`` is a
    (certificate, key) pair of PEM files: the mock then speaks HTTPS. ``reuse_port`` sets SO_REUSEPORT:
    the processes of one mock each listen on the same port and the kernel spreads new connections over
    them (mocks/core/prefork.py).
    """
    scheme = "https" if tls else "http"
    if debug:
        import ssl

        from werkzeug.serving import make_server
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
        try:
            srv = make_server(host, port, app, threaded=True, ssl_context=context)
        except OSError as exc:
            raise ServeError(_bind_message(name, host, port, exc)) from None
        served = Served(name, app, host, int(srv.server_port), "werkzeug-dev", srv, scheme=scheme)
        served.stopper = srv.shutdown
        return served
    server = cheroot_wsgi.Server((host, port), app, numthreads=threads, server_name=f"examrig-{name}",
                                 shutdown_timeout=10, request_queue_size=128)
    server.gateway = SocketGateway
    server.reuse_port = reuse_port
    if tls:
        from cheroot.ssl.builtin import BuiltinSSLAdapter
        try:
            server.ssl_adapter = BuiltinSSLAdapter(tls[0], tls[1])
        except (OSError, ValueError) as exc:
            raise ServeError(f"cannot serve {name} over HTTPS: {exc}") from None
    try:
        server.prepare()
    except (OSError, OverflowError) as exc:  # OverflowError: a port past 65535
        raise ServeError(_bind_message(name, host, port, exc)) from None
    served = Served(name, app, host, int(server.bind_addr[1]), "cheroot", server, scheme=scheme)
    elastic = ElasticPool(server)
    app.parking = elastic

    def stopper() -> None:
        elastic.stop()
        server.stop()
        # bound but never served (another mock failed to bind): cheroot's stop leaves the socket open
        sock = getattr(server, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    served.stopper = stopper
    return served


def _bind_message(name: str, host: str, port: int, exc: OSError | OverflowError) -> str:
    text = str(exc)
    if "Address already in use" in text or getattr(exc, "errno", None) == 98:
        return f"cannot serve {name}: port {port} on {host} is already in use"
    if "assign requested address" in text or "Name or service not known" in text:
        return f"cannot serve {name}: address {host} is not available on this machine"
    return f"cannot serve {name} on {host}:{port}: {text.splitlines()[0] if text else type(exc).__name__}"


def start(served: Served) -> None:
    """Serve in a background thread."""
    target: Callable[[], None] = (served.server.serve_forever if served.kind == "werkzeug-dev"
                                  else served.server.serve)
    served.thread = threading.Thread(target=target, name=f"serve-{served.name}", daemon=True)
    served.thread.start()


def stop(served: Served) -> None:
    """Stop accepting, let requests in flight finish, then stop the app's workers."""
    try:
        served.stopper()
    finally:
        if served.thread is not None:
            served.thread.join(timeout=15)
        served.app.stop()


def stop_on_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                    ) -> tuple[threading.Event, Callable[..., None]]:
    """An event set when one of ``signals`` arrives, and a function that puts the old handlers back.

    A Python signal handler runs in the main thread between two bytecodes, possibly while that
    thread holds the very lock ``Event.set`` needs (it may be inside ``Event.wait``): setting an
    event from the handler can deadlock, and did when two signals came close together. So the
    handlers do nothing; the interpreter writes each signal's number to a pipe
    (``signal.set_wakeup_fd``) and a small thread reading that pipe sets the event.
    Call from the main thread.
    """
    event = threading.Event()
    wanted = {int(sig) for sig in signals}
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous = {sig: signal.signal(sig, lambda signum, frame: None) for sig in signals}

    def watch() -> None:
        while True:
            data = os.read(read_fd, 64)
            if not data or 0 in data:  # the pipe closed, or restore() asked the thread to end
                return
            if wanted.intersection(data):
                event.set()

    watcher = threading.Thread(target=watch, name="examrig signals", daemon=True)
    watcher.start()

    def restore(final: bool = False) -> None:
        """Put the previous handlers back; ``final`` (a process about to exit) ignores the signals instead.

        Restored too early, a burst of signals still arriving during shutdown met the default handlers:
        the process died of SIGTERM (-15) or raised KeyboardInterrupt instead of exiting 0.
        """
        signal.set_wakeup_fd(-1 if final else previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_IGN if final else handler)
        os.write(write_fd, b"\0")
        watcher.join(timeout=2)
        os.close(read_fd)
        os.close(write_fd)

    return event, restore


#: how long a shutdown may take once a signal came (cheroot waits 10 s for requests in flight, the
#: serving threads 15 s more); past it a process that is exiting (``final``) stops at once
STOP_DEADLINE = 30.0


def _force_exit(seconds: float) -> None:
    print(f"examrig: requests still running after {seconds:g} s; stopping now", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(0)


def run_until_signal(servers: list[Served], on_ready: Callable[[], None] | None = None,
                     on_stop: Callable[[], None] | None = None, *, final: bool = False,
                     deadline: float = STOP_DEADLINE) -> int:
    """Serve until SIGINT or SIGTERM, then shut down cleanly; returns the exit status (0).

    The signal handlers are in place before ``on_ready`` runs (it announces the URLs),
    so a signal sent as soon as a URL is printed still shuts down cleanly. ``final`` is for
    a process that exits afterwards (the CLI): further signals are ignored from the first
    one on, and a shutdown that takes longer than ``deadline`` seconds (a request thread
    stuck in a peer call or a long validation) ends the process anyway.
    """
    done, restore = stop_on_signals()
    # Everything built so far (apps, schemas, compiled statements) lives as long as the process:
    # keep it out of the collector's full passes, which otherwise pause every thread for tens of ms
    gc.collect()
    gc.freeze()
    try:
        for served in servers:
            served.app.start()
            start(served)
        if on_ready is not None:
            on_ready()
        while not done.wait(0.5):
            pass
        print("examrig: shutting down", file=sys.stderr, flush=True)
    finally:
        if final:
            guard = threading.Timer(deadline, _force_exit, (deadline,))
            guard.daemon = True
            guard.start()
        for served in servers:
            stop(served)
        if on_stop is not None:
            on_stop()
        restore(final)
    return 0


def write_ready_file(path: str | os.PathLike[str], urls: dict[str, str], pid: int | None = None) -> None:
    """Write ``{"pid": …, "services": {name: url}}`` to ``path`` atomically (``examrig serve --ready-file``).

    The JSON goes to a temporary file in the same directory, is flushed to disk, then renamed over
    ``path``: a script waiting for the file never reads half of it, and finds it only once every
    mock listens.
    """
    import json
    import tempfile
    from pathlib import Path

    target = Path(path)
    body = json.dumps({"pid": os.getpid() if pid is None else pid, "services": urls}, indent=2) + "\n"
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
