//! Metric and label names as Tempo writes them, and the small helpers that turn attributes
//! into label values: sanitizing names, stringifying values, reading the span multiplier.

use cairn_model::{AttrValue, Attribute, Resource, Span};

/// Calls per span label set (counter).
pub const SPANMETRICS_CALLS_TOTAL: &str = "traces_spanmetrics_calls_total";
/// Span durations in seconds (classic histogram: `_bucket`, `_sum`, `_count`).
pub const SPANMETRICS_LATENCY: &str = "traces_spanmetrics_latency";
/// Bytes of spans, as their OTLP protobuf encoding (counter).
pub const SPANMETRICS_SIZE_TOTAL: &str = "traces_spanmetrics_size_total";
/// One series per resource, its attributes as labels (gauge, value 1).
pub const TARGET_INFO: &str = "traces_target_info";
/// Requests between two nodes (counter).
pub const GRAPH_REQUEST_TOTAL: &str = "traces_service_graph_request_total";
/// Failed requests between two nodes (counter).
pub const GRAPH_REQUEST_FAILED_TOTAL: &str = "traces_service_graph_request_failed_total";
/// Request duration seen by the server (histogram).
pub const GRAPH_SERVER_SECONDS: &str = "traces_service_graph_request_server_seconds";
/// Request duration seen by the client (histogram).
pub const GRAPH_CLIENT_SECONDS: &str = "traces_service_graph_request_client_seconds";
/// Time between a producer's end and its consumer's start (histogram).
pub const GRAPH_MESSAGING_SECONDS: &str = "traces_service_graph_request_messaging_system_seconds";
/// Presence of an edge (gauge, value 1).
pub const GRAPH_CONNECTION_INFO: &str = "traces_service_graph_connection_info";
/// Spans whose other side never came within `wait` and that made no virtual node edge.
pub const GRAPH_UNPAIRED_SPANS_TOTAL: &str = "traces_service_graph_unpaired_spans_total";
/// Spans dropped because `max_items` edges were already waiting.
pub const GRAPH_DROPPED_SPANS_TOTAL: &str = "traces_service_graph_dropped_spans_total";

/// The exemplar label holding the trace id in hex (Tempo's default `trace_id_label_name`).
pub const EXEMPLAR_TRACE_ID_LABEL: &str = "traceID";

/// The `service` label.
pub const DIM_SERVICE: &str = "service";
/// The `span_name` label.
pub const DIM_SPAN_NAME: &str = "span_name";
/// The `span_kind` label.
pub const DIM_SPAN_KIND: &str = "span_kind";
/// The `status_code` label.
pub const DIM_STATUS_CODE: &str = "status_code";
/// The `status_message` label.
pub const DIM_STATUS_MESSAGE: &str = "status_message";
/// The `job` label (`<service.namespace>/<service.name>`).
pub const DIM_JOB: &str = "job";
/// The `instance` label (`service.instance.id`).
pub const DIM_INSTANCE: &str = "instance";
/// The `virtual_node` label of the service graph.
pub const DIM_VIRTUAL_NODE: &str = "virtual_node";

const INTRINSICS: [&str; 5] = [
    DIM_SERVICE,
    DIM_SPAN_NAME,
    DIM_SPAN_KIND,
    DIM_STATUS_CODE,
    DIM_STATUS_MESSAGE,
];

/// Replaces every character outside `[a-zA-Z0-9_]` by `_` (Prometheus' `SanitizeLabelName`).
pub(crate) fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// [`sanitize_label_name`], then a `__` prefix when the result is an intrinsic label, so that
/// a `status_code` attribute cannot overwrite the intrinsic `status_code`.
pub(crate) fn sanitize_with_collisions(name: &str) -> String {
    let s = sanitize_label_name(name);
    if INTRINSICS.contains(&s.as_str()) {
        format!("__{s}")
    } else {
        s
    }
}

/// [`sanitize_with_collisions`] for `traces_target_info`, where `job` and `instance` are
/// intrinsic too.
pub(crate) fn sanitize_target_info(name: &str) -> String {
    let s = sanitize_label_name(name);
    if INTRINSICS.contains(&s.as_str()) || s == DIM_JOB || s == DIM_INSTANCE {
        format!("__{s}")
    } else {
        s
    }
}

/// Whether `name` is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub(crate) fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An attribute value as a label value, the way Tempo prints one (`StringifyAnyValue`):
/// strings as they are, booleans `true`/`false`, numbers in their shortest form, arrays as
/// `[ab]` and maps as `{k:v}` without separators, bytes and empty values as "".
pub(crate) fn stringify(v: &AttrValue) -> String {
    let mut out = String::new();
    stringify_into(v, &mut out);
    out
}

fn stringify_into(v: &AttrValue, out: &mut String) {
    match v {
        AttrValue::String(s) => out.push_str(s),
        AttrValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttrValue::Int(i) => out.push_str(&i.to_string()),
        AttrValue::Double(d) => out.push_str(&format_go_float(*d)),
        AttrValue::Array(items) => {
            out.push('[');
            for i in items {
                stringify_into(i, out);
            }
            out.push(']');
        }
        AttrValue::KvList(kvs) => {
            out.push('{');
            for kv in kvs {
                out.push_str(&kv.key);
                out.push(':');
                stringify_into(&kv.value, out);
            }
            out.push('}');
        }
        AttrValue::Bytes(_) | AttrValue::Empty => {}
    }
}

/// A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` prints it: shortest digits, never an
/// exponent, `+Inf`, `-Inf`, `NaN`. Also the `le` label of a bucket.
pub(crate) fn format_go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's `Display` for f64 is the shortest round-trip form without an exponent.
        format!("{v}")
    }
}

/// The first value of `key`, searching each attribute list in turn.
pub(crate) fn find_value(key: &str, lists: &[&[Attribute]]) -> Option<String> {
    lists
        .iter()
        .find_map(|attrs| attrs.iter().find(|a| a.key == key))
        .map(|a| stringify(&a.value))
}

/// `service.name`, `job` and `service.instance.id` of a resource (first occurrence of each):
/// `job` is `<service.namespace>/<service.name>`, or the name alone, or "" without a name.
pub(crate) fn service_labels(resource: &Resource) -> (Option<String>, String, String) {
    let attrs = &resource.attributes;
    let name = find_value("service.name", &[attrs]);
    let namespace = find_value("service.namespace", &[attrs]).unwrap_or_default();
    let instance = find_value("service.instance.id", &[attrs]).unwrap_or_default();
    let job = match name.as_deref() {
        None | Some("") => String::new(),
        Some(n) if namespace.is_empty() => n.to_string(),
        Some(n) => format!("{namespace}/{n}"),
    };
    (name, job, instance)
}

/// How many spans one span stands for under sampling: from the tracestate's OpenTelemetry
/// threshold when enabled and readable, else `1/ratio` from the `key` attribute (span first,
/// then resource; a positive double), else 1.
pub(crate) fn span_multiplier(
    key: &str,
    use_tracestate: bool,
    span: &Span,
    resource: &Resource,
) -> f64 {
    if use_tracestate && let Some(m) = multiplier_from_tracestate(&span.trace_state) {
        return m;
    }
    if !key.is_empty() {
        for attrs in [&span.attributes, &resource.attributes] {
            for a in attrs.iter().filter(|a| a.key == key) {
                if let AttrValue::Double(v) = a.value
                    && v > 0.0
                {
                    return 1.0 / v;
                }
            }
        }
    }
    1.0
}

/// The adjusted count of the OpenTelemetry tracestate entry (`ot=th:<hex>;rv:<hex>`):
/// `2^56 / (2^56 - threshold)`, rounded to a neighbouring integer by the randomness value when
/// there is one (so counters grow by whole numbers while the expectation stays exact).
/// `None` without a usable threshold.
pub(crate) fn multiplier_from_tracestate(trace_state: &str) -> Option<f64> {
    let ot = trace_state
        .split(',')
        .map(str::trim)
        .find_map(|member| member.strip_prefix("ot="))?;
    let mut th = None;
    let mut rv = None;
    for field in ot.split(';') {
        if let Some(v) = field.strip_prefix("th:") {
            th = Some(v);
        } else if let Some(v) = field.strip_prefix("rv:") {
            rv = Some(v);
        }
    }
    let th = th?;
    if th.is_empty() || th.len() > 14 || !th.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // The threshold is the hex digits padded on the right to 14 digits (56 bits).
    let threshold = u64::from_str_radix(&format!("{th:0<14}"), 16).ok()?;
    const MAX: u64 = 1 << 56;
    let m = MAX as f64 / (MAX - threshold) as f64;
    let rv = match rv {
        Some(v) if v.len() == 14 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(v, 16).ok()?
        }
        Some(_) => return None,
        None => return Some(m),
    };
    let whole = m.floor();
    let frac = m - whole;
    if frac == 0.0 {
        return Some(whole);
    }
    let r = (rv >> 3) as f64 / (1u64 << 53) as f64;
    Some(if r < frac { whole + 1.0 } else { whole })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_prometheus() {
        assert_eq!(sanitize_label_name("http.status-code"), "http_status_code");
        assert_eq!(sanitize_with_collisions("status.code"), "__status_code");
        assert_eq!(sanitize_with_collisions("job"), "job");
        assert_eq!(sanitize_target_info("job"), "__job");
    }

    #[test]
    fn stringifies_like_tempo() {
        assert_eq!(stringify(&AttrValue::Int(-3)), "-3");
        assert_eq!(stringify(&AttrValue::Double(0.5)), "0.5");
        assert_eq!(
            stringify(&AttrValue::Double(1e21)),
            "1000000000000000000000"
        );
        assert_eq!(stringify(&AttrValue::Bool(true)), "true");
        let arr = AttrValue::Array(vec![AttrValue::Int(1), AttrValue::from("a")]);
        assert_eq!(stringify(&arr), "[1a]");
        let kv = AttrValue::KvList(vec![Attribute::new("k", "v"), Attribute::new("n", 2i64)]);
        assert_eq!(stringify(&kv), "{k:vn:2}");
        assert_eq!(format_go_float(f64::INFINITY), "+Inf");
        assert_eq!(format_go_float(0.002 * 8.0), "0.016");
    }

    #[test]
    fn tracestate_threshold_gives_the_adjusted_count() {
        // th:8 is 0x80000000000000 = 2^55: half the traces are rejected, each kept one is 2.
        assert_eq!(multiplier_from_tracestate("ot=th:8"), Some(2.0));
        // th:c rejects three quarters: 4.
        assert_eq!(
            multiplier_from_tracestate("vendor=x, ot=th:c;foo:bar"),
            Some(4.0)
        );
        // th:0 keeps everything.
        assert_eq!(multiplier_from_tracestate("ot=th:0"), Some(1.0));
        assert_eq!(multiplier_from_tracestate("ot=rv:00000000000000"), None);
        assert_eq!(multiplier_from_tracestate("ot=th:xyz"), None);
        assert_eq!(multiplier_from_tracestate(""), None);
        // th:55555555555555 rejects a third: m is 1.5, and the randomness picks 1 or 2.
        let m = multiplier_from_tracestate("ot=th:55555555555555").unwrap_or(0.0);
        assert!((m - 1.5).abs() < 1e-9, "{m}");
        assert_eq!(
            multiplier_from_tracestate("ot=th:55555555555555;rv:ffffffffffffff"),
            Some(1.0)
        );
        assert_eq!(
            multiplier_from_tracestate("ot=th:55555555555555;rv:00000000000000"),
            Some(2.0)
        );
    }
}
