"""How much load examrig's load generator produces, and how many candidates per second the mocks sustain.

Part 1, generator capacity (alternating rounds, medians): the bare WSGI app of ``bench_servers.py``
served by cheroot in its own process, driven in turn by wrk (the baseline: C, one event-loop thread)
and by locust headless with ``FastHttpUser`` in one process: a plain user (``self.client.get("/")``),
then a user that checks every answer as examrig's actors do (``catch_response``, the body parsed, a
rule applied, ``loadtests.common.check``), then the plain user with ``--processes 2``. Prints each
one's requests per second and its ratio to wrk in the same round (target: the checked user >= 0.7x).

Part 2, ``examrig load exam-window`` against examrig's own mocks (served by ``examrig load``): a sweep
of constant user counts; for each, the candidates per second that reached the exam (``POST lobby
Start`` per second), p95, and the CPU of generator and mocks, so the limit is named. The sustained
rate is the highest step whose p95 stays under 250 ms.

Run: ``python bench/bench_load.py [--rounds 3] [--seconds 8] [--users 32] [--sweep 20,40,80,160,320] [--window 20]
[--serve-processes N]`` (the sweep's default goes past where examrig's mocks stop keeping p95 under 250 ms on a
2-core machine; ``--serve-processes 2`` serves them with two processes each)
(``--skip-generator`` / ``--skip-exam-window`` run one part). Needs wrk for part 1 (``apt-get install wrk``);
without it part 1 prints locust's figures alone and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SERVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from bench.bench_servers import bare_app
from cheroot import wsgi
server = wsgi.Server(("127.0.0.1", 0), bare_app, numthreads=16, request_queue_size=128)
server.prepare()
print(server.bind_addr[1], flush=True)
server.serve()
"""

LOCUSTFILE = r"""
import json, sys
sys.path.insert(0, %(root)r)
from locust import FastHttpUser, constant, events, task
from locust.runners import WorkerRunner

@events.quitting.add_listener
def _save(environment, **kwargs):
    # the final totals (locust's CSV is rewritten once a second and lags the end; workers hold none)
    if not isinstance(environment.runner, WorkerRunner):
        total = environment.runner.stats.total
        with open(%(out)r, "w") as handle:
            json.dump({"requests": total.num_requests, "failures": total.num_failures, "rps": total.total_rps},
                      handle)

class Plain(FastHttpUser):
    wait_time = constant(0)
    weight = %(plain)d

    @task
    def get(self):
        self.client.get("/")

class Checked(FastHttpUser):
    wait_time = constant(0)
    weight = %(checked)d

    @task
    def get(self):
        from loadtests.common import check, json_of
        with self.client.get("/", name="checked", catch_response=True) as r:
            data = json_of(r)
            check(r, 200, "status is not ok", isinstance(data, dict) and data.get("status") == "ok")
"""


def serve_bare() -> tuple[subprocess.Popen[str], int]:
    """The bare app on cheroot in its own process (its GIL is not the generator's)."""
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(ROOT)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def run_wrk(port: int, seconds: float, connections: int) -> float:
    """wrk's requests per second on ``GET /``."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m is None:
        raise RuntimeError(f"wrk printed no rate: {out}")
    return float(m.group(1))


def run_locust(port: int, seconds: float, users: int, kind: str, processes: int | None) -> float:
    """locust's requests per second (its Aggregated ``Requests/s``) for the ``plain`` or ``checked`` user."""
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        locustfile = work / "locustfile.py"
        locustfile.write_text(LOCUSTFILE % {"root": str(ROOT), "plain": int(kind == "plain"),
                                            "checked": int(kind == "checked"), "out": str(work / "total.json")})
        command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
                   "-H", f"http://127.0.0.1:{port}", "-u", str(users), "-r", str(users), "-t", f"{seconds:.0f}s",
                   "--loglevel", "WARNING",
                   *(["--processes", str(processes)] if processes else []),
                   "Plain" if kind == "plain" else "Checked"]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work, timeout=seconds + 120)
        total = work / "total.json"
        if not total.is_file():
            raise RuntimeError(f"locust saved no totals: {done.stderr[-2000:]}")
        result = json.loads(total.read_text())
        if result["failures"]:
            raise RuntimeError(f"{result['failures']} of {result['requests']} requests failed")
        return float(result["rps"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def generator_capacity(args: argparse.Namespace) -> None:
    has_wrk = shutil.which("wrk") is not None
    server, port = serve_bare()
    rounds: list[dict[str, float]] = []
    try:
        for n in range(args.rounds):
            row: dict[str, float] = {}
            if has_wrk:
                row["wrk"] = run_wrk(port, args.seconds, args.users)
            row["plain"] = run_locust(port, args.seconds, args.users, "plain", None)
            row["checked"] = run_locust(port, args.seconds, args.users, "checked", None)
            row["plain x2"] = run_locust(port, args.seconds, args.users, "plain", 2)
            rounds.append(row)
            ratios = f"  (checked/wrk {row['checked'] / row['wrk']:.2f})" if has_wrk else ""
            print(f"round {n + 1}: " + "  ".join(f"{k} {v:,.0f}/s" for k, v in row.items()) + ratios, flush=True)
    finally:
        server.kill()  # a stateless bench server: SIGKILL (cheroot's stop() from a signal handler deadlocks)
        server.wait(timeout=30)
    print(f"\ngenerator capacity against the bare WSGI app (cheroot, 16 threads), {args.users} connections/users, "
          f"{args.seconds:.0f} s, median of {args.rounds} rounds:")
    for name in rounds[0]:
        value = statistics.median(r[name] for r in rounds)
        ratio = statistics.median(r[name] / r["wrk"] for r in rounds) if has_wrk else None
        label = {"wrk": "wrk -t1", "plain": "locust FastHttpUser, plain", "checked": "locust FastHttpUser, checked",
                 "plain x2": "locust --processes 2, plain"}[name]
        shown = f"  {ratio:.2f}x wrk" if ratio is not None and name != "wrk" else ""
        print(f"  {label:<34} {value:>8,.0f} req/s{shown}")
    if has_wrk:
        checked = statistics.median(r["checked"] / r["wrk"] for r in rounds)
        print(f"  target: checked >= 0.70x wrk: {'met' if checked >= 0.7 else 'MISSED'} ({checked:.2f}x)")
    else:
        print("  wrk is not installed (apt-get install wrk): no baseline, no ratio")


def exam_window(args: argparse.Namespace) -> None:
    results = []
    for users in (int(u) for u in args.sweep.split(",")):
        work = Path(tempfile.mkdtemp(prefix="bench-exam-window-"))
        try:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                                               if p)}
            out = subprocess.run([sys.executable, "-m", "conformance.cli", "load", "exam-window", "--shape", "none",
                                  "--users", str(users), "--spawn-rate", str(max(users / 2, 1)), "--duration",
                                  f"{args.window}s", "--threshold", "p95<250ms", "--report-dir", str(work),
                                  *(["--serve-processes", str(args.serve_processes)] if args.serve_processes else [])],
                                 capture_output=True, text=True, env=env, cwd=work, check=False).stdout
            m = re.search(r"(\S+-summary\.json)", out)
            if m is None:
                print(f"users {users}: no summary\n{out[-2000:]}")
                continue
            summary: dict[str, Any] = json.loads(Path(m.group(1)).read_text())
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows = {f"{r['method']} {r['name']}": r for r in summary["requests"]}
        total = rows[" Aggregated"]
        starts = rows.get("POST lobby Start", {"rps": 0.0, "failures": 0})
        cpu = summary["cpu"]
        results.append((users, starts["rps"], total["p95_ms"], total["fail_ratio"], cpu))
        print(f"users {users:>4}: {starts['rps']:6.2f} candidates/s started, {total['rps']:7.1f} req/s, "
              f"p95 {total['p95_ms']:.0f} ms, failures {total['fail_ratio']:.2%}; CPU generator "
              f"{cpu['generator_cores']:.2f} cores, mocks {cpu['mock_cores']:.2f} cores, machine "
              f"{cpu.get('machine_busy') or 0:.0%} busy -> limit: {cpu['limit']}",
              flush=True)
    good = [r for r in results if r[2] < 250 and r[3] < 0.01]
    if good:
        best = max(good, key=lambda r: r[1])
        print(f"\nexam-window: sustained {best[1]:.2f} candidates/s with p95 < 250 ms (at {best[0]} users)")
    else:
        print("\nexam-window: no step kept p95 under 250 ms")
    over = [r for r in results if r[2] >= 250]
    if over:
        print(f"first step over 250 ms: {over[0][0]} users, limit {over[0][4]['limit']} "
              f"(generator {over[0][4]['generator_cores']:.2f} cores, mocks {over[0][4]['mock_cores']:.2f} cores)")
    load = os.getloadavg()
    print(f"load average during the bench: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--sweep", default="20,40,80,160,320")
    parser.add_argument("--serve-processes", type=int, default=None, metavar="N",
                        help="examrig load --serve-processes N for part 2 (default: one process serves the mocks)")
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--skip-generator", action="store_true")
    parser.add_argument("--skip-exam-window", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    if not args.skip_generator:
        generator_capacity(args)
    if not args.skip_exam_window:
        print()
        exam_window(args)
    print(f"\n(bench took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
