//! Payloads written as Fluent Bit's `http` output writes them; each test names the source
//! function whose output it reproduces.

use super::*;
use crate::logs::FieldValue as V;

fn s(x: &str) -> V {
    V::Str(x.into())
}

fn fields(pairs: &[(&str, V)]) -> Vec<(String, V)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn decode(format: FluentHttpFormat, body: &[u8], time: &TimeKey) -> Vec<FluentRecord> {
    decode_fluent_http(format, body, time, &LogDecodeLimits::default()).unwrap()
}

/// `flb_pack_msgpack_to_json_format` with FLB_PACK_JSON_FORMAT_JSON and the default
/// `json_date_key date` / `json_date_format double`: the date is `flb_time_to_double`
/// printed with `%.16g`, so 1700000000.123456789 s becomes `1700000000.123457`.
#[test]
fn json_array_with_double_dates() {
    let body = br#"[{"date":1700000000.123457,"log":"hello","stream":"stdout"},{"date":1700000001.0,"log":"second","n":3}]"#;
    let got = decode(FluentHttpFormat::Json, body, &TimeKey::default());
    assert_eq!(
        got,
        vec![
            FluentRecord {
                ts_ns: Some(1_700_000_000_123_457_000),
                fields: fields(&[("log", s("hello")), ("stream", s("stdout"))]),
                ..Default::default()
            },
            FluentRecord {
                ts_ns: Some(1_700_000_001_000_000_000),
                fields: fields(&[("log", s("second")), ("n", V::Int(3))]),
                ..Default::default()
            },
        ]
    );
}

/// FLB_PACK_JSON_FORMAT_LINES: each record followed by `\n`; and FLB_PACK_JSON_FORMAT_STREAM:
/// records back to back. Dates in every `json_date_format` (`msgpack_pack_formatted_datetime`
/// prints microseconds).
#[test]
fn json_lines_and_stream_in_every_date_format() {
    let want = 1_700_000_000_123_456_000;
    let cases: [(TimeFormat, &str, i64); 5] = [
        (TimeFormat::Double, "1700000000.123456", want),
        (TimeFormat::Iso8601, "\"2023-11-14T22:13:20.123456Z\"", want),
        (
            TimeFormat::JavaSqlTimestamp,
            "\"2023-11-14 22:13:20.123456\"",
            want,
        ),
        (TimeFormat::Epoch, "1700000000", 1_700_000_000_000_000_000),
        (
            TimeFormat::EpochMs,
            "1700000000123",
            1_700_000_000_123_000_000,
        ),
    ];
    for (format, date, ts) in cases {
        let time = TimeKey {
            key: Some("ts".into()),
            format,
        };
        let lines = format!("{{\"ts\":{date},\"log\":\"a\"}}\n{{\"ts\":{date},\"log\":\"b\"}}\n");
        let stream = lines.replace('\n', "");
        for (f, body) in [
            (FluentHttpFormat::JsonLines, &lines),
            (FluentHttpFormat::JsonStream, &stream),
        ] {
            let got = decode(f, body.as_bytes(), &time);
            assert_eq!(got.len(), 2, "{format:?} {f:?}");
            assert_eq!(got[0].ts_ns, Some(ts), "{format:?} {f:?}");
            assert_eq!(got[1].fields, fields(&[("log", s("b"))]));
        }
    }
}

/// `json_date_key false` sends no date; a date that does not read in the configured format
/// stays a field and the receiver's clock decides.
#[test]
fn missing_or_unreadable_dates() {
    let none = TimeKey {
        key: None,
        format: TimeFormat::Double,
    };
    let got = decode(
        FluentHttpFormat::Json,
        br#"[{"date":1.5,"log":"x"}]"#,
        &none,
    );
    assert_eq!(got[0].ts_ns, None);
    assert_eq!(got[0].fields.len(), 2);
    let iso = TimeKey {
        key: Some("date".into()),
        format: TimeFormat::Iso8601,
    };
    let got = decode(FluentHttpFormat::Json, br#"[{"date":1.5,"log":"x"}]"#, &iso);
    assert_eq!((got[0].ts_ns, got[0].fields.len()), (None, 2));
}

/// Records with group attributes or metadata get `__internal__` after the date key.
#[test]
fn internal_metadata_comes_back() {
    let body = br#"[{"date":1.0,"__internal__":{"group_attributes":{"resource":{"service.name":"a"}},"log_metadata":{"otlp":{"severity_number":9}}},"log":"x"}]"#;
    let got = decode(FluentHttpFormat::Json, body, &TimeKey::default());
    assert_eq!(got[0].fields, fields(&[("log", s("x"))]));
    assert_eq!(
        got[0].metadata,
        fields(&[
            (
                "group_attributes",
                V::Map(fields(&[(
                    "resource",
                    V::Map(fields(&[("service.name", s("a"))]))
                )]))
            ),
            ("otlp", V::Map(fields(&[("severity_number", V::Int(9))]))),
        ])
    );
}

/// `format msgpack` sends the chunk as is: FLB_LOG_EVENT_FORMAT_FLUENT_BIT_V2 entries
/// `[[EventTime, {metadata}], {record}]` (`flb_log_event_encoder`), here written by hand,
/// plus a group start and end marker (EventTime seconds 0xffffffff and 0xfffffffe) and a
/// legacy `[integer time, record]` entry.
#[test]
fn msgpack_chunks() {
    let mut body: Vec<u8> = vec![
        0x92, // [
        0x92, // [
        0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x07, 0x5b, 0xcd,
        0x15, // EventTime 1700000000 s 123456789 ns
        0x81, 0xa1, b'm', 0x01, // {"m": 1}
        0x82, 0xa3, b'l', b'o', b'g', 0xa5, b'h', b'e', b'l', b'l', b'o', 0xa1, b'n', 0xd0,
        0xfe, // {"log":"hello","n":-2}
    ];
    let group = |secs: [u8; 4]| -> Vec<u8> {
        let mut g = vec![0x92, 0x92, 0xd7, 0x00];
        g.extend(secs);
        g.extend([0, 0, 0, 0, 0x80, 0x81, 0xa1, b'r', 0xc3]);
        g
    };
    let mut chunk = group([0xff; 4]);
    chunk.append(&mut body);
    chunk.extend(group([0xff, 0xff, 0xff, 0xfe]));
    chunk.extend([
        0x92, 0xce, 0x65, 0x53, 0xf1, 0x01, 0x81, 0xa3, b'l', b'o', b'g', 0xa1, b'y',
    ]);
    let got = decode(FluentHttpFormat::Msgpack, &chunk, &TimeKey::default());
    assert_eq!(
        got,
        vec![
            FluentRecord {
                ts_ns: Some(1_700_000_000_123_456_789),
                metadata: fields(&[("m", V::Int(1))]),
                fields: fields(&[("log", s("hello")), ("n", V::Int(-2))]),
                tag: None,
            },
            FluentRecord {
                ts_ns: Some(1_700_000_001_000_000_000),
                fields: fields(&[("log", s("y"))]),
                ..Default::default()
            },
        ]
    );
    // A record that is not a map, and a truncated chunk, fail with the entry named.
    let e = decode_fluent_http(
        FluentHttpFormat::Msgpack,
        &[0x92, 0x01, 0xa1, b'x'],
        &TimeKey::default(),
        &LogDecodeLimits::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "entry 0: record is a string, expected a map");
    let e = decode_fluent_http(
        FluentHttpFormat::Msgpack,
        &chunk[..chunk.len() - 1],
        &TimeKey::default(),
        &LogDecodeLimits::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("entry 3: msgpack value truncated"),
        "{e}"
    );
}

/// `flb_msgpack_to_gelf` (with `gelf_short_message_key log`): `version` first, the record's
/// keys (extra ones prefixed with `_`), the time appended as `%li.%03lu` seconds.
#[test]
fn gelf_lines() {
    let body = b"{\"version\":\"1.1\",\"short_message\":\"hello\",\"_stream\":\"stdout\",\"_kubernetes_pod_name\":\"p\",\"timestamp\":1700000000.123}\n\
{\"version\":\"1.1\",\"host\":\"h\",\"short_message\":\"two\",\"level\":6,\"timestamp\":1700000001.000}\n";
    let got = decode(FluentHttpFormat::Gelf, body, &TimeKey::default());
    assert_eq!(got[0].ts_ns, Some(1_700_000_000_123_000_000));
    assert_eq!(
        got[0].fields,
        fields(&[
            ("short_message", s("hello")),
            ("stream", s("stdout")),
            ("kubernetes_pod_name", s("p"))
        ])
    );
    assert_eq!(got[1].ts_ns, Some(1_700_000_001_000_000_000));
    assert_eq!(
        got[1].fields,
        fields(&[
            ("host", s("h")),
            ("short_message", s("two")),
            ("level", V::Int(6))
        ])
    );
}

#[test]
fn bad_json_and_limits() {
    let t = TimeKey::default();
    let l = LogDecodeLimits::default();
    for (f, body, want) in [
        (
            FluentHttpFormat::Json,
            &b"[1]"[..],
            "record 0 to be a JSON object",
        ),
        (FluentHttpFormat::Json, b"{}", "an array of record objects"),
        (
            FluentHttpFormat::JsonLines,
            b"{\"a\":1}\n[2]\n",
            "invalid json_lines record 1",
        ),
        (
            FluentHttpFormat::JsonStream,
            b"{\"a\":1}{\"a\"",
            "invalid json_stream record 1",
        ),
        (FluentHttpFormat::Gelf, b"nope", "invalid gelf record 0"),
    ] {
        let e = decode_fluent_http(f, body, &t, &l).unwrap_err();
        assert!(e.to_string().contains(want), "{f:?}: {e}");
        assert_eq!(e.http_status(), 400);
    }
    let few = LogDecodeLimits {
        max_entries: 1,
        max_depth: 3,
        ..l
    };
    for f in [FluentHttpFormat::Json, FluentHttpFormat::JsonLines] {
        let body: &[u8] = if f == FluentHttpFormat::Json {
            b"[{},{}]"
        } else {
            b"{}\n{}\n"
        };
        let e = decode_fluent_http(f, body, &t, &few).unwrap_err();
        assert!(
            matches!(e, WireError::TooManyEntries { limit: 1 }),
            "{f:?}: {e}"
        );
        let deep: &[u8] = if f == FluentHttpFormat::Json {
            br#"[{"a":{"b":{"c":{}}}}]"#
        } else {
            br#"{"a":{"b":{"c":{}}}}"#
        };
        assert!(decode_fluent_http(f, deep, &t, &few).is_err(), "{f:?}");
        let ok: &[u8] = if f == FluentHttpFormat::Json {
            br#"[{"a":{"b":{}}}]"#
        } else {
            br#"{"a":{"b":{}}}"#
        };
        assert!(decode_fluent_http(f, ok, &t, &few).is_ok(), "{f:?}");
    }
    assert!(
        decode_fluent_http(FluentHttpFormat::JsonLines, b"\n  \n", &t, &l)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        FluentHttpFormat::from_name("JSON_LINES"),
        Some(FluentHttpFormat::JsonLines)
    );
    assert_eq!(
        FluentHttpFormat::JsonLines.content_type(),
        "application/x-ndjson"
    );
}
