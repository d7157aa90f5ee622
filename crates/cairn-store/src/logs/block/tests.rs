//! Tests of the log block format: the Parquet schema pinned column by column, round trips,
//! and row groups by time slice.

use std::sync::Arc;

use bytes::Bytes;
use cairn_model::{Labels, TenantId};
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::*;
use crate::cache::BlockCache;
use crate::logs::block::read::read_filter_all;

const M: i64 = 60_000_000_000;
const T0: i64 = 1_704_067_200_000_000_000;

fn labels(pod: &str) -> Labels {
    Labels::from_pairs([("app", "web"), ("pod", pod)]).unwrap()
}

/// Two streams, entries every 30 s over 20 minutes, written with 5-minute row groups.
fn sample_block() -> EncodedLogBlock {
    let mut w = LogBlockWriter::new(vec![labels("a"), labels("b")], 5 * M, 3, 8).unwrap();
    for slice in 0..4 {
        let mut rows = Rows::default();
        for i in 0..10 {
            let ts = T0 + slice * 5 * M + i * M / 2;
            // Written in reverse and twice: the writer sorts and drops repeats.
            for s in [1u32, 0] {
                let id = format!("t{slice}{i}");
                let meta: Vec<(&str, &str)> = if i == 3 {
                    vec![("trace_id", id.as_str())]
                } else {
                    vec![]
                };
                rows.push(s, ts, &format!("stream {s} slice {slice} entry {i}"), &meta);
                rows.push(s, ts, &format!("stream {s} slice {slice} entry {i}"), &meta);
            }
        }
        w.write_slice(&rows).unwrap();
    }
    w.finish().unwrap()
}

/// (column path, physical type, logical or converted type) of every leaf column.
fn columns(data: &Bytes) -> Vec<(String, String, String)> {
    let r = SerializedFileReader::new(data.clone()).unwrap();
    let schema = r.metadata().file_metadata().schema_descr_ptr();
    schema
        .columns()
        .iter()
        .map(|c| {
            let logical = match c.logical_type_ref() {
                Some(l) => format!("{l:?}"),
                None => format!("{:?}", c.converted_type()),
            };
            (
                c.path().string(),
                format!("{:?}", c.physical_type()),
                logical,
            )
        })
        .collect()
}

fn s(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// Pins the on-disk schema: changing it is a format change (bump LOG_SCHEMA_VERSION).
#[test]
fn the_parquet_schema_is_pinned() {
    let b = sample_block();
    assert_eq!(
        columns(&b.entries),
        s(&[
            (
                "stream_id",
                "INT32",
                "Integer(IntType { bit_width: 32, is_signed: false })"
            ),
            (
                "timestamp",
                "INT64",
                "Timestamp(TimestampType { is_adjusted_to_u_t_c: true, unit: NANOS })"
            ),
            ("line", "BYTE_ARRAY", "String"),
            ("metadata.key_value.key", "BYTE_ARRAY", "String"),
            ("metadata.key_value.value", "BYTE_ARRAY", "String"),
        ])
    );
    assert_eq!(
        columns(&b.streams),
        s(&[
            (
                "stream_id",
                "INT32",
                "Integer(IntType { bit_width: 32, is_signed: false })"
            ),
            ("labels.key_value.key", "BYTE_ARRAY", "String"),
            ("labels.key_value.value", "BYTE_ARRAY", "String"),
            (
                "entries",
                "INT64",
                "Integer(IntType { bit_width: 64, is_signed: false })"
            ),
            (
                "bytes",
                "INT64",
                "Integer(IntType { bit_width: 64, is_signed: false })"
            ),
            (
                "min_time",
                "INT64",
                "Timestamp(TimestampType { is_adjusted_to_u_t_c: true, unit: NANOS })"
            ),
            (
                "max_time",
                "INT64",
                "Timestamp(TimestampType { is_adjusted_to_u_t_c: true, unit: NANOS })"
            ),
        ])
    );
    assert_eq!(
        columns(&b.runs),
        s(&[
            (
                "stream_id",
                "INT32",
                "Integer(IntType { bit_width: 32, is_signed: false })"
            ),
            (
                "row_group",
                "INT32",
                "Integer(IntType { bit_width: 32, is_signed: false })"
            ),
            (
                "first_row",
                "INT32",
                "Integer(IntType { bit_width: 32, is_signed: false })"
            ),
            (
                "num_rows",
                "INT32",
                "Integer(IntType { bit_width: 32, is_signed: false })"
            ),
            (
                "min_time",
                "INT64",
                "Timestamp(TimestampType { is_adjusted_to_u_t_c: true, unit: NANOS })"
            ),
            (
                "max_time",
                "INT64",
                "Timestamp(TimestampType { is_adjusted_to_u_t_c: true, unit: NANOS })"
            ),
            (
                "bytes",
                "INT64",
                "Integer(IntType { bit_width: 64, is_signed: false })"
            ),
            ("filter", "BYTE_ARRAY", "NONE"),
        ])
    );
    // Row groups are the four 5-minute slices, sorted by (stream, time); zstd everywhere;
    // timestamps delta-encoded.
    let r = SerializedFileReader::new(b.entries.clone()).unwrap();
    let md = r.metadata();
    assert_eq!(md.num_row_groups(), 4);
    for rg in md.row_groups() {
        assert_eq!(rg.num_rows(), 20);
        for c in rg.columns() {
            assert!(
                matches!(c.compression(), parquet::basic::Compression::ZSTD(_)),
                "{:?}",
                c.column_path()
            );
        }
        let ts = rg.column(1);
        assert!(
            ts.encodings()
                .any(|e| e == parquet::basic::Encoding::DELTA_BINARY_PACKED)
        );
    }
    let kv = md.file_metadata().key_value_metadata().unwrap();
    let get = |k: &str| kv.iter().find(|x| x.key == k).and_then(|x| x.value.clone());
    assert_eq!(get("cairn.schema_version").as_deref(), Some("1"));
    assert_eq!(get("cairn.slice_ns").as_deref(), Some("300000000000"));
    assert_eq!(b.duplicates, 80);
    assert_eq!((b.num_entries, b.num_streams), (80, 2));
}

#[tokio::test]
async fn blocks_read_back_by_run() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let tenant = TenantId::new("t1").unwrap();
    let meta = put_block(&store, &tenant, sample_block(), 0, Vec::new())
        .await
        .unwrap();
    assert_eq!(
        (meta.min_time, meta.max_time),
        (T0, T0 + 15 * M + 9 * M / 2)
    );
    let paths: Vec<String> = [
        "streams.parquet",
        "entries.parquet",
        "runs.parquet",
        "meta.json",
    ]
    .iter()
    .map(|f| block_file(&tenant, meta.ulid, f).to_string())
    .collect();
    assert!(paths[0].starts_with(&format!("t1/logs/blocks/{}/", meta.ulid)));
    let r = LogBlockReader::new(
        Arc::clone(&store),
        Arc::new(BlockCache::new(1 << 20)),
        tenant.clone(),
        meta.clone(),
    );
    let streams = r.streams().await.unwrap();
    assert_eq!(streams.labels, vec![labels("a"), labels("b")]);
    let runs = r.runs().await.unwrap();
    // One run per stream and row group.
    assert_eq!(runs.len(), 8);
    assert_eq!(runs.row_group, vec![0, 0, 1, 1, 2, 2, 3, 3]);
    assert_eq!(runs.first_row[1], 10);
    // Stream b (id 1) of row group 2 only.
    let (rows, o) = r
        .read_rows(2, &[(10, 10)], read_filter_all(), true, Rows::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.stream.iter().all(|&s| s == 1));
    assert_eq!(rows.line(3), "stream 1 slice 2 entry 3");
    assert_eq!(rows.meta(3).collect::<Vec<_>>(), vec![("trace_id", "t23")]);
    assert!(o.compressed > 0);
    delete_block(&store, &tenant, meta.ulid).await.unwrap();
    assert!(store.list(None).next().await.is_none());
}

#[test]
fn one_pass_candidates_miss_no_line_holding_the_needle() {
    let needle = memchr::memmem::Finder::new("needle");
    let cases: Vec<Vec<&str>> = vec![
        vec!["xxnee", "dlexx", "needle", "", "aneedle"],
        vec!["needlenee", "dleneedle", "need", "le", "needle"],
        vec!["", "", "needle"],
        vec!["nothing", "here"],
    ];
    for lines in cases {
        let arr = arrow::array::StringArray::from(lines.clone());
        let got = super::read::candidates(&arr, &needle);
        let want: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains("needle"))
            .collect();
        for w in &want {
            assert!(got.contains(w), "{lines:?}: row {w} missing from {got:?}");
        }
        // A slice of an array (offsets not starting at 0) works too.
        let sliced = arr.slice(1, lines.len() - 1);
        let got = super::read::candidates(&sliced, &needle);
        for w in want.iter().filter(|&&w| w >= 1) {
            assert!(got.contains(&(w - 1)), "{lines:?} sliced: {got:?}");
        }
    }
}
