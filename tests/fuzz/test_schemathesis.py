"""schemathesis against every mock, in process (WSGI), from the OpenAPI document the mock serves.

Seeded (``derandomize``), a fixed number of examples per operation, checks: no unexpected
server error (the core logs each one), status codes documented, content types, response
schemas and headers. A 5xx is accepted only as the answer the reference documents for that
route (DOCUMENTED_5XX: TIS's "Could not persist the request." and the OAuth server's failure on
the receiver, a failed package load's message, "Could not delete assessment {key} from TIS";
the admin door's 503 health and 501 client-check), its body checked too, and only when the mock
did not log an unexpected error. A failure prints the case as a curl command.
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


def _json_message(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    message = body.get("Message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None


def _admin_error(response: Any, status: int) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return response.status_code == status and isinstance(body, dict) and isinstance(body.get("error"), dict)


def _unavailable(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return response.status_code == 503 and isinstance(body, dict) and body.get("status") == "unavailable"


#: (service, method, path template) -> whether a 5xx answer is the one the reference documents for the route
#: (../shared/reference/tis-thss-tds-dw.md 2.1, 2.3, 2.4, 6; the admin door: docs/architecture.md). Nothing else
#: may answer 5xx.
DOCUMENTED_5XX: dict[tuple[str, str, str], Any] = {
    # 2.1: any exception in the receiver's store step, the key-field checks among them; 6: OpenAM unreachable
    ("tis", "POST", "/api/testresult"): lambda r: r.status_code == 500 and (
        _json_message(r) == "Could not persist the request."
        or r.text == "An exception occurred while attempting to access the oauth server."),
    # 2.3: any exception while loading a package, with its message (the code never answers 400)
    ("tis", "POST", "/api/testpackage"): lambda r: r.status_code == 500 and bool(_json_message(r)),
    # 2.4: a delete that fails
    ("tis", "DELETE", "/api/assessments/{key}"): lambda r: r.status_code == 500 and (
        _json_message(r) or "").startswith("Could not delete assessment "),
    # the admin door: health when the database does not answer, the client check where it is not installed
    **{(service, "GET", "/_examrig/health"): _unavailable for service in [*SERVICES, "deliveryodata"]},
    **{(service, "GET", "/_examrig/client-check"): (lambda r: _admin_error(r, 501))
       for service in [*SERVICES, "deliveryodata"]},
}


def _documented_5xx(service: str, case: schemathesis.Case, response: Any) -> bool:
    """Whether ``response`` (a 5xx) is the answer the reference documents for the case's route."""
    accepts = DOCUMENTED_5XX.get((service, case.method.upper(), case.operation.path))
    return accepts is not None and bool(accepts(response))


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
    if response.status_code >= 500 and not _documented_5xx(service, case, response):
        raise AssertionError(f"{service} answered {response.status_code}, not a 5xx the reference documents for "
                             f"{case.method.upper()} {case.operation.path}, to\n    "
                             f"{case.as_curl_command(headers=headers)}\n{response.text[:500]}")
    server = [] if response.status_code >= 500 else [not_a_server_error]
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
