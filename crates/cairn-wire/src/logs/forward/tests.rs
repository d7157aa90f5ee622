//! Messages as Fluent Bit's out_forward (`forward.c`, `forward_format.c`) and the
//! fluent-logger libraries write them.

use super::*;
use crate::logs::FieldValue as V;

fn s(x: &str) -> V {
    V::Str(x.into())
}

fn dec() -> ForwardDecoder {
    ForwardDecoder::new(LogDecodeLimits::default())
}

fn all(bytes: &[u8]) -> Vec<Result<ForwardMessage>> {
    let mut d = dec();
    d.feed(bytes);
    let mut out = Vec::new();
    loop {
        match d.next_message() {
            Ok(None) => return out,
            Ok(Some(m)) => out.push(Ok(m)),
            Err(e) => {
                let broken = d.is_broken();
                out.push(Err(e));
                if broken {
                    return out;
                }
            }
        }
    }
}

fn events(m: &ForwardMessage) -> (&str, &[FluentRecord], Option<&str>) {
    match m {
        ForwardMessage::Events {
            tag,
            records,
            chunk,
        } => (tag, records, chunk.as_deref()),
        other => panic!("not events: {other:?}"),
    }
}

/// fluent-logger's Message mode with an integer time: `["app.access", 1700000000,
/// {"agent": "foo"}]`, written byte by byte.
#[test]
fn message_mode() {
    let mut b = vec![0x93, 0xaa];
    b.extend(b"app.access");
    b.extend([0xce, 0x65, 0x53, 0xf1, 0x00, 0x81, 0xa5]);
    b.extend(b"agent");
    b.extend([0xa3, b'f', b'o', b'o']);
    let got = all(&b);
    let (tag, recs, chunk) = events(got[0].as_ref().unwrap());
    assert_eq!((tag, chunk), ("app.access", None));
    assert_eq!(
        recs,
        &[FluentRecord {
            ts_ns: Some(1_700_000_000_000_000_000),
            tag: Some("app.access".into()),
            metadata: vec![],
            fields: vec![("agent".into(), s("foo"))],
        }]
    );
}

/// Fluent Bit's default: Forward mode `[tag, [entries], {"size": n, "fluent_signal": 0,
/// "chunk": ...}]` with entries `[[EventTime, {metadata}], record]`, a group start marker
/// first and a float time entry in Fluentd's older form.
#[test]
fn forward_mode_with_metadata_markers_and_chunk() {
    let mut w = Writer::default();
    w.array(3);
    w.str("kube.var.log");
    w.array(3);
    // Group start: EventTime seconds 0xffffffff.
    w.array(2);
    w.array(2);
    w.buf
        .extend([0xd7, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    w.map(0);
    w.map(0);
    w.array(2);
    w.array(2);
    w.event_time(1_700_000_000_000_000_123);
    w.fields(&[("otlp".into(), V::Map(vec![("severity".into(), V::Int(9))]))]);
    w.fields(&[("log".into(), s("one"))]);
    w.array(2);
    w.float(1_700_000_001.25);
    w.fields(&[("log".into(), s("two"))]);
    w.map(3);
    w.str("size");
    w.uint(3);
    w.str("fluent_signal");
    w.uint(0);
    w.str("chunk");
    w.str("p8n9gmxTQVC8/nh2wlKKeQ==");
    let got = all(&w.buf);
    let (tag, recs, chunk) = events(got[0].as_ref().unwrap());
    assert_eq!(
        (tag, chunk),
        ("kube.var.log", Some("p8n9gmxTQVC8/nh2wlKKeQ=="))
    );
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].ts_ns, Some(1_700_000_000_000_000_123));
    assert_eq!(
        recs[0].metadata,
        vec![(
            "otlp".to_string(),
            V::Map(vec![("severity".into(), V::Int(9))])
        )]
    );
    assert_eq!(recs[1].ts_ns, Some(1_700_000_001_250_000_000));
    assert_eq!(recs[1].fields, vec![("log".to_string(), s("two"))]);
    // The ack: {"ack": "<chunk>"}.
    let mut want = vec![0x81, 0xa3, b'a', b'c', b'k', 0xb8];
    want.extend(b"p8n9gmxTQVC8/nh2wlKKeQ==");
    assert_eq!(encode_ack("p8n9gmxTQVC8/nh2wlKKeQ=="), want);
}

#[test]
fn packed_and_compressed_packed_forward() {
    let recs: Vec<FluentRecord> = (0..3)
        .map(|i| FluentRecord {
            ts_ns: Some(1_700_000_000_000_000_000 + i),
            tag: Some("t".into()),
            metadata: vec![],
            fields: vec![("i".into(), V::Int(i))],
        })
        .collect();
    for mode in [
        ForwardMode::Message,
        ForwardMode::Forward,
        ForwardMode::PackedForward,
        ForwardMode::CompressedPackedForward,
    ] {
        let got: Vec<FluentRecord> = all(&encode_forward("t", &recs, mode, Some("c")))
            .into_iter()
            .flat_map(|m| events(&m.unwrap()).1.to_vec())
            .collect();
        assert_eq!(got, recs, "{mode:?}");
    }
    // Several gzip members, and zstd found by its magic bytes under a "gzip" label.
    let mut w = Writer::default();
    for r in &recs {
        w.array(2);
        w.event_time(r.ts_ns.unwrap());
        w.fields(&r.fields);
    }
    let (a, b) = w.buf.split_at(w.buf.len() / 2);
    let gz = |d: &[u8]| {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    };
    let mut members = gz(a);
    members.extend(gz(b));
    for payload in [members, zstd::encode_all(&w.buf[..], 1).unwrap()] {
        let mut m = Writer::default();
        m.array(3);
        m.str("t");
        m.bin(&payload);
        m.map(1);
        m.str("compressed");
        m.str("gzip");
        let got = all(&m.buf);
        assert_eq!(events(got[0].as_ref().unwrap()).1, &recs[..]);
    }
}

#[test]
fn other_signals_heartbeats_and_pings() {
    let mut w = Writer::default();
    w.nil();
    w.array(3);
    w.str("metrics");
    w.bin(b"\x00cmetrics payload");
    w.map(2);
    w.str("fluent_signal");
    w.uint(1);
    w.str("chunk");
    w.str("abc");
    let got = all(&w.buf);
    assert_eq!(got[0].as_ref().unwrap(), &ForwardMessage::Heartbeat);
    assert_eq!(
        got[1].as_ref().unwrap(),
        &ForwardMessage::Ignored {
            tag: "metrics".into(),
            reason: "fluent_signal 1 (metrics) is not stored".into(),
            chunk: Some("abc".into()),
        }
    );
    let ping = Ping::for_client("h", b"salt", b"nonce", "k", None);
    assert_eq!(
        all(&ping.encode())[0].as_ref().unwrap(),
        &ForwardMessage::Ping(ping)
    );
}

#[test]
fn protocol_errors_skip_one_message_framing_errors_break_the_stream() {
    let mut w = Writer::default();
    w.array(3);
    w.str("t");
    w.uint(1);
    w.str("not a map");
    w.buf.extend(encode_forward(
        "t",
        &[FluentRecord::default()],
        ForwardMode::Forward,
        None,
    ));
    w.buf.push(0xc1);
    let got = all(&w.buf);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0].as_ref().unwrap_err().to_string(),
        "forward protocol: record is a string, expected a map"
    );
    assert!(got[1].is_ok());
    assert_eq!(
        got[2].as_ref().unwrap_err().to_string(),
        "forward protocol: invalid msgpack at offset 0: reserved byte 0xc1"
    );
    // Every kind of bad message gets a message naming what is wrong.
    for (bytes, want) in [
        (vec![0x05], "expected a message array, got an integer"),
        (vec![0x91, 0xa1, b't'], "expected at least 2"),
        (vec![0x92, 0x01, 0x01], "tag is an integer"),
        (
            vec![0x92, 0xa1, b't', 0x91, 0x05],
            "entry 0: expected an array [time, record]",
        ),
        (vec![0x93, 0xa1, b't', 0x90, 0x05], "options are an integer"),
        (
            vec![
                0x93, 0xa1, b't', 0xa0, 0x81, 0xaa, b'c', b'o', b'm', b'p', b'r', b'e', b's', b's',
                b'e', b'd', 0xa2, b'l', b'z',
            ],
            "unsupported compressed",
        ),
        (
            vec![0x93, 0xa1, b't', 0xc3, 0x80],
            "expected entries or a time",
        ),
        (
            vec![0x92, 0xa1, b't', 0xc3],
            "message mode needs [tag, time, record]",
        ),
    ] {
        let got = all(&bytes);
        let e = got[0].as_ref().unwrap_err().to_string();
        assert!(e.contains(want), "{bytes:x?}: {e}");
    }
}

#[test]
fn size_limits_break_the_stream_early() {
    let mut d = ForwardDecoder::new(LogDecodeLimits {
        max_decoded_bytes: 100,
        ..LogDecodeLimits::default()
    });
    // A str32 header announcing 4 GiB: refused once more than 100 bytes are buffered,
    // without waiting for (or allocating) the rest.
    d.feed(&[0x92, 0xa1, b't', 0xdb, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(d.next_message().unwrap(), None);
    d.feed(&[0u8; 200]);
    assert!(d.next_message().is_err());
    assert!(d.is_broken());
    assert!(d.next_message().is_err());
    // Decompression is capped too.
    let big: Vec<FluentRecord> = (0..100)
        .map(|_| FluentRecord {
            ts_ns: Some(1),
            fields: vec![("log".into(), s(&"x".repeat(100)))],
            ..Default::default()
        })
        .collect();
    let msg = encode_forward("t", &big, ForwardMode::CompressedPackedForward, None);
    assert!(msg.len() < 1000);
    let mut d = ForwardDecoder::new(LogDecodeLimits {
        max_decoded_bytes: 1000,
        ..LogDecodeLimits::default()
    });
    d.feed(&msg);
    let e = d.next_message().unwrap_err();
    assert!(
        matches!(e, WireError::DecompressedTooLarge { limit: 1000 }),
        "{e}"
    );
    assert!(!d.is_broken());
}

#[test]
fn byte_at_a_time_gives_the_same_messages() {
    let recs = vec![FluentRecord {
        ts_ns: Some(5),
        fields: vec![("log".into(), s("x"))],
        ..Default::default()
    }];
    let mut stream = Vec::new();
    for mode in [
        ForwardMode::Message,
        ForwardMode::Forward,
        ForwardMode::PackedForward,
        ForwardMode::CompressedPackedForward,
    ] {
        stream.extend(encode_forward("tag", &recs, mode, Some("c")));
    }
    let whole: Vec<_> = all(&stream).into_iter().map(|m| m.unwrap()).collect();
    assert_eq!(whole.len(), 4);
    let mut d = dec();
    let mut got = Vec::new();
    for b in &stream {
        d.feed(std::slice::from_ref(b));
        while let Some(m) = d.next_message().unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, whole);
    assert_eq!(d.buffered(), 0);
}

/// Digests computed independently (Python's hashlib) for nonce 00..0f, user-auth salt
/// 10..1f, shared-key salt "0123456789abcdef", shared key "secret".
#[test]
fn shared_key_handshake() {
    let nonce: [u8; 16] = std::array::from_fn(|i| i as u8);
    let salt: [u8; 16] = std::array::from_fn(|i| 16 + i as u8);
    let cfg = HandshakeConfig {
        shared_key: "secret".into(),
        self_hostname: "cairn".into(),
        users: vec![],
    };
    let hs = Handshake::new(cfg.clone(), nonce, salt);
    let mut helo = vec![
        0x92, 0xa4, b'H', b'E', b'L', b'O', 0x83, 0xa5, b'n', b'o', b'n', b'c', b'e', 0xb0,
    ];
    helo.extend(nonce);
    helo.extend([0xa4, b'a', b'u', b't', b'h', 0xa0, 0xa9]);
    helo.extend(b"keepalive");
    helo.push(0xc3);
    assert_eq!(hs.helo(), helo);

    let client = "c8e5fa0260934325260cccb190672fb7c63b5ba1d59187e032427bbf94c977f8c5f44fc08ebcfc95c38c4d8ae3b1683650e38cc256c45b49e070ba4dd04af5be";
    let server = "fde1936f1427a6fc2f554147711859f236a90553637e63e10210abe795c4a0d047467067aac8720442e7575b7d8573cdf37abd8dd5e9b77038ba5a948d9d5570";
    assert_eq!(
        shared_key_hexdigest(b"0123456789abcdef", b"client-1", &nonce, "secret"),
        client
    );
    let ping = Ping {
        hostname: b"client-1".to_vec(),
        shared_key_salt: b"0123456789abcdef".to_vec(),
        shared_key_hexdigest: client.as_bytes().to_vec(),
        ..Default::default()
    };
    let v = hs.check_ping(&ping);
    assert!(v.accepted);
    let mut pong = vec![0x95, 0xa4, b'P', b'O', b'N', b'G', 0xc3, 0xa0, 0xa5];
    pong.extend(b"cairn");
    pong.extend([0xd9, 128]);
    pong.extend(server.as_bytes());
    assert_eq!(v.pong, pong);

    let mut wrong = ping.clone();
    wrong.shared_key_hexdigest[0] = b'0';
    let v = hs.check_ping(&wrong);
    assert!(!v.accepted);
    assert_eq!(v.reason, "shared_key mismatch");
    let mut pong = vec![0x95, 0xa4, b'P', b'O', b'N', b'G', 0xc2, 0xb3];
    pong.extend(b"shared_key mismatch");
    pong.extend([0xa0, 0xa0]);
    assert_eq!(v.pong, pong);

    // With users: HELO carries the salt, and the password digest must match.
    let users = Handshake::new(
        HandshakeConfig {
            users: vec![("bob".into(), "x".into()), ("alice".into(), "pw".into())],
            ..cfg
        },
        nonce,
        salt,
    );
    assert!(users.helo().windows(16).any(|w| w == salt));
    let alice = "175443d1726b2836999b8b7b54c1fcf0a2ec1071f20fbec9f6e0a7594cf70f208e7ed315db82d7e4f45981d04990e9b9b46ea8f69444a5cf5e25601d72aa83e5";
    assert_eq!(password_hexdigest(&salt, b"alice", "pw"), alice);
    let ok = Ping::for_client(
        "client-1",
        b"0123456789abcdef",
        &nonce,
        "secret",
        Some(("alice", "pw", &salt)),
    );
    assert_eq!(ok.password_hexdigest, alice.as_bytes());
    assert!(users.check_ping(&ok).accepted);
    let bad = Ping::for_client(
        "client-1",
        b"0123456789abcdef",
        &nonce,
        "secret",
        Some(("alice", "nope", &salt)),
    );
    assert_eq!(users.check_ping(&bad).reason, "username/password mismatch");
    let anon = Ping::for_client("client-1", b"0123456789abcdef", &nonce, "secret", None);
    assert!(!users.check_ping(&anon).accepted);
}

/// Found by fuzzing: the framer counted depth from the message while records count it from
/// the record, so a deep record decoded whole but broke the stream when cut in pieces.
#[test]
fn depth_limits_agree_whole_and_in_pieces() {
    let limits = LogDecodeLimits {
        max_depth: 3,
        ..LogDecodeLimits::default()
    };
    let nest = |levels: usize| {
        let mut v = V::Null;
        for _ in 0..levels {
            v = V::Map(vec![("k".into(), v)]);
        }
        v
    };
    for (levels, ok) in [(2, true), (3, false)] {
        let rec = FluentRecord {
            ts_ns: Some(1),
            metadata: vec![("m".into(), nest(levels))],
            fields: vec![("f".into(), nest(levels))],
            ..Default::default()
        };
        let msg = encode_forward("t", &[rec], ForwardMode::Forward, None);
        let mut whole = ForwardDecoder::new(limits);
        whole.feed(&msg);
        let a = whole.next_message();
        let mut pieces = ForwardDecoder::new(limits);
        let mut b = Ok(None);
        for byte in &msg {
            pieces.feed(std::slice::from_ref(byte));
            b = pieces.next_message();
            if !matches!(b, Ok(None)) {
                break;
            }
        }
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{levels} levels");
        assert_eq!(a.is_ok(), ok, "{levels} levels: {a:?}");
        assert_eq!(whole.is_broken(), pieces.is_broken());
    }
}
