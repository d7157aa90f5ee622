//! The expressions of the differential PromQL test (`tests/e2e_promql_diff.rs`), with the
//! ones Prometheus 2.42 must be asked differently to give Prometheus 3's answer and why.

/// One expression of the set; `prom` is what Prometheus 2.42 is asked when its semantics
/// differ from Prometheus 3's, with the reason in `why`.
pub(crate) struct Query {
    pub(crate) cairn: String,
    pub(crate) prom: String,
    pub(crate) ordered: bool,
    pub(crate) why: Option<&'static str>,
}

pub(crate) fn q(e: &str) -> Query {
    Query {
        cairn: e.to_string(),
        prom: e.to_string(),
        ordered: false,
        why: None,
    }
}

/// A query whose series order is part of the answer (`sort`, `sort_desc`).
fn ordered(e: &str) -> Query {
    Query {
        ordered: true,
        ..q(e)
    }
}

/// A query where Prometheus 2.42 and 3.x differ: `prom` gives 3.x's answer on 2.42.
fn v3(cairn: &str, prom: &str, why: &'static str) -> Query {
    Query {
        cairn: cairn.to_string(),
        prom: prom.to_string(),
        ordered: false,
        why: Some(why),
    }
}

const LEFT_OPEN: &str = "range selectors are left-open in 3.x, left-closed in 2.42: evaluated \
                         on a sample timestamp, 2.42 is asked for a range 1ms shorter";
const LEFT_OPEN_NESTED: &str = "range selectors are left-open in 3.x: an inner subquery \
                                window starting on one of its own steps excludes that step, \
                                2.42 is asked for a range 1ms shorter";
const STDDEV_ALONE: &str = "stddev/stdvar of a group whose only value is NaN or an infinity \
                            is NaN in 3.x, 0 in 2.42 (`+ 0 * max` turns it into NaN there)";
const HOLT_WINTERS: &str = "holt_winters is double_exponential_smoothing in 3.x (an experimental \
                            function there, always on in Cairn), which rejects the old name";
const DOT_NEWLINE: &str = "in 3.x the regex `.` matches a newline too; 2.42 needs (?s)";
const QUOTED_NAME: &str = "3.x reads a quoted metric name inside braces; 2.42 needs __name__=";
const ATAN2_NAME: &str = "3.x drops __name__ for atan2 like for the other arithmetic \
                          operators, 2.42 keeps it (`+ 0` drops it there)";
const DELAYED_NAME: &str = "Cairn removes __name__ after label functions have run (the delayed \
                            name removal of Prometheus 3's own test engine, which the \
                            conformance scripts assume); 2.42 removes it inside rate()";

/// The expressions. `at` is a time in seconds, for `@`.
pub(crate) fn queries(at: &str) -> Vec<Query> {
    let mut v: Vec<Query> = [
        // Selectors and matchers.
        "demo_requests_total",
        "demo_requests_total{method=\"GET\"}",
        "demo_requests_total{method!=\"GET\",code=\"200\"}",
        "demo_requests_total{code=~\"5..\"}",
        "demo_requests_total{code!~\"2..\",job=\"api\"}",
        "{__name__=~\"demo_(requests|late)_total\"}",
        "{__name__=~\"demo_temp.*\",room!=\"cellar\"}",
        "{__name__!~\"demo_.*|scrape_.*\",job=~\"api|db\"}",
        "{job=\"db\"}",
        "demo_escape{path=\"C:\\\\dir\\\\file\"}",
        "demo_escape{quote=~\"say \\\"h.*\"}",
        "demo_escape{utf=\"ünï€\"}",
        "demo_escape{nl=\"a\\nb\"}",
        "demo_flappy",
        "demo_late_total",
        "up",
        "up == 0",
        "scrape_duration_seconds > 0",
        "scrape_samples_scraped",
        "demo_temperature_celsius offset 30s",
        "demo_temperature_celsius offset -7s",
        "demo_requests_total[20s]",
        "demo_temperature_celsius[45s] offset 15s",
        "demo_flappy[10s]",
        "demo_queue_depth @ start()",
        "demo_queue_depth @ end()",
        "demo_queue_depth offset 10s @ end()",
        "rate(demo_requests_total[20s] @ end())",
        "sum_over_time(demo_queue_depth[30s] @ start())",
        // Counters.
        "rate(demo_requests_total[10s])",
        "rate(demo_requests_total[30s])",
        "rate(demo_requests_total{code=\"500\"}[1m])",
        "rate(demo_requests_total[2m])",
        "irate(demo_requests_total[10s])",
        "increase(demo_requests_total[30s])",
        "increase(demo_requests_total{code=\"500\"}[45s])",
        "resets(demo_requests_total[90s])",
        "rate(demo_flappy[20s])",
        "rate(demo_late_total[1m])",
        "increase(up[30s])",
        "rate(demo_request_duration_seconds_sum[30s]) / rate(demo_request_duration_seconds_count[30s])",
        // Gauges.
        "delta(demo_temperature_celsius[20s])",
        "idelta(demo_temperature_celsius[20s])",
        "deriv(demo_temperature_celsius[30s])",
        "predict_linear(demo_temperature_celsius[1m], 30)",
        "changes(demo_queue_depth[30s])",
        "changes(demo_flappy[1m])",
        // *_over_time.
        "avg_over_time(demo_temperature_celsius[20s])",
        "min_over_time(demo_queue_depth[30s])",
        "max_over_time(demo_queue_depth[30s])",
        "sum_over_time(demo_queue_depth[15s])",
        "count_over_time(demo_flappy[30s])",
        "count_over_time({job=\"db\"}[10s])",
        "quantile_over_time(0.9, demo_temperature_celsius[1m])",
        "quantile_over_time(0.25, demo_queue_depth[20s])",
        "stddev_over_time(demo_temperature_celsius[40s])",
        "stdvar_over_time(demo_queue_depth[40s])",
        "last_over_time(demo_flappy[1m])",
        "present_over_time(demo_flappy[15s])",
        "absent_over_time(demo_flappy{kind=\"x\"}[5s])",
        "absent_over_time(demo_nonexistent[1m])",
        "absent_over_time(up{job=\"db\"}[10s])",
        // Classic histograms and the summary.
        "histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket[30s]))",
        "histogram_quantile(0.5, sum by (le) (rate(demo_request_duration_seconds_bucket[1m])))",
        "histogram_quantile(0.99, sum by (le, handler) (increase(demo_request_duration_seconds_bucket[20s])))",
        "histogram_quantile(0.75, demo_request_duration_seconds_bucket)",
        "histogram_quantile(0, demo_request_duration_seconds_bucket{job=\"db\"})",
        "histogram_quantile(1, demo_request_duration_seconds_bucket{job=\"db\"})",
        "histogram_quantile(1.5, demo_request_duration_seconds_bucket{job=\"db\"})",
        "histogram_quantile(-0.5, demo_request_duration_seconds_bucket{job=\"db\"})",
        "sum by (quantile) (demo_rpc_latency_seconds)",
        "rate(demo_rpc_latency_seconds_sum[30s]) / rate(demo_rpc_latency_seconds_count[30s])",
        // Label functions.
        "label_replace(demo_temperature_celsius, \"where\", \"room-$1\", \"room\", \"(.*)\")",
        "label_replace(up, \"port\", \"$1\", \"instance\", \".*:(\\\\d+)\")",
        "label_replace(demo_queue_depth, \"name\", \"$1\", \"__name__\", \"(.+)\")",
        "label_replace(demo_queue_depth, \"job\", \"\", \"job\", \".*\")",
        "label_join(demo_requests_total, \"mc\", \"/\", \"method\", \"code\")",
        "label_join(demo_escape, \"all\", \"|\", \"path\", \"quote\", \"nl\")",
        // absent.
        "absent(demo_nonexistent)",
        "absent(demo_nonexistent{job=\"a\",instance=~\"b\"})",
        "absent(demo_flappy{kind=\"x\"})",
        "absent(demo_late_total)",
        "absent(up)",
        // Time functions.
        "time()",
        "vector(time())",
        "timestamp(demo_queue_depth)",
        "timestamp(demo_flappy)",
        "timestamp(demo_queue_depth offset 20s)",
        "hour()",
        "minute(demo_queue_depth * 0 + 1700000000)",
        "day_of_week(vector(1700000000))",
        "day_of_month(vector(1709164800))",
        "day_of_year(vector(1709164800))",
        "days_in_month(vector(1709164800))",
        "month(vector(1709164800))",
        "year(timestamp(up))",
        // Math.
        "abs(demo_queue_depth)",
        "ceil(demo_temperature_celsius)",
        "floor(demo_temperature_celsius)",
        "round(demo_temperature_celsius, 0.5)",
        "sqrt(abs(demo_queue_depth))",
        "exp(demo_queue_depth)",
        "ln(demo_temperature_celsius)",
        "log2(demo_queue_depth)",
        "log10(demo_temperature_celsius)",
        "clamp(demo_queue_depth, -1, 4)",
        "clamp_min(demo_queue_depth, 0)",
        "clamp_max(demo_queue_depth, 2)",
        "sgn(delta(demo_temperature_celsius[10s]))",
        "sin(demo_temperature_celsius) + ignoring(room) group_left cos(demo_queue_depth)",
        "asin(demo_queue_depth / 10)",
        "atanh(demo_queue_depth / 10)",
        "deg(pi()) + rad(180)",
        "-demo_queue_depth",
        "2 ^ demo_queue_depth % 3",
        "1 + 2 * 3 - 4 / 5 ^ 2",
        "\"a string\"",
        // Sorting.
        "sort(demo_temperature_celsius)",
        "sort_desc(rate(demo_requests_total[30s]))",
        "sort_desc(topk(3, demo_temperature_celsius))",
        // vector / scalar.
        "vector(1)",
        "scalar(sum(demo_queue_depth))",
        "scalar(demo_queue_depth)",
        "demo_queue_depth * scalar(count(up))",
        // Aggregations.
        "sum(demo_requests_total)",
        "sum by (job) (rate(demo_requests_total[30s]))",
        "sum without (method, code) (rate(demo_requests_total[30s]))",
        "avg by (instance) (demo_temperature_celsius)",
        "min by (code) (demo_requests_total)",
        "max without (instance) (demo_queue_depth)",
        "count by (job) (up)",
        "count by (__name__) ({job=\"api\"})",
        "group by (job, zone) (demo_requests_total)",
        "stddev by (job) (demo_temperature_celsius)",
        "stdvar(demo_queue_depth)",
        "topk(2, demo_temperature_celsius)",
        "topk by (job) (1, rate(demo_requests_total[30s]))",
        "bottomk(3, demo_requests_total)",
        "quantile(0.3, demo_temperature_celsius)",
        "quantile by (job) (0.9, rate(demo_requests_total[20s]))",
        "count_values(\"depth\", demo_queue_depth)",
        "count_values by (job) (\"v\", up)",
        "avg(demo_flappy)",
        "sum by (kind) (demo_flappy)",
        // Binary operators.
        "demo_requests_total / 2",
        "demo_queue_depth > 2",
        "demo_queue_depth > bool 2",
        "demo_queue_depth == bool demo_queue_depth",
        "1 < bool 2",
        "demo_requests_total{code=\"500\"} / ignoring(code) demo_requests_total{code=\"200\"}",
        "demo_requests_total / on(instance, job, method) group_left demo_requests_total{code=\"200\"}",
        "demo_requests_total * on(instance) group_left(version) demo_build_info",
        "demo_build_info * on(instance) group_right(version, revision) rate(demo_requests_total[30s])",
        "demo_temperature_celsius > on(instance, job) group_left demo_queue_depth",
        "demo_temperature_celsius - ignoring(room) group_left demo_queue_depth",
        "demo_queue_depth and demo_queue_depth > 1",
        "demo_queue_depth and on(instance) demo_flappy",
        "demo_queue_depth or demo_flappy",
        "demo_queue_depth unless on(instance) demo_flappy",
        "up or vector(0)",
        "demo_late_total or on() vector(-1)",
        "(demo_queue_depth > 0) or (demo_temperature_celsius < 20)",
        // Nesting.
        "sum by (job) (rate(demo_requests_total{code=\"500\"}[30s])) / on(job) sum by (job) (rate(demo_requests_total[30s]))",
        "topk(1, max_over_time(deriv(demo_temperature_celsius[20s])[1m:5s]))",
        "histogram_quantile(0.9, sum by (le) (rate(demo_request_duration_seconds_bucket[1m]))) > bool 0.5",
        "max_over_time(demo_temperature_celsius[30s:5s])",
        "rate(demo_requests_total{method=\"GET\"}[20s])[1m:10s]",
        "avg_over_time(rate(demo_requests_total[15s])[40s:3s] offset 5s)",
        "min_over_time(sum by (job) (demo_queue_depth)[2m:])",
        "max_over_time(sum(rate(demo_requests_total[10s]))[30s:2s] @ end())",
        "sum_over_time(up[1m:1s])",
        "quantile_over_time(0.5, (demo_queue_depth * 2)[1m:7s])",
        "count(count by (job, instance) (up)) by (job)",
        "abs(delta(sum by (job) (demo_temperature_celsius)[30s:5s]))",
        "clamp_max(sort_desc(demo_queue_depth), 1)",
        "last_over_time(timestamp(demo_flappy)[1m:2s])",
        // Edge cases: empty windows, infinities, NaN, rounding, errors.
        "hour(demo_weird)",
        "year(demo_weird)",
        "minute(demo_weird)",
        "day_of_month(demo_weird)",
        "day_of_year(demo_weird)",
        "days_in_month(demo_weird)",
        "minute(vector(-0.5)) + year(vector(-1.5)) + day_of_week(vector(-86400.7))",
        "day_of_week(demo_weird{kind=\"neg\"})",
        "month(demo_weird{kind=\"huge\"})",
        "round(demo_weird, 0.1)",
        "sqrt(-demo_weird)",
        "ln(-demo_weird)",
        "asin(demo_weird)",
        "exp(demo_weird)",
        "demo_weird % 0",
        "demo_weird ^ 0",
        "demo_weird * demo_weird",
        "label_replace(up, \"x\", \"$1\", \"instance\", \"127\")",
        "label_replace(up, \"x\", \"$0-$0\", \"job\", \".*\")",
        "{__name__=~\"demo_weird|up\",kind=\"\"}",
        "{__name__=~\"demo_weird|up\",kind=~\"\"}",
        "{__name__=~\"demo_weird|up\",kind!=\"\"}",
        "up{job=~\"api|\"}",
        "demo_weird{kind=~\"NAN\"} or vector(3)",
        "count by (kind) (demo_weird{kind!~\"n.*\"})",
        "sum by (kind) (rate(demo_weird[30s]))",
        "quantile_over_time(NaN, demo_queue_depth[20s])",
        "topk(NaN, demo_queue_depth)",
        "bottomk(0, demo_queue_depth) or topk(-1, demo_queue_depth) or vector(5)",
        "quantile(NaN, demo_queue_depth)",
        "vector(NaN) + vector(1/0)",
        "time() % 60 > bool 30",
        "demo_queue_depth @ 1e10 or demo_queue_depth @ -1 or vector(2)",
        "max_over_time(demo_weird[1m]) - min_over_time(demo_weird[1m])",
        "histogram_quantile(0.5, label_replace(demo_weird, \"le\", \"$1\", \"kind\", \"(.*)\"))",
        // NaN, infinities, extremes.
        "demo_weird",
        "sort(demo_weird{job=\"db\"})",
        "sort_desc(demo_weird{job=\"db\"})",
        "topk by (instance) (2, demo_weird)",
        "bottomk by (instance) (2, demo_weird)",
        "max by (kind) (demo_weird)",
        "min by (kind) (demo_weird)",
        "max(demo_weird)",
        "avg by (kind) (demo_weird)",
        "sum by (kind) (demo_weird)",
        "count by (kind) (demo_weird)",
        "quantile by (kind) (0.5, demo_weird)",
        "quantile by (instance) (0.75, demo_weird)",
        "group by (kind) (demo_weird)",
        "max_over_time(demo_weird[10s])",
        "min_over_time(demo_weird[10s])",
        "avg_over_time(demo_weird[10s])",
        "sum_over_time(demo_weird[10s])",
        "stddev_over_time(demo_weird[10s])",
        "quantile_over_time(0.5, demo_weird[10s])",
        "last_over_time(demo_weird[5s])",
        "rate(demo_weird[10s])",
        "irate(demo_weird[10s])",
        "deriv(demo_weird[10s])",
        "predict_linear(demo_weird[20s], 10)",
        "changes(demo_weird[10s])",
        "resets(demo_weird[10s])",
        "delta(demo_weird[10s])",
        "idelta(demo_weird[10s])",
        "demo_weird > 0",
        "demo_weird == bool demo_weird",
        "demo_weird != demo_weird",
        "clamp(demo_weird, -1, 1)",
        "abs(demo_weird)",
        "sgn(demo_weird)",
        "round(demo_weird)",
        "demo_weird * 2",
        "demo_weird - demo_weird",
        "count_values by (kind) (\"v\", demo_weird)",
        "scalar(demo_weird{kind=\"nan\",job=\"db\"})",
        "timestamp(demo_weird)",
        "histogram_quantile(0.5, label_replace(demo_weird{kind=\"neg\"}, \"le\", \"+Inf\", \"\", \"\"))",
        "rate(demo_requests_total[1s]) or vector(7)",
        "rate(demo_requests_total[1500ms])",
        "demo_queue_depth / 0",
        "1 / 0 - 1",
        "-1 / 0",
        "0 / 0",
        "ln(demo_queue_depth * 0)",
        "sqrt(demo_queue_depth)",
        "exp(demo_queue_depth * 300)",
        "round(demo_queue_depth / 2)",
        "round(demo_temperature_celsius, 3)",
        "clamp(demo_queue_depth, 5, 1) or vector(7)",
        "quantile(2, demo_queue_depth)",
        "quantile(-1, demo_queue_depth)",
        "quantile_over_time(1.5, demo_queue_depth[20s])",
        "histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket{le=\"+Inf\"}[30s]))",
        "histogram_quantile(0.5, sum by (le) (demo_request_duration_seconds_bucket))",
        "histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket[2s]))",
        "demo_requests_total * on(instance) demo_build_info",
        "demo_requests_total + on(job) group_left demo_queue_depth",
        "topk(scalar(count(up)) - 1, demo_temperature_celsius)",
        "bottomk by (job) (1, up)",
        "count_values(\"value\", demo_temperature_celsius)",
        "count_values(\"le\", demo_request_duration_seconds_bucket)",
        "label_replace(demo_temperature_celsius, \"v\", \"$1\", \"room\", \"(a.*)\")",
        "label_replace(demo_queue_depth, \"__name__\", \"renamed_$1\", \"job\", \"(.*)\")",
        "label_replace(demo_queue_depth, \"zone\", \"\", \"zone\", \".*\")",
        "label_join(up, \"empty\", \",\")",
        "label_join(up, \"job\", \"-\", \"job\", \"zone\", \"instance\")",
        "sum by (__name__) ({__name__=~\"demo_(queue|temp).*\"})",
        "count by (le) (demo_request_duration_seconds_bucket)",
        "group by (instance) ({__name__=~\".+\"})",
        "stdvar by (handler) (demo_request_duration_seconds_sum)",
        "sum(demo_requests_total) + sum(demo_queue_depth)",
        "demo_requests_total / on(method, code) group_left sum by (method, code) (demo_requests_total)",
        "time() > bool 0",
        "time() - timestamp(up)",
        "vector(scalar(up{job=\"db\"}))",
        "timestamp(sum(demo_queue_depth))",
        "timestamp(demo_requests_total @ start())",
        "day_of_week(timestamp(up))",
        "-sum by (job) (demo_queue_depth)",
        "count(demo_requests_total) without (method, code)",
        "changes(up[1m])",
        "resets(up[2m])",
        "irate(demo_flappy[5s])",
        "deriv(demo_queue_depth[1m:3s])",
        "deriv(up[20s])",
        "stddev_over_time(up[20s])",
        "predict_linear(demo_queue_depth[30s:2s], 10)",
        "sum by (job) (increase(demo_requests_total[1m:5s]))",
        "max_over_time(demo_queue_depth[30s:5s] @ start())",
        "avg_over_time(demo_flappy[1m]) unless demo_flappy",
        "rate({__name__=~\"demo_requests_total\",code=\"200\"}[30s])",
        "{__name__=~\"demo_temperature_celsius|demo_queue_depth\"} offset 30s",
        "avg by (job) (rate(demo_requests_total[10s])) > 1",
        "demo_temperature_celsius > bool on(instance, job) group_left max by (instance, job) (demo_temperature_celsius)",
        "sort(label_replace(demo_queue_depth, \"x\", \"$1\", \"instance\", \".*:(.*)\"))",
        "absent(demo_flappy{kind=\"x\"} offset 1m)",
        "absent(sum(demo_nonexistent))",
        "absent(label_replace(demo_nonexistent{a=\"b\"}, \"c\", \"d\", \"\", \"\"))",
        "absent_over_time(demo_flappy{kind=~\"x|y\"}[3s])",
        "rate(demo_requests_total[30s] offset -10s)",
        "sum_over_time(sum_over_time(demo_queue_depth[10s])[20s:3s])",
        "sum by (handler) (rate(demo_request_duration_seconds_sum[30s])) / sum by (handler) (rate(demo_request_duration_seconds_count[30s]))",
        "demo_escape != bool demo_escape",
        "+(-(demo_queue_depth))",
        "topk(1, demo_requests_total) by (method)",
        "count_values(\"v\", count_values(\"w\", demo_queue_depth))",
        "quantile(0.5, demo_temperature_celsius) by (room)",
        "sum without () (demo_queue_depth)",
        "max by () (demo_queue_depth)",
        "demo_requests_total offset 1m unless demo_requests_total",
        "demo_escape{utf=~\"ü.*\"}",
        "demo_escape{utf=~\".{4}\"}",
        "demo_requests_total{code=~\"5\"} or demo_requests_total{code=~\"50|500\"}",
        "demo_requests_total{method=~\"(?i)get\"}",
        "label_replace(up, \"a\", \"${1}x\", \"job\", \"(.*)\")",
        "label_replace(up, \"a\", \"$1x\", \"job\", \"(.*)\")",
        "label_replace(up, \"a\", \"$2\", \"job\", \"(.*)\")",
        "label_join(up, \"j\", \"\", \"job\", \"job\", \"__name__\")",
        "sort_desc(count_values(\"v\", demo_queue_depth))",
        "histogram_quantile(0.5, {__name__=\"demo_request_duration_seconds_bucket\"})",
        "demo_queue_depth == 0 or demo_queue_depth",
        "vector(1) unless on() up{job=\"db\"}",
        "timestamp(rate(demo_requests_total[30s]))",
        "demo_queue_depth @ 1700000000.5 or vector(3)",
        "count_over_time(up[10m])",
        "min_over_time(up[5m:])",
        "increase(demo_rpc_latency_seconds_count[30s]) / 2",
        "avg(demo_weird{kind=\"huge\"} * 25)",
        "sum(demo_weird{kind=\"huge\"} * 25)",
        "avg_over_time((demo_queue_depth * 1e308)[20s:1s])",
        "quantile_over_time(0.5, demo_escape[10s])",
        "last_over_time(demo_requests_total[1m] offset 30s)",
        "count({__name__=~\".+\"}) by (job)",
        "absent(up{job=\"nope\",instance=~\"x\",zone!=\"y\"})",
        "absent(demo_nonexistent{job=\"x\"} or demo_other{job=\"y\"})",
        "absent({__name__=~\"nope.*\",job=\"x\"})",
        "absent(demo_nonexistent{job=\"a\",job=\"b\",instance=\"x\"})",
        "absent(demo_nonexistent{job=\"a\",job=~\"b\"})",
        "absent({__name__=\"demo_nonexistent\",job=\"x\"})",
        "absent(rate(demo_nonexistent{job=\"x\"}[1m]))",
        "absent_over_time(demo_nonexistent{job=\"x\",zone!=\"y\"}[1m])",
        "rate(demo_queue_depth)",
        "sum(demo_requests_total[1m])",
        "topk(\"a\", up)",
        "irate(demo_requests_total{code=\"500\"}[5s])",
        "idelta(demo_requests_total{code=\"500\"}[5s])",
        "delta(demo_requests_total{code=\"500\"}[15s])",
        "demo_requests_total{code=\"500\"} < bool 50",
        "scalar(time())",
        "vector(time()) - on() group_right demo_queue_depth",
        "demo_queue_depth and on(__name__) demo_queue_depth offset 5s",
        "sum by (job) (up) * on(job) group_left(zone) max by (job, zone) (up)",
    ]
    .into_iter()
    .map(|e| {
        if e.starts_with("sort") {
            ordered(e)
        } else {
            q(e)
        }
    })
    .collect();
    v.extend(nested_subquery_queries());
    for f in ["stddev", "stdvar"] {
        v.push(v3(
            &format!("{f} by (kind) (demo_weird)"),
            &format!("{f} by (kind) (demo_weird) + 0 * max by (kind) (demo_weird)"),
            STDDEV_ALONE,
        ));
    }
    v.push(q(&format!("demo_temperature_celsius @ {at}")));
    v.push(q(&format!("rate(demo_requests_total[30s] @ {at})")));
    v.push(q(&format!("demo_queue_depth offset 5s @ {at} > bool 0")));
    v.push(v3(
        "double_exponential_smoothing(demo_temperature_celsius[1m], 0.5, 0.5)",
        "holt_winters(demo_temperature_celsius[1m], 0.5, 0.5)",
        HOLT_WINTERS,
    ));
    v.push(v3(
        "double_exponential_smoothing(demo_queue_depth[30s], 0.2, 0.9)",
        "holt_winters(demo_queue_depth[30s], 0.2, 0.9)",
        HOLT_WINTERS,
    ));
    v.push(v3(
        "demo_escape{nl=~\"a.b\"}",
        "demo_escape{nl=~\"a(?s:.)b\"}",
        DOT_NEWLINE,
    ));
    v.push(v3(
        "{\"demo_queue_depth\", job=\"db\"}",
        "{__name__=\"demo_queue_depth\", job=\"db\"}",
        QUOTED_NAME,
    ));
    v.push(v3(
        "double_exponential_smoothing(demo_queue_depth[30s], 1.5, 0.5)",
        "holt_winters(demo_queue_depth[30s], 1.5, 0.5)",
        HOLT_WINTERS,
    ));
    v.push(v3(
        "demo_queue_depth atan2 2",
        "(demo_queue_depth atan2 2) + 0",
        ATAN2_NAME,
    ));
    v.push(v3(
        "label_replace(rate(demo_requests_total[30s]), \"n\", \"$1\", \"__name__\", \"(.+)\")",
        "label_replace(rate(demo_requests_total[30s]), \"n\", \"demo_requests_total\", \"\", \"\")",
        DELAYED_NAME,
    ));
    v
}

/// Queries evaluated exactly on a sample timestamp of `instance="0"` (`{t}`): the window of
/// length `range` is `(t - range, t]` in 3.x, 2.42 gets `range - 1ms`.
pub(crate) fn boundary_queries() -> Vec<Query> {
    [
        (
            "count_over_time(demo_queue_depth[5s])",
            "count_over_time(demo_queue_depth[4999ms])",
        ),
        (
            "sum_over_time(demo_queue_depth[10s])",
            "sum_over_time(demo_queue_depth[9999ms])",
        ),
        ("demo_queue_depth[3s]", "demo_queue_depth[2999ms]"),
        (
            "changes(demo_queue_depth[10s])",
            "changes(demo_queue_depth[9999ms])",
        ),
        (
            "last_over_time(demo_queue_depth[1s])",
            "last_over_time(demo_queue_depth[999ms])",
        ),
        (
            "max_over_time(demo_queue_depth[6s:1s])",
            "max_over_time(demo_queue_depth[5999ms:1s])",
        ),
    ]
    .into_iter()
    .map(|(c, p)| v3(c, p, LEFT_OPEN))
    .collect()
}

/// Nested subqueries: the outer steps fall on multiples of the inner step, so the inner
/// window `(t - 30s, t]` starts exactly on one of its own steps wherever it is evaluated.
fn nested_subquery_queries() -> Vec<Query> {
    [
        (
            "max_over_time(rate(demo_requests_total[10s])[30s:2s])[1m:10s]",
            "max_over_time(rate(demo_requests_total[10s])[29999ms:2s])[1m:10s]",
        ),
        (
            "min_over_time(count_over_time(demo_queue_depth[7s])[30s:5s])[1m:10s]",
            "min_over_time(count_over_time(demo_queue_depth[7s])[29999ms:5s])[1m:10s]",
        ),
        (
            "sum_over_time(max_over_time(demo_temperature_celsius[20s:4s])[40s:8s])",
            "sum_over_time(max_over_time(demo_temperature_celsius[19999ms:4s])[40s:8s])",
        ),
    ]
    .into_iter()
    .map(|(c, p)| v3(c, p, LEFT_OPEN_NESTED))
    .collect()
}
