"""A small closed-loop HTTP load generator for the benchmark scripts (separate processes, keep-alive)."""

from __future__ import annotations

import http.client
import multiprocessing as mp
import statistics
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    """Requests per second and latency percentiles of one run."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def _worker(url: str, method: str, body: bytes | None, headers: dict[str, str], connections: int,
            duration: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def loop() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
                continue
            mine.append((time.perf_counter() - started) * 1000.0)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, errors[0]))


def run_load(url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
             connections: int = 32, duration: float = 5.0, processes: int = 2) -> LoadResult:
    """Drive ``url`` with ``connections`` keep-alive connections spread over ``processes`` processes."""
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    per = max(1, connections // processes)
    procs = [mp.Process(target=_worker, args=(url, method, body, headers or {}, per, duration, queue))
             for _ in range(processes)]
    started = time.monotonic()
    for p in procs:
        p.start()
    latencies: list[float] = []
    errors = 0
    for _ in procs:
        lat, err = queue.get()
        latencies.extend(lat)
        errors += err
    for p in procs:
        p.join()
    seconds = min(time.monotonic() - started, duration) or duration
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99) - 1] if len(latencies) >= 100 else (latencies[-1] if latencies else 0.0)
    return LoadResult(len(latencies), errors, seconds, p50, p99)
