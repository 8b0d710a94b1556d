"""Soak: mixed traffic at every mock for a set time; RSS over time, journal, database size, RSS slope per 100k requests.

    PYTHONPATH=$PWD python bench/soak.py                 # 10 minutes (the default)
    PYTHONPATH=$PWD python bench/soak.py --duration 150  # 2.5 minutes

The mocks run in a child process (``--serve``), every one on its own loopback port (port 0)
over a SQLite file in a temporary directory, with their background workers (TIS's processing
service, THSS's policy worker) running, so a TRT posted to TIS is processed and its status
posted to TDS as in a deployment. The parent drives closed-loop keep-alive clients (threads)
with a fixed mix over every mock and the admin door, and every ``--every`` seconds prints the
RSS of the server process and of the driver, requests so far, the journals' size and drops
and the database's size. At the end: the least-squares slope of the server's RSS against the
request count, per 100,000 requests, over the second half of the run (the first half is
warm-up: caches, pools and the journal filling to capacity). Bounded: ``--duration`` is
clamped to [10 s, 6 h]; the child is killed if it outlives the run.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
MIN_DURATION, MAX_DURATION = 10.0, 6 * 3600.0
PROCTORU_TOKEN = "e7a1c0de-0000-4000-8000-000000000001"  # the built-in institution (docs/proctoru.md)
TENANTS = ("soak-a", "soak-b", "soak-c")


# -- the server process ----------------------------------------------------------------------------------------------

def serve(db_path: str, journal_capacity: int | None) -> None:
    """Run every mock on loopback port 0 with workers; print their URLs as one JSON line; stop when stdin closes."""
    sys.path.insert(0, str(ROOT))
    from conformance.targets import Rig
    from mocks import registry

    options = {name: {"journal_capacity": journal_capacity} for name in registry.ORDER} if journal_capacity else None
    rig = Rig(mode="http", db=f"sqlite:///{db_path}", background=True, seed=1234, options=options)
    print(json.dumps({"pid": os.getpid(), "urls": rig.urls}), flush=True)
    try:
        sys.stdin.read()
    finally:
        rig.close()


# -- the driver ------------------------------------------------------------------------------------------------------

@dataclass
class Call:
    """One request of the mix."""

    service: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] | None = None


def _trt(shared: Path) -> bytes:
    samples = sorted((shared / "tis" / "trt").glob("*.xml"))
    if not samples:
        raise SystemExit(f"soak: no TRT samples under {shared / 'tis' / 'trt'} (set EXAMRIG_SHARED_DATA)")
    return samples[0].read_bytes()


def mix(urls: dict[str, str], trt: bytes, n: int) -> Call:
    """The ``n``-th request of the mix: cheap reads, writes that grow state, the admin door."""
    tds_callback = urls["tds"] + "/tis"
    basic = "Basic " + base64.b64encode(b"examrig:examrig").decode()
    step = n % 16
    if step == 0:
        return Call("tis", "POST", "/api/testresult?" + urlencode({"statusCallback": tds_callback}), trt,
                    {"Content-Type": "application/xml"})
    if step == 1:
        return Call("dw", "POST", "/dw1/services/xml", trt, {"Content-Type": "application/xml"})
    if step == 2:
        return Call("tds", "POST", "/tis", json.dumps({"oppKey": str(uuid.UUID(int=n)), "success": True}).encode(),
                    {"Content-Type": "application/json"})
    if step == 3:
        return Call("proctoru", "GET", "/api/getTimeZoneList", None, {"Authorization-Token": PROCTORU_TOKEN})
    if step == 4:
        return Call("proctoru", "POST", "/api/getStudentReservationList", b"student_id=s1",
                    {"Authorization-Token": PROCTORU_TOKEN, "Content-Type": "application/x-www-form-urlencoded"})
    if step == 5:
        form = urlencode({"grant_type": "password", "username": "tis-admin@example.org", "password": "password",
                          "client_id": "examrig", "client_secret": "examrig-secret"}).encode()
        return Call("openam", "POST", "/auth/oauth2/access_token?realm=/sbac", form,
                    {"Content-Type": "application/x-www-form-urlencoded"})
    if step == 6:
        return Call("openam", "GET", "/auth/oauth2/tokeninfo?access_token=" + str(uuid.UUID(int=n)))
    if step == 7:
        items = [{"bankKey": 200, "itemId": 1000 + n % 50, "maxScore": 2, "HandScored": "1"}]
        return Call("thss", "POST", "/api/item/submit", json.dumps(items).encode(),
                    {"Content-Type": "application/json"})
    if step in (8, 9):
        return Call("deliveryodata", "GET", "/deliveryodata/400449/Participants?$top=5", None,
                    {"Authorization": basic})
    if step == 10:
        return Call("deliveryodata", "GET", "/deliveryodata/400449/$metadata", None, {"Authorization": basic})
    if step == 11:
        return Call("tis", "POST", "/api/testresult", trt, {"Content-Type": "application/xml"})  # a 400: no callback
    if step == 12:
        return Call("dw", "POST", "/dw2/services/xml", b"<TDSReport><nope/></TDSReport>",
                    {"Content-Type": "application/xml"})  # a refusal with the warehouse's messages
    services = sorted(urls)
    service = services[n % len(services)]
    if step == 13:
        return Call(service, "GET", "/_examrig/health")
    if step == 14:
        return Call(service, "GET", "/_examrig/journal?limit=5")
    return Call(service, "GET", "/_examrig/openapi.json")


class Driver:
    """Closed-loop clients, one keep-alive connection per mock each."""

    def __init__(self, urls: dict[str, str], trt: bytes, clients: int, stop_at: float) -> None:
        self.urls = urls
        self.trt = trt
        self.clients = clients
        self.stop_at = stop_at
        self.lock = threading.Lock()
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.errors = 0
        self.error_kinds: dict[str, int] = {}
        self.by_call: dict[str, dict[int, int]] = {}
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(clients)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=120)

    def _connection(self, service: str) -> http.client.HTTPConnection:
        parts = urlsplit(self.urls[service])
        return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)

    def _loop(self, index: int) -> None:
        conns: dict[str, http.client.HTTPConnection] = {}
        n = index * 7919  # clients start at different points of the mix
        while time.monotonic() < self.stop_at:
            call = mix(self.urls, self.trt, n)
            n += 1
            headers = {"X-Examrig-Tenant": TENANTS[n % len(TENANTS)], **(call.headers or {})}
            label = f"{call.service} {call.method} {call.path.split('?')[0]}"
            status = None
            for attempt in (1, 2):  # a kept-alive connection the server closed while idle is retried once, fresh
                conn = conns.get(call.service) or conns.setdefault(call.service, self._connection(call.service))
                try:
                    conn.request(call.method, call.path, body=call.body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    break
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conns.pop(call.service, None)
                    if attempt == 2:
                        with self.lock:
                            self.errors += 1
                            name = f"{label}: {type(exc).__name__}"
                            self.error_kinds[name] = self.error_kinds.get(name, 0) + 1
            if status is None:
                continue
            with self.lock:
                self.requests += 1
                self.by_status[status] = self.by_status.get(status, 0) + 1
                per = self.by_call.setdefault(label, {})
                per[status] = per.get(status, 0) + 1
        for conn in conns.values():
            conn.close()


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def db_bytes(db_path: str) -> int:
    """The SQLite database's size with its WAL and shared-memory files."""
    return sum(Path(db_path + suffix).stat().st_size for suffix in ("", "-wal", "-shm")
               if Path(db_path + suffix).exists())


def journals(urls: dict[str, str]) -> dict[str, dict[str, int]]:
    """Each mock's journal counters from its health answer."""
    out: dict[str, dict[str, int]] = {}
    for name, base in urls.items():
        parts = urlsplit(base)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)
        try:
            conn.request("GET", "/_examrig/health")
            out[name] = json.loads(conn.getresponse().read())["journal"]
        except (OSError, ValueError, KeyError, http.client.HTTPException):
            out[name] = {"size": -1, "capacity": -1, "dropped": -1, "next_seq": -1}
        finally:
            conn.close()
    return out


def slope_per_100k(points: list[tuple[int, int]]) -> float | None:
    """Least-squares slope of RSS (KiB) against requests, scaled to MiB per 100,000 requests."""
    if len(points) < 3:
        return None
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
    return slope * 100_000 / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (default 600)")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples (default 15)")
    parser.add_argument("--clients", type=int, default=4, help="closed-loop clients (default 4)")
    parser.add_argument("--journal-capacity", type=int, default=None,
                        help="entries per mock's journal (default: the settings' 10,000); a small one fills early, so "
                             "the RSS slope after warm-up is not the journal filling")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.journal_capacity)
        return 0
    duration = min(max(args.duration, MIN_DURATION), MAX_DURATION)
    shared = Path(os.environ.get("EXAMRIG_SHARED_DATA") or ROOT.parent / "shared" / "data")
    trt = _trt(shared)
    with tempfile.TemporaryDirectory(prefix="examrig-soak-") as tmp:
        db_path = str(Path(tmp) / "soak.db")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", db_path]
        if args.journal_capacity:
            command += ["--journal-capacity", str(args.journal_capacity)]
        child = subprocess.Popen(command,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=tmp, text=True)
        try:
            assert child.stdout is not None and child.stdin is not None
            ready = json.loads(child.stdout.readline() or "{}")
            if "urls" not in ready:
                raise SystemExit("soak: the server process did not start")
            urls: dict[str, str] = ready["urls"]
            pid = int(ready["pid"])
            print(f"soak: {len(urls)} mocks in process {pid}, {args.clients} clients, {duration:.0f} s, "
                  f"database {db_path}", flush=True)
            print(f"{'t_s':>6} {'requests':>9} {'req/s':>7} {'server_MiB':>10} {'driver_MiB':>10} {'db_MiB':>7} "
                  f"{'journal size/cap (dropped)':<40}", flush=True)
            started = time.monotonic()
            driver = Driver(urls, trt, args.clients, started + duration)
            driver.start()
            points: list[tuple[float, int, int]] = []
            last_n, last_t = 0, started
            while True:
                now = time.monotonic()
                time.sleep(max(0.0, min(args.every, started + duration - now)))
                now = time.monotonic()
                with driver.lock:
                    n = driver.requests
                rss = rss_kib(pid)
                points.append((now - started, n, rss))
                stats = journals(urls)
                total_size = sum(s["size"] for s in stats.values())
                total_cap = sum(s["capacity"] for s in stats.values())
                dropped = sum(s["dropped"] for s in stats.values())
                rate = (n - last_n) / max(now - last_t, 1e-9)
                last_n, last_t = n, now
                print(f"{now - started:6.0f} {n:9d} {rate:7.0f} {rss / 1024:10.1f} {rss_kib(os.getpid()) / 1024:10.1f} "
                      f"{db_bytes(db_path) / 2**20:7.1f} {total_size}/{total_cap} ({dropped})", flush=True)
                if now >= started + duration:
                    break
            driver.join()
            stats = journals(urls)
        finally:
            if child.stdin is not None:
                child.stdin.close()
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=30)
        half = [(n, rss) for t, n, rss in points if t >= duration / 2]
        slope = slope_per_100k(half)
        print(f"requests: {driver.requests} ({driver.requests / duration:.0f}/s), transport errors: {driver.errors}")
        print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(driver.by_status.items())))
        for label, counts in sorted(driver.by_call.items()):
            print(f"  {label}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        for kind, count in sorted(driver.error_kinds.items()):
            print(f"  transport error {kind}: {count}")
        for name, s in sorted(stats.items()):
            print(f"journal {name}: size {s['size']}/{s['capacity']}, dropped {s['dropped']}, next_seq {s['next_seq']}")
        first, last = points[0][2], points[-1][2]
        print(f"server RSS: first sample {first / 1024:.1f} MiB, last {last / 1024:.1f} MiB, "
              f"max {max(p[2] for p in points) / 1024:.1f} MiB")
        print("RSS slope over the second half: " + (f"{slope:+.2f} MiB per 100,000 requests" if slope is not None
                                                    else "n/a (too few samples: lower --every)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
