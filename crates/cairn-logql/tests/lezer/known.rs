//! The queries of the corpus on which Grafana's lezer-logql and Loki disagree, with Loki's
//! verdict (which cairn must give) and why lezer differs. Each reason was checked against
//! Loki's grammar (`pkg/logql/syntax/syntax.y`), lexer (`lex.go`, `query_scanner.go`) and the
//! checks its parser runs while building expressions (`ast.go`, `parser.go`).

use cairn_syntax::lezer::{Known, Verdict};

use Verdict::{Accepts, Rejects};

const EMPTY_MATCHERS: &str = "Loki's ParseExpr requires a stream matcher that cannot match the empty value (validateMatchers); lezer checks syntax only";
const NO_GROUPING: &str = "Loki refuses `by`/`without` on this aggregation (rate, count_over_time, bytes_rate, bytes_over_time, rate_counter, absent_over_time, sum_over_time and the like, approx_topk, sort) when it builds it; lezer's grammar allows grouping on every aggregation";
const LOG_QUERY_LEG: &str = "Loki refuses a log query as a leg of a binary operation when it builds it; lezer's BinOpExpr takes any Expr";
const PARAMETER: &str = "Loki checks an aggregation's parameter when it builds it (topk and approx_topk need an integer, sum and sum_over_time take none, quantile_over_time needs one); lezer's grammar takes a Number anywhere";
const LITERAL_SET_LEG: &str = "Loki refuses a literal as a leg of `and`/`or`/`unless` when it builds it; lezer checks syntax only";
const UNWRAP_REQUIRED: &str = "Loki requires `| unwrap` for this range aggregation (sum/avg/min/max/stddev/stdvar/quantile/first/last_over_time, rate_counter); lezer does not tell range aggregations apart";
const UNWRAP_FORBIDDEN: &str = "Loki refuses `| unwrap` for count_over_time, bytes_rate and bytes_over_time; lezer does not tell range aggregations apart";
const PARSER_EXPRESSION: &str = "Loki compiles the expression of `| regexp`/`| pattern` when it parses and wants valid, uniquely named captures; lezer takes any string";
const LABEL_REPLACE_REGEX: &str =
    "Loki compiles label_replace's regular expression when it parses; lezer takes any string";
const GO_FLOAT: &str = "Loki reads a number with Go's strconv.ParseFloat, which refuses `0x` integers without a `p` exponent; lezer's Number takes them";
const ZERO_BYTES: &str = "Loki's scanner reads `0B` after a blank as a decimal literal without digits, an error; lezer's Bytes takes it";
const FRACTIONAL_RANGE: &str = "Loki reads a range `[...]` with Prometheus' duration syntax (whole numbers only); lezer uses its Duration token, which allows fractions as label filters do, for ranges too";
const TRAILING_COMMA: &str = "Loki's label lists take no trailing comma; lezer's on()/ignoring()/group_left()/group_right() lists do";
const COLON_IN_NAME: &str =
    "Loki's names are Go identifiers, without `:`; lezer's Identifier allows `:`";
const KEYWORD_NAMES: &str = "Loki's lexer always makes by/without/and/or/unless keywords; lezer takes them (contextual keywords) as names where a name fits";
const GO_ESCAPES: &str = "Loki unquotes a double-quoted string with Go's rules, where `\\S` is not an escape; lezer's String takes a backslash before any character";
const JUXTAPOSED_FILTERS: &str = "Loki's grammar has `labelFilter labelFilter` (label filters side by side mean `and`, as its documentation shows); lezer-logql does not";
const UNWRAP_RANGE_OFFSET: &str = "Loki has `selector pipeline unwrap RANGE offset`; lezer-logql has that form without the offset";
const PARENTHESISED_UNWRAP: &str =
    "Loki has `( selector pipeline unwrap ) RANGE`; lezer-logql lacks it";
const IP_OR_CHAIN: &str = "Loki's `or` chains of a line filter go on after an `ip(...)` alternative; lezer-logql's OrFilter ends at one";
const LETTER_CASE: &str = "Loki's lexer reads keywords and function names in any letter case; lezer only lower case for range functions, aggregations, `by` and `ip`";
const HEX_FLOAT: &str = "Loki reads Go hexadecimal floats such as `0x1p3`; lezer's Number does not";
const UNICODE_NAMES: &str =
    "Loki's names are Go identifiers, which take Unicode letters; lezer's Identifier is ASCII";
const FUNCTION_NAMES: &str = "Loki's lexer reads `vector` as a keyword only before `(`, else as a name; lezer always reserves it";

pub(crate) const KNOWN: &[Known] = &[
    Known {
        query: "{name !~ \"mysql.+\"}",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{name !~ `mysql-\\d+`}",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "count_over_time({foo!=\"bar\"}[5m])",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "count_over_time({app=~\".*\"}[5m])",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "count_over_time({app!~\"bar|baz\"}[5m])",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "1 + count_over_time({app=~\".*\"}[5m])",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "1 + count_over_time({app=~\".+\"}[5m]) + count_over_time({app=~\".*\"}[5m])",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "1 + count_over_time({app=~\".+\"}[5m]) + count_over_time({app=~\".*\"}[5m]) + 1",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{foo!=\"bar\"}",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{app=~\".*\"}",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{foo!~\"bar|baz\"}",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{ foo != \"bar\" }",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{ foo !~ \"bar\" }",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "rate(({label=\"\"}) [1s] offset 1h | unwrap label)",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{label=\"\"} | drop name",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{label=\"\"} | drop name, other_name, some_name=\"some_value\"",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{label=\"\"} | keep name",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{label=\"\"} | keep name, other_name, some_name=\"some_value\"",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "{service_name!=\"myapp\"}",
        verdict: Rejects,
        why: EMPTY_MATCHERS,
    },
    Known {
        query: "approx_topk(10, rate({job=\"nginx\"}[5m])) by (path)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "approx_topk(10, sum by (path) (rate({job=\"nginx\"}[5m]))) by (path)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "absent_over_time({ foo = \"bar\" }[5h]) by (foo)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "approx_topk(2, count_over_time({ foo = \"bar\" }[5h])) by (foo)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "sum_over_time({namespace=\"tns\"} |= \"level=error\" | json |foo>=5,bar<25ms| unwrap latency [5m]) by (foo)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "sort(rate(({app=~\"foo|bar\"} |~\".+bar\")[1m])) without (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "count_over_time({a=\"b\"}[5m]) by (a)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "rate({a=\"b\"}[5m]) by (a)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "approx_topk(2, sum by (app, pod) (count_over_time({app=~\"foo|bar\"} |~\".+bar\" [1m]))) by (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "bytes_rate({app=~\"a|b\"} |~\".+bar\" [30s]) by (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "rate_counter({app=\"a\"} | logfmt | unwrap c [1m]) by (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "count_over_time({app=\"a\"} |= \"keep\" [1m]) by (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "bytes_over_time({app=\"a\"}[1m]) by (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "rate({app=\"a\"} |= \"keep\" [1m]) by (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "sum_over_time({app=\"a\"} | logfmt | unwrap v [1m]) by (app)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "absent_over_time({job=\"x\"}[1m]) by (job)",
        verdict: Rejects,
        why: NO_GROUPING,
    },
    Known {
        query: "{foo=\"bar\"} + {foo=\"bar\"}",
        verdict: Rejects,
        why: LOG_QUERY_LEG,
    },
    Known {
        query: "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) - {foo=\"bar\"}",
        verdict: Rejects,
        why: LOG_QUERY_LEG,
    },
    Known {
        query: "{foo=\"bar\"} / sum(count_over_time({foo=\"bar\"}[5m])) by (foo)",
        verdict: Rejects,
        why: LOG_QUERY_LEG,
    },
    Known {
        query: "count_over_time({ foo = \"bar\" }[12m]) > { foo = \"bar\" }",
        verdict: Rejects,
        why: LOG_QUERY_LEG,
    },
    Known {
        query: "{a=\"b\"} | a >= 0 < 10",
        verdict: Rejects,
        why: LOG_QUERY_LEG,
    },
    Known {
        query: "{a=\"b\"} and {c=\"d\"}",
        verdict: Rejects,
        why: LOG_QUERY_LEG,
    },
    Known {
        query: "sum(3 ,count_over_time({ foo = \"bar\" }[5h]))",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "topk(count_over_time({ foo = \"bar\" }[5h]))",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "bottomk(1.2,count_over_time({ foo = \"bar\" }[5h]))",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "sum_over_time(50,{namespace=\"tns\"} |= \"level=error\" | json |foo>=5,bar<25ms| unwrap latency [5m])",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "quantile_over_time({namespace=\"tns\"} |= \"level=error\" | json |foo>=5,bar<25ms| unwrap latency [5m])",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "approx_topk(1.5, sum by (app, pod) (count_over_time({app=~\"foo|bar\"} |~\".+bar\" [1m])))",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "approx_topk(sum by (app, pod) (count_over_time({app=~\"foo|bar\"} |~\".+bar\" [1m])))",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "topk(1.5, count_over_time({app=~\"foo|bar\"} |~\".+bar\" [1m]))",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "topk(count_over_time({app=~\"foo|bar\"} |~\".+bar\" [1m]))",
        verdict: Rejects,
        why: PARAMETER,
    },
    Known {
        query: "avg(\n\t\t\t\t\tlabel_replace(\n\t\t\t\t\t\tcount_over_time({ foo = \"bar\" }[5h]) or 0,\n\t\t\t\t\t\t\"bar\",\n\t\t\t\t\t\t\"$1$2\",\n\t\t\t\t\t\t\"foo\",\n\t\t\t\t\t\t\"(.*).(.*)\"\n\t\t\t\t\t)\n\t\t\t\t) by (bar,foo)",
        verdict: Rejects,
        why: LITERAL_SET_LEG,
    },
    Known {
        query: "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) or 1",
        verdict: Rejects,
        why: LITERAL_SET_LEG,
    },
    Known {
        query: "1 unless sum(count_over_time({foo=\"bar\"}[5m])) by (foo)",
        verdict: Rejects,
        why: LITERAL_SET_LEG,
    },
    Known {
        query: "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) + 1 or 1",
        verdict: Rejects,
        why: LITERAL_SET_LEG,
    },
    Known {
        query: "1 and 2",
        verdict: Rejects,
        why: LITERAL_SET_LEG,
    },
    Known {
        query: "avg(\n\t\t\t\t\tlabel_replace(\n\t\t\t\t\t\tcount_over_time({ foo = \"bar\" }[5h]) or sum_over_time({ foo = \"bar\" }[5h]),\n\t\t\t\t\t\t\"bar\",\n\t\t\t\t\t\t\"$1$2\",\n\t\t\t\t\t\t\"foo\",\n\t\t\t\t\t\t\"(.*).(.*)\"\n\t\t\t\t\t)\n\t\t\t\t) by (bar,foo)",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "sum_over_time({app=\"foo\"} |= \"bar\" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)\n\t\t\t| line_format \"blip{{ .foo }}blop {{.status_code}}\" | label_format foo=bar,status_code=\"buzz{{.bar}}\"[5m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "quantile_over_time(0.99, {app=\"frontend\"} [1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "rate_counter({a=\"b\"}[5m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "first_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "last_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "quantile_over_time(0.5, {app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "rate_counter({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "avg_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "min_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "max_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "sum_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "stdvar_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "stddev_over_time({app=\"a\"}[1m])",
        verdict: Rejects,
        why: UNWRAP_REQUIRED,
    },
    Known {
        query: "count_over_time({app=\"foo\"} |= \"foo\" | json | unwrap foo [5m])",
        verdict: Rejects,
        why: UNWRAP_FORBIDDEN,
    },
    Known {
        query: "count_over_time({foo=\"bar\"} |~ \"\\\\w+\" | unwrap foo[5m])",
        verdict: Rejects,
        why: UNWRAP_FORBIDDEN,
    },
    Known {
        query: "sum(count_over_time({place=\"luna\"} | logfmt | unwrap counter [1m])) by (place)",
        verdict: Rejects,
        why: UNWRAP_FORBIDDEN,
    },
    Known {
        query: "bytes_rate({a=\"b\"} | unwrap x[5m])",
        verdict: Rejects,
        why: UNWRAP_FORBIDDEN,
    },
    Known {
        query: "bytes_rate({app=~\"a|b\"} | logfmt | unwrap v [30s])",
        verdict: Rejects,
        why: UNWRAP_FORBIDDEN,
    },
    Known {
        query: "count_over_time({app=\"a\"} | logfmt | unwrap v [1m])",
        verdict: Rejects,
        why: UNWRAP_FORBIDDEN,
    },
    Known {
        query: "bytes_over_time({app=\"a\"} | logfmt | unwrap v [1m])",
        verdict: Rejects,
        why: UNWRAP_FORBIDDEN,
    },
    Known {
        query: "{job=\"loki\"} | regexp \"regexp\"",
        verdict: Rejects,
        why: PARSER_EXPRESSION,
    },
    Known {
        query: "{a=\"b\"} | pattern \"<_>\"",
        verdict: Rejects,
        why: PARSER_EXPRESSION,
    },
    Known {
        query: "{a=\"b\"} | regexp \"(?P<a>.*\"",
        verdict: Rejects,
        why: PARSER_EXPRESSION,
    },
    Known {
        query: "count_over_time({app=\"a\"} | regexp `nocapture` [1m])",
        verdict: Rejects,
        why: PARSER_EXPRESSION,
    },
    Known {
        query: "count_over_time({app=\"a\"} | regexp `(?P<x>.)(?P<x>.)` [1m])",
        verdict: Rejects,
        why: PARSER_EXPRESSION,
    },
    Known {
        query: "count_over_time({app=\"a\"} | regexp `(` [1m])",
        verdict: Rejects,
        why: PARSER_EXPRESSION,
    },
    Known {
        query: "count_over_time({app=\"a\"} | pattern `no captures here` [1m])",
        verdict: Rejects,
        why: PARSER_EXPRESSION,
    },
    Known {
        query: "label_replace(rate({ foo = \"bar\" }[5m]),\"foo\",\"$1\",\"bar\",\"^^^^x43\\\\q\")",
        verdict: Rejects,
        why: LABEL_REPLACE_REGEX,
    },
    Known {
        query: "label_replace(count_over_time({app=~\"foo.*\"} |~\".+bar\" [1m]), \"new\", \"$1\", \"app\", \"(\")",
        verdict: Rejects,
        why: LABEL_REPLACE_REGEX,
    },
    Known {
        query: "{app=\"foo\"} | logfmt | status_code > 0x10",
        verdict: Rejects,
        why: GO_FLOAT,
    },
    Known {
        query: "0x1A",
        verdict: Rejects,
        why: GO_FLOAT,
    },
    Known {
        query: "count_over_time({app=\"a\"} | logfmt | code > 0x10 [1m])",
        verdict: Rejects,
        why: GO_FLOAT,
    },
    Known {
        query: "{foo=\"bar\"} | logfmt | bytes  < 0B",
        verdict: Rejects,
        why: ZERO_BYTES,
    },
    Known {
        query: "rate({a=\"b\"}[1.5m])",
        verdict: Rejects,
        why: FRACTIONAL_RANGE,
    },
    Known {
        query: "rate({a=\"b\"}[5m]) / on(x,) rate({a=\"b\"}[5m])",
        verdict: Rejects,
        why: TRAILING_COMMA,
    },
    Known {
        query: "rate({a=\"b\"}[5m]) / on(x) group_left(y,) rate({a=\"b\"}[5m])",
        verdict: Rejects,
        why: TRAILING_COMMA,
    },
    Known {
        query: "sum by (a:b) (rate({a=\"b\"}[5m]))",
        verdict: Rejects,
        why: COLON_IN_NAME,
    },
    Known {
        query: "{a=\"b\"} | logfmt | by=\"x\"",
        verdict: Rejects,
        why: KEYWORD_NAMES,
    },
    Known {
        query: "{a=\"b\"} | logfmt | or=\"x\"",
        verdict: Rejects,
        why: KEYWORD_NAMES,
    },
    Known {
        query: "{by=\"x\"}",
        verdict: Rejects,
        why: KEYWORD_NAMES,
    },
    Known {
        query: "{or=\"x\"}",
        verdict: Rejects,
        why: KEYWORD_NAMES,
    },
    Known {
        query: "sum by (or) (rate({a=\"b\"}[5m]))",
        verdict: Rejects,
        why: KEYWORD_NAMES,
    },
    Known {
        query: "{name =~ \"[\\S\\s]*mysql[\\S\\s]*\"}",
        verdict: Rejects,
        why: GO_ESCAPES,
    },
    Known {
        query: "{job=\"mysql\"} | duration >= 20ms or size == 20KB  method!~\"2..\"",
        verdict: Accepts,
        why: JUXTAPOSED_FILTERS,
    },
    Known {
        query: "{app=\"foo\"} |= \"bar\" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)\n\t\t\t\t| foo=\"bar\" buzz!=\"blip\", blop=~\"boop\" or fuzz==5",
        verdict: Accepts,
        why: JUXTAPOSED_FILTERS,
    },
    Known {
        query: "{a=\"b\"} | (a=\"b\" or c=\"d\") d=\"e\"",
        verdict: Accepts,
        why: JUXTAPOSED_FILTERS,
    },
    Known {
        query: "count_over_time({app=\"a\"} | logfmt | level=\"error\" code=\"500\" [1m])",
        verdict: Accepts,
        why: JUXTAPOSED_FILTERS,
    },
    Known {
        query: "count_over_time({app=\"a\"} | logfmt | x=\"1\" or y=\"1\" z=\"1\" [1m])",
        verdict: Accepts,
        why: JUXTAPOSED_FILTERS,
    },
    Known {
        query: "sum_over_time({namespace=\"tns\"} |= \"level=error\" | json |foo>=5,bar<25ms| unwrap bytes(foo) [5m] offset 5m)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "sum without (foo) (\n\t\t\t\tquantile_over_time(0.99998,{app=\"foo\"} |= \"bar\" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)\n\t\t\t\t\t| line_format \"blip{{ .foo }}blop {{.status_code}}\" | label_format foo=bar,status_code=\"buzz{{.bar}}\" | unwrap foo [5m] offset 5m\n\t\t\t\t\t\t\t\t) by (namespace,instance)\n\t\t\t\t\t)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "first_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 30s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "last_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 30s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "first_over_time({app=\"a\"} | logfmt | unwrap v [1m] offset 10s) by (pod) # overlapping",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "last_over_time({app=\"a\"} | logfmt | unwrap v [1m] offset 10s) by (pod)  # overlapping",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "quantile_over_time(0.5, {app=\"a\"} | logfmt | unwrap v [15s] offset 20s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "rate_counter({app=\"a\"} | logfmt | unwrap c [1m] offset 60s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "avg_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 30s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "min_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 30s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "max_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 30s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "sum_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 30s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "stdvar_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 20s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "stddev_over_time({app=\"a\"} | logfmt | unwrap v [20s] offset 20s)",
        verdict: Accepts,
        why: UNWRAP_RANGE_OFFSET,
    },
    Known {
        query: "max_over_time(({app=\"foo\"} |= \"bar\" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)\n\t\t\t| line_format \"blip{{ .foo }}blop {{.status_code}}\" | label_format foo=bar,status_code=\"buzz{{.bar}}\" | unwrap foo )[5m])",
        verdict: Accepts,
        why: PARENTHESISED_UNWRAP,
    },
    Known {
        query: "rate(({app=~\"foo|bar\"} |~\".+bar\" | unwrap bar)[1m])",
        verdict: Accepts,
        why: PARENTHESISED_UNWRAP,
    },
    Known {
        query: "count_over_time({app=~\"net|txt\"} |= ip(\"192.168.1.0/24\") or ip(\"10.0.0.0/8\") or \"special\" [1m])",
        verdict: Accepts,
        why: IP_OR_CHAIN,
    },
    Known {
        query: "count_over_time({app=~\"net|txt\"} |= ip(\"192.168.1.0/24\") or ip(\"10.0.0.0/8\") or ip(\"172.16.0.0/12\") or \"special\" [1m])",
        verdict: Accepts,
        why: IP_OR_CHAIN,
    },
    Known {
        query: "count_over_time({app=~\"net|txt\"} != ip(\"192.168.1.0/24\") or ip(\"10.0.0.0/8\") or \"special\" [1m])",
        verdict: Accepts,
        why: IP_OR_CHAIN,
    },
    Known {
        query: "SUM(Count_Over_Time({foo=\"bar\"}[5m])) BY (foo,bar)",
        verdict: Accepts,
        why: LETTER_CASE,
    },
    Known {
        query: "SUM BY (foo, bar) (Count_Over_Time({foo=\"bar\"}[5m]))",
        verdict: Accepts,
        why: LETTER_CASE,
    },
    Known {
        query: "BOTTOMK(10,Sum(COUNT_OVER_TIME({foo=\"bar\"}[5m])) By (foo,bar))",
        verdict: Accepts,
        why: LETTER_CASE,
    },
    Known {
        query: "sum(RATE({a=\"b\"}[5m]))",
        verdict: Accepts,
        why: LETTER_CASE,
    },
    Known {
        query: "{a=\"b\"} |= IP(\"1.2.3.4\")",
        verdict: Accepts,
        why: LETTER_CASE,
    },
    Known {
        query: "0x1p3",
        verdict: Accepts,
        why: HEX_FLOAT,
    },
    Known {
        query: "0x1P3",
        verdict: Accepts,
        why: HEX_FLOAT,
    },
    Known {
        query: "{a=\"b\"} | a > 0x10p0",
        verdict: Accepts,
        why: HEX_FLOAT,
    },
    Known {
        query: "0X1p3",
        verdict: Accepts,
        why: HEX_FLOAT,
    },
    Known {
        query: "0x1.8p3",
        verdict: Accepts,
        why: HEX_FLOAT,
    },
    Known {
        query: "{ünïcode=\"x\"}",
        verdict: Accepts,
        why: UNICODE_NAMES,
    },
    Known {
        query: "{a=\"b\", 日本=\"x\"}",
        verdict: Accepts,
        why: UNICODE_NAMES,
    },
    Known {
        query: "{a=\"b\"} | logfmt | vector=\"x\"",
        verdict: Accepts,
        why: FUNCTION_NAMES,
    },
];
