#!/usr/bin/env python3
"""Sends log records to a Loki push endpoint with the `python-logging-loki` handler.

Usage: loki_push.py URL VERSION COUNT [TENANT]

VERSION is the handler's API version: "1" posts the current JSON format to URL (meant for
/loki/api/v1/push), "0" the legacy one (meant for /api/prom/push). Logs COUNT records through
the standard `logging` module with tags {"app": "pyapp", "env": "test"}; record i has the
message "loki record <i>" and level WARNING for every third one, INFO otherwise. With TENANT,
every request carries `X-Scope-OrgID: TENANT`. Prints `sent COUNT` and exits 0 only when the
handler saw no error (the handler raises on any answer other than 204).
"""

import logging
import sys

import logging_loki


def main() -> int:
    url, version, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tenant = sys.argv[4] if len(sys.argv) > 4 else None
    failures = []

    class Handler(logging_loki.LokiHandler):
        def handleError(self, record):  # noqa: N802 (logging's name)
            failures.append(sys.exc_info()[1])

    handler = Handler(url=url, tags={"app": "pyapp", "env": "test"}, version=version)
    if tenant:
        handler.emitter.session.headers["X-Scope-OrgID"] = tenant
    log = logging.getLogger("e2e")
    log.setLevel(logging.INFO)
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
    print(f"sent {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
