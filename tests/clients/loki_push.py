#!/usr/bin/env python3
"""Sends log records to a Loki push endpoint with the `python-logging-loki` handler.

Usage: loki_push.py URL VERSION COUNT LOGGER [TENANT]

VERSION is the handler's API version: "1" posts the current JSON format to URL (meant for
/loki/api/v1/push), "0" the legacy one (meant for /api/prom/push). Logs COUNT records through
the standard `logging` module on the logger named LOGGER with tags {"app": "pyapp", "env":
"test"}; record i has the message "loki record <i>" and level WARNING for every third one,
INFO otherwise. With TENANT, every request carries `X-Scope-OrgID: TENANT`.

The handler picks the timestamp itself (v1: the time of sending, v0: the record's creation
time in RFC 3339 with the local offset), so every payload it builds is printed as it was
sent, one JSON object a line: {"labels": <v1: the stream's label map, v0: the label string>,
"ts": <the timestamp string>, "line": <the line>}. Exits 0 only when the handler saw no
error (it raises on any answer other than 204).
"""

import json
import logging
import sys

import logging_loki


def main() -> int:
    url, version, count, logger = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tenant = sys.argv[5] if len(sys.argv) > 5 else None
    failures = []

    class Handler(logging_loki.LokiHandler):
        # The library's handleError closes its session (losing the tenant header) and prints;
        # keeping the error lets the exit code say it.
        def handleError(self, record):  # noqa: N802 (logging's name)
            failures.append(sys.exc_info()[1])

    handler = Handler(url=url, tags={"app": "pyapp", "env": "test"}, version=version)
    if tenant:
        handler.emitter.session.headers["X-Scope-OrgID"] = tenant
    build = handler.emitter.build_payload

    def record_payload(record, line):
        payload = build(record, line)
        for stream in payload["streams"]:
            if version == "0":
                for e in stream["entries"]:
                    print(json.dumps({"labels": stream["labels"], "ts": e["ts"], "line": e["line"]}))
            else:
                for ts, line in stream["values"]:
                    print(json.dumps({"labels": stream["stream"], "ts": ts, "line": line}))
        return payload

    handler.emitter.build_payload = record_payload
    log = logging.getLogger(logger)
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(handler)
    for i in range(count):
        if i % 3 == 0:
            log.warning("loki record %d", i)
        else:
            log.info("loki record %d", i)
    handler.close()
    if failures:
        print(f"{len(failures)} failures, first: {failures[0]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
