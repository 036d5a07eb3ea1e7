"""What operators rely on: health, metrics, JSON logs, OpenAPI, on every instance."""

import httpx
import pytest

from tests.support import (
    Account,
    Platform,
    Process,
    expect_error,
    free_port,
    get_json,
    sign_up,
    wait_until,
)


def _direct(platform: Platform, process: Process) -> httpx.Client:
    instance = platform.instance(process)
    return httpx.Client(base_url=f"http://{instance['host']}:{instance['http_port']}", timeout=5)


@pytest.mark.parametrize("service", ["users", "competitions"])
def test_service_health_and_metrics(platform: Platform, service: str):
    with _direct(platform, platform.replicas[service][0]) as client:
        assert client.get("/health").json() == {"status": "ok", "checks": {"database": "ok"}}
        assert client.get("/health/live").json() == {"status": "ok"}
        client.get("/no/such/route")
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert (
            'litcomp_http_requests_total{method="GET",route="/health",'
            f'service="{service}",status="200"}}'
        ) in metrics.text
        assert 'route="unmatched"' in metrics.text
        assert "/no/such/route" not in metrics.text
        for state in ("in_use", "idle", "size"):  # the database pool (PostgreSQL here)
            assert f'litcomp_db_pool_connections{{service="{service}",state="{state}"}}' in (
                metrics.text
            )


def test_gateway_and_discovery_health_and_metrics(platform: Platform, users: httpx.Client):
    assert users.get("/health").json() == {"status": "ok"}
    users.get("/competitions")
    metrics = users.get("/metrics").text
    assert 'litcomp_http_requests_total{method="GET",route="/competitions",service="gateway"' in (
        metrics
    )
    assert 'litcomp_balancer_picks_total{caller="gateway",instance=' in metrics
    assert 'litcomp_breaker_state{caller="gateway"' in metrics
    discovery = httpx.get(f"{platform.discovery_url}/health")
    assert discovery.json() == {"status": "ok", "checks": {}}


def test_logs_are_json_lines_with_request_ids(platform: Platform, users: httpx.Client):
    users.get("/users/.well-known/jwks.json", headers={"X-Request-ID": "ops-check-1"})
    [at_gateway] = platform.gateway.wait_for_log("ops-check-1")
    [at_users] = platform.replicas["users"][0].wait_for_log("ops-check-1")
    for record, service in ((at_gateway, "gateway"), (at_users, "users")):
        assert record["request_id"] == "ops-check-1"
        assert record["path"] == "/users/.well-known/jwks.json"
        assert record["status"] == 200
        assert record["service"] == service
        assert {"time", "level", "logger", "message", "duration_ms"} <= set(record)


@pytest.mark.parametrize(
    ("service", "paths"),
    [
        ("users", {"/users/register", "/users/login", "/users/subscribe/{competition_id}"}),
        ("competitions", {"/competitions", "/competitions/{competition_id}/results"}),
    ],
)
def test_each_service_publishes_its_openapi(platform: Platform, service: str, paths: set[str]):
    with _direct(platform, platform.replicas[service][0]) as client:
        spec = client.get("/openapi.json").json()
        assert paths <= set(spec["paths"])
        assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        assert "ErrorBody" in spec["components"]["schemas"]
        page = client.get("/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text  # Swagger UI from the instance itself: works offline
        assert client.get("/docs/swagger-ui-bundle.js").status_code == 200
        assert client.get("/docs/swagger-ui.css").status_code == 200
        assert client.get("/docs/elsewhere.js").status_code == 404


def test_operator_endpoints_take_a_real_admin_token(
    platform: Platform, users: httpx.Client, admin: Account
):
    """A gateway for which no network is an operator's: an admin's token, verified with
    the keys the users service publishes (fetched through the gateway's pool), opens
    /gateway/status and /metrics; a user's does not."""
    port = free_port()
    env = {
        **platform.env,
        "LITCOMP_GATEWAY_PORT": str(port),
        "LITCOMP_GATEWAY_OPERATOR_NETS": "192.0.2.0/24",
    }
    gateway = Process("gateway", env, platform.var_dir / "gateway-operators.log")
    gateway.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: get_json(f"{url}/health"), "the second gateway")
        person = sign_up(users, "operator")
        for path in ("/gateway/status", "/metrics"):
            wait_until(
                lambda path=path: httpx.get(url + path, headers=admin.auth).status_code == 200,
                f"{path} for an admin",  # until this gateway lists a users instance
            )
            assert expect_error(httpx.get(url + path), 401)["code"] == "unauthorized"
            refused = httpx.get(url + path, headers=person.auth)
            assert expect_error(refused, 403)["code"] == "forbidden"
        status = httpx.get(f"{url}/gateway/status", headers=admin.auth).json()
        assert status["services"]["users"]
    finally:
        gateway.stop()
