//! The Arrow schema of `data.parquet` and the typed attribute columns both sides share.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use cairn_model::{AttrValue, Attribute, hex_string, parse_hex_bytes};

/// Resource attribute kept in its own column.
pub(crate) const SERVICE_NAME: &str = "service.name";

/// Span attributes kept in their own columns: key, column, and whether the value is an
/// integer (else a string). Only the first attribute of a key with that type moves.
pub(crate) const DEDICATED: [(&str, &str, bool); 6] = [
    ("http.method", "http_method", false),
    ("http.request.method", "http_request_method", false),
    ("http.url", "http_url", false),
    ("url.full", "url_full", false),
    ("http.status_code", "http_status_code", true),
    (
        "http.response.status_code",
        "http_response_status_code",
        true,
    ),
];

/// The struct of one attribute in a list column.
pub(crate) fn attr_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("value_string", DataType::Utf8, true),
        Field::new("value_int", DataType::Int64, true),
        Field::new("value_double", DataType::Float64, true),
        Field::new("value_bool", DataType::Boolean, true),
        Field::new("value_json", DataType::Utf8, true),
    ])
}

/// The item field of an attribute list.
pub(crate) fn attr_item() -> Arc<Field> {
    Arc::new(Field::new(
        "element",
        DataType::Struct(attr_fields()),
        false,
    ))
}

fn attr_list(name: &str) -> Field {
    Field::new(name, DataType::List(attr_item()), false)
}

/// The struct of one event.
pub(crate) fn event_fields() -> Fields {
    Fields::from(vec![
        Field::new("time_unix_nano", DataType::UInt64, false),
        Field::new("name", DataType::Utf8, false),
        attr_list("attrs"),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
    ])
}

/// The struct of one link.
pub(crate) fn link_fields() -> Fields {
    Fields::from(vec![
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("span_id", DataType::FixedSizeBinary(8), false),
        Field::new("trace_state", DataType::Utf8, false),
        attr_list("attrs"),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
        Field::new("flags", DataType::UInt32, false),
    ])
}

/// The item field of a list of structs.
pub(crate) fn struct_item(fields: Fields) -> Arc<Field> {
    Arc::new(Field::new("element", DataType::Struct(fields), false))
}

/// The schema of `data.parquet`, columns in this order.
pub(crate) fn schema() -> SchemaRef {
    let mut f = vec![
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("trace_start_unix_nano", DataType::UInt64, false),
        Field::new("trace_end_unix_nano", DataType::UInt64, false),
        Field::new("root_service_name", DataType::Utf8, false),
        Field::new("root_span_name", DataType::Utf8, false),
        Field::new("resource_service_name", DataType::Utf8, true),
        attr_list("resource_attrs"),
        Field::new("resource_dropped_attributes_count", DataType::UInt32, false),
        Field::new("resource_schema_url", DataType::Utf8, false),
        Field::new("scope_name", DataType::Utf8, false),
        Field::new("scope_version", DataType::Utf8, false),
        attr_list("scope_attrs"),
        Field::new("scope_dropped_attributes_count", DataType::UInt32, false),
        Field::new("scope_schema_url", DataType::Utf8, false),
        Field::new("span_id", DataType::FixedSizeBinary(8), false),
        Field::new("parent_span_id", DataType::FixedSizeBinary(8), true),
        Field::new("trace_state", DataType::Utf8, false),
        Field::new("flags", DataType::UInt32, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Int32, false),
        Field::new("start_unix_nano", DataType::UInt64, false),
        Field::new("duration_nano", DataType::UInt64, false),
        Field::new("status_code", DataType::Int32, false),
        Field::new("status_message", DataType::Utf8, false),
    ];
    for (_, col, int) in DEDICATED {
        let t = if int { DataType::Int64 } else { DataType::Utf8 };
        f.push(Field::new(col, t, true));
    }
    f.extend([
        attr_list("attrs"),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
        Field::new("events", DataType::List(struct_item(event_fields())), false),
        Field::new("dropped_events_count", DataType::UInt32, false),
        Field::new("links", DataType::List(struct_item(link_fields())), false),
        Field::new("dropped_links_count", DataType::UInt32, false),
    ]);
    Arc::new(Schema::new(f))
}

/// The `type` column's name of a value.
pub(crate) fn type_name(v: &AttrValue) -> &'static str {
    match v {
        AttrValue::Empty => "empty",
        AttrValue::String(_) => "string",
        AttrValue::Bool(_) => "bool",
        AttrValue::Int(_) => "int",
        AttrValue::Double(_) => "double",
        AttrValue::Bytes(_) => "bytes",
        AttrValue::Array(_) => "array",
        AttrValue::KvList(_) => "kvlist",
    }
}

/// A value as JSON in OTLP/JSON's `AnyValue` shape, except bytes, written as hex under
/// `bytesHex`, and non-finite doubles, written as the strings `NaN`, `Infinity`,
/// `-Infinity` as proto3 JSON does.
pub(crate) fn value_json(v: &AttrValue) -> serde_json::Value {
    use serde_json::{Value, json};
    match v {
        AttrValue::Empty => json!({}),
        AttrValue::String(s) => json!({ "stringValue": s }),
        AttrValue::Bool(b) => json!({ "boolValue": b }),
        AttrValue::Int(i) => json!({ "intValue": i.to_string() }),
        AttrValue::Double(d) => {
            let d = *d;
            let v = if d.is_nan() {
                Value::from("NaN")
            } else if d.is_infinite() {
                Value::from(if d > 0.0 { "Infinity" } else { "-Infinity" })
            } else {
                Value::from(d)
            };
            json!({ "doubleValue": v })
        }
        AttrValue::Bytes(b) => json!({ "bytesHex": hex_string(b) }),
        AttrValue::Array(vs) => {
            json!({ "arrayValue": { "values": vs.iter().map(value_json).collect::<Vec<_>>() } })
        }
        AttrValue::KvList(kvs) => json!({ "kvlistValue": { "values": kvs
            .iter()
            .map(|a| json!({ "key": a.key, "value": value_json(&a.value) }))
            .collect::<Vec<_>>() } }),
    }
}

/// Reads back what [`value_json`] wrote.
pub(crate) fn value_from_json(v: &serde_json::Value) -> Result<AttrValue, String> {
    let o = v
        .as_object()
        .ok_or_else(|| format!("attribute value {v} is not an object"))?;
    let Some((k, x)) = o.iter().next() else {
        return Ok(AttrValue::Empty);
    };
    let bad = || format!("attribute value {v} is malformed");
    Ok(match k.as_str() {
        "stringValue" => AttrValue::String(x.as_str().ok_or_else(bad)?.to_string()),
        "boolValue" => AttrValue::Bool(x.as_bool().ok_or_else(bad)?),
        "intValue" => AttrValue::Int(x.as_str().and_then(|s| s.parse().ok()).ok_or_else(bad)?),
        "doubleValue" => AttrValue::Double(match x.as_str() {
            Some("NaN") => f64::NAN,
            Some("Infinity") => f64::INFINITY,
            Some("-Infinity") => f64::NEG_INFINITY,
            _ => x.as_f64().ok_or_else(bad)?,
        }),
        "bytesHex" => AttrValue::Bytes(x.as_str().and_then(parse_hex_bytes).ok_or_else(bad)?),
        "arrayValue" => AttrValue::Array(
            x.get("values")
                .and_then(|a| a.as_array())
                .ok_or_else(bad)?
                .iter()
                .map(value_from_json)
                .collect::<Result<_, _>>()?,
        ),
        "kvlistValue" => AttrValue::KvList(
            x.get("values")
                .and_then(|a| a.as_array())
                .ok_or_else(bad)?
                .iter()
                .map(|kv| {
                    let key = kv.get("key").and_then(|k| k.as_str()).ok_or_else(bad)?;
                    let value = value_from_json(kv.get("value").ok_or_else(bad)?)?;
                    Ok(Attribute {
                        key: key.to_string(),
                        value,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        _ => return Err(bad()),
    })
}
