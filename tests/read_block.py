#!/usr/bin/env python3
"""Reads one Cairn metrics block with pyarrow, the way any Parquet user would, and prints it.

Usage: read_block.py BLOCK_DIR

BLOCK_DIR holds meta.json, series.parquet, samples.parquet and index.parquet. The series and
samples tables are joined on the series id and printed as one JSON document:

    {"meta": {...}, "rows": {"series": N, "samples": M, "index": K},
     "series": [{"labels": {"__name__": "...", ...},
                 "samples": [[timestamp_ms, "value bits as a decimal u64"], ...]}, ...]}

Values are printed as their IEEE-754 bits so that NaN payloads (the staleness marker) can be
compared exactly. The column layout is discovered rather than assumed, within the shapes a
label table can sensibly take (a map or list of name/value pairs, the canonical binary encoding,
or one column per label name), so the script checks readability, not one schema revision.
"""

import json
import os
import struct
import sys

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:
    sys.exit("pyarrow is required to read Cairn blocks: pip install pyarrow")

ID_COLUMNS = ("series_id", "id", "series_ref", "sid", "series")
TIME_COLUMNS = ("timestamp", "timestamp_ms", "t", "ts", "time")
VALUE_COLUMNS = ("value", "v", "val", "value_bits")
LABEL_COLUMNS = ("labels", "label_set", "labels_encoded", "labelset")


def fail(msg):
    sys.exit(f"read_block.py: {msg}")


def pick(table, candidates, what):
    for name in candidates:
        if name in table.column_names:
            return name
    fail(f"no {what} column among {table.column_names}")


def flat(column):
    """A chunked column as one contiguous array."""
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def ids(column):
    arr = flat(column)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_fixed_size_binary(arr.type) or pa.types.is_binary(arr.type):
        return [bytes(x).hex() if x is not None else None for x in arr.to_pylist()]
    # Signed and unsigned 64-bit ids print the same way once reinterpreted as unsigned.
    if pa.types.is_integer(arr.type):
        return [None if x is None else x & 0xFFFFFFFFFFFFFFFF for x in arr.to_pylist()]
    return arr.to_pylist()


def timestamps(column):
    arr = flat(column)
    if pa.types.is_timestamp(arr.type):
        unit = arr.type.unit
        scale = {"s": 1000, "ms": 1, "us": 1 / 1000, "ns": 1 / 1_000_000}[unit]
        return [int(x * scale) for x in arr.cast(pa.int64()).to_pylist()]
    return [int(x) for x in arr.cast(pa.int64()).to_pylist()]


def float_bits(arr):
    """The raw 64 bits of a float64 array's slots (nulls read as whatever the buffer holds)."""
    # Reinterpret the data buffer: no conversion through Python floats can touch a payload.
    as_u64 = pa.Array.from_buffers(pa.uint64(), len(arr), [None, arr.buffers()[1]], 0, arr.offset)
    return as_u64.to_pylist()


def value_bits(table):
    """The raw 64 bits of every sample's value, NaN payloads included.

    A value lives either in `value` (Float64, bit-exact) or, for decimal series, in `value_int`
    scaled down by `10 ^ value_scale` (documented as `coalesce(value, value_int / 10 ^
    value_scale)`); a plain `value` column without the integer form is read as well.
    """
    v_col = pick(table, VALUE_COLUMNS, "value")
    arr = flat(table.column(v_col))
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_integer(arr.type) and arr.type.bit_width == 64 and arr.null_count == 0:
        return [x & 0xFFFFFFFFFFFFFFFF for x in arr.to_pylist()]
    if not (pa.types.is_floating(arr.type) and arr.type.bit_width == 64):
        fail(f"value column has type {arr.type}, expected float64")
    out = float_bits(arr)
    if arr.null_count == 0:
        return out
    if "value_int" not in table.column_names or "value_scale" not in table.column_names:
        fail("value column has nulls and there is no value_int/value_scale to fill them")
    valid = arr.is_valid().to_pylist()
    ints = flat(table.column("value_int")).to_pylist()
    scales = flat(table.column("value_scale")).to_pylist()
    for i, ok in enumerate(valid):
        if ok:
            continue
        if ints[i] is None or scales[i] is None:
            fail(f"row {i} has neither value nor value_int/value_scale")
        v = float(ints[i]) / (10.0 ** scales[i])
        out[i] = struct.unpack("<Q", struct.pack("<d", v))[0]
    return out


def uvarint(buf, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            fail("truncated varint in an encoded label set")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def decode_canonical(buf):
    """Cairn's canonical label encoding: per label uvarint(len) name uvarint(len) value."""
    labels, pos = {}, 0
    while pos < len(buf):
        n, pos = uvarint(buf, pos)
        name = buf[pos : pos + n].decode("utf-8")
        pos += n
        n, pos = uvarint(buf, pos)
        labels[name] = buf[pos : pos + n].decode("utf-8")
        pos += n
    return labels


def label_value(v):
    """One row of a label column, in any of the shapes a label set can take, as a dict."""
    if v is None:
        return {}
    if isinstance(v, (bytes, bytearray)):
        return decode_canonical(bytes(v))
    if isinstance(v, str):
        try:
            parsed = json.loads(v)
        except ValueError:
            fail(f"label column holds text that is not JSON: {v[:80]!r}")
        return label_value(parsed)
    if isinstance(v, dict):
        if set(v) >= {"name", "value"} and len(v) <= 3:
            return {v["name"]: v["value"]}
        return {k: x for k, x in v.items() if x is not None and x != ""}
    if isinstance(v, list):
        out = {}
        for item in v:
            if isinstance(item, tuple):
                out[item[0]] = item[1]
            elif isinstance(item, dict):
                out[item.get("name", item.get("key"))] = item["value"]
            elif isinstance(item, list) and len(item) == 2:
                out[item[0]] = item[1]
            else:
                fail(f"cannot read label entry {item!r}")
        return out
    fail(f"cannot read labels from {type(v).__name__}")


def series_labels(table, id_col):
    """Series id -> label dict."""
    series_ids = ids(table.column(id_col))
    label_col = next((c for c in LABEL_COLUMNS if c in table.column_names), None)
    rows = [dict() for _ in series_ids]
    if label_col is not None:
        for i, v in enumerate(flat(table.column(label_col)).to_pylist()):
            rows[i] = label_value(v)
    else:
        # One column per label name; null or empty means the series lacks that label.
        for name in table.column_names:
            if name == id_col:
                continue
            arr = flat(table.column(name))
            if pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
                continue
            label = "__name__" if name in ("metric_name", "__name__") else name
            for i, v in enumerate(arr.to_pylist()):
                if v:
                    rows[i][label] = v
    out = {}
    for sid, labels in zip(series_ids, rows):
        if sid in out:
            fail(f"series id {sid} appears twice in series.parquet")
        if not labels:
            fail(f"series id {sid} has no labels")
        out[sid] = labels
    return out


def main():
    if len(sys.argv) != 2:
        fail("usage: read_block.py BLOCK_DIR")
    block = sys.argv[1]
    with open(os.path.join(block, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    series_table = pq.read_table(os.path.join(block, "series.parquet"))
    samples_table = pq.read_table(os.path.join(block, "samples.parquet"))
    index_table = pq.read_table(os.path.join(block, "index.parquet"))

    series_id_col = pick(series_table, ID_COLUMNS, "series id")
    labels_by_id = series_labels(series_table, series_id_col)

    sample_id_col = pick(samples_table, ID_COLUMNS, "series id")
    t_col = pick(samples_table, TIME_COLUMNS, "timestamp")
    sids = ids(samples_table.column(sample_id_col))
    ts = timestamps(samples_table.column(t_col))
    vs = value_bits(samples_table)

    samples_by_id = {}
    for sid, t, v in zip(sids, ts, vs):
        if sid not in labels_by_id:
            fail(f"samples.parquet names series id {sid}, which series.parquet lacks")
        samples_by_id.setdefault(sid, []).append([t, str(v)])

    try:
        import duckdb  # optional second reader

        path = os.path.join(block, "samples.parquet")
        rows = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchall()[0][0]
        if rows != samples_table.num_rows:
            fail(f"duckdb counts {rows} samples, pyarrow {samples_table.num_rows}")
    except ImportError:
        pass

    series = [
        {"labels": labels_by_id[sid], "samples": samples_by_id.get(sid, [])}
        for sid in labels_by_id
    ]
    series.sort(key=lambda s: sorted(s["labels"].items()))
    json.dump(
        {
            "meta": meta,
            "rows": {
                "series": series_table.num_rows,
                "samples": samples_table.num_rows,
                "index": index_table.num_rows,
            },
            "series": series,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
