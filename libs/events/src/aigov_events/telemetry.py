"""OpenTelemetry across the bus: W3C trace context in record headers, spans per publish and handle.

The same code serves the Kafka bus and the embedded bus, so traces look the same
in both run modes. Spans follow the OpenTelemetry messaging semantic conventions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Link, Span, SpanKind

TRACER = trace.get_tracer("aigov_events")

_TRACE_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})


def inject(headers: list[tuple[str, bytes]]) -> None:
    """Append the current trace context (`traceparent`, ...) to Kafka-style headers."""
    headers.extend(context_headers())


def context_headers() -> list[tuple[str, bytes]]:
    """The current trace context as Kafka-style headers (computed once for many records)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(name, value.encode("utf-8")) for name, value in carrier.items()]


def extract(headers: Sequence[tuple[str, bytes]]) -> context.Context:
    """Read the trace context a producer put in the headers (empty context if none)."""
    carrier = {
        name.lower(): value.decode("utf-8", "replace")
        for name, value in headers
        if name.lower() in _TRACE_HEADERS
    }
    return propagate.extract(carrier)


def strip_trace_headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Headers without trace context, so a republished record gets the current one."""
    return [(n, v) for n, v in headers if n.lower() not in _TRACE_HEADERS]


def start_publish_span(topic: str, event_type: str, event_id: str, system: str) -> Span:
    """Start (not as current) a producer span for one event; the caller ends it on ack."""
    return TRACER.start_span(
        f"send {topic}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "messaging.message.id": event_id,
            "cloudevents.event_type": event_type,
        },
    )


@contextmanager
def process_span(
    *,
    topic: str,
    partition: int,
    offset: int,
    group: str,
    headers: Sequence[tuple[str, bytes]],
    system: str,
) -> Iterator[Span]:
    """A consumer span for one handled record, a child of the producer's trace."""
    parent = extract(headers)
    parent_ctx = trace.get_current_span(parent).get_span_context()
    links = [Link(parent_ctx)] if parent_ctx.is_valid else []
    with TRACER.start_as_current_span(
        f"process {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.destination.partition.id": str(partition),
            "messaging.kafka.offset": offset,
            "messaging.consumer.group.name": group,
        },
    ) as span:
        yield span
