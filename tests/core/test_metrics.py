"""``/_examrig/metrics`` in one process: prometheus_client's exposition of the in-memory counters."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from mocks.core.metrics import BUCKETS_MS, CONTENT_TYPE, Metrics
from tests.core.conftest import NotesService

T = "X-Examrig-Tenant"


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value (prometheus_client's own parser)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def requests_by(samples: dict[Any, float], service: str) -> dict[tuple[str, str], float]:
    """``examrig_requests_total`` by (route, status), admin routes left out."""
    return {(dict(labels)["route"], dict(labels)["status"]): v for (name, labels), v in samples.items()
            if name == "examrig_requests_total" and dict(labels)["service"] == service
            and not dict(labels)["route"].startswith("admin:")}


def test_counts_by_route_and_status_and_a_cumulative_histogram(notes_app: NotesService) -> None:
    client = Client(notes_app)
    for i in range(3):
        assert client.put(f"/notes/k{i}", data="v", headers={T: "m"}).status_code == 201
    assert client.get("/notes/k0", headers={T: "m"}).status_code == 200
    assert client.get("/notes/none", headers={T: "m"}).status_code == 404
    assert client.get("/nowhere").status_code == 404
    answer = client.get("/_examrig/metrics")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == CONTENT_TYPE
    samples = parse(answer.text)
    assert requests_by(samples, "notes") == {("put", "201"): 3, ("get", "200"): 1, ("get", "404"): 1,
                                             ("unmatched", "404"): 1}
    put = (("route", "put"), ("service", "notes"))
    assert samples[("examrig_request_duration_ms_count", put)] == 3
    assert samples[("examrig_request_duration_ms_sum", put)] > 0
    cumulative = [samples[("examrig_request_duration_ms_bucket", (("le", f"{float(b)}"), *put))] for b in BUCKETS_MS]
    assert cumulative == sorted(cumulative) and cumulative[-1] <= 3
    assert samples[("examrig_request_duration_ms_bucket", (("le", "+Inf"), *put))] == 3
    # no per-process start instants: they would mean nothing once several processes are summed
    assert not any(name.endswith("_created") for name, _ in samples)


def test_buckets_hold_each_duration_once_at_its_bound() -> None:
    metrics = Metrics()
    for ms in (0.5, 1.0, 1.5, 5000.0, 7000.0):
        metrics.observe("r", 200, ms)
    samples = parse(metrics.render("s"))
    labels = (("route", "r"), ("service", "s"))
    def le(bound: str) -> float:
        return samples[("examrig_request_duration_ms_bucket", (("le", bound), *labels))]
    assert (le("1.0"), le("2.0"), le("2500.0"), le("5000.0"), le("+Inf")) == (2, 3, 3, 4, 5)
    assert samples[("examrig_request_duration_ms_sum", labels)] == 12003.0


def test_reset_of_all_tenants_forgets_the_counts_and_a_tenant_reset_does_not(notes_app: NotesService) -> None:
    client = Client(notes_app)
    client.put("/notes/a", data="v", headers={T: "r"})
    client.post("/_examrig/reset", json={"tenant": "r"})
    assert requests_by(parse(client.get("/_examrig/metrics").text), "notes") == {("put", "201"): 1}
    client.post("/_examrig/reset", json={"all": True})
    assert requests_by(parse(client.get("/_examrig/metrics").text), "notes") == {}
