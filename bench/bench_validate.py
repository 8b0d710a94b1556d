"""Benchmark: examrig's validator against a raw lxml parse + official-XSD validation, and batch throughput."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.generate import generate_trt  # noqa: E402
from contracts.validate import is_valid, lxml_schema, validate  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tis"


def best_of(fn: Callable[[], object], repeat: int = 7, number: int = 200) -> float:
    """Best mean seconds per call over ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def main() -> None:
    """Print the single-document ratio and the batch documents-per-second figure."""
    largest = max((DATA / "trt").glob("*.xml"), key=lambda p: p.stat().st_size)
    data = largest.read_bytes()
    official = etree.XMLSchema(etree.parse(str(DATA / "xsd" / "test-results-transmission.SupportTool.xsd")))
    lxml_schema("trt")  # compile outside the timing, as a service does at start-up

    def raw() -> bool:
        return bool(official.validate(etree.fromstring(data)))

    def ours_fast() -> bool:
        return is_valid(data, "trt")

    def ours_full() -> bool:
        return validate(data, "trt").valid

    assert raw() and ours_fast() and ours_full()
    t_raw, t_fast, t_full = best_of(raw), best_of(ours_fast), best_of(ours_full)
    print(f"largest real TRT: {largest.name} ({len(data)} bytes)")
    print(f"  raw lxml parse + official XSD : {t_raw * 1e6:8.1f} us/doc")
    print(f"  examrig is_valid (hardened)   : {t_fast * 1e6:8.1f} us/doc  ratio {t_fast / t_raw:.2f}x")
    print(f"  examrig validate (hardened)   : {t_full * 1e6:8.1f} us/doc  ratio {t_full / t_raw:.2f}x")

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for n in range(1000):
            (directory / f"trt-{n}.xml").write_bytes(generate_trt(n, kind="scored", items=12 + n % 30))
        files = sorted(directory.glob("*.xml"))
        start = time.perf_counter()
        valid = sum(validate(p.read_bytes(), "trt").valid for p in files)
        elapsed = time.perf_counter() - start
    print(f"1,000 generated TRTs (read + hardened parse + validate): {elapsed:.2f} s, "
          f"{len(files) / elapsed:,.0f} docs/s, {valid} valid")


if __name__ == "__main__":
    main()
