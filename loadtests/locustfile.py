"""examrig's load profiles for locust: ``locust -f loadtests/locustfile.py`` or ``examrig load PROFILE``.

``EXAMRIG_LOAD_PROFILE`` (default ``smoke``; the profiles are in ``profiles.json``) chooses the actors and
their weights, ``EXAMRIG_LOAD_SHAPE`` (``ramp``, ``step``, ``spike``, ``soak``, ``exam-window``, ``none``)
overrides the profile's shape; ``none`` leaves ``-u``/``-r``/``-t`` in charge. ``EXAMRIG_TARGET_<SERVICE>``
names the services (comma-separated for several base URLs of one service). Before the run, the
master (or the single process) prepares what the actors need: the seed data at examrig's own mocks
(only where ``/_examrig/health`` answers), the test packages at TIS and the item configuration at THSS
through their real APIs. At the end it writes locust's statistics to ``EXAMRIG_LOAD_STATS`` when set,
which ``examrig load`` reads for its thresholds and summary.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from locust import events
from locust.runners import WorkerRunner

from loadtests import shapes
from loadtests.users import deliveryodata, proctoru, scoring

log = logging.getLogger("examrig.load")
PROFILES: dict[str, Any] = json.loads((Path(__file__).with_name("profiles.json")).read_text())
ACTORS: dict[str, Any] = {
    "CandidatePortal": deliveryodata.CandidatePortal, "Proctor": deliveryodata.Proctor,
    "AttemptListSupervisor": deliveryodata.AttemptListSupervisor, "LmsScheduler": proctoru.LmsScheduler,
    "TdsSender": scoring.TdsSender, "HandScorer": scoring.HandScorer, "WarehouseImporter": scoring.WarehouseImporter,
}

PROFILE = os.environ.get("EXAMRIG_LOAD_PROFILE", "smoke")
if PROFILE not in PROFILES:
    raise SystemExit(f"examrig load: unknown profile '{PROFILE}' (profiles: {', '.join(PROFILES)})")
SHAPE = os.environ.get("EXAMRIG_LOAD_SHAPE") or PROFILES[PROFILE]["shape"] or "none"
if SHAPE != "none" and SHAPE not in shapes.SHAPES:
    raise SystemExit(f"examrig load: unknown shape '{SHAPE}' (shapes: {', '.join(shapes.SHAPES)}, none)")

# locust runs the non-abstract User classes and the one LoadTestShape found in this module's namespace
for _name, _weight in PROFILES[PROFILE]["users"].items():
    ACTORS[_name].weight = _weight
    globals()[_name] = ACTORS[_name]
if SHAPE != "none":
    globals()[shapes.SHAPES[SHAPE].__name__] = shapes.SHAPES[SHAPE]


def _warm() -> None:
    """Generate the actors' data now, on import: a worker that did it at its first spawn blocked its event loop
    for seconds (faker, lxml), missed its heartbeats and the master stopped the run. With ``--processes`` the
    forked workers inherit it. Keyed by seed: a master sending another ``--examrig-seed`` makes it again."""
    actors = set(PROFILES[PROFILE]["users"])
    if actors & {"CandidatePortal", "Proctor", "AttemptListSupervisor", "LmsScheduler"}:
        from loadtests.common import participants
        participants()
    if actors & {"TdsSender", "HandScorer"}:
        scoring.templates("machine")
        scoring.templates("hand")
        scoring.hand_items()
    if "WarehouseImporter" in actors:
        scoring.templates("scored")


_warm()


def _is_examrig(session: Any, url: str) -> bool:
    try:
        return bool(session.get(f"{url}/_examrig/health", timeout=10).status_code == 200)
    except Exception:
        return False


def prepare(session: Any) -> None:
    """What the profile's actors rely on being there; raises RuntimeError naming what was refused."""
    from loadtests.common import TENANT_HEADER, targets, tenant
    headers = {TENANT_HEADER: tenant()}
    actors = set(PROFILES[PROFILE]["users"])

    def ok(response: Any, *statuses: int) -> None:
        if response.status_code not in statuses:
            raise RuntimeError(f"{response.request.method} {response.url}: {response.status_code} "
                               f"{response.text[:200]}")

    if actors & {"CandidatePortal", "Proctor", "AttemptListSupervisor"}:
        for url in targets("deliveryodata"):
            if _is_examrig(session, url):
                ok(session.post(f"{url}/_examrig/seed", json=deliveryodata.seed_body(), headers=headers, timeout=60),
                   201)
    if actors & {"TdsSender", "HandScorer"}:
        for url in targets("thss"):
            ok(session.post(f"{url}/api/item/submit", json=scoring.hand_items(), headers=headers, timeout=60), 200)
    if "TdsSender" in actors:
        for url in targets("tis"):
            for hand in (False, True):
                ok(session.post(f"{url}/api/testpackage", data=scoring.package(hand),
                                headers={**headers, "Content-Type": "application/xml"}, timeout=120), 201)


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--examrig-targets", default="", include_in_web_ui=False,
                        help="service base URLs: 'deliveryodata=http://h:8600,http://h2:8600;tis=http://h:8602'")
    parser.add_argument("--examrig-tenant", default="", include_in_web_ui=False, help="examrig tenant (load)")
    parser.add_argument("--examrig-seed", default="", include_in_web_ui=False, help="seed of generated data (1)")
    parser.add_argument("--examrig-run", default="", include_in_web_ui=False, help="run id in every external id")


@events.init.add_listener
def _on_init(environment: Any, **_kwargs: Any) -> None:
    from loadtests import common
    common.OPTIONS = environment.parsed_options
    # once, before any user spawns: in the master (or the single process), never in a worker
    if isinstance(environment.runner, WorkerRunner) or os.environ.get("EXAMRIG_LOAD_PREPARE", "1") == "0":
        return
    import requests
    try:
        with requests.Session() as session:
            prepare(session)
    except Exception as exc:  # nothing useful can be measured: exit 3 (infrastructure) before any user starts
        log.error("examrig load: preparing the targets failed: %s", exc)
        raise SystemExit(3) from None


PEAK = {"users": 0, "workers": 0}


@events.spawning_complete.add_listener
def _on_spawned(user_count: int, **_kwargs: Any) -> None:
    PEAK["users"] = max(PEAK["users"], user_count)


@events.test_start.add_listener
def _on_start(environment: Any, **_kwargs: Any) -> None:
    # the workers connected when the test started (at the end they may already have left)
    PEAK["workers"] = max(PEAK["workers"], int(getattr(environment.runner, "worker_count", 0) or 0))


def _final_csv(environment: Any, prefix: str) -> None:
    """Rewrite ``<prefix>_stats.csv`` and ``_failures.csv`` from the final statistics.

    locust's CSV writer rewrites them once a second and never after the last requests, so without this
    the file lags the run's end (by 10 % of a 6 s run here) and disagrees with the HTML report. The new
    files replace the old ones by rename: the writer's late writes, if any, go to the old inode.
    """
    import csv

    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (("_stats.csv", writer.requests_csv), ("_failures.csv", writer.failures_csv)):
        target = Path(prefix + suffix)
        temporary = target.with_name(target.name + ".final")
        with temporary.open("w", newline="") as handle:
            write(csv.writer(handle))
        os.replace(temporary, target)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        _final_csv(environment, prefix)
    path = os.environ.get("EXAMRIG_LOAD_STATS")
    if not path:
        return
    stats = environment.runner.stats
    # serialize(), not serialize_stats(): the latter resets every entry (it is what a worker sends)
    entries = [e.serialize() for e in stats.entries.values() if e.num_requests or e.num_failures]
    document = {"entries": entries, "errors": stats.serialize_errors(), "peak_users": PEAK["users"],
                "workers": PEAK["workers"] or None,
                "profile": PROFILE, "shape": SHAPE}
    Path(path).write_text(json.dumps(document))
