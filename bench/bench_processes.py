"""deliveryodata served with ``--processes 2`` against one process and json-server 0.17, in the same run (ratios).

- GET ``Attempts(n)`` (each answer carries freshly signed lobby and proctor URLs) on a store of 1,000 attempts:
  ``examrig serve --processes 2`` against ``--processes 1`` (target >= 1.6x on 2 cores) and against json-server
  0.17's ``GET /attempts/:id`` on an in-memory JSON file of 1,000 attempts (target >= 1.0x; json-server is
  installed with npm into a temporary directory, and the comparison is skipped with a message when npm is
  missing);
- POST ``Attempts`` with ``--processes 2`` against one process, on SQLite and (``--pg URL`` or
  ``EXAMRIG_TEST_DB``) on PostgreSQL: every tenth POST repeats an ExternalAttemptID other connections use,
  and the store must hold no duplicate.

Every server is a real ``examrig serve`` command; the load comes from this script's own processes (on the
same 2 cores as the servers: the figures are for the whole machine). Alternating rounds, medians printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_deliveryodata import TENANT, load_python  # noqa: E402

ATTEMPTS = 1_000


def _prepare(db: str, attempts: int) -> None:
    """A deliveryodata store at ``db`` with the bench tenant's participant, assessment and ``attempts`` attempts."""
    from mocks.core.app import Runtime
    from mocks.core.settings import Settings
    from mocks.deliveryodata.service import Service

    runtime = Runtime.create(Settings(seed=1), db=db)
    service = Service(runtime)
    service.reset(TENANT)
    service.model.seed(TENANT, "400449", "participants", [{"ID": 1}])
    service.model.seed(TENANT, "400449", "assessments", [{"ID": "100000001"}])
    if attempts:
        service.model.bulk_attempts(TENANT, "400449", attempts, 1, 100000001)
    runtime.store.dispose()


class Server:
    """``examrig serve deliveryodata --processes N`` on a free port."""

    def __init__(self, db: str, processes: int, data_dir: Path) -> None:
        cmd = [sys.executable, "-m", "conformance.cli", "serve", "deliveryodata", "--port", "0", "--db", db,
               "--seed", "1", "--processes", str(processes), "--data-dir", str(data_dir)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"listening on http://[^:]+:(\d+)", line)
        if not found:
            raise RuntimeError(f"examrig serve did not start: {line!r}")
        self.port = int(found.group(1))

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server: the parent and its live children."""
        tick = os.sysconf("SC_CLK_TCK")
        pids = [self.proc.pid]
        with contextlib.suppress(OSError):
            pids += [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _json_server(tmp: Path) -> tuple[subprocess.Popen[str], int] | str:
    """json-server 0.17 on an in-memory JSON file of 1,000 attempts, or why not."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH"
    where = tmp / "json-server"
    where.mkdir()
    installed = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", "json-server@0.17"],
                               cwd=where, capture_output=True, text=True, timeout=600)
    binary = where / "node_modules" / ".bin" / "json-server"
    if installed.returncode != 0 or not binary.exists():
        return f"npm install json-server@0.17 failed: {(installed.stderr or installed.stdout).strip()[:200]}"
    attempts = [{"id": i, "ExternalAttemptID": f"bulk-{i}", "ParticipantID": 1, "AssessmentID": "100000001",
                 "LockRequired": False, "LockStatus": False, "ResultStatus": "NotStarted",
                 "ParticipantFacingQMLobbyUrl": f"http://127.0.0.1/lobby/400449/{i}?nonce=x&timestamp=y&sig=z"}
                for i in range(1, ATTEMPTS + 1)]
    (where / "db.json").write_text(json.dumps({"attempts": attempts}))
    port = _free_port()
    proc = subprocess.Popen([str(binary), "--port", str(port), "--host", "127.0.0.1", "--quiet", "db.json"],
                            cwd=where, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    import http.client
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/attempts/1")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    return "json-server did not answer within 60 s"


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _json_load(port: int, connections: int, seconds: float) -> dict[str, Any]:
    """Drive json-server's ``GET /attempts/:id`` the way ``load_python`` drives the mock (2 processes of threads)."""
    import multiprocessing as mp
    queue: Any = mp.Queue()
    per = max(1, connections // 2)
    procs = [mp.Process(target=_json_worker, args=(port, per, seconds, i, queue)) for i in range(2)]
    for p in procs:
        p.start()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for _ in procs:
        lat, st = queue.get()
        latencies.extend(lat)
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    for p in procs:
        p.join()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return {"rps": len(latencies) / seconds, "p99_ms": p99, "statuses": statuses}


def _json_worker(port: int, conns: int, seconds: float, tag: int, out: Any) -> None:
    import http.client
    import random
    import threading
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(n: int) -> None:
        rng = random.Random(f"json{tag}:{n}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[float] = []
        while time.monotonic() < deadline:
            began = time.perf_counter()
            conn.request("GET", f"/attempts/{rng.randint(1, ATTEMPTS)}")
            response = conn.getresponse()
            response.read()
            local.append(time.perf_counter() - began)
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, statuses))


def _duplicates(db: str) -> tuple[int, int]:
    """(attempts stored for the bench tenant, how many of them repeat an ExternalAttemptID)."""
    from sqlalchemy import create_engine, text
    engine = create_engine(db)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM do_attempts WHERE tenant = :t"), {"t": TENANT}).scalar_one()
        distinct = conn.execute(text('SELECT count(DISTINCT "ExternalAttemptID") FROM do_attempts WHERE tenant = :t'),
                                {"t": TENANT}).scalar_one()
    engine.dispose()
    return int(total), int(total) - int(distinct)


def main(argv: list[str] | None = None) -> int:
    """Run the comparisons in alternating rounds and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("EXAMRIG_TEST_DB") or None,
                        help="a PostgreSQL URL for the POST comparison on PostgreSQL (default: EXAMRIG_TEST_DB; "
                             "scripts/pg starts a throwaway one)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="examrig-bench-proc-"))
    ok = True
    servers: list[Server] = []
    json_proc: subprocess.Popen[str] | None = None
    try:
        get_db = f"sqlite:///{tmp}/get.db"
        _prepare(get_db, ATTEMPTS)
        one, two = Server(get_db, 1, tmp), Server(get_db, 2, tmp)
        servers += [one, two]
        js = _json_server(tmp)
        if isinstance(js, str):
            print(f"json-server comparison skipped: {js}")
        else:
            json_proc, json_port = js
        for server in (one, two):  # warm-up, not counted
            load_python(server.port, "get", ATTEMPTS, args.connections, 1.0, "warm-")
        runs: dict[str, list[dict[str, Any]]] = {"one": [], "two": [], "json": []}
        for r in range(args.rounds):
            runs["one"].append(_measured(one, "get", args, f"g1{r}-"))
            runs["two"].append(_measured(two, "get", args, f"g2{r}-"))
            if json_proc is not None:
                runs["json"].append(_json_load(json_port, args.connections, args.seconds))
        ratios = [b["rps"] / a["rps"] for a, b in zip(runs["one"], runs["two"], strict=True)]
        ratio = statistics.median(ratios)
        ok &= ratio >= 1.6
        med = {k: statistics.median(x["rps"] for x in v) for k, v in runs.items() if v}
        print(f"{args.connections} connections, {args.rounds} alternating rounds of {args.seconds:g} s, "
              f"load from 2 Python processes on the same machine ({os.cpu_count()} cores); medians")
        cpu = {k: statistics.median(x["cpu_ms"] for x in runs[k]) for k in ("one", "two")}
        print(f"GET Attempts(n) 1 process    {med['one']:6.0f} req/s  server CPU {cpu['one']:.2f} ms/request  "
              f"statuses {_sum_statuses(runs['one'])}")
        print(f"GET Attempts(n) 2 processes  {med['two']:6.0f} req/s  server CPU {cpu['two']:.2f} ms/request  "
              f"ratio {ratio:.2f} (target >= 1.6)  rounds {', '.join(f'{x:.2f}' for x in ratios)}  "
              f"statuses {_sum_statuses(runs['two'])}")
        print(f"  CPU per request 2 processes / 1: {cpu['two'] / cpu['one']:.2f} (what sharing costs; on idle "
              f"cores the ratio can reach 2 / this = {2 * cpu['one'] / cpu['two']:.2f})")
        if runs["json"]:
            jr = [b["rps"] / j["rps"] for b, j in zip(runs["two"], runs["json"], strict=True)]
            ok &= statistics.median(jr) >= 1.0
            print(f"json-server 0.17 GET /attempts/:id {med['json']:6.0f} req/s; 2 processes / json-server "
                  f"{statistics.median(jr):.2f} (target >= 1.0)  rounds {', '.join(f'{x:.2f}' for x in jr)}")
        for server in (one, two):
            server.stop()
        servers.clear()

        databases = [("SQLite", lambda name: f"sqlite:///{tmp}/{name}.db")]
        if args.pg:
            databases.append(("PostgreSQL", lambda name: args.pg))
        else:
            print("POST on PostgreSQL skipped: no --pg URL and no EXAMRIG_TEST_DB")
        for label, url_of in databases:
            figures: dict[int, list[float]] = {1: [], 2: []}
            for processes in (1, 2):
                db = url_of(f"post{processes}")
                _prepare(db, 0)
                server = Server(db, processes, tmp)
                servers.append(server)
                statuses: dict[int, int] = {}
                cpus: list[float] = []
                for r in range(args.rounds):
                    run = _measured(server, "post", args, f"p{processes}{r}-")
                    figures[processes].append(run["rps"])
                    cpus.append(run["cpu_ms"])
                    for k, v in run["statuses"].items():
                        statuses[k] = statuses.get(k, 0) + v
                server.stop()
                servers.remove(server)
                total, dupes = _duplicates(db)
                ok &= dupes == 0
                print(f"POST Attempts {label:10s} {processes} process{'es' if processes > 1 else '  '} "
                      f"{statistics.median(figures[processes]):6.0f} req/s  server CPU {statistics.median(cpus):.2f} "
                      f"ms/request  stored {total}, duplicates {dupes}  "
                      f"statuses {statuses}")
            pratio = statistics.median(figures[2]) / statistics.median(figures[1])
            print(f"POST Attempts {label:10s} 2 processes / 1: {pratio:.2f}")
    finally:
        for server in servers:
            server.stop()
        if json_proc is not None:
            json_proc.terminate()
            json_proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS" if ok else "FAIL (targets missed; see above)")
    return 0 if ok else 1


def _measured(server: Server, kind: str, args: argparse.Namespace, tag: str) -> dict[str, Any]:
    """One load run, with the server's CPU time per completed request (robust to other load on the machine)."""
    before = server.cpu_seconds()
    run = load_python(server.port, kind, ATTEMPTS if kind == "get" else 0, args.connections, args.seconds, tag)
    done = sum(run["statuses"].values())
    run["cpu_ms"] = (server.cpu_seconds() - before) * 1000.0 / done if done else float("nan")
    return run


def _sum_statuses(runs: list[dict[str, Any]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for run in runs:
        for k, v in run["statuses"].items():
            out[k] = out.get(k, 0) + v
    return out


if __name__ == "__main__":
    sys.exit(main())
