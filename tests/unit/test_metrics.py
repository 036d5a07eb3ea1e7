"""The metrics kept by hand and read at scrape time: same samples as prometheus_client's."""

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from litcomp.kit.balancer import Instance, RoundRobin
from litcomp.kit.instance_table import InstanceTable
from litcomp.kit.metrics import RequestMetrics


def _samples(collector: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(collector)  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_requests_are_counted_by_labels_and_timed_in_cumulative_buckets():
    metrics = RequestMetrics(buckets=(0.1, 1.0, float("inf")))
    for seconds in (0.05, 0.1, 0.5, 3.0):  # 0.1 falls in the 0.1 bucket: "less or equal"
        metrics.observe("gateway", "GET", "/competitions", 200, seconds)
    metrics.observe("gateway", "GET", "/competitions", 503, 0.01)

    samples = _samples(metrics)

    route = (("method", "GET"), ("route", "/competitions"), ("service", "gateway"))
    assert samples["litcomp_http_requests_total", (*route, ("status", "200"))] == 4
    assert samples["litcomp_http_requests_total", (*route, ("status", "503"))] == 1
    buckets = {
        le: samples["litcomp_http_request_duration_seconds_bucket", (("le", le), *route)]
        for le in ("0.1", "1.0", "+Inf")
    }
    assert buckets == {"0.1": 3, "1.0": 4, "+Inf": 5}
    assert samples["litcomp_http_request_duration_seconds_count", route] == 5
    assert samples["litcomp_http_request_duration_seconds_sum", route] == pytest.approx(3.66)


def test_balancer_picks_are_read_from_every_live_instance_table():
    listed = [Instance("competitions", name, "127.0.0.1", 1) for name in ("a", "b")]
    table = InstanceTable(caller="test-picks", service="competitions", balancer=RoundRobin())
    table.update(listed)
    for _ in range(3):
        table.choose()

    text = generate_latest().decode()

    picks = {
        sample.labels["instance"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "litcomp_balancer_picks_total" and sample.labels["caller"] == "test-picks"
    }
    assert picks == {"a": 2, "b": 1}
