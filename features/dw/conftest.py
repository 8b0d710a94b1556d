"""Steps of the dw scenarios about idempotency keys (the generic ones from features/tds/keyed_steps.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_bdd import parsers, when

from conformance.targets import Rig
from features.tds.keyed_steps import post_keyed, register

register()


@when(parsers.parse('TIS posts the sample TRT "{name}" to dw "{path}" with idempotency key "{key}"'))
def post_sample_keyed(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, name: str, path: str,
                      key: str) -> None:
    """A real TRT as TIS sends it to a DW, with ``Idempotency-Key``."""
    data = (shared_data / "tis" / "trt" / name).read_bytes()
    post_keyed(rig, tenant, context, "dw", path, key, data, "application/xml")


@when(parsers.parse('I import the sample TRT "{name}" into dw with idempotency key "{key}"'))
def import_sample_keyed(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, name: str,
                        key: str) -> None:
    """``POST /exams/imports`` with the scenario's bearer token and ``Idempotency-Key``."""
    data = (shared_data / "tis" / "trt" / name).read_bytes()
    post_keyed(rig, tenant, context, "dw", "/exams/imports", key, data, "application/xml",
               Authorization=f"Bearer {context['dw_token']}")
    if context["response"].status_code == 202:
        context.setdefault("import_ids", []).append(context["response"].json()["id"])
