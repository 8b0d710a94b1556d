"""The tis mock: receiver, processing worker, scoring daemon and test-package endpoints in one werkzeug app."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Table
from werkzeug.routing import Rule

from mocks.core import bounds
from mocks.core.app import Runtime, ServiceApp, View
from mocks.core.errors import NotFound
from mocks.core.settings import Settings
from mocks.tis.config import ConfigError
from mocks.tis.errors import InvalidSeed, render_tis_error
from mocks.tis.models import Tis
from mocks.tis.processing import LEASE_SECONDS, Processor
from mocks.tis.urls import routes as tis_routes


class Service(ServiceApp):
    """TIS: ``/api/testresult``, ``/ItemScoringCallbackRcv.axd``, ``/api/testpackage``, ``/api/assessments``.

    Options (``[services.tis]``): ``worker`` (start the processing threads, default true),
    ``workers`` (how many, default 1), ``poll_interval`` (seconds, default 0.05), and the TIS
    settings of ``mocks.tis.config``
    (``dw_urls``, ``thss_url``, ``daemon_callback``, ``handscoring_item_types``,
    ``handscoring_score_statuses``, ``dw_send_handscoring``, ``ack_profile``, ``oauth``,
    ``tokeninfo_url``, ``outbound_auth``), each overridable per tenant with the seed
    collection ``config``.
    """

    name = "tis"
    error_renderer = staticmethod(render_tis_error)

    def __init__(self, runtime: Runtime, options: dict[str, Any] | None = None) -> None:
        super().__init__(runtime, options)
        self.model.upgrade()

    def define_tables(self) -> list[Table]:
        settings = {k: v for k, v in self.options.items()
                    if k not in ("worker", "workers", "poll_interval", "port", "lease_seconds")}
        self.model = Tis(self.store, self.clock, self.ids, settings)
        self.model.shared_settings = self.runtime.control.shared
        self.processor = Processor(self.model, self.outbound, self.peer_url,
                                   float(self.options.get("lease_seconds", LEASE_SECONDS)))
        self._tokens: dict[tuple[str, str], float] = {}
        self._tokens_lock = threading.Lock()
        return self.model.tables

    def routes(self) -> list[tuple[Rule, View]]:
        return tis_routes()

    def start(self) -> None:
        if bool(self.options.get("worker", True)):
            self.processor.start(float(self.options.get("poll_interval", 0.05)), int(self.options.get("workers", 1)))
        else:
            self.processor.recover()

    def stop(self) -> None:
        self.processor.stop()

    def process_pending(self, tenant: str | None = None, limit: int | None = None) -> int:
        """Process waiting TRTs synchronously (tests drive the service with this)."""
        return self.processor.process_pending(tenant, limit)

    # -- the inbound token cache (AuthTokenCache: 100 entries, expiry from expires_in) ---------

    def token_cache_get(self, tenant: str, token: str) -> bool:
        """Whether ``token`` is cached and unexpired."""
        with self._tokens_lock:
            expiry = self._tokens.get((tenant, token))
        return expiry is not None and expiry > self.clock.now(tenant).timestamp()

    def token_cache_put(self, tenant: str, token: str, seconds: float) -> None:
        """Cache a validated token; the 9 oldest go when 100 are held."""
        with self._tokens_lock:
            if len(self._tokens) >= 100:
                for key in list(self._tokens)[:9]:
                    self._tokens.pop(key, None)
            self._tokens[(tenant, token)] = self.clock.now(tenant).timestamp() + seconds

    def reset(self, tenant: str | None = None) -> None:
        super().reset(tenant)
        self.model.forget_cached()
        with self._tokens_lock:
            self._tokens.clear()

    # -- admin hooks ------------------------------------------------------------------

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        unknown = set(payload) - {"config", "resubmissions"}
        if unknown:
            raise InvalidSeed(field=sorted(unknown)[0], reason="unknown seed collection (tis takes config, "
                                                               "resubmissions)")
        counts: dict[str, int] = {}
        for i, item in enumerate(payload.get("config", [])):
            if not isinstance(item, dict):
                raise InvalidSeed(field=f"config[{i}]", reason="must be an object")
            try:
                self.model.set_config(tenant, item)
            except ConfigError as exc:
                raise InvalidSeed(field=f"config[{i}].{exc.field}", reason=exc.reason) from None
            counts["config"] = counts.get("config", 0) + 1
        for i, item in enumerate(payload.get("resubmissions", [])):
            key = item.get("oppKey") if isinstance(item, dict) else None
            if not isinstance(key, str):
                raise InvalidSeed(field=f"resubmissions[{i}].oppKey", reason="required string")
            try:
                self.model.resubmit(tenant, key)
            except KeyError:
                raise InvalidSeed(field=f"resubmissions[{i}].oppKey", reason=f"no processed file for {key}") from None
            counts["resubmissions"] = counts.get("resubmissions", 0) + 1
        self.processor.arrived()
        return counts

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection == "opportunities":
            return self.model.opportunity(tenant, key)
        if collection == "files":
            file_id = bounds.ascii_int(key)  # "²".isdigit() is true; int("²") is a ValueError
            return self.model.file(tenant, file_id) if file_id is not None else None
        if collection == "queue":
            return {"locations": self.model.counts(tenant)}
        if collection == "daemon":
            return {"rejections": self.model.daemon_rejections(tenant)}
        raise NotFound(message=f"unknown state collection '{collection}' (tis has opportunities, files, queue, "
                               "daemon)")


def run_worker(settings: Settings, stop: threading.Event | None = None) -> int:
    """``examrig worker tis``: the processing service in its own process, until ``stop`` is set (or forever)."""
    runtime = Runtime.create(settings)
    service = Service(runtime, {"worker": False})
    service.processor.recover()
    service.processor.listen()  # PostgreSQL: woken by the receivers' notifications, the poll only a fallback
    event = stop or threading.Event()
    interval = float(service.options.get("poll_interval", 0.05))
    next_recovery = time.monotonic() + service.processor.lease
    while not event.is_set():
        if time.monotonic() >= next_recovery:  # what a processor that died left, once its lease ran out
            next_recovery = time.monotonic() + service.processor.lease
            service.processor.recover()
        if service.processor.process_pending(None, 100) == 0:
            service.processor.idle(interval)
    service.processor.stop()
    runtime.store.dispose()
    return 0
