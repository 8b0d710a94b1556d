"""Where scenarios send their requests: mocks in process, mocks over HTTP, or an integrator's system."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import requests

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.core.inprocess import WSGIAdapter, inprocess_url
from mocks.core.server import Served, bind, start, stop
from mocks.core.settings import Settings

MODES = ("inprocess", "http")
TENANT_HEADER = "X-Examrig-Tenant"


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
                 options: Mapping[str, dict[str, Any]] | None = None, background: bool = False) -> None:
        if mode not in MODES:
            raise TargetError(f"mode must be one of {', '.join(MODES)}")
        self.mode = mode
        self.targets = dict(targets or {})
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
                   targets=parse_targets(os.environ.get("EXAMRIG_TARGETS")))

    def url(self, service: str) -> str:
        """The base URL of ``service`` for this run."""
        try:
            return self.urls[service]
        except KeyError:
            raise TargetError(f"service '{service}' is not part of this run") from None

    def is_mock(self, service: str) -> bool:
        """Whether ``service`` is one of examrig's mocks in this run (not an integrator's)."""
        return service in self.apps

    def request(self, service: str, method: str, path: str, *, tenant: str = "default",
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """Send a request to ``service`` in ``tenant``."""
        hdrs = {TENANT_HEADER: tenant, **(headers or {})}
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(service) + path, headers=hdrs, **kwargs)

    def admin(self, service: str, method: str, op: str, *, tenant: str = "default",
              **kwargs: Any) -> requests.Response:
        """Call ``/_examrig/<op>`` on a mock."""
        return self.request(service, method, f"/_examrig/{op}", tenant=tenant, **kwargs)

    def close(self) -> None:
        """Stop servers and workers, release the database."""
        for app in self.apps.values():
            app.stop()
        for served in self.servers:
            stop(served)
        self.session.close()
        self.runtime.store.dispose()


__all__ = ["MODES", "Rig", "TargetError", "WSGIAdapter", "parse_targets"]
