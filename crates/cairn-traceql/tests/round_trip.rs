//! Property: any query built from TraceQL's pieces that parses prints in a canonical form
//! that parses back to the same tree, and prints the same again.

use cairn_traceql::parse;
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("duration".to_string()),
        Just("name".to_string()),
        Just("status".to_string()),
        Just("span:childCount".to_string()),
        Just("trace:id".to_string()),
        Just("nestedSetLeft".to_string()),
        "[a-z][a-z0-9_.]{0,8}".prop_map(|n| format!(".{n}")),
        "[a-z]{1,6}".prop_map(|n| format!("span.{n}")),
        "[a-z]{1,6}".prop_map(|n| format!("resource.{n}")),
        "[a-z]{1,6}".prop_map(|n| format!("parent.span.{n}")),
        "[ -~]{0,6}"
            .prop_map(|n| format!("span.\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))),
        (0i64..100_000).prop_map(|i| i.to_string()),
        (0.0f64..1e6).prop_map(|f| format!("{f:?}")),
        (
            1i64..5000,
            prop::sample::select(vec!["ns", "us", "ms", "s", "m", "h", "d"])
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        "[ -~]{0,8}".prop_map(|s| format!("{s:?}")),
        Just("true".to_string()),
        Just("error".to_string()),
        Just("server".to_string()),
        Just("minInt".to_string()),
    ]
}

fn field() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "^", "=", "!=", "<", "<=", ">", ">=", "=~", "!~", "&&", "||",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("{a} != nil")),
            inner.prop_map(|a| format!("nil = {a}")),
        ]
    })
}

fn spanset() -> impl Strategy<Value = String> {
    let filter = field().prop_map(|f| format!("{{ {f} }}"));
    filter.prop_recursive(3, 8, 2, |inner| {
        let op = prop::sample::select(vec![
            "&&", "||", ">", "<", ">>", "<<", "~", "!>", "!<", "!>>", "!<<", "!~", "&>", "&<",
            "&>>", "&<<", "&~",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn query() -> impl Strategy<Value = String> {
    let agg = prop_oneof![
        Just("count()".to_string()),
        field().prop_map(|f| format!("avg({f})")),
        field().prop_map(|f| format!("max({f})")),
    ];
    let stage = prop_oneof![
        spanset(),
        (
            agg,
            prop::sample::select(vec!["=", "!=", ">", "<="]),
            -50i64..50
        )
            .prop_map(|(a, o, n)| format!("{a} {o} {n}")),
        field().prop_map(|f| format!("by({f})")),
        Just("coalesce()".to_string()),
        Just("select(span.a, duration)".to_string()),
    ];
    let pipeline = (spanset(), prop::collection::vec(stage, 0..3))
        .prop_map(|(first, rest)| {
            let mut s = first;
            for r in rest {
                s.push_str(" | ");
                s.push_str(&r);
            }
            s
        })
        .boxed();
    let metrics = prop_oneof![
        Just("rate()".to_string()),
        Just("count_over_time() by (span.a, name)".to_string()),
        Just("quantile_over_time(duration, 0.5, .99, 1)".to_string()),
        Just("compare({ status = error }, 5)".to_string()),
    ]
    .boxed();
    let second = prop_oneof![
        Just("".to_string()),
        Just(" | topk(5)".to_string()),
        Just(" > 10".to_string()),
        Just(" | bottomk(2) <= 1.5".to_string()),
    ]
    .boxed();
    prop_oneof![
        pipeline.clone(),
        (pipeline.clone(), metrics.clone(), second.clone())
            .prop_map(|(p, m, s)| format!("{p} | {m}{s}")),
        (
            pipeline.clone(),
            metrics.clone(),
            pipeline,
            metrics,
            prop::sample::select(vec!["+", "-", "*", "/"]),
            second
        )
            .prop_map(|(p, m, q, n, o, s)| format!("({p} | {m}) {o} ({q} | {n}){s}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn printed_queries_parse_back_to_the_same_tree(q in query()) {
        if let Ok(first) = parse(&q) {
            let printed = first.to_string();
            let second = parse(&printed);
            prop_assert!(second.is_ok(), "{q:?} printed as {printed:?}: {second:?}");
            let second = second.unwrap();
            prop_assert_eq!(&second, &first, "{:?} printed as {:?}", q, printed);
            prop_assert_eq!(second.to_string(), printed);
        }
    }
}
