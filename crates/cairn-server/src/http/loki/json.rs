//! The JSON Loki answers with (`pkg/util/marshal`): `{"status":"success","data":{...}}` with
//! `resultType`, `encodingFlags` when asked, `result` and `stats`; streams with nanosecond
//! timestamps as strings and lines escaped as Go's jsoniter writes them; vectors and matrices
//! with times as shortest float seconds and values as Go's `FormatFloat(v, 'f', -1)`.

use cairn_model::Labels;

use crate::http::json::Json;

/// Grafana's header asking for categorized labels, and the flag's name.
pub(crate) const ENCODING_FLAGS_HEADER: &str = "x-loki-response-encoding-flags";
/// See [`ENCODING_FLAGS_HEADER`].
pub(crate) const CATEGORIZE_LABELS: &str = "categorize-labels";

/// A value as Loki's `model.SampleValue.String()` writes it: never an exponent.
pub(crate) fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A time as Loki's `model.Time.String()` writes it: shortest float seconds.
pub(crate) fn time(j: &mut Json, t_ms: i64) {
    j.time(t_ms);
}

/// `[t,"v"]`.
pub(crate) fn point(j: &mut Json, t_ms: i64, v: f64) {
    j.raw("[");
    time(j, t_ms);
    j.raw(",").str(&value(v)).raw("]");
}

/// One entry of a stream as the encoder sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryOut<'a> {
    pub(crate) ts_ns: i64,
    pub(crate) line: &'a str,
    pub(crate) metadata: &'a [(String, String)],
    pub(crate) parsed: &'a [(String, String)],
}

/// Writes name/value pairs as an object, in the order given.
pub(crate) fn pairs(j: &mut Json, pairs: &[(String, String)]) {
    j.raw("{");
    for (i, (n, v)) in pairs.iter().enumerate() {
        j.sep(i).key(n).str(v);
    }
    j.raw("}");
}

/// One stream: `{"stream":{labels},"values":[["ns","line"(,{categories})],...]}`.
pub(crate) fn stream<'a>(
    j: &mut Json,
    labels: &Labels,
    entries: impl Iterator<Item = EntryOut<'a>>,
    categorize: bool,
) {
    j.raw("{").key("stream").labels(labels);
    j.raw(",").key("values").raw("[");
    for (i, e) in entries.enumerate() {
        j.sep(i).raw("[\"").int(e.ts_ns).raw("\",").str(e.line);
        if categorize {
            j.raw(",{");
            let mut more = false;
            if !e.metadata.is_empty() {
                j.key("structuredMetadata");
                pairs(j, e.metadata);
                more = true;
            }
            if !e.parsed.is_empty() {
                if more {
                    j.raw(",");
                }
                j.key("parsed");
                pairs(j, e.parsed);
            }
            j.raw("}");
        }
        j.raw("]");
    }
    j.raw("]}");
}

/// `{"status":"success"[,"warnings":[..]],"data":{"resultType":..,["encodingFlags":[..],]
/// "result":<result>,"stats":<stats>}}` in Loki's key order.
pub(crate) fn query_response(
    result_type: &str,
    result: &str,
    stats: &str,
    warnings: &[String],
    categorize: bool,
) -> String {
    let mut j = Json::new();
    j.raw("{").key("status").str("success");
    if !warnings.is_empty() {
        j.raw(",").key("warnings").strs(warnings);
    }
    j.raw(",")
        .key("data")
        .raw("{")
        .key("resultType")
        .str(result_type);
    if categorize {
        j.raw(",").key("encodingFlags").strs(&[CATEGORIZE_LABELS]);
    }
    j.raw(",").key("result").raw(result);
    j.raw(",").key("stats").raw(stats);
    j.raw("}}");
    j.finish()
}

/// `{"status":"success","data":<data>}`, Loki's envelope for labels, values and series.
pub(crate) fn data_response(data: &str) -> String {
    let mut j = Json::new();
    j.raw("{")
        .key("status")
        .str("success")
        .raw(",")
        .key("data")
        .raw(data)
        .raw("}");
    j.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_never_use_exponents() {
        assert_eq!(value(2.0), "2");
        assert_eq!(value(1e-7), "0.0000001");
        assert_eq!(value(1e21), "1000000000000000000000");
        assert_eq!(value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
        let mut j = Json::new();
        point(&mut j, 4_000, 2.0);
        point(&mut j, 10_500, 0.5);
        assert_eq!(j.finish(), r#"[4,"2"][10.5,"0.5"]"#);
    }

    #[test]
    fn streams_with_and_without_categories() {
        let labels = Labels::from_pairs([("app", "a")]).unwrap();
        let md = vec![("trace_id".to_string(), "t1".to_string())];
        let parsed = vec![("status".to_string(), "500".to_string())];
        let entries = [
            EntryOut {
                ts_ns: 1_700_000_000_000_000_001,
                line: "<b>&</b>",
                metadata: &md,
                parsed: &parsed,
            },
            EntryOut {
                ts_ns: 5,
                line: "plain",
                metadata: &[],
                parsed: &[],
            },
        ];
        let mut j = Json::new();
        stream(&mut j, &labels, entries.iter().copied(), false);
        assert_eq!(
            j.finish(),
            r#"{"stream":{"app":"a"},"values":[["1700000000000000001","\u003cb\u003e\u0026\u003c/b\u003e"],["5","plain"]]}"#
        );
        let mut j = Json::new();
        stream(&mut j, &labels, entries.iter().copied(), true);
        assert_eq!(
            j.finish(),
            r#"{"stream":{"app":"a"},"values":[["1700000000000000001","\u003cb\u003e\u0026\u003c/b\u003e",{"structuredMetadata":{"trace_id":"t1"},"parsed":{"status":"500"}}],["5","plain",{}]]}"#
        );
        assert_eq!(
            query_response("streams", "[]", "{}", &[], true),
            r#"{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[],"stats":{}}}"#
        );
    }
}
