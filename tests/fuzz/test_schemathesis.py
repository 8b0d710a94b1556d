"""schemathesis against every mock, in process (WSGI), from the OpenAPI document the mock serves.

Seeded (``derandomize``), a fixed number of examples per operation, checks: no unexpected
server error (the core logs each one), status codes documented, content types, response
schemas and headers. A 5xx is accepted only where the document declares it as the real
system's answer (TIS's "Could not persist", a failed package load or delete; the admin
health's 503) and the mock did not log an unexpected error. A failure prints the case as
a curl command.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contracts.openapi import SERVICES, served_document
from tests.fuzz.conftest import app, unexpected_errors

# per operation and mode: the whole run stays within a few minutes on a loaded 2-core machine; a deeper local run:
# EXAMRIG_FUZZ_EXAMPLES=100 EXAMRIG_FUZZ_COVERAGE=1 (schemathesis's coverage phase: every boundary of every schema)
EXAMPLES = int(os.environ.get("EXAMRIG_FUZZ_EXAMPLES", "6"))
COVERAGE = os.environ.get("EXAMRIG_FUZZ_COVERAGE") == "1"
PROCTORU_TOKEN = "e7a1c0de-0000-4000-8000-000000000001"  # the built-in institution of every tenant (docs/proctoru.md)
BASE = [status_code_conformance, content_type_conformance, response_schema_conformance, response_headers_conformance]
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate], print_blob=True)


def _documents_5xx(case: schemathesis.Case) -> bool:
    return any(str(code).startswith("5") for code in case.operation.definition.raw.get("responses", {}))


def _config(mode: str) -> schemathesis.Config:
    """Seeded, one generation mode, the fuzzing phase alone (the coverage phase's every-boundary cases would
    multiply the run's length; the property tests in test_properties.py go after the boundaries instead)."""
    return schemathesis.Config.from_dict({"seed": 1234, "generation": {"mode": mode},
                                          "phases": {"coverage": {"enabled": COVERAGE},
                                                     "stateful": {"enabled": False}}})


def _run(service: str, case: schemathesis.Case, mode: str) -> None:
    headers: dict[str, Any] = {}
    if service == "proctoru" and not case.path.startswith("/_examrig/"):
        headers["Authorization-Token"] = PROCTORU_TOKEN  # past the token check, into the handlers
    with unexpected_errors() as logged:
        response = case.call(app=app(service), headers=headers or None)
    if logged:
        raise AssertionError(f"{service} logged an unexpected error for\n    {case.as_curl_command(headers=headers)}"
                             f"\n(status {response.status_code})\n" + "\n".join(logged)[-3000:])
    server = [] if _documents_5xx(case) else [not_a_server_error]
    # negative cases break the request on purpose: only the server-error and content-type checks apply
    checks = [*server, *BASE] if mode == "positive" else [*server, content_type_conformance]
    case.validate_response(response, checks=checks, headers=headers or None)


def _fuzz_test(service: str, mode: str) -> Any:
    schema = schemathesis.openapi.from_dict(served_document(service), config=_config(mode))

    @schema.parametrize()
    @FUZZ
    def test(case: schemathesis.Case) -> None:
        _run(service, case, mode)

    test.__name__ = f"test_fuzz_{mode}_{service}"
    return test


for _service in [*SERVICES, "deliveryodata"]:
    for _mode in ("positive", "negative"):
        globals()[f"test_fuzz_{_mode}_{_service}"] = _fuzz_test(_service, _mode)
