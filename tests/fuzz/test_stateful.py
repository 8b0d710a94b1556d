"""schemathesis's stateful runs over the documents' links: a fault rule added then read and deleted, an import
posted to the warehouse then read back. In process (WSGI), seeded, a few short scenarios each."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contracts.openapi import served_document
from tests.fuzz.conftest import app, unexpected_errors

STATEFUL = settings(max_examples=12, stateful_step_count=4, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TENANT = {"X-Examrig-Tenant": "stateful"}


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({"seed": 1234, "generation": {"mode": "positive"}})


def _loader_token() -> str:
    """A bearer token of the warehouse loader (ASMTDATALOAD), issued by the in-process OpenAM."""
    import requests

    from mocks.core.inprocess import WSGIAdapter

    session = requests.Session()
    session.mount("http://openam/", WSGIAdapter(app("openam")))
    answer = session.post("http://openam/auth/oauth2/access_token?realm=/sbac", headers=TENANT, timeout=60, data={
        "grant_type": "password", "username": "dw-loader@example.org", "password": "password",
        "client_id": "examrig", "client_secret": "examrig-secret"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _machine(service: str, operation_ids: list[str], headers: dict[str, str]) -> Any:
    schema = schemathesis.openapi.from_dict(served_document(service), config=_config()).include(
        operation_id=operation_ids)
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": {**TENANT, **headers}}

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Any:
            with unexpected_errors() as logged:
                response = case.call(app=app(service), **kwargs)
            assert not logged, f"{service}: unexpected error for {case.as_curl_command()}\n" + "\n".join(logged)
            return response

        def validate_response(self, response: Any, case: schemathesis.Case, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))

    return Machine


def test_stateful_fault_rules() -> None:
    machine = _machine("tds", ["adminFaultsAdd", "adminFaultGet", "adminFaultDelete"], {})
    machine.run(settings=STATEFUL)


def test_stateful_warehouse_imports() -> None:
    token = _loader_token()
    machine = _machine("dw", ["postExamImport", "getExamImport"], {"Authorization": f"Bearer {token}"})
    machine.run(settings=STATEFUL)
