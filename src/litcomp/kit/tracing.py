"""OpenTelemetry tracing, on only when an OTLP endpoint is configured.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) unset
or empty, ``install`` does nothing at all: no OpenTelemetry module is imported, no
tracer provider is set, gRPC is not patched. With it set, an instance exports its spans
in batches over OTLP (``OTEL_EXPORTER_OTLP_PROTOCOL``: ``http/protobuf``, the default,
or ``grpc``), and traces

- the HTTP requests it serves (FastAPI; spans named by route template; ``/health``,
  ``/metrics`` and discovery's registry chatter are left out),
- the gRPC calls it serves and makes (grpc.aio server and channels), with the trace
  context carried in the call's metadata, so one trace follows a request from the
  service it reached through the gRPC calls it caused.

The SDK's other standard variables apply as it reads them: ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``/``_ARG``,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_EXPORTER_OTLP_TIMEOUT``, ``OTEL_BSP_*``,
``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litcomp import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
# Probes, scrapes and instances' heartbeats to discovery would drown the real requests.
EXCLUDED_URLS = "/health,/metrics,/discovery/"


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether an OTLP endpoint is configured (an empty value counts as unset)."""
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


@dataclass
class Tracing:
    """What ``install`` set up; ``shutdown`` flushes the spans and undoes the patches."""

    provider: TracerProvider
    instrumentors: list[Any] = field(default_factory=list)

    def shutdown(self) -> None:
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        self.provider.shutdown()


def install(
    service: str,
    app: object = None,
    *,
    environ: Mapping[str, str] = os.environ,
    exporter: SpanExporter | None = None,
    set_global: bool = True,
) -> Tracing | None:
    """Trace this instance if an OTLP endpoint is configured; else do nothing.

    Call it once, before the instance creates its gRPC server and channels. ``app``
    (a FastAPI application) gets its requests traced. ``exporter`` replaces the OTLP
    exporter (tests pass an in-memory one; spans then go out one by one, unbatched).
    ``set_global`` also makes the provider the process's own, for any manual span.
    """
    if not enabled(environ):
        return None
    from fastapi import FastAPI
    from opentelemetry import trace
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create(
        {
            "service.name": service,
            "service.namespace": "litcomp",
            "service.version": __version__,
            "service.instance.id": f"{socket.gethostname()}-{os.getpid()}",
        }
    )
    provider = TracerProvider(resource=resource)
    if exporter is None:
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(environ)))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)

    tracing = Tracing(provider)
    # The instrumentation package has no annotations: untyped calls.
    grpc_aio: list[Any] = [GrpcAioInstrumentorServer(), GrpcAioInstrumentorClient()]  # type: ignore[no-untyped-call]
    for instrumentor in grpc_aio:
        instrumentor.instrument(tracer_provider=provider, skip_dep_check=True)
        tracing.instrumentors.append(instrumentor)
    if isinstance(app, FastAPI):
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=provider,
            excluded_urls=environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", EXCLUDED_URLS),
        )
    log.info(
        "tracing to OTLP",
        extra={"endpoint": next(environ[n] for n in ENDPOINT_VARIABLES if environ.get(n))},
    )
    return tracing


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter:
    protocol = next((environ[n] for n in PROTOCOL_VARIABLES if environ.get(n)), "http/protobuf")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter()
    raise SystemExit(
        f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not supported (use http/protobuf or grpc)"
    )
