"""Load shapes (locust ``LoadTestShape``), each parameterised by environment variables.

Common: ``EXAMRIG_LOAD_USERS`` (peak users, default 10), ``EXAMRIG_LOAD_SPAWN_RATE`` (users per second,
default 10), ``EXAMRIG_LOAD_DURATION`` (seconds, default 60). Each shape adds its own (below). A shape
runs on the master only (locust sends the user counts to the workers), so only the master needs them.
"""

from __future__ import annotations

import math
import os

from locust import LoadTestShape


def _env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


class _Shape(LoadTestShape):
    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self.users = max(1, int(_env("EXAMRIG_LOAD_USERS", 10)))
        self.rate = _env("EXAMRIG_LOAD_SPAWN_RATE", 10)
        self.duration = _env("EXAMRIG_LOAD_DURATION", 60)

    def users_at(self, fraction: float) -> int:
        """Users at ``fraction`` (0..1) of the run; None-free so every shape stops at ``duration``."""
        raise NotImplementedError

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed >= self.duration:
            return None
        return max(0, self.users_at(elapsed / self.duration)), self.rate


class Ramp(_Shape):
    """Linear from 1 user to the peak over ``EXAMRIG_SHAPE_RAMP`` of the run (default 0.8), then held."""

    def users_at(self, fraction: float) -> int:
        ramp = min(1.0, max(0.01, _env("EXAMRIG_SHAPE_RAMP", 0.8)))
        return max(1, math.ceil(self.users * min(1.0, fraction / ramp)))


class Step(_Shape):
    """``EXAMRIG_SHAPE_STEPS`` (default 4) equal steps up to the peak, each held for an equal share of the run."""

    def users_at(self, fraction: float) -> int:
        steps = max(1, int(_env("EXAMRIG_SHAPE_STEPS", 4)))
        step = min(steps, int(fraction * steps) + 1)
        return max(1, math.ceil(self.users * step / steps))


class Spike(_Shape):
    """A base load (``EXAMRIG_SHAPE_BASE`` of the peak, default 0.2) with the peak from ``EXAMRIG_SHAPE_SPIKE_AT``
    (default 0.4) for ``EXAMRIG_SHAPE_SPIKE_FOR`` of the run (default 0.2); the spike spawns as fast as it can."""

    def users_at(self, fraction: float) -> int:
        base = max(1, math.ceil(self.users * _env("EXAMRIG_SHAPE_BASE", 0.2)))
        at, length = _env("EXAMRIG_SHAPE_SPIKE_AT", 0.4), _env("EXAMRIG_SHAPE_SPIKE_FOR", 0.2)
        return self.users if at <= fraction < at + length else base

    def tick(self) -> tuple[int, float] | None:
        result = super().tick()
        if result is None:
            return None
        return result[0], max(self.rate, float(self.users))  # a spike arrives at once


class Soak(_Shape):
    """The peak, reached at the spawn rate, held for the whole run (a long run finds leaks and drift)."""

    def users_at(self, fraction: float) -> int:
        return self.users


class ExamWindow(_Shape):
    """An exam session: most candidates start within a short window (``EXAMRIG_SHAPE_WINDOW`` of the run,
    default 0.15, spawning fast enough to reach the peak in it), sit for a while (until ``EXAMRIG_SHAPE_HOLD``,
    default 0.5), then leave in a long tail of submissions down to ``EXAMRIG_SHAPE_TAIL`` of the peak (0.1)."""

    def users_at(self, fraction: float) -> int:
        window, hold = _env("EXAMRIG_SHAPE_WINDOW", 0.15), _env("EXAMRIG_SHAPE_HOLD", 0.5)
        tail = _env("EXAMRIG_SHAPE_TAIL", 0.1)
        if fraction < window:
            return max(1, math.ceil(self.users * fraction / window))
        if fraction < hold:
            return self.users
        left = (fraction - hold) / max(1e-9, 1 - hold)
        return max(1, math.ceil(self.users * (1 - (1 - tail) * left)))

    def tick(self) -> tuple[int, float] | None:
        result = super().tick()
        if result is None:
            return None
        window = max(1.0, _env("EXAMRIG_SHAPE_WINDOW", 0.15) * self.duration)
        return result[0], max(self.rate, self.users / window)


SHAPES: dict[str, type[_Shape]] = {"ramp": Ramp, "step": Step, "spike": Spike, "soak": Soak,
                                   "exam-window": ExamWindow}
