#!/usr/bin/env python3
"""Sends the traces of a small instrumented shop over OTLP with the OpenTelemetry Python SDK.

Usage: otel_traces.py grpc|http ENDPOINT COUNT [TENANT]

ENDPOINT is `HOST:PORT` for grpc and the full `http://HOST:PORT/v1/traces` URL for http. Three
services, each with its own tracer provider and resource ({service.name, service.version,
deployment.environment: "e2e"}), make COUNT traces of seven spans each:

  frontend   GET /checkout        SERVER  http.request.method, url.full, status code 200|500
  frontend     POST /pay          CLIENT  (the call to checkout; an event "retry" when failing)
  checkout       POST /pay        SERVER  child of the client span, through W3C propagation
  checkout         reserve-stock  INTERNAL  an int array, a float, a bool attribute
  checkout         SELECT stock   CLIENT  db.system, db.statement
  payments         charge         CONSUMER  linked to the previous trace's root span
  payments           fraud-check  INTERNAL  status ERROR with a message on every odd trace

Every span is exported on its own (a simple span processor per provider), so one trace arrives
in many requests and out of order (children end first). Trace i starts i seconds after a base
ten minutes ago.

Prints one JSON object per span as the SDK exported it: {"trace_id", "span_id", "parent_span_id"
(or null), "name", "kind" (OTLP number), "start", "end", "status_code" (OTLP number),
"status_message", "attributes", "events": [{"name", "time", "attributes"}], "links":
[{"trace_id", "span_id", "attributes"}], "resource", "scope_name", "scope_version"}, attributes
as {key: [type, value]} with type one of string, int, double, bool, array (ids in lowercase
hex, times in nanoseconds). With TENANT, every export carries `X-Scope-OrgID: TENANT`. Exits
non-zero when an export fails.
"""

import json
import sys
import time

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

SECOND = 1_000_000_000
MS = 1_000_000


def typed(v):
    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, int):
        return ["int", v]
    if isinstance(v, float):
        return ["double", v]
    if isinstance(v, str):
        return ["string", v]
    return ["array", [typed(x) for x in v]]


def attrs(a):
    return {k: typed(v) for k, v in (a or {}).items()}


def describe(span):
    ctx = span.get_span_context()
    parent = span.parent
    return {
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_span_id": f"{parent.span_id:016x}" if parent else None,
        "name": span.name,
        "kind": span.kind.value + 1,
        "start": span.start_time,
        "end": span.end_time,
        "status_code": span.status.status_code.value,
        "status_message": span.status.description or "",
        "attributes": attrs(span.attributes),
        "events": [
            {"name": e.name, "time": e.timestamp, "attributes": attrs(e.attributes)}
            for e in span.events
        ],
        "links": [
            {
                "trace_id": f"{link.context.trace_id:032x}",
                "span_id": f"{link.context.span_id:016x}",
                "attributes": attrs(link.attributes),
            }
            for link in span.links
        ],
        "resource": {k: str(v) for k, v in span.resource.attributes.items()},
        "scope_name": span.instrumentation_scope.name,
        "scope_version": span.instrumentation_scope.version,
    }


def main() -> int:
    kind, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tenant = sys.argv[4] if len(sys.argv) > 4 else None
    # gRPC metadata keys must be lowercase; HTTP headers are case-insensitive anyway.
    headers = {"x-scope-orgid": tenant} if tenant else None
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        def exporter():
            return OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=headers, timeout=10)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        def exporter():
            return OTLPSpanExporter(endpoint=endpoint, headers=headers, timeout=10)

    failures = []
    memory = InMemorySpanExporter()
    providers = {}
    for service in ("frontend", "checkout", "payments"):
        otlp = exporter()
        original = otlp.export

        def export(batch, original=original):
            result = original(batch)
            if result.value != 0:
                failures.append(result)
            return result

        otlp.export = export
        resource = Resource.create(
            {"service.name": service, "service.version": "1.4.2", "deployment.environment": "e2e"}
        )
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(otlp))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        providers[service] = provider
    frontend = providers["frontend"].get_tracer("shop.frontend", "2.0.0")
    checkout = providers["checkout"].get_tracer("shop.checkout", "0.9.1")
    payments = providers["payments"].get_tracer("shop.payments")

    base = time.time_ns() - 600 * SECOND
    previous_root = None
    for i in range(count):
        t0 = base + i * SECOND
        failing = i % 2 == 1
        code = 500 if failing else 200
        root = frontend.start_span(
            "GET /checkout",
            kind=SpanKind.SERVER,
            start_time=t0,
            attributes={
                "http.request.method": "GET",
                "url.full": f"https://shop.example/checkout?cart={i}",
                "http.response.status_code": code,
            },
        )
        root_ctx = trace.set_span_in_context(root)
        call = frontend.start_span(
            "POST /pay",
            kind=SpanKind.CLIENT,
            context=root_ctx,
            start_time=t0 + 2 * MS,
            attributes={"http.request.method": "POST", "server.address": "checkout"},
        )
        if failing:
            call.add_event("retry", {"attempt": 2, "reason": "timeout"}, timestamp=t0 + 40 * MS)
        carrier = {}
        propagate.inject(carrier, context=trace.set_span_in_context(call))
        remote = propagate.extract(carrier)
        token = context.attach(remote)
        server = checkout.start_span(
            "POST /pay",
            kind=SpanKind.SERVER,
            start_time=t0 + 4 * MS,
            attributes={"http.request.method": "POST", "http.response.status_code": code},
        )
        context.detach(token)
        server_ctx = trace.set_span_in_context(server)
        reserve = checkout.start_span(
            "reserve-stock",
            context=server_ctx,
            start_time=t0 + 5 * MS,
            attributes={"items": [3, 1, 4], "weight.kg": 1.25 + i, "express": failing},
        )
        reserve.end(end_time=t0 + 9 * MS)
        db = checkout.start_span(
            "SELECT stock",
            kind=SpanKind.CLIENT,
            context=server_ctx,
            start_time=t0 + 10 * MS,
            attributes={"db.system": "postgresql", "db.statement": "SELECT * FROM stock"},
        )
        db.end(end_time=t0 + 12 * MS + i * 1000)
        links = []
        if previous_root is not None:
            links.append(Link(previous_root, {"relation": "previous-order"}))
        charge = payments.start_span(
            "charge",
            kind=SpanKind.CONSUMER,
            context=server_ctx,
            start_time=t0 + 13 * MS,
            links=links,
            attributes={"payment.amount": 19.99, "payment.currency": "EUR"},
        )
        fraud = payments.start_span(
            "fraud-check", context=trace.set_span_in_context(charge), start_time=t0 + 14 * MS
        )
        if failing:
            fraud.set_status(Status(StatusCode.ERROR, "card declined"))
        fraud.add_event("scored", {"score": 0.5 + i / 100}, timestamp=t0 + 15 * MS)
        fraud.end(end_time=t0 + 20 * MS)
        charge.end(end_time=t0 + 21 * MS)
        server.end(end_time=t0 + 30 * MS)
        call.end(end_time=t0 + 45 * MS)
        if failing:
            root.set_status(Status(StatusCode.ERROR))
        root.end(end_time=t0 + 50 * MS)
        previous_root = root.get_span_context()

    for provider in providers.values():
        provider.shutdown()
    for span in memory.get_finished_spans():
        print(json.dumps(describe(span)))
    if failures:
        print(f"{len(failures)} exports failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
