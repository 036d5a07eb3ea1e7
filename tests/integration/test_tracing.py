"""litcomp.kit.tracing: nothing without an OTLP endpoint; with one, spans for HTTP and gRPC.

Spans go to the SDK's in-memory exporter (no collector, no network beyond a loopback
gRPC server on port 0).
"""

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import grpc
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from litcomp.kit import tracing
from litcomp.kit.grpc import start_server
from litcomp.kit.http import create_app

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


def _app() -> FastAPI:
    router = APIRouter()

    @router.get("/stories/{story_id}")
    async def story(story_id: str) -> dict[str, str]:
        return {"story_id": story_id}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    return create_app(service="traced", title="traced", lifespan=lifespan, routers=[router])


class TestWithoutAnEndpoint:
    @pytest.mark.parametrize("environ", [{}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}])
    def test_nothing_is_installed(self, environ: dict[str, str]) -> None:
        server_factory, channel_factory = grpc.aio.server, grpc.aio.insecure_channel
        app = _app()
        middleware = list(app.user_middleware)

        assert tracing.install("users", app, environ=environ) is None

        assert grpc.aio.server is server_factory
        assert grpc.aio.insecure_channel is channel_factory
        assert app.user_middleware == middleware

    def test_no_opentelemetry_sdk_is_even_imported(self) -> None:
        script = textwrap.dedent(
            """
            import sys
            from litcomp.kit import tracing
            assert tracing.install("users", None, environ={}) is None
            loaded = [m for m in sys.modules if m.startswith(("opentelemetry.sdk",
                      "opentelemetry.instrumentation", "opentelemetry.exporter"))]
            print(loaded)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "[]"


class TestWithAnEndpoint:
    @pytest.fixture
    def exporter(self) -> Iterator[InMemorySpanExporter]:
        exporter = InMemorySpanExporter()
        yield exporter
        exporter.clear()

    @pytest.fixture
    def traced_app(self, exporter: InMemorySpanExporter) -> Iterator[FastAPI]:
        app = _app()
        installed = tracing.install(
            "users", app, environ=ENDPOINT, exporter=exporter, set_global=False
        )
        assert installed is not None
        yield app
        installed.shutdown()

    async def test_http_requests_become_server_spans_named_by_route(
        self, traced_app: FastAPI, exporter: InMemorySpanExporter
    ) -> None:
        transport = httpx.ASGITransport(app=traced_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://users") as client:
            assert (await client.get("/stories/42")).status_code == 200
            assert (await client.get("/health/live")).status_code == 200
            assert (await client.get("/metrics")).status_code == 200

        servers = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
        assert [s.name for s in servers] == ["GET /stories/{story_id}"]
        (span,) = servers
        assert span.attributes is not None
        assert span.attributes["http.route"] == "/stories/{story_id}"
        assert span.resource.attributes["service.name"] == "users"
        assert span.resource.attributes["service.namespace"] == "litcomp"

    @pytest.mark.usefixtures("traced_app")
    async def test_a_grpc_call_is_one_trace_from_client_to_server(
        self, exporter: InMemorySpanExporter
    ) -> None:
        server, port = await start_server(
            service="traced", registrations=[], host="127.0.0.1", port=0
        )
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                health = health_pb2_grpc.HealthStub(channel)
                answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING
        finally:
            await server.stop(grace=None)

        spans = exporter.get_finished_spans()
        client = _one(spans, SpanKind.CLIENT)
        served = _one(spans, SpanKind.SERVER)
        assert client.name == served.name == "/grpc.health.v1.Health/Check"
        assert client.context is not None and served.context is not None
        assert served.context.trace_id == client.context.trace_id
        assert served.parent is not None
        assert served.parent.span_id == client.context.span_id


def _one(spans: tuple[ReadableSpan, ...], kind: SpanKind) -> ReadableSpan:
    (span,) = [s for s in spans if s.kind is kind]
    return span


class TestExporterChoice:
    def test_http_protobuf_by_default(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert isinstance(tracing._otlp_exporter({}), OTLPSpanExporter)

    def test_grpc_when_asked(self) -> None:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = tracing._otlp_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
        assert isinstance(exporter, OTLPSpanExporter)
        exporter.shutdown()

    def test_an_unknown_protocol_stops_the_process(self) -> None:
        with pytest.raises(SystemExit, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
            tracing._otlp_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"})
