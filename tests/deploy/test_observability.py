"""deploy/prometheus and deploy/grafana agree with the metrics the services export.

(The Compose stage, test_compose.py, also runs Prometheus with this scrape config
against the replicas and runs every dashboard query there.)
"""

import json
import re
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from litcomp.gateway.settings import GatewaySettings
from litcomp.kit import instance_table  # noqa: F401  (registers litcomp_balancer_picks)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "litcomp-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus"
HTTP_PORTS = {
    "gateway": "LITCOMP_GATEWAY_PORT",
    "discovery": "LITCOMP_DISCOVERY_PORT",
    "users": "LITCOMP_USERS_HTTP_PORT",
    "competitions": "LITCOMP_COMPETITIONS_HTTP_PORT",
}
SERVICES = set(HTTP_PORTS)
# What each kind of metric is called in the exposition (and so in PromQL).
SUFFIXES = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"]}


def _exported() -> dict[str, set[str]]:
    """Each litcomp metric in the registry the services expose, by its name, with the
    series names it exposes (some are collectors of ours, read at scrape time)."""
    return {
        family.name: {family.name + suffix for suffix in SUFFIXES[family.type]}
        for family in REGISTRY.collect()
        if family.name.startswith("litcomp_")
    }


def _queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _used() -> set[str]:
    return {n for q in _queries() for n in re.findall(r"\blitcomp_[a-z_]+", q)}


def test_every_metric_on_the_dashboard_is_exported() -> None:
    series = set().union(*_exported().values())
    assert _used() - series == set()


def test_every_exported_metric_is_on_the_dashboard() -> None:
    used = _used()
    unshown = {name for name, series in _exported().items() if not series & used}
    assert unshown == set()


def test_every_panel_queries_prometheus_through_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "service"} <= variables
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            # Balanced brackets: a cheap guard against a broken expression.
            expr = target["expr"]
            for opening, closing in ("()", "{}", "[]"):
                assert expr.count(opening) == expr.count(closing), expr


def _scrape_configs(name: str) -> list[dict[str, Any]]:
    config = yaml.safe_load((PROMETHEUS / name).read_text())
    jobs: list[dict[str, Any]] = config["scrape_configs"]
    return jobs


def test_compose_scrape_config_has_a_job_per_service_on_its_compose_port() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    ports = {name: int(compose[name]["environment"][HTTP_PORTS[name]]) for name in SERVICES}
    jobs = {job["job_name"]: job for job in _scrape_configs("prometheus.yml")}
    assert set(jobs) == SERVICES
    for name, job in jobs.items():
        (target,) = job["dns_sd_configs"]
        assert target["names"] == [name]
        assert target["port"] == ports[name]


def test_compose_prometheus_may_scrape_the_gateway() -> None:
    """The gateway's /metrics answers its operator networks only: Prometheus reaches it
    from an address of a Compose network (Docker's default pools)."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    networks = GatewaySettings(
        gateway_operator_nets=compose["gateway"]["environment"]["LITCOMP_GATEWAY_OPERATOR_NETS"]
    ).gateway_operator_nets
    for address in ("172.18.0.5", "192.168.16.3", "127.0.0.1"):
        assert any(ip_address(address) in network for network in networks), address


def test_kubernetes_scrape_config_keeps_annotated_litcomp_pods() -> None:
    (job,) = _scrape_configs("kubernetes.yml")
    assert job["kubernetes_sd_configs"][0]["role"] == "pod"
    targets = {rule.get("target_label") for rule in job["relabel_configs"]}
    assert {"__address__", "__metrics_path__", "job"} <= targets


@pytest.mark.parametrize(
    "path", sorted((ROOT / "deploy" / "grafana" / "provisioning").rglob("*.yml")), ids=str
)
def test_grafana_provisioning_files_parse(path: Path) -> None:
    assert yaml.safe_load(path.read_text())["apiVersion"] == 1
