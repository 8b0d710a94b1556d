"""The ``examrig`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from mocks.core.admin import VERSION

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``examrig: error: …`` and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"examrig: error: {message} (see '{self.prog} --help')\n")


def _fail(message: str, code: int) -> int:
    print(f"examrig: error: {message}", file=sys.stderr, flush=True)
    return code


def cmd_version(args: argparse.Namespace) -> int:
    """Print the version."""
    print(f"examrig {VERSION}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve mocks until SIGINT or SIGTERM."""
    from mocks import registry
    from mocks.core.app import Runtime
    from mocks.core.server import Served, ServeError, bind, run_until_signal
    from mocks.core.settings import SettingsError
    from mocks.core.store import StoreUnavailable
    from mocks.core.tls import TlsError

    known = registry.available()
    names = list(dict.fromkeys(args.services)) or list(known)
    for name in names:
        if name not in known:
            return _fail(f"unknown service '{name}' (available: {', '.join(known)})", EXIT_USAGE)
    try:
        settings = serve_settings(args)
    except SettingsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    problem = _settings_problem(settings, names, known)
    if problem:
        return _fail(problem, EXIT_USAGE)
    if settings.processes > 1 and settings.debug:
        return _fail("--processes serves with the production server; it does not go with --debug", EXIT_USAGE)
    ready_file, problem = _ready_file(args.ready_file)
    if problem:
        return _fail(problem, EXIT_USAGE)
    if settings.shared_control is None and settings.db and settings.db.startswith("postgresql"):
        # other hosts (or other `examrig serve` commands) may serve this mock on the same database
        settings.shared_control = True
    _install_client_rules()  # GET /_examrig/client-check (issue 15)
    try:
        runtime = Runtime.create(settings)
        runtime.store.check()
        apps = {name: known[name].cls(runtime) for name in names}
    except StoreUnavailable as exc:
        return _fail(f"cannot open database {settings.db or settings.data_dir}: {exc}", EXIT_INFRA)
    except SettingsError as exc:  # an option value a mock refuses when it is built (lobby_url_ttl = -1)
        return _fail(str(exc), EXIT_USAGE)
    if settings.processes > 1:
        return _serve_processes(settings, names, known, runtime, ready_file)
    ports = registry.ports(settings, names)
    servers: list[Served] = []
    try:
        for name in names:
            tls = _tls_files(settings) if settings.tls_for(name) else None
            threads = int(settings.service(name).get("server_threads", settings.server_threads))
            servers.append(bind(name, apps[name], settings.host, ports[name], debug=settings.debug,
                                threads=threads, tls=tls))
    except (ServeError, TlsError) as exc:
        # release every port bound so far and whatever the apps and the runtime started: nothing left running
        for served in servers:
            served.stopper()
        for app in apps.values():
            app.stop()
        runtime.control.close()
        runtime.store.dispose()
        return _fail(str(exc), EXIT_INFRA)
    for served in servers:
        # co-hosted mocks are wired to each other unless the topology names an external system
        runtime.topology.setdefault(served.name, served.url)

    def announce() -> None:
        # every server is listening (bind made the sockets listen; the serving threads run): the URLs,
        # then the ready file, so a script that waits for the file can connect at once
        for served in servers:
            print(f"examrig: {served.name} listening on {served.url}", flush=True)
        print(f"examrig: database {runtime.store.describe()}; Ctrl-C to stop", flush=True)
        if ready_file is not None:
            _write_ready(ready_file, {served.name: served.url for served in servers})

    runtime.control.start()

    def on_stop() -> None:
        _remove_ready(ready_file)
        runtime.control.close()
        runtime.store.dispose()

    try:
        return run_until_signal(servers, on_ready=announce, on_stop=on_stop, final=True)
    except _ReadyFileError as exc:  # the servers were stopped on the way out (run_until_signal's finally)
        return _fail(str(exc), EXIT_INFRA)


def serve_settings(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Any:
    """The settings ``examrig serve`` runs with: the file, the environment (``os.environ`` when None), the flags.

    Tests use it to check the precedence (README, Settings) without binding anything.
    """
    from mocks.core.settings import load_settings, parse_option

    options: dict[str, dict[str, Any]] = {}
    for text in args.option or ():
        service, name, value = parse_option(text)
        options.setdefault(service, {})[name] = value
    return load_settings(args.config, env=env, overrides={
        "db": args.db, "host": args.host, "port": args.port, "port_base": args.port_base,
        "debug": args.debug or None, "seed": args.seed, "data_dir": args.data_dir,
        "tls": args.tls or None, "tls_cert": args.tls_cert, "tls_key": args.tls_key,
        "processes": args.processes}, options=options)


class _ReadyFileError(OSError):
    """The ready file could not be written once the mocks listened."""


def _ready_file(value: str | None) -> tuple[Any, str | None]:
    """``--ready-file``: its path, after removing a stale one (a script must not take it for this run's)."""
    if value is None:
        return None, None
    from pathlib import Path
    path = Path(value)
    if path.is_dir():
        return None, f"--ready-file {value}: is a directory"
    if not path.parent.is_dir():
        return None, f"--ready-file {value}: no such directory {str(path.parent)!r}"
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        return None, f"--ready-file {value}: cannot replace it ({exc.strerror or exc})"
    return path, None


def _write_ready(path: Any, urls: dict[str, str]) -> None:
    from mocks.core.server import write_ready_file
    try:
        write_ready_file(path, urls)
    except OSError as exc:
        raise _ReadyFileError(f"cannot write --ready-file {path}: {exc.strerror or exc}") from None


def _remove_ready(path: Any) -> None:
    # a stopped rig leaves no file behind that says it is ready
    if path is not None:
        import contextlib
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _install_client_rules() -> None:
    """The client rules behind the mocks' live ``/_examrig/client-check`` (conformance/client_check.py)."""
    from conformance.client_check import install_live
    install_live()


def _settings_problem(settings: Any, names: list[str], known: dict[str, Any]) -> str | None:
    """What makes the settings unusable for serving ``names``, in one line, or None.

    Checked before anything is bound or started: unknown ``[services.X]`` tables and ``[topology]``
    names, topology values that are not http(s) URLs, per-service ports and thread counts that are
    not integers, and ports past 65535 (``--port-base 65534`` for seven services).
    """
    from pathlib import Path
    from urllib.parse import urlsplit

    for option in ("tls_cert", "tls_key"):
        path = getattr(settings, option)
        if path and not Path(path).is_file():
            return f"--{option.replace('_', '-')} {path}: no such file"
    if settings.port is not None and len(names) > 1:
        where = {"flags": "--port", "environment": "EXAMRIG_PORT"}.get(settings.origins.get("port", ""),
                                                                        "[examrig].port")
        return f"{where} serves one service; use --port-base for several (--port-base 0: each on a free port)"
    for name in settings.services:
        if name not in known:
            return f"unknown service {_table_name(settings, name)} (services: {', '.join(known)})"
    from mocks.core.settings import SettingsError, check_service_options
    try:  # a misspelt option did nothing, silently
        check_service_options(settings, {name: entry.cls.declared_options for name, entry in known.items()})
    except SettingsError as exc:
        return str(exc)
    for name, url in settings.topology.items():
        if name not in known:
            return f"unknown service [topology].{name} (services: {', '.join(known)})"
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError as exc:
            return f"[topology].{name}: {url!r} is not a URL ({exc})"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"[topology].{name}: {url!r} is not an http(s) URL"
    for name in names:
        table = settings.service(name)
        for option in ("port", "server_threads", "workers"):
            value = table.get(option)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                return f"[services.{name}].{option}: {value!r} is not an integer"
    from mocks import registry
    for name, port in registry.ports(settings, names).items():
        if not 0 <= port <= 65535:
            return f"{name} would be served on port {port}, past 65535 (lower the port or the port base)"
    return None


def _table_name(settings: Any, name: str) -> str:
    """How the user wrote ``[services.NAME]``: the table, ``--option NAME.…`` or ``EXAMRIG_NAME_PORT``."""
    keys = {key: level for key, level in settings.origins.items() if key.startswith(f"services.{name}.")}
    levels = set(keys.values())
    if levels == {"flags"}:
        return f"'{name}' in --option {min(keys)[len('services.'):]}=…"
    if levels == {"environment"}:
        return f"'{name}' in EXAMRIG_{name.upper()}_PORT"
    return f"table [services.{name}]"


def _serve_processes(settings: Any, names: list[str], known: dict[str, Any], first: Any, ready_file: Any) -> int:
    """``--processes N``: the tables exist (``first`` made them); N children serve on each port (prefork)."""
    from mocks.core.app import Runtime
    from mocks.core.prefork import Plan, bind_child, serve
    from mocks.core.server import Served, ServeError

    first.control.close()  # nothing of the parent's database connections may cross the fork
    first.store.dispose()
    holder: dict[str, Any] = {}

    def build(ports: dict[str, int]) -> list[Served]:
        # TIS's processing workers: as many as asked in all, spread over the processes (slot i gets its share)
        import os
        slot, count = int(os.environ.get("EXAMRIG_PROCESS_SLOT", "0")), settings.processes
        tis = settings.service("tis")
        total = int(tis.get("workers", 1)) if bool(tis.get("worker", True)) else 0
        share = total // count + (1 if slot < total % count else 0)
        runtime = Runtime.create(settings)
        # the share is this process's own: the settings (and /_examrig/config) keep what was configured
        runtime.process_options["tis"] = {"workers": max(share, 1), "worker": share > 0}
        holder["runtime"] = runtime
        scheme = "https" if settings.tls else "http"
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
        for name in names:
            runtime.topology.setdefault(name, f"{scheme}://{host}:{ports[name]}")
        apps = {name: known[name].cls(runtime) for name in names}
        servers = []
        for name in names:
            tls = _tls_files(settings) if settings.tls_for(name) else None
            threads = int(settings.service(name).get("server_threads", settings.server_threads))
            servers.append(bind_child(name, apps[name], settings.host, ports[name], threads=threads, tls=tls))
        runtime.control.start()
        return servers

    def on_stop() -> None:
        runtime = holder.get("runtime")
        if runtime is not None:
            runtime.control.close()
            runtime.store.dispose()

    def announce(ports: dict[str, int]) -> None:
        scheme = "https" if settings.tls else "http"
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
        for name in names:
            print(f"examrig: {name} listening on {scheme}://{host}:{ports[name]} ({settings.processes} processes)",
                  flush=True)
        print(f"examrig: database {first.store.describe()}; Ctrl-C to stop", flush=True)
        if ready_file is not None:  # every child listens (serve waited for all of them)
            _write_ready(ready_file, {name: f"{scheme}://{host}:{ports[name]}" for name in names})

    from mocks import registry
    try:
        return serve(Plan(names, settings.host, registry.ports(settings, names), settings.processes, build,
                          on_stop), announce)
    except ServeError as exc:
        return _fail(str(exc), EXIT_INFRA)
    except _ReadyFileError as exc:
        return _fail(str(exc), EXIT_INFRA)
    finally:
        _remove_ready(ready_file)


WORKERS = {"tis": "mocks.tis.service:run_worker"}


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a service's background worker in its own process until SIGINT or SIGTERM.

    The worker reaches the mocks it calls (TIS: thss, dw, openam, and itself for the scoring daemon's callback)
    where ``examrig serve`` with the same settings serves them: ``[topology]`` first, else the settings' host and
    the port layout (``port_base``, ``[services.<name>] port``, the defaults). It refuses to start (exit 2) on
    settings that cannot work: an in-memory database, or a ``port`` that names one served service.
    """
    import importlib

    from mocks.core.server import stop_on_signals
    from mocks.core.settings import SettingsError, load_settings
    from mocks.core.store import StoreUnavailable

    try:
        settings = load_settings(args.config, overrides={"db": args.db, "data_dir": args.data_dir, "seed": args.seed,
                                                         "host": args.host, "port_base": args.port_base})
    except SettingsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    problem = worker_topology(settings)
    if problem:
        return _fail(problem, EXIT_USAGE)
    module_name, _, func_name = WORKERS[args.service].partition(":")
    run = getattr(importlib.import_module(module_name), func_name)
    stop, restore = stop_on_signals()
    peers = ", ".join(f"{name}={url}" for name, url in sorted(settings.topology.items()))
    print(f"examrig: {args.service} worker running (peers: {peers}); Ctrl-C to stop", flush=True)
    try:
        code: int = run(settings, stop)
    except StoreUnavailable as exc:
        return _fail(f"cannot open database {settings.db or settings.data_dir}: {exc}", EXIT_INFRA)
    finally:
        restore(True)  # the process exits: signals still arriving are ignored, not the default death
    return code


def worker_topology(settings: Any) -> str | None:
    """Fill ``settings.topology`` with where ``examrig serve`` serves each mock under these settings; the one-line
    reason the worker cannot start, or None.

    Without this a worker in its own process knew no peer: every THSS upload and DW post went to
    ``unconfigured://…`` and each TRT was rejected ("failed validation").
    """
    from mocks import registry

    known = registry.available()
    problem = _settings_problem(settings, [], known)
    if problem:
        return problem
    db = settings.db or ""
    if db in ("sqlite://", "sqlite:///:memory:") or ":memory:" in db:
        return (f"--db {db} is an in-memory database, which no other process sees: give the worker the database "
                "of the serving process (a sqlite:///file or postgresql:// URL, or the same --data-dir)")
    if settings.port is not None:
        return ("setting 'port' (EXAMRIG_PORT) is the port of one served service and the worker cannot tell "
                "which: set port_base (or --port-base) or [topology] URLs for tis, thss, dw and openam")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else "::1" if settings.host == "::" else settings.host
    shown = f"[{host}]" if ":" in host else host
    names = [name for name in known if name not in settings.topology]
    try:
        ports = registry.ports(settings, names)  # serve's precedence, whatever it is
    except (TypeError, ValueError) as exc:
        return f"cannot work out the ports of the served mocks: {exc}"
    for name in names:
        if ports[name] == 0:  # --port-base 0: serve picked free ports, which only its ready file knows
            return (f"{name} is served on a free port (port 0) the worker cannot know: set [topology].{name} "
                    f"(or EXAMRIG_TOPOLOGY_{name.upper()}) to its URL")
        if not 0 < ports[name] <= 65535:
            return f"{name} would be on port {ports[name]}, past 65535 (lower --port-base, or set [topology].{name})"
        scheme = "https" if settings.tls_for(name) else "http"
        settings.topology[name] = f"{scheme}://{shown}:{ports[name]}"
    return None


def _tls_files(settings: Any) -> tuple[str, str]:
    """The configured certificate and key, or a self-signed pair under the data directory."""
    if settings.tls_cert and settings.tls_key:
        return str(settings.tls_cert), str(settings.tls_key)
    from pathlib import Path

    from mocks.core.tls import self_signed
    cert, key = self_signed(Path(settings.data_dir) / "tls")
    return str(cert), str(key)


def build_parser() -> Parser:
    """The full argument parser."""
    parser = Parser(prog="examrig", description="Simulation and conformance rig for exam-delivery integrations.")
    parser.add_argument("--version", action="version", version=f"examrig {VERSION}",
                        help="print the version and exit (as 'examrig version' does)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("version", help="print the version")
    p.set_defaults(func=cmd_version)

    p = sub.add_parser("serve", help="serve one or several mocks (all by default)")
    p.add_argument("services", nargs="*", metavar="SERVICE", help="services to serve (default: all)")
    p.add_argument("--config", metavar="FILE", help="settings file (default: ./examrig.toml if present)")
    p.add_argument("--db", metavar="URL", help="database URL (default: SQLite file under --data-dir)")
    p.add_argument("--data-dir", metavar="DIR", help="directory of the default SQLite file (default: .examrig)")
    p.add_argument("--host", metavar="H", help="address to bind (default: 127.0.0.1)")
    ports = p.add_mutually_exclusive_group()
    ports.add_argument("--port", type=_port, metavar="N", help="port of the one service served (0: any free port)")
    ports.add_argument("--port-base", type=_port, metavar="N",
                       help="ports N, N+1, … in the fixed service order (default base 8600); "
                            "0: every mock on a free port of its own")
    p.add_argument("--option", action="append", metavar="SERVICE.NAME=VALUE",
                   help="a service option, as [services.SERVICE] NAME = VALUE in the file (VALUE read as TOML); "
                        "repeatable")
    p.add_argument("--ready-file", metavar="FILE",
                   help="once every mock listens, write FILE (JSON: pid and each service's URL) atomically; "
                        "removed on stop")
    p.add_argument("--seed", type=int, metavar="S", help="seed for ids, faults and generated data")
    p.add_argument("--tls", action="store_true",
                   help="serve over HTTPS (self-signed certificate for localhost under --data-dir/tls)")
    p.add_argument("--tls-cert", metavar="FILE", help="PEM certificate for HTTPS (with --tls-key)")
    p.add_argument("--tls-key", metavar="FILE", help="PEM private key for HTTPS (with --tls-cert)")
    p.add_argument("--debug", action="store_true", help="use werkzeug's development server")
    p.add_argument("--processes", type=int, metavar="N",
                   help="server processes per mock on one port, sharing control state through the database "
                        "(default 1; env EXAMRIG_PROCESSES; docs/scale-out.md)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a service's processing worker in its own process")
    p.add_argument("service", choices=sorted(WORKERS), help="the service whose worker to run")
    p.add_argument("--config", metavar="FILE", help="settings file (default: ./examrig.toml if present)")
    p.add_argument("--db", metavar="URL", help="database URL shared with the serving process")
    p.add_argument("--data-dir", metavar="DIR", help="directory of the default SQLite file (default: .examrig)")
    p.add_argument("--seed", type=int, metavar="S", help="seed for ids")
    p.add_argument("--host", metavar="H", help="the address the mocks were served on (default: 127.0.0.1)")
    p.add_argument("--port-base", type=_port, metavar="N",
                   help="the --port-base the mocks were served with (default: the settings', else 8600)")
    p.set_defaults(func=cmd_worker)

    _add_optional(sub, "contracts.cli", "add_validate_parser", "add_generate_parser")
    _add_optional(sub, "conformance.submit", "add_submit_parser")
    _add_optional(sub, "conformance.check", "add_check_parser")
    _add_optional(sub, "conformance.load", "add_load_parser")
    return parser


def _add_optional(sub: Any, module: str, *functions: str) -> None:
    """Let a package register its sub-commands when it is present."""
    import importlib
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    for function in functions:
        if hasattr(mod, function):
            getattr(mod, function)(sub)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``examrig`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (`examrig generate trt | head`): not an error of ours, and no traceback;
        # stdout is pointed at /dev/null so the interpreter's own flush at exit does not raise again
        import os
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
