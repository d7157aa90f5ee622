//! Remote write 1.0: `prometheus.WriteRequest`.

use cairn_model::{ExemplarRef, LabelRef, MetadataRef, MetricType, Sample, WriteBatch};

use crate::error::{Result, WireError};
use crate::histogram::decode_histogram;
use crate::pb::{Reader, utf8};
use crate::report::{DecodeLimits, DecodeReport, RejectReason};
use crate::series::{Decoded, Marks, Scratch, finish, note};

/// Decodes a (decompressed) remote write 1.0 request into `batch`, which is cleared first.
///
/// `Err` means the body is unreadable as a whole (the batch is then left empty); series that
/// break a rule or a limit are left out and listed in the report's `rejected`.
pub fn decode_v1<'a>(
    buf: &'a [u8],
    limits: &DecodeLimits,
    batch: &mut WriteBatch<'a>,
) -> Result<DecodeReport> {
    batch.clear();
    let r = decode(buf, limits, batch);
    if r.is_err() {
        batch.clear();
    }
    r
}

fn decode<'a>(
    buf: &'a [u8],
    limits: &DecodeLimits,
    batch: &mut WriteBatch<'a>,
) -> Result<DecodeReport> {
    let mut report = DecodeReport::default();
    let mut scratch = Scratch::default();
    let mut r = Reader::new(buf, "WriteRequest");
    let mut index = 0;
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => {
                let ts = r.len_field(f, wt)?;
                decode_series(ts, index, limits, batch, &mut scratch, &mut report)?;
                index += 1;
            }
            3 => {
                let md = r.len_field(f, wt)?;
                batch.metadata.push(decode_metadata(md)?);
            }
            // A 2.0 body sent with a 1.0 Content-Type would otherwise read as an empty request
            // and be acknowledged, its data lost.
            4 | 5 => {
                return Err(WireError::protobuf(
                    "WriteRequest",
                    format!(
                        "field {f} belongs to remote write 2.0 (io.prometheus.write.v2.Request); \
                         check the Content-Type"
                    ),
                ));
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(report)
}

fn decode_series<'a>(
    buf: &'a [u8],
    index: usize,
    limits: &DecodeLimits,
    batch: &mut WriteBatch<'a>,
    scratch: &mut Scratch<'a>,
    report: &mut DecodeReport,
) -> Result<()> {
    let marks = Marks::of(batch);
    let mut problem = None;
    let mut has_exemplars = false;
    let mut r = Reader::new(buf, "TimeSeries");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => {
                let l = decode_label(r.len_field(f, wt)?, index, "label")?;
                batch.labels.push(l);
            }
            2 => batch.samples.push(decode_sample(r.len_field(f, wt)?)?),
            3 => {
                r.len_field(f, wt)?;
                has_exemplars = true;
            }
            4 => {
                let (h, why) = decode_histogram(r.len_field(f, wt)?)?;
                batch.histograms.push(h);
                if let Some(why) = why {
                    note(&mut problem, RejectReason::InvalidHistogram, || why);
                }
            }
            _ => r.skip(wt)?,
        }
    }
    let labels_end = batch.labels.len();
    // Exemplar labels go after the series' own labels, so that those stay one range even when
    // the sender interleaves the fields.
    if has_exemplars {
        let mut r = Reader::new(buf, "TimeSeries");
        while let Some((f, wt)) = r.next_field()? {
            if f == 3 {
                decode_exemplar(r.bytes()?, index, batch)?;
            } else {
                r.skip(wt)?;
            }
        }
    }
    let d = Decoded {
        index,
        marks,
        labels_end,
        problem,
    };
    finish(batch, d, limits, scratch, report);
    Ok(())
}

pub(crate) fn decode_label<'a>(
    buf: &'a [u8],
    index: usize,
    what: &'static str,
) -> Result<LabelRef<'a>> {
    let mut r = Reader::new(buf, "Label");
    let (mut name, mut value) = ("", "");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => {
                name = utf8(r.len_field(f, wt)?, || {
                    format!("timeseries[{index}] {what} name")
                })?
            }
            2 => {
                value = utf8(r.len_field(f, wt)?, || {
                    format!("timeseries[{index}] {what} value of {name:?}")
                })?
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(LabelRef::new(name, value))
}

/// A `Sample`; 2.0's `start_timestamp` (field 3) is read past like any unknown field.
pub(crate) fn decode_sample(buf: &[u8]) -> Result<Sample> {
    let mut r = Reader::new(buf, "Sample");
    let mut s = Sample::new(0, 0.0);
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => s.v = r.double(f, wt)?,
            2 => s.t = r.varint_field(f, wt)? as i64,
            _ => r.skip(wt)?,
        }
    }
    Ok(s)
}

fn decode_exemplar<'a>(buf: &'a [u8], index: usize, batch: &mut WriteBatch<'a>) -> Result<()> {
    let start = batch.labels.len();
    let mut r = Reader::new(buf, "Exemplar");
    let (mut value, mut timestamp_ms) = (0.0, 0);
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => {
                let l = decode_label(r.len_field(f, wt)?, index, "exemplar label")?;
                batch.labels.push(l);
            }
            2 => value = r.double(f, wt)?,
            3 => timestamp_ms = r.varint_field(f, wt)? as i64,
            _ => r.skip(wt)?,
        }
    }
    batch.exemplars.push(ExemplarRef {
        labels: start..batch.labels.len(),
        value,
        timestamp_ms,
    });
    Ok(())
}

fn decode_metadata(buf: &[u8]) -> Result<MetadataRef<'_>> {
    let mut r = Reader::new(buf, "MetricMetadata");
    let mut md = MetadataRef {
        metric_family_name: "",
        metric_type: MetricType::Unknown,
        help: "",
        unit: "",
    };
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => md.metric_type = MetricType::from_wire(r.varint_field(f, wt)?),
            2 => {
                md.metric_family_name =
                    utf8(r.len_field(f, wt)?, || "metadata metric_family_name".into())?
            }
            4 => md.help = utf8(r.len_field(f, wt)?, || "metadata help".into())?,
            5 => md.unit = utf8(r.len_field(f, wt)?, || "metadata unit".into())?,
            _ => r.skip(wt)?,
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests;
