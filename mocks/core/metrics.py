"""Per-route request counters and a latency histogram, exposed in Prometheus text format."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


class Metrics:
    """Counts requests by route and status and buckets their durations (mock-side latency)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)

    def observe(self, route: str, status: int, duration_ms: float) -> None:
        """Record one finished request."""
        with self._lock:
            self.requests[(route, status)] += 1
            counts = self.buckets.setdefault(route, [0] * (len(BUCKETS_MS) + 1))
            for i, bound in enumerate(BUCKETS_MS):
                if duration_ms <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self.sums[route] += duration_ms

    def render(self, service: str) -> str:
        """The counters in Prometheus exposition format."""
        lines = ["# TYPE examrig_requests_total counter"]
        with self._lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f'examrig_requests_total{{service="{service}",route="{route}",status="{status}"}} {n}')
            lines.append("# TYPE examrig_request_duration_ms histogram")
            for route, counts in sorted(self.buckets.items()):
                running = 0
                for bound, n in zip(BUCKETS_MS, counts, strict=False):
                    running += n
                    lines.append(f'examrig_request_duration_ms_bucket{{service="{service}",route="{route}",'
                                 f'le="{bound}"}} {running}')
                running += counts[-1]
                lines.append(f'examrig_request_duration_ms_bucket{{service="{service}",route="{route}",'
                             f'le="+Inf"}} {running}')
                lines.append(f'examrig_request_duration_ms_sum{{service="{service}",route="{route}"}} '
                             f'{self.sums[route]:.3f}')
                lines.append(f'examrig_request_duration_ms_count{{service="{service}",route="{route}"}} {running}')
        return "\n".join(lines) + "\n"

    def reset(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self.requests.clear()
            self.buckets.clear()
            self.sums.clear()
