#!/usr/bin/env python3
"""Sends log records over OTLP with the OpenTelemetry Python SDK's log exporters.

Usage: otlp_logs.py grpc|http ENDPOINT COUNT [TENANT]

ENDPOINT is `HOST:PORT` for grpc and the full `http://HOST:PORT/v1/logs` URL for http. The
logger provider's resource is {service.name: "otel-demo", service.namespace: "shop",
deployment.environment: "e2e", host.name: "box-1"}; record i is emitted through the SDK's
logging handler with body "otlp record <i>", severity ERROR for every fourth one and INFO
otherwise, attributes {"seq": i, "user.id": "u<i>"}, inside a span whose trace and span ids
are printed. Prints one JSON object per record: {"seq": i, "trace_id": hex, "span_id": hex}.
With TENANT, every export carries `X-Scope-OrgID: TENANT`. Exits non-zero when an export fails.
"""

import json
import logging
import sys

from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider


def main() -> int:
    kind, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tenant = sys.argv[4] if len(sys.argv) > 4 else None
    headers = {"X-Scope-OrgID": tenant} if tenant else None
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        exporter = OTLPLogExporter(endpoint=endpoint, insecure=True, headers=headers, timeout=10)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        exporter = OTLPLogExporter(endpoint=endpoint, headers=headers, timeout=10)

    failures = []
    original = exporter.export

    def export(batch):
        result = original(batch)
        # SUCCESS is 0 in every version's result enum (LogExportResult, LogRecordExportResult).
        if result.value != 0:
            failures.append(result)
        return result

    exporter.export = export
    resource = Resource.create(
        {
            "service.name": "otel-demo",
            "service.namespace": "shop",
            "deployment.environment": "e2e",
            "host.name": "box-1",
        }
    )
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    tracer = TracerProvider(resource=resource).get_tracer("e2e")
    log = logging.getLogger("otlp-e2e")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    for i in range(count):
        with tracer.start_as_current_span(f"op {i}") as span:
            ctx = span.get_span_context()
            extra = {"seq": i, "user.id": f"u{i}"}
            if i % 4 == 0:
                log.error("otlp record %d", i, extra=extra)
            else:
                log.info("otlp record %d", i, extra=extra)
            print(json.dumps({"seq": i, "trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}))
    provider.shutdown()
    if failures:
        print(f"{len(failures)} exports failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
