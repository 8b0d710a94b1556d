"""The pytest plugin ``examrig check`` loads (``-p conformance.plugin``): one JSON record per scenario.

It turns each pytest-bdd scenario's reports (setup, call, teardown) into the raw material of a
verdict: the outcome (passed, failed, error, unsupported, skipped), the failing step and its
assertion text, the undefined step if any, the HTTP exchanges the scenario made through
``rig.session`` (each with a ``curl`` line), the seed, the steps as pytest-bdd timed them. The
classification happens where the exception is (``pytest_runtest_makereport``, on an xdist worker
when ``--jobs`` is used) and travels in ``report.user_properties``, which xdist serialises; only the
controller writes the file, one line per scenario as it finishes, so a run cut short by Ctrl-C
leaves every finished scenario on disk.

The plugin also bounds every request a scenario makes (``--examrig-request-timeout``) so a target
that hangs yields an ``error`` verdict instead of a hung run, and selects scenarios by requirement
(``--examrig-requirement ID``, repeatable).
"""

from __future__ import annotations

import contextlib
import json
import math
import shlex
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from conformance.outcomes import UNSUPPORTED_PREFIX, HarnessError, is_unsupported

BODY_LIMIT = 4000
EXCHANGE_LIMIT = 50
RECORD_KEY = "examrig"
_NOT_REPLAYED = {"content-length", "accept-encoding", "connection", "user-agent", "accept"}

_exchanges_key = pytest.StashKey[list[dict[str, Any]]]()
_step_key = pytest.StashKey[str]()
_undefined_key = pytest.StashKey[str]()
_rig_key = pytest.StashKey[dict[str, Any]]()
_peers_key = pytest.StashKey[tuple[Any, str]]()
JOURNAL_LIMIT = 20


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("examrig check")
    group.addoption("--examrig-check-out", metavar="FILE", default=None,
                    help="write one JSON record per scenario to FILE (used by examrig check)")
    group.addoption("--examrig-requirement", action="append", default=[], metavar="ID",
                    help="run only the scenarios that claim requirement ID (repeatable)")
    group.addoption("--examrig-request-timeout", type=float, default=10.0, metavar="SECONDS",
                    help="upper bound of every request a scenario makes (default 10 s)")
    group.addoption("--examrig-seed", type=int, default=None, metavar="S",
                    help="seed of the rig's ids and fault decisions")


class _Capture:
    """The exchanges of the scenario running in this process (one scenario at a time per process)."""

    def __init__(self) -> None:
        self.current: list[dict[str, Any]] | None = None
        self.lock = threading.Lock()


_CAPTURE = _Capture()


def pytest_configure(config: pytest.Config) -> None:
    seed = config.getoption("--examrig-seed")
    if seed is not None:
        # the corpus's rig fixture builds Rig(mode, targets) and leaves the seed at its default;
        # moving the default is the one way to seed it without editing the corpus
        import inspect

        from conformance.targets import Rig
        defaults = list(Rig.__init__.__defaults__ or ())
        with_defaults = [p.name for p in inspect.signature(Rig.__init__).parameters.values()
                         if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
        if "seed" in with_defaults and len(with_defaults) == len(defaults):
            defaults[with_defaults.index("seed")] = seed
            Rig.__init__.__defaults__ = tuple(defaults)
        else:  # pragma: no cover - Rig changed its signature
            raise pytest.UsageError("--examrig-seed: conformance.targets.Rig takes no seed default any more")
    out = config.getoption("--examrig-check-out")
    if out and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Writer(Path(out)), "examrig-check-writer")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("--examrig-requirement"))
    if not wanted:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        claimed = {str(m.args[0]) for m in item.iter_markers("req") if m.args}
        (keep if claimed & wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _examrig_exchanges(request: pytest.FixtureRequest) -> Iterator[None]:
    """Record the scenario's requests through ``rig.session`` (scenarios only: items with a ``rig``)."""
    if "rig" not in request.fixturenames and not _is_scenario(request.node):
        yield
        return
    try:
        rig = request.getfixturevalue("rig")
    except pytest.FixtureLookupError:  # a corpus without examrig's rig: nothing to instrument
        yield
        return
    _instrument(rig, request.config.getoption("--examrig-request-timeout"))
    exchanges: list[dict[str, Any]] = []
    request.node.stash[_exchanges_key] = exchanges
    request.node.stash[_rig_key] = {
        "seed": getattr(getattr(getattr(rig, "runtime", None), "settings", None), "seed", None),
        "targets": sorted(getattr(rig, "targets", {}))}
    if getattr(rig, "targets", None):
        # the scenario's tenant (the same value its steps get) to read the peers' journals on a non-pass
        with contextlib.suppress(pytest.FixtureLookupError):
            request.node.stash[_peers_key] = (rig, str(request.getfixturevalue("tenant")))
    _CAPTURE.current = exchanges
    try:
        yield
    finally:
        _CAPTURE.current = None


def _is_scenario(item: Any) -> bool:
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:  # pragma: no cover - pytest-bdd moved its registry
        return False
    return getattr(item, "function", None) in scenario_wrapper_template_registry


def _instrument(rig: Any, timeout: float) -> None:
    """Wrap ``rig.session.send`` once: bound the timeout, record request and answer or error."""
    session = getattr(rig, "session", None)
    if session is None or getattr(session, "_examrig_instrumented", False):
        return
    original = session.send
    urls: dict[str, str] = dict(getattr(rig, "urls", {}))

    def send(prepared: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        given = kwargs.get("timeout")
        if given is None or (isinstance(given, (int, float)) and given > timeout):
            kwargs["timeout"] = timeout
        record = _request_record(prepared, urls)
        try:
            response: requests.Response = original(prepared, **kwargs)
        except requests.RequestException as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            _keep(record)
            raise
        record["status"] = response.status_code
        record["response_headers"] = dict(response.headers)
        record["response_body"] = _text(response.content)
        _keep(record)
        return response

    session.send = send
    session._examrig_instrumented = True


def _keep(record: dict[str, Any]) -> None:
    with _CAPTURE.lock:
        if _CAPTURE.current is not None and len(_CAPTURE.current) < EXCHANGE_LIMIT:
            _CAPTURE.current.append(record)


def _text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"… ({len(text) - BODY_LIMIT} more characters)"


def _request_record(prepared: requests.PreparedRequest, urls: dict[str, str]) -> dict[str, Any]:
    url = prepared.url or ""
    service = next((name for name, base in urls.items() if url.startswith(base)), "")
    body = prepared.body if isinstance(prepared.body, (bytes, str)) else None
    headers = dict(prepared.headers)
    return {"method": prepared.method or "GET", "url": url, "service": service,
            "request_headers": headers, "request_body": _text(body), "status": None,
            "response_headers": {}, "response_body": "", "error": "",
            "curl": curl_line(prepared.method or "GET", url, headers, body)}


def curl_line(method: str, url: str, headers: dict[str, str], body: bytes | str | None) -> str:
    """A shell line that replays the request with curl (in-process URLs need the mock served)."""
    parts = ["curl", "-sS", "-i", "-X", method, url]
    for name, value in headers.items():
        if name.lower() not in _NOT_REPLAYED:
            parts += ["-H", f"{name}: {value}"]
    if body:
        parts += ["--data-binary", body.decode("utf-8", "replace") if isinstance(body, bytes) else body]
    line = " ".join(shlex.quote(p) for p in parts)
    if ".examrig.internal" in url:
        line += "  # in-process URL: serve the mock (examrig serve) and use its address"
    return line


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: Exception) -> None:
    request.node.stash[_step_key] = f"{step.keyword} {step.name}".strip()


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                                      exception: Exception) -> None:
    text = f"{step.keyword} {step.name}".strip()
    request.node.stash[_step_key] = text
    request.node.stash[_undefined_key] = text


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not item.config.getoption("--examrig-check-out"):
        return
    data: dict[str, Any] = {"when": call.when, **_classify(call, report)}
    if data["kind"] in ("failed", "error") and _peers_key in item.stash:
        data["journal"] = _peer_journal(*item.stash[_peers_key])
    if call.when == "teardown":
        data["scenario"] = _scenario_data(item)
    report.user_properties.append((RECORD_KEY, data))


def _peer_journal(rig: Any, tenant: str) -> list[dict[str, Any]]:
    """What examrig's mocks, playing the target's peers, journaled in the scenario's tenant.

    These are the target's own calls to its peers and the peers' calls to it, which the scenario's
    requests (recorded by :func:`_instrument`) do not show. Read from the journals directly, not over
    the admin door, so reading them adds no exchange of its own.
    """
    out: list[dict[str, Any]] = []
    for name, app in getattr(rig, "apps", {}).items():
        try:
            window = app.journal.query(tenant=tenant)
        except Exception:  # evidence is best effort: a journal that cannot be read must not hide the verdict
            continue
        for entry in window.entries[-JOURNAL_LIMIT:]:
            headers = dict(entry.request_headers or {})
            out.append({"method": entry.method, "url": entry.url, "service": f"{name} journal ({entry.direction})",
                        "request_headers": headers, "request_body": _text(entry.request_body),
                        "status": entry.status, "response_headers": dict(entry.response_headers or {}),
                        "response_body": _text(entry.response_body), "error": entry.error or "",
                        "curl": curl_line(entry.method, entry.url, headers, entry.request_body or None)})
    return out[-JOURNAL_LIMIT:]


def _classify(call: pytest.CallInfo[None], report: pytest.TestReport) -> dict[str, Any]:
    """What this phase saw: ``kind`` one of passed, failed, error, unsupported, skipped."""
    if report.passed and not hasattr(report, "wasxfail"):
        return {"kind": "passed"}
    excinfo = call.excinfo
    if report.skipped:
        reason = getattr(report, "wasxfail", "") or (str(excinfo.value) if excinfo is not None else "")
        if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            reason = str(report.longrepr[2])
        if is_unsupported(reason):
            reason = reason[reason.index(UNSUPPORTED_PREFIX) + len(UNSUPPORTED_PREFIX):]
            return {"kind": "unsupported", "message": reason}
        return {"kind": "skipped", "message": reason}
    if excinfo is None:  # pragma: no cover - a failed report always carries its exception
        return {"kind": "error", "message": str(report.longrepr)}
    exc = excinfo.value
    name = type(exc).__name__
    text = _exc_text(exc)
    if isinstance(exc, AssertionError) and call.when == "call":
        return {"kind": "failed", "type": name, "message": text}
    if isinstance(exc, HarnessError):
        return {"kind": "error", "type": name, "message": text}
    if isinstance(exc, requests.Timeout):
        return {"kind": "error", "type": name, "message": f"the target did not answer in time: {text}"}
    if isinstance(exc, requests.ConnectionError):
        return {"kind": "error", "type": name, "message": f"connection to the target failed: {text}"}
    if name == "StepDefinitionNotFoundError":
        return {"kind": "error", "type": name, "message": text, "undefined": True}
    return {"kind": "error", "type": name, "message": f"{name}: {text}"}


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"


def _scenario_data(item: pytest.Item) -> dict[str, Any]:
    data: dict[str, Any] = {
        "nodeid": item.nodeid,
        "requirements": sorted({str(m.args[0]) for m in item.iter_markers("req") if m.args}),
        "failed_step": item.stash.get(_step_key, ""),
        "undefined_step": item.stash.get(_undefined_key, ""),
        "exchanges": item.stash.get(_exchanges_key, []),
        "path": str(item.path),
    }
    try:
        from pytest_bdd.reporting import scenario_reports_registry
        report = scenario_reports_registry.get(item)
        if report is not None:
            data["bdd"] = report.serialize()
            data["all_steps"] = [(st.keyword, st.name, st.line_number) for st in report.scenario.steps]
    except ImportError:  # pragma: no cover - pytest-bdd moved its reporting module
        pass
    if "bdd" not in data:
        data.update(_template_data(item))
    rig_data: dict[str, Any] = item.stash.get(_rig_key, {})
    data.update(rig_data)
    return data


def _template_data(item: pytest.Item) -> dict[str, Any]:
    """The scenario's name, tags and steps when it never started (skipped or broken in setup).

    pytest-bdd reports a scenario only once its first step ran; a scenario that a fixture made
    ``unsupported`` still deserves its name, tags and (skipped) steps in the reports.
    """
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:  # pragma: no cover - pytest-bdd moved its registry
        return {}
    function = getattr(item, "function", None)
    template = scenario_wrapper_template_registry.get(function) if function is not None else None
    if template is None:
        return {}
    scenario: Any = template
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example") if callspec is not None else None
    with contextlib.suppress(Exception):  # an outline's row fills its steps' placeholders
        scenario = template.render(example or {})
    feature = template.feature
    return {"bdd": {"name": template.name, "line_number": template.line_number, "tags": sorted(template.tags),
                    "steps": [], "feature": {"name": feature.name, "rel_filename": feature.rel_filename}},
            "all_steps": [(st.keyword, st.name, st.line_number) for st in scenario.steps]}


class _Writer:
    """On the controller: merges each scenario's phase records and appends one line per scenario."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.phases: dict[str, list[dict[str, Any]]] = {}
        self.fh: IO[str] = path.open("a", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        self.fh.write(json.dumps(record, default=str) + "\n")
        self.fh.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._write({"type": "collected", "count": len(session.items)})

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self._write({"type": "collect-error", "nodeid": report.nodeid, "message": (text or [""])[-1]})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        records: list[dict[str, Any]] = [value for key, value in report.user_properties
                                         if key == RECORD_KEY and isinstance(value, dict)]
        if not records:
            return
        phases = self.phases.setdefault(report.nodeid, [])
        phases.append({**records[-1], "duration": report.duration})
        if report.when == "teardown":
            self._write(_merge(report.nodeid, self.phases.pop(report.nodeid)))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._write({"type": "finished", "exitstatus": int(exitstatus)})
        self.fh.close()


def _merge(nodeid: str, phases: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario from its phases: the first phase that did not pass decides, a teardown error spoils a pass."""
    scenario: dict[str, Any] = next((p["scenario"] for p in phases if p.get("scenario")), {"nodeid": nodeid})
    decisive = next((p for p in phases if p["kind"] != "passed"), None)
    kind = decisive["kind"] if decisive else "passed"
    record: dict[str, Any] = {"type": "scenario", **scenario, "outcome": kind,
                              "duration": math.fsum(p.get("duration", 0.0) for p in phases)}
    if not decisive:
        record["exchanges"] = []  # evidence is for the non-passes; a pass's exchanges would only bloat the reports
    if decisive:
        record["exchanges"] = [*record.get("exchanges", []), *decisive.get("journal", [])]
        record["message"] = decisive.get("message", "")
        record["phase"] = decisive["when"]
        record["undefined"] = bool(decisive.get("undefined"))
    return record


__all__ = ["curl_line"]
