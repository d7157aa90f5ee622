//! Drain's tests, from the cases of Loki's `pkg/pattern/drain` tests: the expected tokens and
//! patterns are Loki's, and the two corpora in `testdata/` are Loki's test files with the
//! patterns Loki's tests expect from them.

use std::sync::Arc;

use super::tokenize::{Tokenizer, Tokens, dedup_params, json_string_field};
use super::*;
use crate::pattern::Pattern;

fn drain(format: LogFormat) -> Drain {
    Drain::new(Arc::new(DrainConfig::default()), format, 10_000_000_000)
}

/// Trains a free-text Drain (the tokenizer Loki's pattern tests use) on `lines` at time 0.
fn trained(lines: &[&str]) -> Drain {
    let mut d = drain(LogFormat::Unknown);
    for l in lines {
        d.train(0, l);
    }
    d
}

fn patterns(d: &Drain) -> Vec<String> {
    let mut p: Vec<String> = d.clusters().map(Cluster::pattern).collect();
    p.sort();
    p
}

fn tokens(t: Tokenizer, line: &str, max: usize) -> Option<Vec<String>> {
    let mut out = Tokens::default();
    let fields = DrainConfig::default().json_fields;
    t.tokenize(line, max, &fields, &mut out)
        .then(|| out.iter().map(str::to_string).collect())
}

fn round_trip(t: Tokenizer, line: &str) -> String {
    let mut out = Tokens::default();
    assert!(t.tokenize(line, 3000, &[], &mut out));
    let toks: Vec<&str> = out.iter().collect();
    t.join(&toks, &out.spaces)
}

#[test]
fn clusters_track_lines_and_bytes() {
    let lines = [
        "server request took 123 ms to complete",
        "server request took 456 ms to complete",
        "server request took 789 ms to complete",
    ];
    let d = trained(&lines);
    let c: Vec<&Cluster> = d.clusters().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].lines(), 3);
    assert_eq!(
        c[0].bytes(),
        lines.iter().map(|l| l.len() as u64).sum::<u64>()
    );
    assert_eq!(c[0].pattern(), "server request took <_> ms to complete");
}

/// Loki's `TestDrain_TrainGeneratesPatternsMatchableByLokiPatternFilter`, with the pattern
/// each case must give.
#[test]
fn patterns_match_their_lines() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "test 1 test test",
                "test 2 test test",
                "test 3 test test",
                "test 4 test test",
            ],
            "test <_> test test",
        ),
        (
            &[
                "test 1 test test\n",
                "test 2 test test\n",
                "test 3 test test\n",
                "test 4 test test\n",
            ],
            "test <_> test test\n",
        ),
        (
            &[
                "test 1 test test\t\t\t",
                "test 2 test test\t\t\t",
                "test 3 test test\t\t\t",
                "test 4 test test\t\t\t",
            ],
            "test <_> test test\t\t\t",
        ),
        (
            &[
                "\t\t\ttest 1 test test",
                "\t\t\ttest 2 test test",
                "\t\t\ttest 3 test test",
                "\t\t\ttest 4 test test",
            ],
            "\t\t\ttest <_> test test",
        ),
        (
            &[
                r#"ts=2024-05-30T12:50:36.648377186Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
                r#"ts=2024-05-30T12:50:36.350575929Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
                r#"ts=2024-05-30T12:50:36.335784477Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
                r#"ts=2024-05-30T12:50:36.250406732Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
                r#"ts=2024-05-30T12:50:36.248030329Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.45.239:9095"#,
                r#"ts=2024-05-30T12:50:36.176344754Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
                r#"ts=2024-05-30T12:50:36.174730772Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
                r#"ts=2024-05-30T12:50:36.076517207Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.45.239:9095"#,
            ],
            r#"ts=<_> caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=<_>"#,
        ),
    ];
    for (lines, want) in cases {
        let d = trained(lines);
        assert_eq!(patterns(&d), vec![want.to_string()]);
        let filter = Pattern::parse_filter(want).expect("a pattern is a valid filter");
        for l in lines {
            assert!(filter.test(l), "{want:?} does not match {l:?}");
        }
    }
}

/// Loki's `TestDrain_TrainExtractsPatterns` over its `ingester-logfmt.txt` and
/// `drone-json.txt`: the free-text tokenizer, every line at time 0.
#[test]
fn loki_corpora_give_lokis_patterns() {
    let cases: [(&str, LogFormat, &[&str]); 2] = [
        (
            include_str!("testdata/ingester-logfmt.txt"),
            LogFormat::Logfmt,
            &[
                r#"ts=2024-04-17T09:52:46.363974185Z caller=http.go:194 level=debug traceID=1b48f5156a61ca69 msg="GET /debug/pprof/delta_mutex (200) 1.161082ms""#,
                r#"ts=<_> caller=head.go:216 level=debug tenant=987678 msg="profile is empty after delta computation" metricName=memory"#,
                r#"ts=<_> caller=http.go:194 level=debug traceID=<_> orgID=<_> msg="POST /ingester.v1.IngesterService/Push (200) <_>""#,
            ],
        ),
        (
            include_str!("testdata/drone-json.txt"),
            LogFormat::Json,
            &[
                r#"{"id":"<_>","level":"debug","max-pool":4,"min-pool":0,"msg":"check capacity","pending-builds":0,"running-builds":0,"server-buffer":0,"server-capacity":0,"server-count":0,"time":"<_>"}"#,
                r#"{"id":"<_>","level":"debug","msg":"calculate server capacity","time":"<_>"}"#,
                r#"{"id":"<_>","level":"debug","msg":"calculate unfinished jobs","time":"<_>"}"#,
                r#"{"id":"<_>","level":"debug","msg":"check capacity complete","time":"<_>"}"#,
                r#"{"id":"<_>","level":"debug","msg":"no capacity changes required","time":"<_>"}"#,
            ],
        ),
    ];
    for (text, format, want) in cases {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(LogFormat::detect(lines[0]), format);
        let d = trained(&lines);
        assert_eq!(patterns(&d), want);
    }
}

/// Loki's `TestTrainGoldenClusters` over the same corpora, with the tokenizer of the format
/// guessed from the first line. Loki pins the SHA-256 of the sorted patterns joined by
/// newlines (`ffa527ab...` and `ed03e6e2...`); these are the patterns with those digests.
#[test]
fn format_tokenizers_give_lokis_golden_clusters() {
    let cases: [(&str, &[&str]); 2] = [
        (
            include_str!("testdata/ingester-logfmt.txt"),
            &[
                r#"ts=<_> caller=head.go:216 level=debug tenant=987678 msg="profile is empty after delta computation" metricName=memory"#,
                r#"ts=<_> caller=http.go:194 level=debug traceID=<_> msg="GET /debug/pprof/delta_mutex (200) 1.161082ms""#,
                r#"ts=<_> caller=http.go:194 level=debug traceID=<_> orgID=<_> msg=<_>"#,
            ],
        ),
        (
            include_str!("testdata/drone-json.txt"),
            &["<_>no capacity changes required<_>"],
        ),
    ];
    for (text, want) in cases {
        let lines: Vec<&str> = text.lines().collect();
        let mut d = drain(LogFormat::detect(lines[0]));
        for l in &lines {
            d.train(0, l);
        }
        assert_eq!(patterns(&d), want);
    }
}

#[test]
fn formats_are_guessed_from_a_line() {
    let cases = [
        (
            r#"ts=2024-04-16T15:10:44.103611953Z caller=filetargetmanager.go:181 level=info component=logs logs_config=default msg="received file watcher event" name=/var/log/pods/billing_billing-forwarder-5bf8799d98-jx47p_93a99fc6-f43b-44fd-ae92-f1d8e79639ba/billing-forwarder/0.log op=CREATE"#,
            LogFormat::Logfmt,
        ),
        (
            r#"I0507 11:59:44.523502    4727 kubelet_getters.go:187] "Pod status updated" pod="kube-system/kube-proxy-gke-dev-us-central-0-main-n2s16-3-1dd-9b502d96-x82q" status="Running""#,
            LogFormat::Unknown,
        ),
        (
            r#"[2024-05-07 10:55:53,434] INFO [ProducerStateManager partition=ingest-3] Wrote producer snapshot at offset 184233903 with 0 producer ids in 2 ms. (kafka.log.ProducerStateManager)"#,
            LogFormat::Unknown,
        ),
        (
            r#"2024-05-08 15:23:58.902 [DEBUG][606918] felix/sync_client.go 356: Pong sent to Typha connID=0x0 connection=&discovery.Typha{Addr:"", IP:"", NodeName:(*string)(nil)} type="""#,
            LogFormat::Unknown,
        ),
        (r#"{"a":1}"#, LogFormat::Json),
        ("{", LogFormat::Unknown),
        ("a=b  c=d", LogFormat::Unknown),
        ("", LogFormat::Unknown),
    ];
    for (line, want) in cases {
        assert_eq!(LogFormat::detect(line), want, "{line}");
    }
}

/// Loki's `TestDeduplicatePlaceholders`.
#[test]
fn runs_of_placeholders_collapse() {
    let r = |s: &str, n: usize| s.repeat(n);
    let cases = [
        ("abcd".to_string(), "abcd".to_string()),
        ("<_><_>abcd".into(), "<_>abcd".into()),
        (r("<_>", 100), "<_>".into()),
        ("<_> <_>".into(), "<_> <_>".into()),
        (r("<_> ", 100), r("<_> ", 100)),
        ("<_><<_>".into(), "<_><<_>".into()),
        ("<_><->".into(), "<_><->".into()),
        (r(&(r("<_>", 100) + " "), 100), r("<_> ", 100)),
        ("<<<<<<<_><_>>>>>>>>".into(), "<<<<<<<_>>>>>>>>".into()),
        (r("A", 100) + "<_><_>", r("A", 100) + "<_>"),
    ];
    for (line, want) in cases {
        assert_eq!(dedup_params(&line), want, "{line}");
    }
}

/// The punctuation cases of Loki's `TestTokenizer_Tokenize` (maximum length 360) and
/// `TestTokenizer_TokenizeAndJoin`.
#[test]
fn punctuation_tokens() {
    let long = "09:17:38.033366 ▶ INFO  route ops sending to dest https://graphite-cortex-ops-blocks-us-east4.grafana.net/graphite/metrics: service_is_carbon-relay-ng.instance_is_carbon-relay-ng-c665b7b-j2trk.mtype_is_counter.dest_is_https_graphite-cortex-ops-blocks-us-east4_grafana_netgraphitemetrics.unit_is_Metric.action_is_drop.reason_is_queue_full 0 1717060658";
    let a126: Vec<&str> = vec!["A"; 126];
    let cases: Vec<(String, Option<Vec<&str>>)> = vec![
        (
            "key1=value1 key2=value2".into(),
            Some(vec!["key1", "=", "value1", "key2", "=", "value2"]),
        ),
        (
            "key1:value1 key2:value2".into(),
            Some(vec!["key1:value1", "key2:value2"]),
        ),
        (
            "key1=value1 key2:value2 key3=value3".into(),
            Some(vec![
                "key1",
                "=",
                "value1",
                "key2:value2",
                "key3",
                "=",
                "value3",
            ]),
        ),
        (
            r#"{"key1":"value1","key2":"value2","key3":"value3"}"#.into(),
            Some(vec![
                "{", "\"", "key1", "\"", ":", "\"", "value1", "\"", ",", "\"", "key2", "\"", ":",
                "\"", "value2", "\"", ",", "\"", "key3", "\"", ":", "\"", "value3", "\"", "}",
            ]),
        ),
        (
            r#"key1=value1 key2=value2 msg="this is a message""#.into(),
            Some(vec![
                "key1", "=", "value1", "key2", "=", "value2", "msg", "=", "\"", "this", "is", "a",
                "message", "\"",
            ]),
        ),
        (
            long.into(),
            Some(vec![
                "09:17:38.033366",
                "▶",
                "INFO",
                "route",
                "ops",
                "sending",
                "to",
                "dest",
                "https://graphite-cortex-ops-blocks-us-east4.grafana.net/graphite/metrics:",
                "service_is_carbon-relay-ng.instance_is_carbon-relay-ng-c665b7b-j2trk.mtype_is_counter.dest_is_https_graphite-cortex-ops-blocks-us-east4_grafana_netgraphitemetrics.unit_is_Metric.action_is_drop.reason_is_queue_full",
                "0",
                "1717060658",
            ]),
        ),
        (
            r#"ts=2024-05-30T12:50:36.648377186Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#.into(),
            Some(vec![
                "ts", "=", "2024-05-30T12:50:36.648377186Z", "caller", "=",
                "scheduler_processor.go:143", "level", "=", "warn", "msg", "=", "\"", "error",
                "contacting", "scheduler", "\"", "err", "=", "\"", "rpc", "error:", "code", "=",
                "Unavailable", "desc", "=", "connection", "error:", "desc", "=", "\\", "\"",
                "error", "reading", "server", "preface:", "EOF", "\\", "\"", "\"", "addr", "=",
                "10.0.151.101:9095",
            ]),
        ),
        (
            "A ".repeat(126) + "127 128",
            Some([a126.clone(), vec!["127", "128"]].concat()),
        ),
        (
            "A ".repeat(126) + "127 128 129",
            Some([a126, vec!["127", "128 129"]].concat()),
        ),
        (
            "!@£$%^&*()".into(),
            Some(vec!["!", "@", "£$", "%", "^", "&", "*", "(", ")"]),
        ),
        (long.to_string() + " userid invalid", None),
    ];
    for (line, want) in cases {
        let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(tokens(Tokenizer::Punctuation, &line, 360), want, "{line}");
        assert_eq!(round_trip(Tokenizer::Punctuation, &line), line);
    }
}

#[test]
fn punctuation_outside_ascii_splits_and_leading_spaces_are_kept() {
    assert_eq!(
        tokens(Tokenizer::Punctuation, "a«b»c d、e", 100),
        Some(
            ["a", "«", "b", "»", "c", "d", "、", "e"]
                .map(String::from)
                .to_vec()
        )
    );
    for line in ["  two leading spaces", " a b  c ", "a«b»c d、e"] {
        assert_eq!(round_trip(Tokenizer::Punctuation, line), line);
    }
}

/// Loki's `TestLogFmtTokenizer` (maximum length 250).
#[test]
fn logfmt_tokens() {
    let cases: [(&str, Option<&[&str]>); 7] = [
        (
            r#"foo=bar baz="this is a message""#,
            Some(&["foo", "bar", "baz", "this is a message"]),
        ),
        (
            r#"foo baz="this is a message""#,
            Some(&["foo", "", "baz", "this is a message"]),
        ),
        (
            r#"foo= baz="this is a message""#,
            Some(&["foo", "", "baz", "this is a message"]),
        ),
        ("foo baz", Some(&["foo", "", "baz", ""])),
        (
            r#"ts=2024-05-30T12:50:36.648377186Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
            Some(&[
                "ts",
                "<_>",
                "caller",
                "scheduler_processor.go:143",
                "level",
                "warn",
                "msg",
                "error contacting scheduler",
                "err",
                "rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"",
                "addr",
                "10.0.151.101:9095",
            ]),
        ),
        (
            r#"logger=sqlstore.metrics traceID=c933fefbe893411d3be8e1648d6bcf37 t=2024-07-10T16:00:15.564896897Z level=debug msg="query finished" status=success elapsedtime=1.324305ms <REDACTED> error=null"#,
            Some(&[
                "logger",
                "sqlstore.metrics",
                "traceID",
                "<_>",
                "t",
                "<_>",
                "level",
                "debug",
                "msg",
                "query finished",
                "status",
                "success",
                "elapsedtime",
                "1.324305ms",
                "<REDACTED>",
                "",
                "error",
                "null",
            ]),
        ),
        (
            r#"ts=2024-05-30T12:50:36.648377186Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095 ip=127.0.0.1 userid=1234456"#,
            None,
        ),
    ];
    for (line, want) in cases {
        let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(tokens(Tokenizer::Logfmt, line, 250), want, "{line}");
    }
    assert_eq!(tokens(Tokenizer::Logfmt, "a=1 b=\"open", 250), None);
}

/// Loki's `TestLogFmtTokenizerJoin`.
#[test]
fn logfmt_patterns() {
    let cases: [(&[&str], &str); 9] = [
        (&[], ""),
        (
            &["foo", "bar", "baz", "this is a message"],
            r#"foo=bar baz="this is a message""#,
        ),
        (
            &["foo", "", "baz", "this is a message"],
            r#"foo= baz="this is a message""#,
        ),
        (&["foo", "", "baz", ""], "foo= baz="),
        (&["foo"], "foo="),
        (&["foo", "", "bar"], "foo= bar="),
        (
            &[
                "ts",
                "2024-05-30T12:50:36.648377186Z",
                "caller",
                "scheduler_processor.go:143",
                "level",
                "warn",
                "msg",
                "error contacting scheduler",
                "err",
                "rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"",
                "addr",
                "10.0.151.101:9095",
            ],
            r#"ts=2024-05-30T12:50:36.648377186Z caller=scheduler_processor.go:143 level=warn msg="error contacting scheduler" err="rpc error: code = Unavailable desc = connection error: desc = \"error reading server preface: EOF\"" addr=10.0.151.101:9095"#,
        ),
        (&["error", "null"], "error=null"),
        // go-logfmt drops the invalid runes of a key and escapes control characters.
        (&["a b", "x\ty\u{1}\u{7f}"], r#"ab="x\ty\u0001\u007f""#),
    ];
    for (toks, want) in cases {
        assert_eq!(Tokenizer::Logfmt.join(toks, &[]), want, "{toks:?}");
    }
    // A key of nothing but invalid runes fails the encoder: no pattern at all.
    assert_eq!(Tokenizer::Logfmt.join(&["=", "v"], &[]), "");
}

/// Loki's `TestJsonTokenizer`: the message of the first field present, its tokens, and the
/// pattern framed by `<_>`.
#[test]
fn json_messages() {
    let cases: [(&str, Option<&[&str]>, &str); 4] = [
        (
            r#"{"level":30,"time":1719998371869,"pid":17,"hostname":"otel-demo-ops-paymentservice-7c759bf575-55t4p","trace_id":"1425c6df5a4321cf6a7de254de5b8204","span_id":"2ac7a3fc800b80d4","trace_flags":"01","transactionId":"e501032b-3215-4e43-b1db-f4886a906fc5","cardType":"visa","lastFourDigits":"5647","amount":{"units":{"low":656,"high":0,"unsigned":false},"nanos":549999996,"currencyCode":"USD"},"msg":"Transaction complete."}"#,
            Some(&["Transaction", "complete."]),
            "<_>Transaction complete.<_>",
        ),
        (
            r#"{"code":200,"message":"OK","data":{"id":"1","name":"foo"}}"#,
            Some(&["OK"]),
            "<_>OK<_>",
        ),
        (
            r#"{"time":"2024-07-03T10:48:10.58330448Z","level":"INFO","msg":"successfully discovered 15 agent IP addresses","git_commit":"1","git_time":"2024-06-26T06:59:04Z","git_modified":true,"go_os":"linux","go_arch":"arm64","process_generation":"ea2d9b41-0314-4ddc-a415-f8af2d80a32c","hostname_fqdn":"foobar","hostname_short":foobar","private_ips":["10.0.132.23"],"num_vcpus":8,"kafka_enabled":true,"service_protocol":"VIRTUALENV_ZONE_LOCAL","module":"agent_resolver","ip_addresses":[{"Hostname":"10.0.100.152","Port":8080},{"Hostname":"10.0.41.210","Port":8080}]}"#,
            Some(&[
                "successfully",
                "discovered",
                "15",
                "agent",
                "IP",
                "addresses",
            ]),
            "<_>successfully discovered 15 agent IP addresses<_>",
        ),
        // `msg` is an object, and `message` only appears inside other objects.
        (
            r#"{"msg":{"actor":{"id":"dq23"},"context":[{"message":"Update README.md"}]},"level":"info","type":"received event"}"#,
            None,
            "",
        ),
    ];
    for (line, want, pattern) in cases {
        let got = tokens(Tokenizer::Json, line, 3000);
        let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(got, want, "{line}");
        if let Some(t) = got {
            let mut out = Tokens::default();
            assert!(Tokenizer::Json.tokenize(
                line,
                3000,
                &DrainConfig::default().json_fields,
                &mut out
            ));
            assert_eq!(Tokenizer::Json.join(&t, &out.spaces), pattern);
        }
    }
}

#[test]
fn json_fields_are_found_at_the_top_level_only() {
    assert_eq!(
        json_string_field(r#"{"a":{"msg":"x"},"msg":"y"}"#, "msg"),
        Some("y")
    );
    assert_eq!(
        json_string_field(r#"{"l":["msg","z"],"msg":"y"}"#, "msg"),
        Some("y")
    );
    // Escapes are kept, as jsonparser returns them.
    assert_eq!(
        json_string_field(r#"{"msg":"a \"b\" c"}"#, "msg"),
        Some(r#"a \"b\" c"#)
    );
    assert_eq!(json_string_field(r#"{"m\u0073g":"y"}"#, "msg"), Some("y"));
    assert_eq!(json_string_field(r#"{"msg":3}"#, "msg"), None);
    assert_eq!(json_string_field(r#"{"msg":"open"#, "msg"), None);
    assert_eq!(json_string_field("not json", "msg"), None);
}

#[test]
fn lines_outside_the_token_bounds_are_skipped() {
    let mut d = drain(LogFormat::Unknown);
    assert!(!d.train(0, "one two three"));
    assert!(!d.train(0, &"w ".repeat(81)));
    assert!(d.train(0, &"w ".repeat(80)));
    assert!(!d.train(0, &"x".repeat(3001)));
    assert_eq!(d.clusters().count(), 1);
}

#[test]
fn counts_go_to_buckets_of_the_step() {
    let mut d = Drain::new(
        Arc::new(DrainConfig::default()),
        LogFormat::Unknown,
        60_000_000_000,
    );
    let s = 1_000_000_000i64;
    for (t, n) in [(0, 1), (59, 2), (60, 3), (185, 4)] {
        d.train(t * s, &format!("job {n} finished in time"));
    }
    let c: Vec<&Cluster> = d.clusters().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].samples(), &[(0, 2), (60_000, 1), (180_000, 1)]);
}

#[test]
fn the_least_recently_used_cluster_is_evicted() {
    let cfg = DrainConfig {
        max_clusters: 2,
        // Never pause: this test is about eviction alone.
        max_eviction_ratio: 1.0,
        ..DrainConfig::default()
    };
    let mut d = Drain::new(Arc::new(cfg), LogFormat::Unknown, 10_000_000_000);
    d.train(0, "alpha one two three");
    d.train(0, "beta one two three four");
    // Touch alpha: beta is now the least recently used.
    d.train(0, "alpha one two three");
    d.train(0, "gamma one two three four five");
    assert_eq!(
        patterns(&d),
        vec!["alpha one two three", "gamma one two three four five"]
    );
}

#[test]
fn churn_pauses_training_for_ten_minutes_of_log_time() {
    let cfg = DrainConfig {
        max_clusters: 1,
        ..DrainConfig::default()
    };
    let mut d = Drain::new(Arc::new(cfg), LogFormat::Unknown, 10_000_000_000);
    let s = 1_000_000_000i64;
    for i in 0..4 {
        assert!(d.train(i * s, "a b c d"));
    }
    // Lines of new lengths found clusters, each evicting the previous one.
    assert!(d.train(4 * s, "a b c d e"));
    assert!(d.train(5 * s, "a b c d e f"));
    // 2 evictions over 6 lines: more than a quarter, so training pauses.
    assert!(!d.train(6 * s, "a b c d e f g"));
    assert!(!d.train(605 * s, "a b c d e f g"));
    assert!(d.train(606 * s, "a b c d e f g"));
}
