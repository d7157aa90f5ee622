#!/usr/bin/env python3
"""Sends log records over the Fluentd forward protocol with the `fluent-logger` client.

Usage: fluent_forward.py HOST PORT TAG COUNT [--nanos]

Emits COUNT records `{"msg": "forward record <i>", "seq": <i>, "level": "info"|"error"}` (every
fifth one at level error) under TAG, one forward message each, with EventTime timestamps when
--nanos is given (integer seconds otherwise), and prints one JSON object per record on stdout:
{"seq": i, "time": <the timestamp the client used, as float seconds>}. Exits non-zero when the
client reports an error.
"""

import json
import sys
import time

from fluent import sender


def main() -> int:
    host, port, tag, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    nanos = "--nanos" in sys.argv[5:]
    prefix, _, label = tag.partition(".")
    s = sender.FluentSender(prefix, host=host, port=port, nanosecond_precision=nanos, timeout=5.0)
    for i in range(count):
        t = time.time()
        record = {"msg": f"forward record {i}", "seq": i, "level": "error" if i % 5 == 0 else "info"}
        if not s.emit_with_time(label or None, t if nanos else int(t), record):
            print(f"emit failed: {s.last_error!r}", file=sys.stderr)
            return 1
        print(json.dumps({"seq": i, "time": t if nanos else float(int(t))}))
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
