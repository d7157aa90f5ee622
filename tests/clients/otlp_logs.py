#!/usr/bin/env python3
"""Sends log records over OTLP with the OpenTelemetry Python SDK's log exporters.

Usage: otlp_logs.py grpc|http ENDPOINT COUNT [TENANT]

ENDPOINT is `HOST:PORT` for grpc and the full `http://HOST:PORT/v1/logs` URL for http. The
logger provider's resource is {service.name: "otel-demo", service.namespace: "shop",
deployment.environment: "e2e", host.name: "box-1"}; records come from the SDK logger with
instrumentation scope "e2e-scope" version "1.2.3". Record i has body "otlp record <i> via
<kind>", severity ERROR (17) for every fourth one and INFO (9) otherwise, attributes
{"seq": i, "user.id": "u<i>"}, the time the script chose and an observed time one
millisecond later, and is emitted inside a span of a sampled trace.

Prints the resource's attributes as the SDK completed them ({"resource": {...}}), then one
JSON object per record: {"seq", "ts", "observed", "trace_id", "span_id",
"trace_flags", "severity_text", "severity_number", "body"} (ids in lowercase hex). With TENANT,
every export carries `X-Scope-OrgID: TENANT`. Exits non-zero when an export fails.
"""

import json
import sys
import time

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider


def main() -> int:
    kind, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tenant = sys.argv[4] if len(sys.argv) > 4 else None
    # gRPC metadata keys must be lowercase; HTTP headers are case-insensitive anyway.
    headers = {"x-scope-orgid": tenant} if tenant else None
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
    print(json.dumps({"resource": {k: str(v) for k, v in resource.attributes.items()}}))
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("e2e-scope", "1.2.3")
    tracer = TracerProvider(resource=resource).get_tracer("e2e")
    base = time.time_ns() - 10_000_000_000
    for i in range(count):
        with tracer.start_as_current_span(f"op {i}") as span:
            ctx = span.get_span_context()
            ts = base + i * 1_000_003
            error = i % 4 == 0
            severity = SeverityNumber.ERROR if error else SeverityNumber.INFO
            text = "ERROR" if error else "INFO"
            body = f"otlp record {i} via {kind}"
            logger.emit(
                timestamp=ts,
                observed_timestamp=ts + 1_000_000,
                context=trace.set_span_in_context(span),
                severity_number=severity,
                severity_text=text,
                body=body,
                attributes={"seq": i, "user.id": f"u{i}"},
            )
            print(
                json.dumps(
                    {
                        "seq": i,
                        "ts": ts,
                        "observed": ts + 1_000_000,
                        "trace_id": f"{ctx.trace_id:032x}",
                        "span_id": f"{ctx.span_id:016x}",
                        "trace_flags": int(ctx.trace_flags),
                        "severity_text": text,
                        "severity_number": severity.value,
                        "body": body,
                    }
                )
            )
    provider.shutdown()
    if failures:
        print(f"{len(failures)} exports failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
