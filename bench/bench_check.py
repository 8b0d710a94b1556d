"""What ``examrig check`` costs over plain pytest on the same scenarios, and what writing its reports costs.

Usage: ``PYTHONPATH=$PWD python bench/bench_check.py [--modes inprocess,http] [--jobs 2] [SERVICE ...]``

For each mode it runs, in this one process's wall clock and back to back, plain
``python -m pytest features/...`` (the baseline) and ``examrig check`` over the same directories,
and prints the ratio check/pytest (target at most 1.5x). ``--jobs N`` adds a check run with
pytest-xdist. Then it rebuilds the run from the last check's per-scenario records and times writing
all five reports, once for the corpus and once for a synthetic run of 400 requirements and 800
scenarios, a fifth of them with evidence (target under 2 s). Last, it opens that synthetic run's
``report.html`` in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright, never a
downloaded browser) several rounds and prints the median and max time until the page has loaded and the
matrix's script has run (it fills ``#f-count``, shows the matrix, lays it out and marks the time), on this
process's clock and on the page's own, against the same page without its script (its matrix shown from
the start), opened the same way in the same run (target under 1 s). ``--modes ""`` skips the corpus
runs. Figures vary with the machine's load; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance import check  # noqa: E402
from conformance.catalogue import load  # noqa: E402
from conformance.verdicts import Exchange, ReqInfo, Run, ScenarioResult, Step, aggregate  # noqa: E402


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and exit code of ``cmd`` run from the checkout (the tail of its output when it fails)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        print("  " + "\n  ".join(done.stdout.strip().splitlines()[-12:]), flush=True)
    return took, done.returncode


def rebuild(run_dir: Path) -> Run:
    """The run as ``examrig check`` built it, from its scenarios.jsonl."""
    records = check._read_records(run_dir / "scenarios.jsonl")
    run = Run(started="2026-01-01T00:00:00+00:00")
    run.scenarios = [check._scenario(r, {}, check.FEATURES) for r in records if r.get("type") == "scenario"]
    aggregate(run, {rid: ReqInfo.of(req) for rid, req in load().items()}, {})
    return run


def synthetic(requirements: int = 400, scenarios: int = 800) -> Run:
    """A run bigger than the corpus: every fifth scenario fails with ten exchanges of evidence."""
    catalogue = {f"SYN-R-{n:03d}": ReqInfo(f"SYN-R-{n:03d}", f"svc{n % 7}", ("MUST", "SHOULD", "MAY")[n % 3],
                                           title=f"requirement {n}", source="spec.md", section=f"{n}.1")
                 for n in range(requirements)}
    ids = list(catalogue)
    run = Run(started="2026-01-01T00:00:00+00:00")
    for n in range(scenarios):
        failing = n % 5 == 0
        exchanges = [Exchange(method="POST", url=f"http://target/api/{i}", request_body='{"a": 1}' * 20,
                              status=500, response_body="<html>oops</html>" * 20, curl="curl -X POST http://target")
                     for i in range(10)] if failing else []
        run.scenarios.append(ScenarioResult(
            id=f"features/svc/test.py::test_{n}", name=f"scenario {n}", service=f"svc{n % 7}",
            requirements=[ids[n % requirements], ids[(n * 7) % requirements]],
            outcome="failed" if failing else "passed", feature="Feature", feature_file="svc/x.feature", line=n,
            message="expected 400, got 500" if failing else "", failed_step="Then the response status is 400",
            steps=[Step("Given", "a thing", 1, "passed", 0.01), Step("Then", "it holds", 2,
                                                                   "failed" if failing else "passed", 0.01)],
            exchanges=exchanges))
    aggregate(run, catalogue, {})
    return run


def time_writers(run: Run) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        problems = check.write_reports(run, Path(tmp), check.FORMATS)
        elapsed = time.perf_counter() - start
    if problems:
        raise SystemExit("; ".join(problems))
    return elapsed


CHROMIUM = os.environ.get("EXAMRIG_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
#: What the matrix's script does last (``apply()``): the count of shown requirements.
RENDERED = "() => document.getElementById('f-count').textContent.length > 0"
#: The page's own account, in ms since navigation start: the load event's end, and the script's mark after it
#: rendered (absent on the baseline, which has no script).
PAGE_TIMES = """() => [performance.getEntriesByType('navigation')[0].loadEventEnd,
  (performance.getEntriesByName('examrig-rendered')[0] || {startTime: 0}).startTime]"""


Timings = dict[str, list[float]]


def time_html_open(run: Run, rounds: int) -> tuple[Timings, int] | str:
    """Seconds to open ``report.html`` until its script has rendered, and the same page without the script.

    Two clocks: ``wall`` (this process, from ``goto`` until Playwright sees the script's result, so including
    Playwright's round trips) and ``page`` (the browser's own: navigation start to the later of the load event's
    end and the script's ``examrig-rendered`` mark). A fresh browser context (no cache) per opening; the rounds
    alternate report and baseline so that load on the machine falls on both alike. Returns the reason instead
    when Chromium or Playwright is missing.
    """
    if not Path(CHROMIUM).exists():
        return f"chromium not found at {CHROMIUM}"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "the playwright Python package is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        problems = check.write_reports(run, Path(tmp), ("html",))
        if problems:
            raise SystemExit("; ".join(problems))
        report = Path(tmp) / "report.html"
        html = report.read_text(encoding="utf-8")
        # the baseline: the very page, byte for byte but for its script (padded to the same size)
        static, n = re.subn(r"<script>.*?</script>", lambda m: "<!--" + " " * (len(m.group(0)) - 7) + "-->", html,
                            flags=re.S)
        # ... and its matrix shown from the start (the report hides it until its script has run)
        static = static.replace('<table id="matrix" class="pending">', '<table id="matrix" class="shown  ">')
        assert n == 1 and len(static) == len(html) and 'class="shown  "' in static, "the report's script was not found"
        baseline = Path(tmp) / "static.html"
        baseline.write_text(static, encoding="utf-8")
        times: Timings = {"wall": [], "page": [], "base_wall": [], "base_page": []}
        rows = 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
            try:
                for round_ in range(rounds + 1):  # the first round warms the browser up and is not counted
                    for path, prefix in ((report, ""), (baseline, "base_")):
                        context = browser.new_context()
                        page = context.new_page()
                        start = time.perf_counter()
                        page.goto(path.as_uri(), wait_until="load", timeout=60_000)
                        # one round trip on both pages: the report's script runs before its load event, so its
                        # result is there by now (wait_for_function's polling would add a frame's wait)
                        rendered = page.evaluate(RENDERED if not prefix else "() => document.readyState")
                        took = time.perf_counter() - start
                        assert rendered is True or prefix, "the report's script had not rendered at load"
                        load_end, mark = page.evaluate(PAGE_TIMES)
                        if not prefix:
                            assert mark > 0, "the report's script did not mark that it rendered"
                            rows = page.locator("#matrix tbody tr").count()
                        context.close()
                        if round_:
                            times[prefix + "wall"].append(took)
                            times[prefix + "page"].append(max(load_end, mark) / 1000)
            finally:
                browser.close()
    return times, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", help="features/ directories (default: all)")
    parser.add_argument("--modes", default="inprocess,http")
    parser.add_argument("--jobs", type=int, default=0, help="also time examrig check --jobs N")
    parser.add_argument("--rounds", type=int, default=7, help="openings of the HTML report in Chromium")
    args = parser.parse_args()
    paths = [f"features/{s}" for s in args.services] or ["features"]
    last_dir: Path | None = None
    with tempfile.TemporaryDirectory() as reports:
        for mode in [m for m in args.modes.split(",") if m]:
            base, code = timed([sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider",
                                "--examrig-mode", mode])
            print(f"{mode:9} plain pytest             {base:7.1f} s (exit {code})", flush=True)
            cmd = [sys.executable, "-m", "conformance.cli", "check", *args.services, "--mode", mode,
                   "--report-dir", reports]
            took, code = timed(cmd)
            print(f"{mode:9} examrig check            {took:7.1f} s (exit {code})  ratio {took / base:.2f}x "
                  f"(target <= 1.5x)", flush=True)
            if args.jobs > 1:
                took, code = timed([*cmd, "--jobs", str(args.jobs)])
                print(f"{mode:9} examrig check --jobs {args.jobs}   {took:7.1f} s (exit {code})  "
                      f"ratio {took / base:.2f}x", flush=True)
            last_dir = sorted(p for p in Path(reports).iterdir() if p.is_dir())[-1]
        if last_dir is not None:
            run = rebuild(last_dir)
            print(f"writing five reports, corpus ({len(run.scenarios)} scenarios, {len(run.requirements)} "
                  f"requirements): {time_writers(run):.2f} s (target < 2 s)")
    run = synthetic()
    print(f"writing five reports, synthetic ({len(run.scenarios)} scenarios, {len(run.requirements)} "
          f"requirements, {sum(len(s.exchanges) for s in run.scenarios)} exchanges): {time_writers(run):.2f} s")
    timed_open = time_html_open(run, args.rounds)
    if isinstance(timed_open, str):
        print(f"opening report.html in Chromium: not measured ({timed_open})")
        return 0
    times, rows = timed_open
    print(f"opening report.html in Chromium ({rows} requirement rows, {args.rounds} rounds; target < 1 s):")
    for clock in ("wall", "page"):
        med, base = statistics.median(times[clock]), statistics.median(times["base_" + clock])
        print(f"  {clock:4} clock: median {med:.3f} s, max {max(times[clock]):.3f} s; the same page without its "
              f"script: median {base:.3f} s, max {max(times['base_' + clock]):.3f} s; ratio {med / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
