"""CPU time per deliveryodata request, this tree against another (a worktree of an older commit), interleaved.

Each tree's app runs in a worker process of its own (imported from that tree). In ``wsgi`` mode the worker
calls the app directly and times N requests with ``time.process_time()``. In ``http`` mode it serves the app
on cheroot (port 0, 3 threads) and the parent drives ``--connections`` keep-alive connections; the worker
reports the CPU time its own process spent (cheroot included, the load generator not), its context switches
per request (all of them, and the voluntary ones: a thread that waited, where the involuntary ones are mostly
the machine's other load preempting it) and the share of requests that parked their thread. CPU time and
switch counts are what other processes on the machine change little, so the comparison holds on a shared
machine where req/s does not. Rounds alternate between the trees; a side's figure is the median of its rounds,
with the best round beside it.

    git worktree add /tmp/old 6fd5918
    python bench/bench_dod_cpu.py --base /tmp/old                      # GET Attempts(n), POST Attempts
    python bench/bench_dod_cpu.py --base /tmp/old --modes http --connections 32
    python bench/bench_dod_cpu.py --base /tmp/old --profile post       # and cProfiles of both trees' POST
    python bench/bench_dod_cpu.py --base /tmp/old --modes http --kinds post,post2,urllib3

``post2`` is the POST of ``post`` with its body in a write of its own after the head, as http.client and
urllib3 send it (``--split`` does that for every kind); ``urllib3`` is that POST sent by urllib3 itself. The
client's sockets set ``TCP_NODELAY`` as urllib3's do, so the body is not held back by Nagle's algorithm until
the head is acknowledged."""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
AUTH = "Basic " + base64.b64encode(b"examrig:examrig").decode()
TENANT = "bench"
STORED = 1000


# -- the worker (runs with sys.path[0] = the tree under test) ---------------------------------------------------


def _worker(tree: str, data: str) -> None:
    sys.path.insert(0, tree)
    import gc

    from mocks.core.app import Runtime
    from mocks.core.settings import Settings
    from mocks.deliveryodata.service import Service

    runtime = Runtime.create(Settings(seed=1, data_dir=data, journal_capacity=1000), db=f"sqlite:///{data}/b.db")
    service = Service(runtime)
    service.model.seed(TENANT, "400449", "participants", [{"ID": 1}])
    service.model.seed(TENANT, "400449", "assessments", [{"ID": "100000001"}])
    service.model.bulk_attempts(TENANT, "400449", STORED, 1, 100000001)
    served: Any = None
    seq = [0]
    parks = [0]

    def environ(kind: str, n: int) -> dict[str, Any]:
        if kind == "get":
            path, body, method = f"/deliveryodata/400449/Attempts({n % STORED + 1})", b"", "GET"
        else:
            seq[0] += 1
            body = json.dumps({"ExternalAttemptID": f"cpu-{os.getpid()}-{seq[0]}", "ParticipantID": 1,
                               "AssessmentID": "100000001"}).encode()
            path, method = "/deliveryodata/400449/Attempts", "POST"
        env = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": AUTH, "HTTP_X_EXAMRIG_TENANT": TENANT,
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
               "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
               "wsgi.run_once": False}
        if body:
            env["CONTENT_TYPE"] = "application/json"
            env["CONTENT_LENGTH"] = str(len(body))
        return env

    statuses: dict[str, int] = {}

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses[status[:3]] = statuses.get(status[:3], 0) + 1
        return lambda data: None

    def run(kind: str, n: int) -> None:
        for i in range(n):
            result = service(environ(kind, i), start_response)
            for _ in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()

    gc.collect()
    gc.freeze()
    out = sys.stdout
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "wsgi":
            kind, n = cmd[1], int(cmd[2])
            statuses.clear()
            t0 = time.process_time()
            run(kind, n)
            out.write(json.dumps({"us": (time.process_time() - t0) / n * 1e6, "statuses": statuses}) + "\n")
        elif cmd[0] == "serve":
            from mocks.core.server import bind, start
            served = bind("cpu", service, "127.0.0.1", 0, threads=3)
            parking = served.app.parking
            park = parking.park

            # how many requests parked their thread (ElasticPool.park, in both trees)
            def counting_park(park: Any = park) -> bool:
                parks[0] += 1
                return bool(park())

            parking.park = counting_park
            start(served)
            out.write(json.dumps({"port": served.port}) + "\n")
        elif cmd[0] == "cpu":  # the process's CPU time and context switches so far (asked before and after a round)
            import resource
            usage = resource.getrusage(resource.RUSAGE_SELF)
            out.write(json.dumps({"cpu": time.process_time(), "switches": usage.ru_nvcsw + usage.ru_nivcsw,
                                  "voluntary": usage.ru_nvcsw,
                                  "parks": parks[0]}) + "\n")
        elif cmd[0] == "profile":
            import cProfile
            import pstats
            kind, n, dest = cmd[1], int(cmd[2]), cmd[3]
            run(kind, 200)
            profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
            profiler.enable()
            run(kind, n)
            profiler.disable()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
            Path(dest).write_text(text.getvalue())
            out.write(json.dumps({"profile": dest}) + "\n")
        elif cmd[0] == "quit":
            break
        out.flush()
    if served is not None:
        from mocks.core.server import stop
        stop(served)
    runtime.store.dispose()


# -- the parent ----------------------------------------------------------------------------------------------


class Side:
    """One tree's worker process, spoken to over its stdin and stdout."""

    def __init__(self, label: str, tree: Path, tmp: Path) -> None:
        self.label = label
        data = tmp / label
        data.mkdir()
        env = dict(os.environ, PYTHONPATH=str(tree))
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), str(data)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tree)
        self.port = 0

    def ask(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise SystemExit(f"{self.label}: the worker ended (see its stderr above)")
        result: dict[str, Any] = json.loads(answer)
        return result

    def http_round(self, kind: str, n: int, connections: int, split: bool, gap: float = 0.0) -> dict[str, Any]:
        """CPU µs and context switches per request of the serving process for ``n`` requests over
        ``connections`` keep-alive connections (one thread of this process each)."""
        if not self.port:
            self.port = int(self.ask("serve")["port"])
        statuses: dict[str, int] = {}
        lock = threading.Lock()
        stamp = time.time_ns()
        pooled = kind == "urllib3"
        conns: list[socket.socket | None] = [None if pooled else _connect(self.port) for _ in range(connections)]
        split = split or kind == "post2"

        def drive_urllib3(c: int) -> None:  # urllib3 itself (requests' transport): its head and body writes
            import urllib3
            pool = urllib3.HTTPConnectionPool("127.0.0.1", self.port, maxsize=1, retries=False, timeout=60)
            headers = {"Authorization": AUTH, "X-Examrig-Tenant": TENANT, "Content-Type": "application/json"}
            for i in range(c, n, connections):
                body = json.dumps({"ExternalAttemptID": f"u-{self.label}-{stamp}-{i}", "ParticipantID": 1,
                                   "AssessmentID": "100000001"}).encode()
                answer = pool.urlopen("POST", "/deliveryodata/400449/Attempts", body=body, headers=headers)
                with lock:
                    statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
            pool.close()

        def drive(c: int) -> None:
            sock: socket.socket | None = conns[c]
            reader = sock.makefile("rb") if sock is not None else None
            for i in range(c, n, connections):
                if sock is None:  # reconnected only when there is a request to send: cheroot gives a new
                    # connection a worker that waits for its first request (up to its 10 s timeout)
                    sock = conns[c] = _connect(self.port)
                    reader = sock.makefile("rb")
                assert reader is not None
                if kind == "get":
                    head, body = f"GET /deliveryodata/400449/Attempts({i % STORED + 1}) HTTP/1.1\r\n", b""
                else:
                    body = json.dumps({"ExternalAttemptID": f"h-{self.label}-{stamp}-{i}", "ParticipantID": 1,
                                       "AssessmentID": "100000001"}).encode()
                    head = "POST /deliveryodata/400449/Attempts HTTP/1.1\r\n"
                head += (f"Host: 127.0.0.1:{self.port}\r\nAuthorization: {AUTH}\r\nX-Examrig-Tenant: {TENANT}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
                if split:  # as http.client and urllib3 send it: the body in a write of its own
                    sock.sendall(head.encode())
                    if body:
                        if gap:  # a sleep, not a spin: the other connections' threads need the GIL
                            time.sleep(gap)
                        sock.sendall(body)
                else:  # as wrk (and curl, for a small body) send it: one write
                    sock.sendall(head.encode() + body)
                status, close = _read_response(reader)
                if close:  # cheroot keeps at most keep_alive_conn_limit idle connections
                    reader.close()
                    sock.close()
                    sock = reader = None
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
            if reader is not None:
                reader.close()

        before = self.ask("cpu")
        threads = [threading.Thread(target=drive_urllib3 if pooled else drive, args=(c,)) for c in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = self.ask("cpu")
        for open_sock in conns:
            if open_sock is not None:
                open_sock.close()
        return {"us": (after["cpu"] - before["cpu"]) / n * 1e6,
                "switches": (after["switches"] - before["switches"]) / n,
                "voluntary": (after["voluntary"] - before["voluntary"]) / n,
                "parks": (after["parks"] - before["parks"]) / n, "statuses": statuses}

    def close(self) -> None:
        with contextlib.suppress(SystemExit, BrokenPipeError, ValueError):
            self.ask("quit")
        self.proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    """Alternate rounds between the trees and print CPU µs per request and the new/old ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare against (a git worktree)")
    parser.add_argument("--tree", type=Path, default=HERE, help="the tree under test (default: this one)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--kinds", default="get,post",
                        help="comma-separated: get, post, post2 (a POST whose body is a second write), urllib3 "
                             "(that POST sent by urllib3, requests' transport); post2 and urllib3 in http mode only")
    parser.add_argument("--modes", default="wsgi,http", help="comma-separated: wsgi (app called), http (cheroot)")
    parser.add_argument("--connections", type=int, default=1,
                        help="http mode: concurrent keep-alive connections (the server has 3 threads)")
    parser.add_argument("--split", action="store_true",
                        help="http mode: send a POST body in a write of its own, as http.client and urllib3 do "
                             "(default: the whole request in one write, as wrk does)")
    parser.add_argument("--gap-us", type=float, default=0.0,
                        help="post2 and --split: microseconds (at least: a sleep) between the head's write and the "
                             "body's, the client's own work in between (requests spends some, this client none)")
    parser.add_argument("--profile", choices=("get", "post"), default=None,
                        help="also cProfile 2000 requests of this kind in both trees (printed at the end, with the "
                             "function calls per request, which the machine's load does not change)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="examrig-cpu-"))
    sides = [Side("base", args.base.resolve(), tmp), Side("tree", args.tree.resolve(), tmp)]
    kinds = args.kinds.split(",")
    modes = args.modes.split(",")
    results: dict[tuple[str, str, str], list[float]] = {}
    statuses: dict[tuple[str, str, str], dict[str, int]] = {}
    switches: dict[tuple[str, str, str], list[float]] = {}
    voluntary: dict[tuple[str, str, str], list[float]] = {}
    parks: dict[tuple[str, str, str], list[float]] = {}
    try:
        # post2 and urllib3 differ from post only on the wire: in wsgi mode they would be post again
        cases = [(mode, kind) for mode in modes for kind in kinds
                 if not (mode == "wsgi" and kind in ("post2", "urllib3"))]
        for mode, kind in cases:  # warm-up: caches, prepared statements, the store's pages (not counted)
            for side in sides:
                _round(side, mode, kind, 100, args.connections, args.split, args.gap_us / 1e6)
        for r in range(args.rounds):
            for mode, kind in cases:
                order = sides if r % 2 == 0 else sides[::-1]
                for side in order:
                    got = _round(side, mode, kind, args.requests, args.connections, args.split, args.gap_us / 1e6)
                    results.setdefault((side.label, mode, kind), []).append(float(got["us"]))
                    if "switches" in got:
                        switches.setdefault((side.label, mode, kind), []).append(float(got["switches"]))
                        voluntary.setdefault((side.label, mode, kind), []).append(float(got["voluntary"]))
                        parks.setdefault((side.label, mode, kind), []).append(float(got["parks"]))
                    st = statuses.setdefault((side.label, mode, kind), {})
                    for k, v in got["statuses"].items():
                        st[k] = st.get(k, 0) + v
        print(f"CPU µs per request, {args.rounds} alternating rounds of {args.requests} ({args.connections} "
              "connection(s) in http mode); median (best) of the rounds")
        print(f"base {args.base}  tree {args.tree}  load average {os.getloadavg()[0]:.2f}")
        for mode, kind in cases:
            base, tree = results[("base", mode, kind)], results[("tree", mode, kind)]
            mb, mt = statistics.median(base), statistics.median(tree)
            print(f"{mode:<5} {kind:<5} base {mb:7.1f} ({min(base):6.1f})  tree {mt:7.1f} ({min(tree):6.1f})  "
                  f"tree/base {mt / mb:.2f}  statuses base {statuses[('base', mode, kind)]} "
                  f"tree {statuses[('tree', mode, kind)]}")
            if ("tree", mode, kind) in switches:
                print(f"{'':<11} context switches per request: base "
                      f"{statistics.median(switches[('base', mode, kind)]):.2f}  tree "
                      f"{statistics.median(switches[('tree', mode, kind)]):.2f} (voluntary: base "
                      f"{statistics.median(voluntary[('base', mode, kind)]):.2f}  tree "
                      f"{statistics.median(voluntary[('tree', mode, kind)]):.2f}); requests that parked: base "
                      f"{sum(parks[('base', mode, kind)]) / len(parks[('base', mode, kind)]):.0%}  tree "
                      f"{sum(parks[('tree', mode, kind)]) / len(parks[('tree', mode, kind)]):.0%}")
        if args.profile:
            for side in sides:
                dest = tmp / f"profile-{side.label}-{args.profile}.txt"
                side.ask(f"profile {args.profile} 2000 {dest}")
                print(f"===== {side.label}: cProfile of 2000 x {args.profile} =====")
                print(dest.read_text())
    finally:
        for side in sides:
            side.close()
    return 0


def _round(side: Side, mode: str, kind: str, n: int, connections: int, split: bool,
           gap: float = 0.0) -> dict[str, Any]:
    return side.http_round(kind, n, connections, split, gap) if mode == "http" else side.ask(f"wsgi {kind} {n}")


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as urllib3 (and wrk) set it
    return sock


def _read_response(reader: Any) -> tuple[str, bool]:
    """Read one response off a keep-alive connection: its status code, and whether the server closes it
    (cheroot keeps at most ``keep_alive_conn_limit`` idle connections and closes the others, as wrk reconnects)."""
    status = reader.readline().split(b" ", 2)[1].decode()
    length, close = 0, False
    while True:
        line = reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    reader.read(length)
    return status, close


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3])
    else:
        sys.path.insert(0, str(HERE))
        sys.exit(main())
