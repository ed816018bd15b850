"""OpenTelemetry tracing: one SDK tracer provider per process, FastAPI and httpx instrumented.

Configuration follows the standard `OTEL_*` variables. Only the console exporter ships with the
runtime (`OTEL_TRACES_EXPORTER=console`, written to stderr so stdout stays pure JSON logs); with
any other value spans are not exported, but they still exist, so logs carry trace ids and
`traceparent` headers propagate to the services we call.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

__all__ = ["configure_tracing", "instrument_app"]

logger = logging.getLogger(__name__)

# Probes and scrapes arrive every few seconds; tracing them would drown real traffic.
_UNTRACED_PATHS = "/healthz$,/readyz$,/metrics$"

_lock = threading.Lock()
_provider: TracerProvider | None = None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def configure_tracing(service_name: str, *, service_version: str | None = None) -> TracerProvider:
    """Install (once per process) the SDK tracer provider and instrument httpx; returns it."""
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            # Someone (a test, or an embedding process) already installed an SDK provider.
            _provider = current
        elif _env_flag("OTEL_SDK_DISABLED"):
            # Keep a private provider so callers get an object, but leave the global no-op.
            _provider = TracerProvider()
        else:
            attributes: dict[str, str] = {}
            # OTEL_SERVICE_NAME wins over our default, as operators expect.
            if not os.environ.get("OTEL_SERVICE_NAME"):
                attributes[SERVICE_NAME] = service_name
            if service_version is not None:
                attributes[SERVICE_VERSION] = service_version
            # The SDK reads OTEL_TRACES_SAMPLER(_ARG), OTEL_RESOURCE_ATTRIBUTES and span limits.
            provider = TracerProvider(resource=Resource.create(attributes))
            _add_exporters(provider)
            trace.set_tracer_provider(provider)
            _provider = provider
        provider = _provider
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    return provider


def _add_exporters(provider: TracerProvider) -> None:
    requested = {
        name.strip().lower()
        for name in os.environ.get("OTEL_TRACES_EXPORTER", "none").split(",")
        if name.strip()
    }
    if "console" in requested:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    unsupported = requested - {"console", "none"}
    if unsupported:
        logger.warning(
            "trace exporter(s) not installed; spans are not exported",
            extra={"otel_traces_exporter": sorted(unsupported)},
        )


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """Trace every request `app` serves (except probes and scrapes); no-op when already done."""
    configured = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS") or os.environ.get(
        "OTEL_PYTHON_EXCLUDED_URLS"
    )
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=None if configured else _UNTRACED_PATHS,
        # Per-message receive/send spans add volume without telling us anything.
        exclude_spans=["receive", "send"],
    )
