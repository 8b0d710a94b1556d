"""What every actor shares: where the services are, the tenant, seeded data, unique ids, response checks.

Configuration: locust custom arguments (``--examrig-targets``, ``--examrig-tenant``, ``--examrig-seed``,
``--examrig-run``; a master sends them to its workers), else the environment: ``EXAMRIG_TARGET_<SERVICE>``
(one base URL or several, comma-separated; each simulated user keeps one), ``EXAMRIG_LOAD_TENANT``,
``EXAMRIG_LOAD_SEED`` and ``EXAMRIG_LOAD_RUN`` (a run id that keeps ids unique across runs against
one database). Code here speaks HTTP only; payloads come from the ``contracts`` generators.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``locust -f loadtests/locustfile.py`` puts only loadtests/ on the path
    sys.path.insert(0, str(ROOT))

# examrig's default ports (README "Services and ports"), used when no target is given
DEFAULT_PORTS = {"deliveryodata": 8600, "proctoru": 8601, "tis": 8602, "thss": 8603, "tds": 8604, "dw": 8605,
                 "openam": 8606}
TENANT_HEADER = "X-Examrig-Tenant"
CUSTOMER = os.environ.get("EXAMRIG_LOAD_DOD_CUSTOMER", "400449")
DOD_USER = os.environ.get("EXAMRIG_LOAD_DOD_USER", "examrig")
DOD_PASSWORD = os.environ.get("EXAMRIG_LOAD_DOD_PASSWORD", "examrig")
PU_TOKEN = os.environ.get("EXAMRIG_LOAD_PU_TOKEN", "e7a1c0de-0000-4000-8000-000000000001")
# the openam mock's built-in client and warehouse loader (docs/openam.md)
OAM_CLIENT = os.environ.get("EXAMRIG_LOAD_OAM_CLIENT", "examrig:examrig-secret")
OAM_LOADER = os.environ.get("EXAMRIG_LOAD_OAM_LOADER", "dw-loader@example.org:password")
#: how long an actor waits for an asynchronous outcome (an ack at tds, work at thss) before failing it
ASYNC_TIMEOUT = float(os.environ.get("EXAMRIG_LOAD_ASYNC_TIMEOUT", "60"))


#: locust's parsed options, set by the locustfile at init: a master's ``--examrig-*`` arguments reach every
#: worker with each spawn message, so workers on other hosts need only the profile
OPTIONS: Any = None


def _setting(attr: str, env: str, default: str) -> str:
    value = getattr(OPTIONS, attr, None) if OPTIONS is not None else None
    return str(value) if value not in (None, "") else os.environ.get(env, default)


def targets(service: str) -> list[str]:
    """The base URLs of ``service``: ``--examrig-targets 'svc=url,url;svc=url'``, else ``EXAMRIG_TARGET_<SERVICE>``
    (comma-separated), else examrig's default port on loopback."""
    for part in _setting("examrig_targets", "EXAMRIG_LOAD_TARGETS", "").split(";"):
        name, _, urls = part.partition("=")
        if name.strip() == service and urls.strip():
            return [u.strip().rstrip("/") for u in urls.split(",") if u.strip()]
    raw = os.environ.get(f"EXAMRIG_TARGET_{service.upper()}", "")
    found = [u.strip().rstrip("/") for u in raw.split(",") if u.strip()]
    return found or [f"http://127.0.0.1:{DEFAULT_PORTS[service]}"]


def tenant() -> str:
    """The examrig tenant of the run (every request carries it; a system that is not examrig ignores it)."""
    return _setting("examrig_tenant", "EXAMRIG_LOAD_TENANT", "load")


def seed() -> int:
    """The run's seed for generated data."""
    return int(_setting("examrig_seed", "EXAMRIG_LOAD_SEED", "1"))


def run_id() -> str:
    """A short id of this run, part of every external id so that runs against one database never collide."""
    return _setting("examrig_run", "EXAMRIG_LOAD_RUN", "") or f"r{int(time.time()) % 10**8}"


_users = itertools.count()


def next_user_index() -> int:
    """A process-wide counter of simulated users (several per process, one greenlet each)."""
    return next(_users)


def process_tag(environment: Any) -> str:
    """Distinguishes this process among the workers of a distributed run (locust's worker index)."""
    index = getattr(environment.runner, "worker_index", None)
    return f"w{index}" if index is not None else f"p{os.getpid()}"


def pick_host(service: str, index: int) -> str:
    """One base URL of ``service`` for the user number ``index`` (users spread evenly over the URLs)."""
    urls = targets(service)
    return urls[index % len(urls)]


class Ids:
    """Unique, readable ids for one simulated user: ``<run>-<process>-<user>-<n>``."""

    def __init__(self, environment: Any, index: int) -> None:
        self.prefix = f"{run_id()}-{process_tag(environment)}-{index}"
        self._n = itertools.count(1)
        self.rng = random.Random(f"{seed()}:{self.prefix}")

    def next(self, what: str) -> str:
        """A fresh id for ``what`` (e.g. ``att``)."""
        return f"{self.prefix}-{what}{next(self._n)}"

    def uuid(self) -> str:
        """A random UUID (version 4 layout) from the user's seeded stream."""
        n = self.rng.getrandbits(128)
        n = (n & ~(0xF000 << 64)) | (4 << 76)
        n = (n & ~(0xC000 << 48)) | (0x8000 << 48)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def participants() -> list[dict[str, Any]]:
    """Participants every process derives from the run's seed (the same ones ``prepare`` seeds), none blocked."""
    return _participants(seed())


@lru_cache(maxsize=4)
def _participants(run_seed: int) -> list[dict[str, Any]]:
    from contracts.generate import generate_participants
    people = generate_participants(run_seed, 40)
    return [p for p in people if not p["Blocked"]]


def json_of(response: Any) -> Any:
    """The response body as JSON, or None when it is not JSON (so a check fails instead of raising)."""
    try:
        return json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def check(response: Any, status: int | tuple[int, ...], rule: str | None = None, ok: bool = True) -> bool:
    """Mark a ``catch_response`` response: the status, then the rule that matters (``ok``), else a failure.

    The failure text names what was wrong, so locust's failure table groups wrong answers by cause.
    """
    expected = (status,) if isinstance(status, int) else status
    if response.status_code not in expected:
        body = (response.content or b"")[:160].decode("utf-8", "replace")
        response.failure(f"status {response.status_code}, expected {'/'.join(map(str, expected))}: {body}")
        return False
    if not ok:
        response.failure(rule or "wrong answer")
        return False
    response.success()
    return True


def relative(url: str) -> str:
    """The path and query of an absolute URL (a signed URL minted with the server's own idea of its host)."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def poll(interval: float, timeout: float = ASYNC_TIMEOUT) -> Iterator[int]:
    """Attempt numbers until ``timeout`` seconds have passed, sleeping ``interval`` between them (gevent-friendly)."""
    import gevent
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        yield attempt
        attempt += 1
        if time.monotonic() >= deadline:
            return
        gevent.sleep(interval)
