#!/usr/bin/env python3
"""Records known values with the OpenTelemetry Python SDK's metrics API and exports them over OTLP.

Usage: otel_metrics.py grpc|http ENDPOINT [TENANT]

ENDPOINT is `HOST:PORT` for grpc and the full `http://HOST:PORT/v1/metrics` URL for http. One
meter provider with the resource {service.name: checkout, service.namespace: shop,
service.instance.id: pod-7, deployment.environment: e2e, host.name: node-a} (plus the SDK's
telemetry.sdk.* attributes) and cumulative temporality records, on the meter "shop.checkout":

  counter              http.server.requests  {request}  route=/pay code=200: 5, code=500: 2
  up-down counter      queue.items           {item}     +10, -3
  counter (float)      db.time               ms         12.5
  gauge                cpu.utilization       1          0.25 (core=0), 0.75 (core=1)
  observable gauge     process.memory.usage  By         1048576 (memory.type=heap)
  histogram            http.server.duration  s          0.05 0.3 0.3 0.7 2.0 (route=/pay),
                                                        buckets [0.1, 0.5, 1]

and exports them twice (a second collection, at shutdown, after the counter takes +1 more on
code=200). Prints one JSON object: {"resource": {key: value as text}, "times": [the
time_unix_nano of each export's points, ascending]}. With TENANT, every export carries `X-Scope-OrgID: TENANT`. Exits
non-zero when an export fails.
"""

import json
import sys

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource


def main() -> int:
    kind, endpoint = sys.argv[1], sys.argv[2]
    tenant = sys.argv[3] if len(sys.argv) > 3 else None
    # gRPC metadata keys must be lowercase; HTTP headers are case-insensitive anyway.
    headers = {"x-scope-orgid": tenant} if tenant else None
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True, headers=headers, timeout=10)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(endpoint=endpoint, headers=headers, timeout=10)

    failures = []
    times = []
    original = exporter.export

    def export(metrics_data, *args, **kwargs):
        for rm in metrics_data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for p in m.data.data_points:
                        times.append(p.time_unix_nano)
        result = original(metrics_data, *args, **kwargs)
        if result != MetricExportResult.SUCCESS:
            failures.append(result)
        return result

    exporter.export = export
    # Never on its own: the two exports are the two force_flush calls below.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create(
        {
            "service.name": "checkout",
            "service.namespace": "shop",
            "service.instance.id": "pod-7",
            "deployment.environment": "e2e",
            "host.name": "node-a",
        }
    )
    view = View(
        instrument_name="http.server.duration",
        aggregation=ExplicitBucketHistogramAggregation(boundaries=[0.1, 0.5, 1.0]),
    )
    provider = MeterProvider(resource=resource, metric_readers=[reader], views=[view])
    meter = provider.get_meter("shop.checkout", "1.0.0")

    requests = meter.create_counter("http.server.requests", unit="{request}", description="Requests served")
    requests.add(5, {"http.route": "/pay", "http.response.status_code": 200})
    requests.add(2, {"http.route": "/pay", "http.response.status_code": 500})
    queue = meter.create_up_down_counter("queue.items", unit="{item}", description="Items queued")
    queue.add(10)
    queue.add(-3)
    db_time = meter.create_counter("db.time", unit="ms", description="Time in the database")
    db_time.add(12.5)
    cpu = meter.create_gauge("cpu.utilization", unit="1", description="CPU busy fraction")
    cpu.set(0.25, {"core": 0})
    cpu.set(0.75, {"core": 1})

    def memory(_options):
        yield Observation(1048576, {"memory.type": "heap"})

    meter.create_observable_gauge(
        "process.memory.usage", callbacks=[memory], unit="By", description="Memory in use"
    )
    duration = meter.create_histogram("http.server.duration", unit="s", description="Request time")
    for v in (0.05, 0.3, 0.3, 0.7, 2.0):
        duration.record(v, {"http.route": "/pay"})

    provider.force_flush()
    requests.add(1, {"http.route": "/pay", "http.response.status_code": 200})
    # Shutting down collects and exports once more.
    provider.shutdown()

    print(
        json.dumps(
            {
                "resource": {k: str(v) for k, v in resource.attributes.items()},
                "times": sorted(set(times)),
            }
        )
    )
    if failures:
        print(f"{len(failures)} exports failed: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
