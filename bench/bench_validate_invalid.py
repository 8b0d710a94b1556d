"""Benchmark: refusing an invalid XML document against validating a valid one of the same size (10 KB to 10 MiB).

Issue 12's bar: refusing costs at most 3x validating, at every size. Both sides go through
``contracts.validate.validate`` as the receivers call it (``validate(body, "trt")``: parse, verdict,
the described problems; ``--detect`` lets it find the kind, as ``examrig validate`` does, which
tries the strict TRT profile too), measured in the same run, interleaved (one call of each document
per round, the best of each kept) so that a burst of the shared machine's load hits both sides.
Invalid documents of four shapes, each the size of the valid one: every Item carrying an undeclared
attribute (errors throughout), one bad value in the last Item (an error deep in a large document),
the root carrying thousands of undeclared attributes (the document that stalled dw for minutes),
and nothing but empty ``<Item/>`` (many bad elements).
Prints one line per size and shape; exits 1 if a ratio is over 3.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.generate import generate_trt  # noqa: E402
from contracts.validate import lxml_schema, validate  # noqa: E402

DETECT = "--detect" in sys.argv
SIZES = tuple(int(s) for s in sys.argv[1:] if not s.startswith("--")) or (
    10 * 1024, 100 * 1024, 1024 * 1024, 10 * 1024 * 1024)
SCHEMA = None if DETECT else "trt"
BAR = 3.0


def best_of(fn: Callable[[], object], budget: float = 1.0) -> float:
    """Best seconds per call: at least 3 calls, more while the budget lasts."""
    best, spent, calls = float("inf"), 0.0, 0
    while calls < 3 or (spent < budget and calls < 200):
        start = time.perf_counter()
        fn()
        took = time.perf_counter() - start
        best, spent, calls = min(best, took), spent + took, calls + 1
    return best


def interleaved(calls: dict[str, Callable[[], object]], budget: float = 3.0) -> dict[str, float]:
    """Best seconds per call of each, measured in rounds of one call each (at least 5 rounds, more while the
    budget lasts, at most 200)."""
    best = dict.fromkeys(calls, float("inf"))
    spent, rounds = 0.0, 0
    while rounds < 5 or (spent < budget and rounds < 200):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            took = time.perf_counter() - start
            best[name] = min(best[name], took)
            spent += took
        rounds += 1
    return best


def valid_of_size(size: int) -> bytes:
    """A generated scored TRT of about ``size`` bytes (items added until it is that large)."""
    twenty, ten = generate_trt(1, kind="scored", items=20), generate_trt(1, kind="scored", items=10)
    per_item = max(1, len(twenty) - len(ten)) / 10
    base = len(generate_trt(1, kind="scored", items=1))
    items = max(1, int((size - base) / per_item))
    return generate_trt(1, kind="scored", items=items)


def invalid_shapes(valid: bytes) -> dict[str, bytes]:
    size = len(valid)
    root_attrs = " ".join(f'a{i}="x"' for i in range(max(1, size // 9)))
    # the last Item's numberVisits (an xs:int) made a word: one error, found only at the end of the document
    at = valid.rindex(b' numberVisits="') + len(b' numberVisits="')
    deep = valid[:at] + b"many" + valid[valid.index(b'"', at):]
    return {
        "bad attribute on every Item": valid.replace(b"<Item ", b'<Item bogus="1" '),
        "bad value in the last Item": deep,
        "undeclared root attributes": f'<TDSReport {root_attrs}><Test name="x"/></TDSReport>'.encode(),
        "only empty <Item/>": b"<TDSReport>" + b"<Item/>" * max(1, (size - 23) // 7) + b"</TDSReport>",
    }


def main() -> int:
    """Print the curve; 1 when refusing costs more than 3x validating anywhere."""
    lxml_schema("trt")  # compiled outside the timing, as a service does at start-up
    lxml_schema("trt-strict")
    worst = 0.0
    print(f"{'size':>10}  {'valid':>10}  {'shape':<28} {'refuse':>10}  ratio  described/found")
    print(f"schema: {'detected' if DETECT else SCHEMA}")
    for size in SIZES:
        valid = valid_of_size(size)
        assert validate(valid, SCHEMA).valid
        shapes = invalid_shapes(valid)
        results = {shape: validate(doc, SCHEMA) for shape, doc in shapes.items()}
        assert not any(result.valid for result in results.values())
        docs = {"valid": valid, **shapes}
        times = interleaved({name: (lambda doc=doc: validate(doc, SCHEMA)) for name, doc in docs.items()},
                            budget=max(3.0, 0.02 * len(valid) / 1024 ** 2 * 100))
        t_valid = times["valid"]
        for shape, result in results.items():
            ratio = times[shape] / t_valid
            worst = max(worst, ratio)
            print(f"{len(valid):>10}  {t_valid * 1e3:8.2f}ms  {shape:<28} {times[shape] * 1e3:8.2f}ms  "
                  f"{ratio:5.2f}  {len(result.errors)}/{result.error_count}")
    print(f"worst ratio {worst:.2f} (bar {BAR:.0f}x): {'ok' if worst <= BAR else 'OVER'}")
    return 0 if worst <= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
