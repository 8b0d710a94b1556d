"""The thss mock: uploads, item configuration, a work queue scored by policy or admin API, callbacks to TIS."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import requests
from sqlalchemy import Table
from werkzeug.routing import Rule

from mocks.core import sabotage
from mocks.core.app import Runtime, ServiceApp, View
from mocks.core.errors import InvalidSeed, NotFound
from mocks.thss.errors import render_webapi_error
from mocks.thss.models import Delivery, InputError, Thss
from mocks.thss.pages.urls import ROUTES as PAGE_ROUTES
from mocks.thss.urls import ADMIN_ROUTES, ROUTES

log = logging.getLogger("examrig.thss")


class Service(ServiceApp):
    """THSS's ``/api/test/submit`` and ``/api/item/submit``; scored work goes to each upload's callbackUrl.

    A background worker (``start``/``stop``) scores due policy work every ``poll_interval``
    seconds of real time; "due" is judged on each tenant's injected clock, so a frozen clock
    holds delayed work until it is advanced. ``POST /_examrig/run`` does one pass at once.
    A pass posts up to ``callback_concurrency`` (default 4) callbacks at once: each scored
    response is still posted once, by the pass that claimed it.
    """

    name = "thss"
    declared_options = frozenset({"policies", "profile", "poll_interval", "callback_concurrency"})
    error_renderer = staticmethod(render_webapi_error)

    def __init__(self, runtime: Runtime, options: dict[str, Any] | None = None) -> None:
        super().__init__(runtime, options)
        self.model.upgrade()

    def define_tables(self) -> list[Table]:
        self.model = Thss(self.store, self.clock, self.ids, self.options)
        self.poll_interval = float(self.options.get("poll_interval", 0.2))
        self._pass_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        concurrency = self.options.get("callback_concurrency", 4)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InputError("callback_concurrency", "must be a positive integer")
        self._senders = ThreadPoolExecutor(concurrency, "thss-callback") if concurrency > 1 else None
        return self.model.tables

    def routes(self) -> list[tuple[Rule, View]]:
        return [*ROUTES, *PAGE_ROUTES]  # the teacher pages: mocks/thss/pages/

    def admin_routes(self) -> list[tuple[Rule, View]]:
        return list(ADMIN_ROUTES)

    # -- delivery ------------------------------------------------------------------------

    def deliver(self, delivery: Delivery) -> str:
        """POST one ItemScoreResponse to its callbackUrl (never inside a transaction); record the outcome."""
        return self.model.finish(delivery, *self._post(delivery))

    def _post(self, delivery: Delivery) -> tuple[int | None, str | None]:
        """POST one ItemScoreResponse; the answer's status (``None`` if unreachable) and an error text."""
        status: int | None = None
        error: str | None = None
        try:
            response = self.outbound.request("POST", delivery.url, tenant=delivery.tenant, peer="tis",
                                             data=delivery.body, headers={"Content-Type": delivery.content_type})
            status = response.status_code
            if not 200 <= status < 300:
                error = "callback failed" if sabotage.on("thss.callback-error-unworded") else f"callback answered {status}"  # noqa: E501
        except requests.RequestException as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return status, error

    def run_due(self, tenant: str | None = None) -> int:
        """One pass over due policy work (of one tenant or all); returns how many were sent or failed.

        The pass reads the due rows once, claims them (scored, marked ``sending``) in one transaction, posts
        them (up to ``callback_concurrency`` at once) and records every outcome in one transaction when the
        posts are answered: three transactions per pass, whatever the number of callbacks.
        """
        with self._pass_lock:
            rows = [r for r in self.model.due_rows() if tenant is None or r["tenant"] == tenant]
            deliveries = self.model.claim_policies(rows)  # claimed (marked 'sending') here, once
            outcomes: list[tuple[Delivery, int | None, str | None]] = []
            failure: BaseException | None = None
            if self._senders is None:
                for delivery in deliveries:
                    try:
                        outcomes.append((delivery, *self._post(delivery)))
                    except Exception as exc:  # recorded below for the others; the pass then fails
                        failure = failure or exc
            else:
                sending = [(d, self._senders.submit(self._post, d)) for d in deliveries]
                wait([f for _, f in sending])  # the pass ends when its posts are answered and recorded
                for delivery, future in sending:
                    raised = future.exception()
                    if raised is None:
                        outcomes.append((delivery, *future.result()))
                    else:
                        failure = failure or raised
            if outcomes:
                self.model.finish_many(outcomes)
            if failure is not None:
                raise failure  # a post that raised fails the pass, as a serial one would
        return len(deliveries)

    def start(self) -> None:
        if self._worker is not None or self.poll_interval <= 0:
            return
        self._stop.clear()
        self._worker = threading.Thread(target=self._loop, name="thss-policy-worker", daemon=True)
        self._worker.start()

    def wake(self) -> None:
        """Look for due work now (an upload was queued) instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
            self._worker = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)  # an upload wakes the worker; delayed work is found by the poll
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.run_due()
            except Exception:  # the worker must outlive one bad pass; the error is logged
                log.exception("thss policy pass failed")

    # -- admin hooks ---------------------------------------------------------------------

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        unknown = set(payload) - {"items", "policies", "settings"}
        if unknown:
            raise InvalidSeed(field=sorted(unknown)[0],
                              reason="unknown seed collection (thss takes 'items', 'policies', 'settings')")
        counts: dict[str, int] = {}
        try:
            if "items" in payload:
                counts["items"] = self.model.submit_items(tenant, payload["items"])
            if "policies" in payload:
                counts["policies"] = self.model.set_policies(tenant, payload["policies"])
            if "settings" in payload:
                counts["settings"] = self.model.set_settings(tenant, payload["settings"])
        except InputError as exc:
            raise InvalidSeed(field=exc.field, reason=exc.reason) from None
        return counts

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection == "queue":
            rows = self.model.queue(tenant)
            if key != "all":
                rows = [r for r in rows if r["oppKey"] == key.lower() or r["id"] == key]
            return {"assignments": rows}
        if collection == "callbacks":
            return {"callbacks": self.model.callback_log(tenant)}
        if collection == "uploads":
            return {"uploads": self.model.upload_log(tenant)}
        if collection == "policies":
            return self.model.policy(tenant, key).to_dict()
        raise NotFound(message=f"unknown state collection '{collection}' (thss has queue, callbacks, uploads, "
                               "policies)")
