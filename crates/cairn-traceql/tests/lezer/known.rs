//! The queries of the corpus on which Grafana's lezer-traceql and Tempo disagree, with Tempo's
//! verdict (which cairn must give) and why lezer differs. Each reason was checked against
//! Tempo's grammar (`pkg/traceql/expr.y`), lexer (`lexer.go`) and the errors its parser's
//! actions report (`ast_metrics_math.go`).

use cairn_syntax::lezer::{Known, Verdict};

use Verdict::{Accepts, Rejects};

const BARE_SCALAR: &str = "lezer's scalar filter compares two numbers; Tempo's needs an aggregate on one side (scalarFilter)";
const COALESCE_FIRST: &str =
    "lezer's pipelines may start with coalesce(); in Tempo coalesce() comes only after `|`";
const FLOAT_DOT: &str =
    "lezer's Float needs a digit before the point; Tempo reads `.99` with Go's scanner, a float";
const FLOAT_DOT_HINTS_BOTH: &str = "lezer's hints take only `most_recent` with `true` or `false`; Tempo's hint is any identifier = any static; lezer's Float needs a digit before the point; Tempo reads `.99` with Go's scanner, a float";
const HINTS: &str = "lezer's hints take only `most_recent` with `true` or `false`; Tempo's hint is any identifier = any static";
const HINTS_SECOND_FILTER_BOTH: &str = "lezer's hints take only `most_recent` with `true` or `false`; Tempo's hint is any identifier = any static; lezer has no comparison after a metrics function; Tempo's metricsFilter takes `> 10` and the like as a second stage";
const INTRINSICS: &str = "lezer-traceql has no `nestedSetLeft`/`nestedSetRight`/`nestedSetParent` or `span:childCount` intrinsics; Tempo's intrinsicField and scopedIntrinsicField rules have them";
const METRICS_MATH: &str = "lezer has no arithmetic on metrics queries; Tempo's metricsExpression combines parenthesised metrics pipelines with + - * / and with numbers";
const METRICS_MATH_SECOND_FILTER_BOTH: &str = "lezer has no arithmetic on metrics queries; Tempo's metricsExpression combines parenthesised metrics pipelines with + - * / and with numbers; lezer has no comparison after a metrics function; Tempo's metricsFilter takes `> 10` and the like as a second stage";
const METRICS_STRUCTURAL: &str = "lezer's structural operators join any pipelines; between metrics queries Tempo takes only + - * /";
const SCALAR_PIPELINE: &str = "lezer's scalar expressions hold no parenthesised pipelines; Tempo's scalarPipelineExpressionFilter compares `(pipeline | aggregate)` operands";
const SECOND_FILTER: &str = "lezer has no comparison after a metrics function; Tempo's metricsFilter takes `> 10` and the like as a second stage";
const SELECT_ARGS: &str =
    "lezer's select() takes any field expression; Tempo's takes attributes only (attributeList)";
const SPANSET_OP_OPERANDS: &str = "lezer's `&&` joins any pipelines; Tempo's spanset operators join spanset expressions or parenthesised pipelines";
const STATIC_IDENT: &str =
    "lezer's Static has no identifiers; Tempo's static rule reads `minInt` and `maxInt`";
const TOPK_STAGE: &str = "lezer takes topk()/bottomk() as a pipeline stage anywhere; Tempo only as a second stage after a metrics function";

pub(crate) const KNOWN: &[Known] = &[
    Known {
        query: "{} | count_over_time() by (name) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{} | count_over_time() by (name) | topk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{} | count_over_time() by (name) | bottomk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{} | rate() > 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() by (span.client_ip) >= 5.5",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | count_over_time() by (name) < 100",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() by (span.client_ip) <= 0.5",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() = 42",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() != 0",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() > -3",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() by (span.client_ip) > 10 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "({} | rate()) > 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | max_over_time(duration)) > 30",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | max_over_time(duration)) > 10s",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | rate()) + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) - ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) / ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) * ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(({} | rate()) * ({} | count_over_time())) + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + ({} | rate()) | topk(5)",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + ({} | rate()) > 10",
        verdict: Accepts,
        why: METRICS_MATH_SECOND_FILTER_BOTH,
    },
    Known {
        query: "({} | rate()) + ({} | rate()) | topk(5) > 10",
        verdict: Accepts,
        why: METRICS_MATH_SECOND_FILTER_BOTH,
    },
    Known {
        query: "({} | rate()) * 100",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) / 1000",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + 5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) - 5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "100 * ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "1 / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "5 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "1 - ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "1 + 2 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "3 * 2 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "3 / 2 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "3 - 2 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "3 * 2 - ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "3 * 2 * ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "3 * 2 / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + 1 + 2",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + 3 * 2",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + 3 / 2",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + 3 - 2",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) - 3 * 2",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) * 3 * 2",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) / 3 * 2",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(1 + 2) + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(1 - 2) + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(1 / 2) + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(1 * 2) + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "min(span:childCount) < 2 / 6",
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: "({} | rate()) * -100",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) / -1000",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + -5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) - -5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-100 * ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-1 / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-5 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-1 - ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) * 1.5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) / 1.5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + 1.5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) - 1.5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-1.5 * ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-1.5 / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-5.5 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-1.5 - ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(60 * ({} | rate())) / ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) * 100 > 5",
        verdict: Accepts,
        why: METRICS_MATH_SECOND_FILTER_BOTH,
    },
    Known {
        query: "({} | rate() > 6) * 100 > 5",
        verdict: Accepts,
        why: METRICS_MATH_SECOND_FILTER_BOTH,
    },
    Known {
        query: "({} | rate()) * 10 - 1",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) * 10 + 5 > 50 | topk(1)",
        verdict: Accepts,
        why: METRICS_MATH_SECOND_FILTER_BOTH,
    },
    Known {
        query: "({} | count_over_time() by(.service.name)) * 100",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) > 1 / 2",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | rate()) >= 100 * 3",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | rate()) < 1 + 2",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | rate()) <= 1 - 2",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | rate()) - 2 * 20",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + 100 / 3",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "-2 - 20 / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "100 / 3 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "5 + ({} | rate()) * 10",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(({} | rate()) * 100) + ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "(100 * ({} | rate())) - (200 * ({} | rate()))",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "{} | rate() | topk(5) = 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() | topk(5) != 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() | topk(5) > 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() | topk(5) >= 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() | topk(5) < 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() | topk(5) <= 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() > 0 | topk(5) <= 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() | topk(5) | bottomk (10) <= 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() | topk(5) > 20 | bottomk (10) <= 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | count_over_time() | topk(10) = 0 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() | topk(10) != 0 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() | topk(10) >= 0 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() | topk(10) > 0 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() | topk(10) < 0 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() | topk(10) <= 0 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | rate() = 10 | topk(5)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() != 10 | topk(5)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() > 10 | topk(5)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() >= 10 | topk(5)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() < 10 | topk(5)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() <= 10 | topk(5)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() by (name) >= 5.5 | bottomk(3)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | count_over_time() = 0 | topk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() != 0 | topk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() >= 0 | topk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() > 0 | topk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() < 0 | topk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{} | count_over_time() <= 0 | topk(10) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: "{ nestedSetLeft > 3 }",
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: "{ } >> { kind = server } | select(nestedSetLeft, nestedSetRight, nestedSetParent)",
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: r#"select(1 + "string")"#,
        verdict: Rejects,
        why: SELECT_ARGS,
    },
    Known {
        query: "coalesce() | { true }",
        verdict: Rejects,
        why: COALESCE_FIRST,
    },
    Known {
        query: "count() > 3 && { true }",
        verdict: Rejects,
        why: SPANSET_OP_OPERANDS,
    },
    Known {
        query: "3 = 2",
        verdict: Rejects,
        why: BARE_SCALAR,
    },
    Known {
        query: r#"{ .foo = "a" } | 3 > 2"#,
        verdict: Rejects,
        why: BARE_SCALAR,
    },
    Known {
        query: "{} | topk(10)",
        verdict: Rejects,
        why: TOPK_STAGE,
    },
    Known {
        query: "{} | bottomk(10)",
        verdict: Rejects,
        why: TOPK_STAGE,
    },
    Known {
        query: "({} | rate()) >> ({} | count_over_time())",
        verdict: Rejects,
        why: METRICS_STRUCTURAL,
    },
    Known {
        query: "({} | rate()) << ({} | count_over_time())",
        verdict: Rejects,
        why: METRICS_STRUCTURAL,
    },
    Known {
        query: r#"{ "foo" = span:childCount }"#,
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: r#"{ nestedSetLeft = "foo" }"#,
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: "{ nestedSetRight = false }",
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: r#"{ nestedSetParent > "foo" }"#,
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: "{} | rate() | topk(0) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{} | rate() | bottomk(0) with(sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{} | compare({status=error}) > 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | compare({status=error}) >= 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | compare({status=error}) < 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | compare({status=error}) <= 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "({} | compare({status=error})) + ({} | compare({status=error}))",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | compare({status=error})) - ({} | compare({status=error}))",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | compare({status=error})) / ({} | compare({status=error}))",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | compare({status=error})) * ({} | compare({status=error}))",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "min(.field) + max(span:childCount) > max(duration) - min(.field)",
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: "({ true } | count()) + ({ true } | count()) = 1",
        verdict: Accepts,
        why: SCALAR_PIPELINE,
    },
    Known {
        query: "({ true } | count()) - ({ true } | count()) <= 1",
        verdict: Accepts,
        why: SCALAR_PIPELINE,
    },
    Known {
        query: "({ true } | count()) / ({ true } | count()) > ({ true } | count()) / ({ true } | count())",
        verdict: Accepts,
        why: SCALAR_PIPELINE,
    },
    Known {
        query: "({ true } | count()) * ({ true } | count()) < ({ true } | count()) / ({ true } | count())",
        verdict: Accepts,
        why: SCALAR_PIPELINE,
    },
    Known {
        query: "({ .http.status = 200 } | count()) + ({ name = `foo` } | avg(duration)) = 2",
        verdict: Accepts,
        why: SCALAR_PIPELINE,
    },
    Known {
        query: "({ .a } | count()) > ({ .b } | count())",
        verdict: Accepts,
        why: SCALAR_PIPELINE,
    },
    Known {
        query: "{ span:childCount = 0 }",
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: r#"{ resource.service.name = "frontend" && span:childCount = 0 }"#,
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: "{ span:childCount > 10 }",
        verdict: Accepts,
        why: INTRINSICS,
    },
    Known {
        query: "{ span.value != minInt && span.value != maxInt }",
        verdict: Accepts,
        why: STATIC_IDENT,
    },
    Known {
        query: r#"{ resource.service.name = "api" } | quantile_over_time(duration, 0.9) with(sample=true)"#,
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "100 * ({status=error} | rate()) / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: r#"{ span:name = "GET /:endpoint" } | quantile_over_time(duration, .99) by (span.http.target) with (exemplars=true)"#,
        verdict: Accepts,
        why: FLOAT_DOT_HINTS_BOTH,
    },
    Known {
        query: r#"{ resource.service.name = "frontend" } | rate() by (status) with (spanonly_fetch=true)"#,
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{} | rate() by (resource.service.name) > 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: r#"{ span:name = "GET /:endpoint" } | quantile_over_time(span:duration, .99, .9, .5)"#,
        verdict: Accepts,
        why: FLOAT_DOT,
    },
    Known {
        query: r#"{ span:name = "GET /:endpoint" } | quantile_over_time(span:duration, .99) by (span.http.target)"#,
        verdict: Accepts,
        why: FLOAT_DOT,
    },
    Known {
        query: r#"{ span:name = "GET /:endpoint" } | quantile_over_time(span.http.status_code, .99, .9, .5)"#,
        verdict: Accepts,
        why: FLOAT_DOT,
    },
    Known {
        query: "({status=error} | rate()) / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({status=error} | count_over_time()) / ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: r#"({resource.service.name="frontend"} | rate()) / ({} | rate())"#,
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) + ({} | count_over_time()) | topk(5)",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) / 2.5",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) * (-100)",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "100 + ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "100 * ({status=error} | count_over_time()) / ({} | count_over_time())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate()) * 60",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "100 * ({status=error} | rate()) / ({} | rate()) > 5",
        verdict: Accepts,
        why: METRICS_MATH_SECOND_FILTER_BOTH,
    },
    Known {
        query: "({} | avg_over_time(span.http.response.body.size)) / (1024 * 1024)",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({status=error} | rate() by (resource.service.name)) / ({} | rate() by (resource.service.name))",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({} | rate() by (resource.service.name)) / ({} | rate())",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({status=error} | rate()) / ({} | rate()) | topk(5)",
        verdict: Accepts,
        why: METRICS_MATH,
    },
    Known {
        query: "({status=error} | rate()) / ({} | rate()) > 10",
        verdict: Accepts,
        why: METRICS_MATH_SECOND_FILTER_BOTH,
    },
    Known {
        query: r#"{ span:name = "GET /:endpoint" } | avg_over_time(span:duration) > 1s"#,
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | count_over_time() by (name) != 0",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() by (span.http.url) | topk(5) > 10",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | rate() by (span.http.url) > 0 | topk(5)",
        verdict: Accepts,
        why: SECOND_FILTER,
    },
    Known {
        query: "{} | count_over_time() by (name) | topk(10) >= 5 with(sample=0.1)",
        verdict: Accepts,
        why: HINTS_SECOND_FILTER_BOTH,
    },
    Known {
        query: r#"{ resource.service.name="frontend" } | rate() with(sample=true)"#,
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{ span:status=error } | count_over_time() with(span_sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{ } | count_over_time() by (resource.service.name) with(trace_sample=0.05)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: r#"{ resource.service.name="api" } | rate() with(extrapolate=true)"#,
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: r#"{ resource.service.name="checkout-service" } | rate() with(sample=true)"#,
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{ status=error } | count_over_time() by (resource.service.name) with(sample=true)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{ status=error } | rate() by (resource.service.name) with(span_sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
    Known {
        query: "{ } >> { status=error }  | rate() by (resource.service.name) with(trace_sample=0.1)",
        verdict: Accepts,
        why: HINTS,
    },
];
