"""Where scenarios send their requests: mocks in process, mocks over HTTP, or an integrator's system."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import requests

from conformance.outcomes import HarnessError, unsupported
from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.core.inprocess import WSGIAdapter, inprocess_url
from mocks.core.server import Served, bind, start, stop
from mocks.core.settings import Settings

MODES = ("inprocess", "http")
TENANT_HEADER = "X-Examrig-Tenant"
#: The state hook's version this corpus speaks (docs/state-hook.md); sent on every hook call in
#: ``STATE_HOOK_HEADER`` and required as ``"state_hook"`` in the hook's ``GET health`` answer.
STATE_HOOK_VERSION = 1
STATE_HOOK_HEADER = "Examrig-State-Hook"
#: The admin-door operations that make up the state hook; the rest of examrig's admin door (journal,
#: faults, config, metrics) belongs to examrig's mocks and has no counterpart on a third-party target.
STATE_HOOK_OPS = ("health", "reset", "seed", "state", "clock")
#: One JSON schema per service: the seed bodies the corpus sends and the state answers it reads.
STATE_HOOK_SCHEMAS = Path(__file__).resolve().parents[1] / "contracts" / "statehook"
#: Set to 1 to hold examrig's own mocks to the state hook schemas too (tests do, to keep them true).
VALIDATE_ENV = "EXAMRIG_STATEHOOK_VALIDATE"


@cache
def state_hook_schema(service: str) -> dict[str, Any]:
    """``contracts/statehook/<service>.json``."""
    data: dict[str, Any] = json.loads((STATE_HOOK_SCHEMAS / f"{service}.json").read_text(encoding="utf-8"))
    return data


def check_state_hook(service: str, part: str, instance: Any) -> None:
    """Raise :class:`HarnessError` unless ``instance`` fits ``$defs/<part>`` of the service's schema.

    ``part`` is ``seed``, ``seed_answer``, ``health`` or ``state/<collection>``.
    """
    schema = state_hook_schema(service)
    steps = part.replace("state/", "state/properties/").split("/")
    node: Any = schema["$defs"]
    for step in steps:
        node = node.get(step) if isinstance(node, dict) else None
    if node is None:
        raise HarnessError(f"contracts/statehook/{service}.json has no {part}: the state hook does not offer it")
    pointer = "/".join(["#", "$defs", *steps])
    try:
        jsonschema.validate(instance, {"$defs": schema["$defs"], "$ref": pointer})
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise HarnessError(f"{service} state hook {part} does not fit contracts/statehook/{service}.json "
                           f"at {where}: {exc.message}") from None


class TargetError(ValueError):
    """A target specification that cannot be used."""


def parse_targets(specs: list[str] | str | None) -> dict[str, str]:
    """``["tis=http://host:8080", ...]`` (or a comma-separated string) as a dict."""
    if not specs:
        return {}
    items = specs.split(",") if isinstance(specs, str) else specs
    out: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        name, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise TargetError(f"target '{item}' must look like SERVICE=http://host:port")
        out[name.strip()] = url.strip().rstrip("/")
    return out


def parse_state_hooks(specs: list[str] | str | None) -> dict[str, str]:
    """``["tds=http://host:8080/_examrig", ...]`` (or comma-separated), as :func:`parse_targets`."""
    try:
        return parse_targets(specs)
    except TargetError as exc:
        raise TargetError(str(exc).replace("target", "state hook", 1)) from None


def parse_capabilities(specs: list[str] | str | None) -> frozenset[str]:
    """``["tds.idempotency_key", ...]`` (or comma-separated): the capabilities an integrator declares."""
    if not specs:
        return frozenset()
    items = specs.split(",") if isinstance(specs, str) else [p for s in specs for p in s.split(",")]
    names = {item.strip() for item in items if item.strip()}
    for name in names:
        head, dot, tail = name.partition(".")
        if not dot or not head or not tail:
            raise TargetError(f"capability '{name}' must look like service.name (tds.idempotency_key)")
    return frozenset(names)


class Rig:
    """A set of mocks for a test run, plus the targets that replace some of them.

    ``mode="inprocess"`` runs every mock inside this process, reached through
    ``requests`` transport adapters (no sockets); ``mode="http"`` serves each on a
    free loopback port with the production server. A service named in ``targets`` is
    an integrator's system: scenarios for it go to that URL, and examrig's mocks
    that call it are wired to it, so they act as its peers and journal what it sends.

    Background workers (TIS's processing service, THSS's policy worker) are not started
    unless ``background`` is true: scenarios drive them step by step through the admin
    door, so what a step checks never races a worker.
    """

    def __init__(self, mode: str = "inprocess", targets: Mapping[str, str] | None = None,
                 seed: int | None = 1234, db: str = os.environ.get("EXAMRIG_TEST_DB") or "sqlite://",
                 options: Mapping[str, dict[str, Any]] | None = None, background: bool = False,
                 state_hooks: Mapping[str, str] | None = None, capabilities: frozenset[str] = frozenset()) -> None:
        if mode not in MODES:
            raise TargetError(f"mode must be one of {', '.join(MODES)}")
        self.mode = mode
        self.targets = dict(targets or {})
        stray = sorted(set(state_hooks or {}) - set(self.targets))
        if stray:
            raise TargetError(f"state hook for '{stray[0]}', which is not a target (examrig's mocks have their own)")
        #: Where each target's state hook lives (default: the target's own ``/_examrig``).
        hooks = dict(state_hooks or {})
        self.state_hooks = {name: hooks.get(name, url + "/_examrig") for name, url in self.targets.items()}
        self.capabilities = capabilities
        self._hook_probes: dict[str, str | None] = {}
        settings = Settings(seed=seed)
        for name, opts in (options or {}).items():
            settings.service(name).update(opts)
        self.runtime = Runtime.create(settings, db=db)
        self.apps: dict[str, ServiceApp] = {}
        self.urls: dict[str, str] = {}
        self.servers: list[Served] = []
        self.session = requests.Session()
        known = registry.available()
        for name, info in known.items():
            if name in self.targets:
                continue
            self.apps[name] = info.cls(self.runtime)
        for name, url in self.targets.items():
            self.urls[name] = url
            self.runtime.topology[name] = url
        if mode == "inprocess":
            for name, app in self.apps.items():
                adapter = WSGIAdapter(app)
                prefix = inprocess_url(name) + "/"
                self.runtime.mounts[prefix] = adapter
                self.session.mount(prefix, adapter)
                self.urls[name] = inprocess_url(name)
                self.runtime.topology.setdefault(name, inprocess_url(name))
        else:
            for name, app in self.apps.items():
                served = bind(name, app, "127.0.0.1", 0)
                self.servers.append(served)
                self.urls[name] = served.url
                self.runtime.topology.setdefault(name, served.url)
            for served in self.servers:
                start(served)
        if background:
            for app in self.apps.values():
                app.start()

    @classmethod
    def from_env(cls) -> Rig:
        """A rig configured by ``EXAMRIG_MODE`` and ``EXAMRIG_TARGETS`` (``svc=url,...``)."""
        return cls(mode=os.environ.get("EXAMRIG_MODE", "inprocess"),
                   targets=parse_targets(os.environ.get("EXAMRIG_TARGETS")),
                   state_hooks=parse_state_hooks(os.environ.get("EXAMRIG_STATE_HOOKS")),
                   capabilities=parse_capabilities(os.environ.get("EXAMRIG_CAPABILITIES")))

    def url(self, service: str) -> str:
        """The base URL of ``service`` for this run."""
        try:
            return self.urls[service]
        except KeyError:
            raise TargetError(f"service '{service}' is not part of this run") from None

    def is_mock(self, service: str) -> bool:
        """Whether ``service`` is one of examrig's mocks in this run (not an integrator's)."""
        return service in self.apps

    def has_capability(self, capability: str) -> bool:
        """Whether this run may check ``capability`` (``tds.idempotency_key``, ``examrig.conventions``).

        examrig's own mocks have every capability; a target has those its integrator declared.
        ``examrig.*`` capabilities concern every target of the run.
        """
        service = capability.partition(".")[0]
        if service != "examrig" and self.is_mock(service):
            return True
        if service == "examrig" and not self.targets:
            return True
        return capability in self.capabilities

    def request(self, service: str, method: str, path: str, *, tenant: str = "default",
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """Send a request to ``service`` in ``tenant``."""
        hdrs = {TENANT_HEADER: tenant, **(headers or {})}
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(service) + path, headers=hdrs, **kwargs)

    def admin(self, service: str, method: str, op: str, *, tenant: str = "default",
              **kwargs: Any) -> requests.Response:
        """Call ``/_examrig/<op>`` on a mock, or the same operation on a target's state hook.

        Against a target, an operation outside the state hook, or a state hook that does not answer
        (probed once per service and session), ends the scenario as ``unsupported``: the check cannot
        be made there, which is neither a pass nor a fail of the target.
        """
        name = op.partition("/")[0].partition("?")[0]
        if self.is_mock(service):
            response = self.request(service, method, f"/_examrig/{op}", tenant=tenant, **kwargs)
            if os.environ.get(VALIDATE_ENV) == "1" and name in ("seed", "state"):
                self._check_exchange(service, op, kwargs.get("json"), response)
            return response
        if name not in STATE_HOOK_OPS:
            unsupported(f"{service} is a third-party target: examrig's admin door '{name}' is not part of "
                        f"the state hook ({', '.join(STATE_HOOK_OPS)})")
        base = self.state_hook(service)
        hdrs = {TENANT_HEADER: tenant, STATE_HOOK_HEADER: str(STATE_HOOK_VERSION), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 30)
        try:
            response = self.session.request(method, f"{base}/{op}", headers=hdrs, **kwargs)
        except requests.RequestException as exc:
            raise HarnessError(f"{service} state hook {method} {base}/{op}: {exc}") from exc
        if name in ("seed", "state"):
            self._check_exchange(service, op, kwargs.get("json"), response)
        return response

    @staticmethod
    def _check_exchange(service: str, op: str, body: Any, response: requests.Response) -> None:
        """What the corpus sent and what the hook answered fit the service's state hook schema."""
        if op == "seed":
            check_state_hook(service, "seed", body)
            if response.status_code == 201:
                check_state_hook(service, "seed_answer", response.json())
        elif response.status_code == 200:
            collection = op.split("/")[1].partition("?")[0]
            try:
                answer = response.json()
            except ValueError:
                raise HarnessError(f"{service} state hook GET {op} did not answer JSON") from None
            check_state_hook(service, f"state/{collection}", answer)

    def state_hook(self, service: str) -> str:
        """The base URL of a target's state hook, or ``unsupported`` if it does not answer ``GET health``."""
        base = self.state_hooks.get(service)
        if base is None:
            raise TargetError(f"service '{service}' is not a target of this run")
        if service not in self._hook_probes:
            self._hook_probes[service] = self._probe(service, base)
        reason = self._hook_probes[service]
        if reason is not None:
            unsupported(f"the scenario needs {service}'s state hook (docs/state-hook.md), and {reason}")
        return base

    def _probe(self, service: str, base: str) -> str | None:
        """Why ``base`` is not a usable state hook (None: it is one)."""
        url = f"{base}/health"
        try:
            response = self.session.get(url, headers={STATE_HOOK_HEADER: str(STATE_HOOK_VERSION)}, timeout=10)
        except requests.RequestException as exc:
            return f"GET {url} failed: {type(exc).__name__}"
        if response.status_code != 200:
            return f"GET {url} answered {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return f"GET {url} did not answer JSON"
        version = body.get("state_hook") if isinstance(body, dict) else None
        if version != STATE_HOOK_VERSION:
            return f"GET {url} answered state_hook {version!r}, this corpus speaks version {STATE_HOOK_VERSION}"
        return None

    def close(self) -> None:
        """Stop servers and workers, release the database."""
        for app in self.apps.values():
            app.stop()
        for served in self.servers:
            stop(served)
        self.session.close()
        self.runtime.store.dispose()


__all__ = ["MODES", "STATE_HOOK_HEADER", "STATE_HOOK_OPS", "STATE_HOOK_VERSION", "Rig", "TargetError", "WSGIAdapter",
           "parse_capabilities", "parse_state_hooks", "parse_targets"]
