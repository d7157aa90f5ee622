//! Encoding a block's three Parquet files.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Builder, Int64Array, Int64Builder, ListBuilder, MapBuilder,
    RecordBatch, StringArray, StringBuilder, UInt8Array, UInt64Array, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use cairn_model::{Labels, Sample, Series, TenantId};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use crate::error::{Error, Result};

/// Rows per data page of the samples file: small enough that one series' read touches few
/// pages, large enough that page headers and index entries stay negligible.
const SAMPLES_PAGE_ROWS: usize = 8192;
/// Rows per row group of the samples file.
const SAMPLES_ROW_GROUP_ROWS: usize = 1 << 20;
const ZSTD_LEVEL: i32 = 3;

/// The encoded files of a block and what `meta.json` needs to know about them.
pub(crate) struct EncodedBlock {
    pub(crate) series: Bytes,
    pub(crate) samples: Bytes,
    pub(crate) index: Bytes,
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) num_series: u64,
    pub(crate) num_samples: u64,
}

/// A series ready for encoding: its block-local id, labels, and clean samples.
struct Prepared {
    id: u64,
    labels: Labels,
    samples: Vec<Sample>,
}

fn parquet_err(file: &str) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::Parquet(format!("encoding {file}: {e}"))
}

fn arrow_err(file: &str) -> impl Fn(arrow::error::ArrowError) -> Error + '_ {
    move |e| Error::Parquet(format!("building {file}: {e}"))
}

/// Sorts series by id, merges repeated label sets, gives colliding label sets distinct ids,
/// and cleans samples (sorted by time, first of each timestamp kept).
fn prepare(series: Vec<Series>) -> Vec<Prepared> {
    prepare_with(series, |l| l.id().0)
}

fn prepare_with(series: Vec<Series>, id_of: impl Fn(&Labels) -> u64) -> Vec<Prepared> {
    let mut items: Vec<(u64, Series)> = series
        .into_iter()
        .filter(|s| !s.samples.is_empty())
        .map(|s| (id_of(&s.labels), s))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.labels.cmp(&b.1.labels)));
    let mut out: Vec<Prepared> = Vec::with_capacity(items.len());
    for (id, s) in items {
        if let Some(last) = out.last_mut() {
            if last.labels == s.labels {
                last.samples.extend(s.samples);
                continue;
            }
            if id <= last.id {
                // A hash collision (or the run of ids bumped by one): probe the next id.
                let id = last.id.wrapping_add(1);
                out.push(Prepared {
                    id,
                    labels: s.labels,
                    samples: s.samples,
                });
                continue;
            }
        }
        out.push(Prepared {
            id,
            labels: s.labels,
            samples: s.samples,
        });
    }
    for p in &mut out {
        // Stable sort keeps the first of equal timestamps first.
        p.samples.sort_by_key(|s| s.t);
        p.samples.dedup_by_key(|s| s.t);
    }
    out
}

fn base_props() -> parquet::file::properties::WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("zstd level 3 is valid"),
        ))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            SCHEMA_VERSION_KEY.to_string(),
            SCHEMA_VERSION.to_string(),
        )]))
        .set_statistics_enabled(EnabledStatistics::Page)
}

fn write_parquet(file: &str, batch: RecordBatch, props: WriterProperties) -> Result<Bytes> {
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).map_err(parquet_err(file))?;
    w.write(&batch).map_err(parquet_err(file))?;
    w.close().map_err(parquet_err(file))?;
    Ok(Bytes::from(buf))
}

/// Encodes the block's files. CPU-bound: call from a blocking thread.
pub(crate) fn encode_block(tenant: &TenantId, series: Vec<Series>) -> Result<EncodedBlock> {
    let prepared = prepare(series);
    let num_samples: usize = prepared.iter().map(|p| p.samples.len()).sum();
    if num_samples == 0 {
        return Err(Error::EmptyBlock {
            tenant: tenant.to_string(),
        });
    }
    let min_time = prepared
        .iter()
        .filter_map(|p| p.samples.first())
        .map(|s| s.t)
        .min()
        .expect("a block with samples has a first sample");
    let max_time = prepared
        .iter()
        .filter_map(|p| p.samples.last())
        .map(|s| s.t)
        .max()
        .expect("a block with samples has a last sample");
    Ok(EncodedBlock {
        series: encode_series(&prepared)?,
        samples: encode_samples(&prepared, num_samples)?,
        index: encode_index(&prepared)?,
        min_time,
        max_time,
        num_series: prepared.len() as u64,
        num_samples: num_samples as u64,
    })
}

fn encode_series(prepared: &[Prepared]) -> Result<Bytes> {
    const FILE: &str = "series.parquet";
    let ids = UInt64Array::from_iter_values(prepared.iter().map(|p| p.id));
    let names = StringArray::from_iter(prepared.iter().map(|p| p.labels.metric_name()));
    let mut labels = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for p in prepared {
        for l in p.labels.iter() {
            labels.keys().append_value(l.name);
            labels.values().append_value(l.value);
        }
        labels.append(true).map_err(arrow_err(FILE))?;
    }
    let labels = labels.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new("metric_name", DataType::Utf8, true),
        Field::new("labels", labels.data_type().clone(), false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(ids) as ArrayRef, Arc::new(names), Arc::new(labels)],
    )
    .map_err(arrow_err(FILE))?;
    let props = base_props()
        .set_column_dictionary_enabled(ColumnPath::from("series_id"), false)
        .build();
    write_parquet(FILE, batch, props)
}

/// Powers of ten a series' values may be scaled by to become integers; `value_scale` indexes
/// this table. Written out rather than computed so writer and readers divide by the same
/// exact doubles.
pub(crate) const DECIMAL_SCALES: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// The smallest `k` such that every value is `m / 10^k` for an integer `m` that an i64 and an
/// f64 both hold exactly, checked by doing the reader's computation: decimal counters and
/// gauges then go to the Int64 column, where delta encoding packs them far tighter than float
/// bytes. `None` when some value needs the float column (NaNs, -0.0, full-precision floats).
fn decimal_scale(samples: &[Sample]) -> Option<u8> {
    const LIMIT: f64 = (1u64 << 53) as f64;
    'scales: for (k, &p) in DECIMAL_SCALES.iter().enumerate() {
        for s in samples {
            if !s.v.is_finite() {
                return None;
            }
            let m = (s.v * p).round();
            if m.abs() > LIMIT || ((m as i64) as f64 / p).to_bits() != s.v.to_bits() {
                continue 'scales;
            }
        }
        return Some(k as u8);
    }
    None
}

fn encode_samples(prepared: &[Prepared], num_samples: usize) -> Result<Bytes> {
    const FILE: &str = "samples.parquet";
    let mut ids = Vec::with_capacity(num_samples);
    let mut ts = Vec::with_capacity(num_samples);
    let mut vs = Float64Builder::with_capacity(num_samples);
    let mut ints = Int64Builder::with_capacity(num_samples);
    let mut scales = Vec::with_capacity(num_samples);
    for p in prepared {
        let scale = decimal_scale(&p.samples);
        let p10 = DECIMAL_SCALES[usize::from(scale.unwrap_or(0))];
        for s in &p.samples {
            ids.push(p.id);
            ts.push(s.t);
            scales.push(scale.unwrap_or(0));
            if scale.is_some() {
                vs.append_null();
                ints.append_value((s.v * p10).round() as i64);
            } else {
                vs.append_value(s.v);
                ints.append_null();
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new("timestamp", DataType::Int64, false),
        Field::new("value", DataType::Float64, true),
        Field::new("value_int", DataType::Int64, true),
        Field::new("value_scale", DataType::UInt8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt64Array::from(ids)) as ArrayRef,
            Arc::new(Int64Array::from(ts)),
            Arc::new(vs.finish()),
            Arc::new(ints.finish()),
            Arc::new(UInt8Array::from(scales)),
        ],
    )
    .map_err(arrow_err(FILE))?;
    let ts_col = ColumnPath::from("timestamp");
    let v_col = ColumnPath::from("value");
    let i_col = ColumnPath::from("value_int");
    let props = base_props()
        .set_max_row_group_row_count(Some(SAMPLES_ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(SAMPLES_PAGE_ROWS)
        .set_column_dictionary_enabled(ts_col.clone(), false)
        .set_column_encoding(ts_col, Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(v_col.clone(), false)
        .set_column_encoding(v_col, Encoding::BYTE_STREAM_SPLIT)
        .set_column_dictionary_enabled(i_col.clone(), false)
        .set_column_encoding(i_col, Encoding::DELTA_BINARY_PACKED)
        .build();
    write_parquet(FILE, batch, props)
}

fn encode_index(prepared: &[Prepared]) -> Result<Bytes> {
    const FILE: &str = "index.parquet";
    // Ids are appended in ascending order because `prepared` is sorted by id.
    let mut postings: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
    for p in prepared {
        for l in p.labels.iter() {
            postings.entry((l.name, l.value)).or_default().push(p.id);
        }
    }
    let names = StringArray::from_iter_values(postings.keys().map(|(n, _)| *n));
    let values = StringArray::from_iter_values(postings.keys().map(|(_, v)| *v));
    let mut lists = ListBuilder::new(UInt64Builder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::UInt64,
        false,
    )));
    for ids in postings.values() {
        lists.values().append_slice(ids);
        lists.append(true);
    }
    let lists = lists.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
        Field::new("series_ids", lists.data_type().clone(), false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(names) as ArrayRef,
            Arc::new(values),
            Arc::new(lists),
        ],
    )
    .map_err(arrow_err(FILE))?;
    write_parquet(FILE, batch, base_props().build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, ts: &[i64]) -> Series {
        Series {
            labels: Labels::from_pairs([("__name__", name)]).expect("valid labels"),
            samples: ts.iter().map(|&t| Sample::new(t, t as f64)).collect(),
        }
    }

    #[test]
    fn colliding_ids_are_probed_and_stay_sorted() {
        // Every label set hashes to 7 except "d", which takes 8: probing must push it along.
        let id_of = |l: &Labels| if l.metric_name() == Some("d") { 8 } else { 7 };
        let input = vec![
            series("c", &[1]),
            series("a", &[2, 1, 2]),
            series("d", &[1]),
            series("b", &[1]),
            series("a", &[3]),
            series("e", &[]),
        ];
        let p = prepare_with(input, id_of);
        let got: Vec<(u64, String, Vec<i64>)> = p
            .iter()
            .map(|p| {
                let name = p.labels.metric_name().unwrap_or("").to_string();
                (p.id, name, p.samples.iter().map(|s| s.t).collect())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (7, "a".into(), vec![1, 2, 3]),
                (8, "b".into(), vec![1]),
                (9, "c".into(), vec![1]),
                (10, "d".into(), vec![1]),
            ]
        );
    }
}
