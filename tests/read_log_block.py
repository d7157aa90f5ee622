#!/usr/bin/env python3
"""Reads one Cairn log block with pyarrow, the way any Parquet user would, and prints it.

Usage: read_log_block.py BLOCK_DIR

BLOCK_DIR holds meta.json, streams.parquet, entries.parquet and runs.parquet. Entries are
joined to their stream's labels on stream_id and printed as one JSON document:

    {"meta": {...},
     "entries": [{"labels": {...}, "ts": <ns>, "line": "...", "metadata": {...}}, ...]}

The same join in DuckDB:

    SELECT s.labels, e.timestamp, e.line, e.metadata
    FROM 'entries.parquet' e JOIN 'streams.parquet' s USING (stream_id)
    ORDER BY e.timestamp;
"""

import json
import os
import sys

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
except ImportError:
    sys.exit("pyarrow is required to read Cairn blocks: pip install pyarrow")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    streams = pq.read_table(os.path.join(d, "streams.parquet"))
    entries = pq.read_table(os.path.join(d, "entries.parquet"))
    runs = pq.read_table(os.path.join(d, "runs.parquet"))
    labels = {}
    for row in streams.select(["stream_id", "labels"]).to_pylist():
        labels[row["stream_id"]] = dict(row["labels"])
    ts_type = entries.schema.field("timestamp").type
    if not pa.types.is_timestamp(ts_type) or ts_type.unit != "ns":
        sys.exit(f"timestamp is {ts_type}, not a nanosecond timestamp")
    ts = pc.cast(entries.column("timestamp"), pa.int64()).to_pylist()
    out = []
    for i, row in enumerate(entries.select(["stream_id", "line", "metadata"]).to_pylist()):
        out.append({
            "labels": labels[row["stream_id"]],
            "ts": ts[i],
            "line": row["line"],
            "metadata": dict(row["metadata"] or []),
        })
    print(json.dumps({
        "meta": meta,
        "rows": {"streams": streams.num_rows, "entries": entries.num_rows, "runs": runs.num_rows},
        "row_groups": pq.ParquetFile(os.path.join(d, "entries.parquet")).num_row_groups,
        "entries": out,
    }))


if __name__ == "__main__":
    main()
