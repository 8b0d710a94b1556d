"""The JSON report (``report.json``): the whole run, schema-versioned (contracts/schemas/conformance-report.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.verdicts import Run

FILENAME = "report.json"
SCHEMA_ID = "https://examrig.invalid/schemas/conformance-report.schema.json"


def write(run: Run, directory: Path) -> Path:
    """Write ``report.json`` atomically (a reader never sees half a file)."""
    data = {"$schema": SCHEMA_ID, **run.to_dict()}
    path = directory / FILENAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
