//! Remote write 2.0: `io.prometheus.write.v2.Request`, labels as references into a symbol
//! table.

use cairn_model::{ExemplarRef, LabelRef, MetadataRef, MetricType, WriteBatch};

use crate::error::{Result, WireError};
use crate::histogram::decode_histogram;
use crate::pb::{Reader, utf8};
use crate::report::{DecodeLimits, DecodeReport, RejectReason};
use crate::series::{Decoded, Marks, Problem, Scratch, finish, metric_name, note};
use crate::v1::decode_sample;

/// Decodes a (decompressed) remote write 2.0 request into `batch`, which is cleared first.
///
/// `Err` means the body is unreadable as a whole (including a symbol table that does not start
/// with `""`); series that break a rule or a limit, or reference symbols that do not exist,
/// are left out and listed in the report's `rejected`.
pub fn decode_v2<'a>(
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
    // Symbols first: protobuf does not promise that field 4 precedes field 5.
    let mut symbols: Vec<&'a str> = Vec::new();
    let mut r = Reader::new(buf, "Request");
    while let Some((f, wt)) = r.next_field()? {
        if f == 4 {
            let i = symbols.len();
            symbols.push(utf8(r.len_field(f, wt)?, || format!("symbols[{i}]"))?);
        } else if (1..=3).contains(&f) {
            // Reserved in 2.0 because 1.0 uses them: a 1.0 body sent as 2.0 would otherwise
            // read as an empty request and be acknowledged, its data lost.
            return Err(WireError::protobuf(
                "Request",
                format!(
                    "field {f} is reserved in remote write 2.0 and used by 1.0 \
                     (prometheus.WriteRequest); check the Content-Type"
                ),
            ));
        } else {
            r.skip(wt)?;
        }
    }
    if let Some(first) = symbols.first()
        && !first.is_empty()
    {
        return Err(WireError::InvalidSymbolTable(
            first.chars().take(64).collect(),
        ));
    }
    let mut report = DecodeReport::default();
    let mut scratch = Scratch::default();
    let mut r = Reader::new(buf, "Request");
    let mut index = 0;
    while let Some((f, wt)) = r.next_field()? {
        if f == 5 {
            let ts = r.len_field(f, wt)?;
            decode_series(
                ts,
                index,
                &symbols,
                limits,
                batch,
                &mut scratch,
                &mut report,
            )?;
            index += 1;
        } else {
            r.skip(wt)?;
        }
    }
    Ok(report)
}

/// Resolves `labels_refs` pairs into labels, remembering a dangling name between packed
/// chunks.
struct RefPairs<'s, 'a> {
    symbols: &'s [&'a str],
    pending: Option<u64>,
    count: usize,
    problem: Problem,
}

impl<'s, 'a> RefPairs<'s, 'a> {
    fn new(symbols: &'s [&'a str]) -> Self {
        RefPairs {
            symbols,
            pending: None,
            count: 0,
            problem: None,
        }
    }

    fn push(&mut self, r: u64, out: &mut Vec<LabelRef<'a>>) {
        self.count += 1;
        let Some(name) = self.pending.take() else {
            self.pending = Some(r);
            return;
        };
        match (lookup(self.symbols, name), lookup(self.symbols, r)) {
            (Some(n), Some(v)) => out.push(LabelRef::new(n, v)),
            _ => {
                let len = self.symbols.len();
                note(&mut self.problem, RejectReason::InvalidSymbolRef, || {
                    format!("label refs ({name}, {r}) out of range of {len} symbols")
                });
            }
        }
    }

    fn finish(mut self, what: &str) -> Problem {
        if self.pending.is_some() {
            let n = self.count;
            note(&mut self.problem, RejectReason::InvalidSymbolRef, || {
                format!("{what} has an odd number ({n}) of label refs")
            });
        }
        self.problem
    }
}

fn lookup<'a>(symbols: &[&'a str], r: u64) -> Option<&'a str> {
    usize::try_from(r)
        .ok()
        .and_then(|i| symbols.get(i).copied())
}

fn decode_series<'a>(
    buf: &'a [u8],
    index: usize,
    symbols: &[&'a str],
    limits: &DecodeLimits,
    batch: &mut WriteBatch<'a>,
    scratch: &mut Scratch<'a>,
    report: &mut DecodeReport,
) -> Result<()> {
    let marks = Marks::of(batch);
    let mut refs = RefPairs::new(symbols);
    let mut problem = None;
    let mut has_exemplars = false;
    let mut metadata = None;
    let (mut n_samples, mut n_histograms) = (0usize, 0usize);
    let mut r = Reader::new(buf, "TimeSeries");
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => r.repeated_varint(f, wt, |v| {
                refs.push(v, &mut batch.labels);
                Ok(())
            })?,
            2 => {
                batch.samples.push(decode_sample(r.len_field(f, wt)?)?);
                n_samples += 1;
            }
            3 => {
                let (h, why) = decode_histogram(r.len_field(f, wt)?)?;
                batch.histograms.push(h);
                n_histograms += 1;
                if let Some(why) = why {
                    note(&mut problem, RejectReason::InvalidHistogram, || why);
                }
            }
            4 => {
                r.len_field(f, wt)?;
                has_exemplars = true;
            }
            5 => metadata = Some(decode_metadata(r.len_field(f, wt)?, symbols, &mut problem)?),
            // The start timestamp of earlier 2.0 drafts, read and not kept.
            6 => {
                r.varint_field(f, wt)?;
            }
            _ => r.skip(wt)?,
        }
    }
    // Bad label refs take precedence: without its labels nothing else about the series counts.
    if let Some(p) = refs.finish("series") {
        problem = Some(p);
    }
    let labels_end = batch.labels.len();
    if n_samples > 0 && n_histograms > 0 {
        note(&mut problem, RejectReason::SamplesAndHistograms, || {
            format!("carries both {n_samples} samples and {n_histograms} histograms")
        });
    }
    if has_exemplars {
        let mut r = Reader::new(buf, "TimeSeries");
        while let Some((f, wt)) = r.next_field()? {
            if f == 4 {
                let b = r.len_field(f, wt)?;
                if let Some(p) = decode_exemplar(b, symbols, batch)? {
                    note(&mut problem, p.0, || p.1);
                }
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
    if finish(batch, d, limits, scratch, report)
        && let Some(md) = metadata
        && (md.metric_type != MetricType::Unknown || !md.help.is_empty() || !md.unit.is_empty())
    {
        let s = batch
            .series
            .last()
            .expect("finish pushed the accepted series");
        let name = metric_name(&batch.labels[s.labels.clone()]).unwrap_or_default();
        batch.metadata.push(MetadataRef {
            metric_family_name: name,
            ..md
        });
    }
    Ok(())
}

fn decode_exemplar<'a>(
    buf: &'a [u8],
    symbols: &[&'a str],
    batch: &mut WriteBatch<'a>,
) -> Result<Problem> {
    let start = batch.labels.len();
    let mut refs = RefPairs::new(symbols);
    let mut r = Reader::new(buf, "Exemplar");
    let (mut value, mut timestamp_ms) = (0.0, 0);
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => r.repeated_varint(f, wt, |v| {
                refs.push(v, &mut batch.labels);
                Ok(())
            })?,
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
    Ok(refs.finish("exemplar"))
}

/// A series' `Metadata`; its name is filled in once the series' labels are known.
fn decode_metadata<'a>(
    buf: &'a [u8],
    symbols: &[&'a str],
    problem: &mut Problem,
) -> Result<MetadataRef<'a>> {
    let mut r = Reader::new(buf, "Metadata");
    let mut md = MetadataRef {
        metric_family_name: "",
        metric_type: MetricType::Unknown,
        help: "",
        unit: "",
    };
    while let Some((f, wt)) = r.next_field()? {
        match f {
            1 => md.metric_type = MetricType::from_wire(r.varint_field(f, wt)?),
            3 | 4 => {
                let v = r.varint_field(f, wt)?;
                match lookup(symbols, v) {
                    Some(s) if f == 3 => md.help = s,
                    Some(s) => md.unit = s,
                    None => {
                        let what = if f == 3 { "help_ref" } else { "unit_ref" };
                        let len = symbols.len();
                        note(problem, RejectReason::InvalidSymbolRef, || {
                            format!("metadata {what} {v} out of range of {len} symbols")
                        });
                    }
                }
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests;
