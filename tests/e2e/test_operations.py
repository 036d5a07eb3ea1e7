"""What operators rely on: health, metrics, JSON logs."""

import httpx

from tests.support import Platform


def test_health_and_metrics(users: httpx.Client, competitions: httpx.Client):
    for client, service in ((users, "users"), (competitions, "competitions")):
        health = client.get("/health")
        assert health.json() == {"status": "ok", "checks": {"database": "ok"}}
        assert client.get("/health/live").json() == {"status": "ok"}
        client.get("/no/such/route")
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert (
            f'litcomp_http_requests_total{{method="GET",route="/health",service="{service}",status="200"}}'
            in metrics.text
        )
        assert 'route="unmatched"' in metrics.text
        assert "/no/such/route" not in metrics.text


def test_logs_are_json_lines_with_request_ids(platform: Platform, users: httpx.Client):
    users.get("/health", headers={"X-Request-ID": "ops-check-1"})
    [record] = platform.users.wait_for_log("ops-check-1")
    assert record["request_id"] == "ops-check-1"
    assert record["path"] == "/health"
    assert record["status"] == 200
    assert record["service"] == "users"
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(record)


def test_each_service_publishes_its_openapi(users: httpx.Client, competitions: httpx.Client):
    for client, paths in (
        (
            users,
            {
                "/users/register",
                "/users/login",
                "/users/profile",
                "/users/subscribe/{competition_id}",
            },
        ),
        (
            competitions,
            {
                "/competitions",
                "/competitions/{competition_id}/submit",
                "/competitions/{competition_id}/results",
            },
        ),
    ):
        spec = client.get("/openapi.json").json()
        assert paths <= set(spec["paths"])
        assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert "ErrorBody" in spec["components"]["schemas"]
        assert client.get("/docs").status_code == 200
