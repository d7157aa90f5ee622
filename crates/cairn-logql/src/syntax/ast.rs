//! The LogQL syntax tree.

use cairn_model::Matcher;

/// A parsed query: a log query or a metric query.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Returns log lines.
    Log(LogExpr),
    /// Returns samples (vector, matrix or scalar).
    Sample(SampleExpr),
}

/// A stream selector with its pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct LogExpr {
    /// The stream matchers, as written.
    pub matchers: Vec<Matcher>,
    /// The pipeline stages, as written.
    pub stages: Vec<Stage>,
}

/// A line filter operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineMatch {
    /// `|=`: contains.
    Contains,
    /// `!=`: does not contain.
    NotContains,
    /// `|~`: matches the regular expression (unanchored).
    Regex,
    /// `!~`: does not match.
    NotRegex,
    /// `|>`: matches the pattern.
    Pattern,
    /// `!>`: does not match the pattern.
    NotPattern,
}

impl LineMatch {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            LineMatch::Contains => "|=",
            LineMatch::NotContains => "!=",
            LineMatch::Regex => "|~",
            LineMatch::NotRegex => "!~",
            LineMatch::Pattern => "|>",
            LineMatch::NotPattern => "!>",
        }
    }

    /// Whether this operator keeps the lines that match.
    pub fn is_positive(self) -> bool {
        matches!(
            self,
            LineMatch::Contains | LineMatch::Regex | LineMatch::Pattern
        )
    }
}

/// One operand of a line filter: a string, or `ip("...")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFilterArg {
    /// `ip("...")` rather than a plain string.
    pub ip: bool,
    /// The string or the IP pattern.
    pub value: String,
}

/// One line filter: an operator and its operands, joined by `or` (negative operators always
/// have one operand: Loki rewrites `!= "a" or "b"` as `!= "a" != "b"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFilter {
    /// The operator.
    pub op: LineMatch,
    /// The operands (at least one).
    pub args: Vec<LineFilterArg>,
}

/// A comparison of a label filter on numbers, durations and byte sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==` (also written `=`).
    Eq,
    /// `!=`.
    Ne,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
}

impl CmpOp {
    /// The operator as Loki prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }

    /// Applies the comparison.
    pub fn test<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
        }
    }
}

/// A label filter expression.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelFilter {
    /// `name op "value"` with the Prometheus matcher operators.
    Matcher(Matcher),
    /// `name = ip("...")` or `name != ip("...")`.
    Ip {
        /// The label.
        name: String,
        /// `=` rather than `!=`.
        equal: bool,
        /// The IP pattern.
        pattern: String,
    },
    /// `name op 5s`.
    Duration {
        /// The label.
        name: String,
        /// The comparison.
        op: CmpOp,
        /// Nanoseconds.
        value_ns: i64,
    },
    /// `name op 20MB`.
    Bytes {
        /// The label.
        name: String,
        /// The comparison.
        op: CmpOp,
        /// Bytes.
        value: u64,
    },
    /// `name op 1.5`.
    Number {
        /// The label.
        name: String,
        /// The comparison.
        op: CmpOp,
        /// The number.
        value: f64,
    },
    /// Both (`and`, `,` or juxtaposition).
    And(Box<LabelFilter>, Box<LabelFilter>),
    /// Either.
    Or(Box<LabelFilter>, Box<LabelFilter>),
}

/// `name="expression"` of `| json` and `| logfmt` with parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extraction {
    /// The label to set.
    pub name: String,
    /// The path (`a.b[0]`) or key.
    pub expr: String,
}

/// One entry of `| label_format`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelFmt {
    /// The label to set.
    pub name: String,
    /// A template, or the label to rename from.
    pub value: String,
    /// `dst=src` rather than `dst="template"`.
    pub rename: bool,
}

/// One entry of `| drop` and `| keep`: a name, or a matcher.
#[derive(Clone, Debug, PartialEq)]
pub enum NamedMatcher {
    /// All labels of this name.
    Name(String),
    /// Labels of this name whose value matches.
    Matcher(Matcher),
}

impl NamedMatcher {
    /// The label name.
    pub fn name(&self) -> &str {
        match self {
            NamedMatcher::Name(n) => n,
            NamedMatcher::Matcher(m) => &m.name,
        }
    }
}

/// A pipeline stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// Consecutive line filters.
    LineFilters(Vec<LineFilter>),
    /// `| logfmt [--strict] [--keep-empty]`.
    Logfmt {
        /// Stop at the first malformed pair and flag the line.
        strict: bool,
        /// Keep keys without a value.
        keep_empty: bool,
    },
    /// `| logfmt a, b="c"` with flags.
    LogfmtExtract {
        /// What to extract.
        exprs: Vec<Extraction>,
        /// `--strict`.
        strict: bool,
        /// `--keep-empty`.
        keep_empty: bool,
    },
    /// `| json`.
    Json,
    /// `| json a="b.c[0]"`.
    JsonExtract(Vec<Extraction>),
    /// `| unpack`.
    Unpack,
    /// `| regexp "..."`.
    Regexp(String),
    /// `| pattern "..."`.
    Pattern(String),
    /// `| <label filter>`.
    LabelFilter(LabelFilter),
    /// `| line_format "..."`.
    LineFormat(String),
    /// `| label_format ...`.
    LabelFormat(Vec<LabelFmt>),
    /// `| decolorize`.
    Decolorize,
    /// `| drop ...`.
    Drop(Vec<NamedMatcher>),
    /// `| keep ...`.
    Keep(Vec<NamedMatcher>),
}

/// `| unwrap` conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnwrapConv {
    /// `bytes(label)`.
    Bytes,
    /// `duration(label)` (seconds).
    Duration,
    /// `duration_seconds(label)`.
    DurationSeconds,
}

impl UnwrapConv {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnwrapConv::Bytes => "bytes",
            UnwrapConv::Duration => "duration",
            UnwrapConv::DurationSeconds => "duration_seconds",
        }
    }
}

/// `| unwrap label` with its conversion and the label filters after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Unwrap {
    /// The label whose value becomes the sample.
    pub label: String,
    /// The conversion, if any (plain: a float).
    pub conv: Option<UnwrapConv>,
    /// Filters applied after extraction (they see `__error__` of the conversion).
    pub post_filters: Vec<LabelFilter>,
}

/// A log range: `selector pipeline [range] offset`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRange {
    /// The log query.
    pub selector: LogExpr,
    /// Window length in nanoseconds.
    pub range_ns: i64,
    /// Offset in nanoseconds.
    pub offset_ns: i64,
    /// The unwrap, for aggregations over label values.
    pub unwrap: Option<Unwrap>,
}

/// Range aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeOp {
    /// `count_over_time`.
    Count,
    /// `rate`.
    Rate,
    /// `rate_counter`.
    RateCounter,
    /// `bytes_over_time`.
    Bytes,
    /// `bytes_rate`.
    BytesRate,
    /// `avg_over_time`.
    Avg,
    /// `sum_over_time`.
    Sum,
    /// `min_over_time`.
    Min,
    /// `max_over_time`.
    Max,
    /// `stdvar_over_time`.
    Stdvar,
    /// `stddev_over_time`.
    Stddev,
    /// `quantile_over_time`.
    Quantile,
    /// `first_over_time`.
    First,
    /// `last_over_time`.
    Last,
    /// `absent_over_time`.
    Absent,
}

impl RangeOp {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeOp::Count => "count_over_time",
            RangeOp::Rate => "rate",
            RangeOp::RateCounter => "rate_counter",
            RangeOp::Bytes => "bytes_over_time",
            RangeOp::BytesRate => "bytes_rate",
            RangeOp::Avg => "avg_over_time",
            RangeOp::Sum => "sum_over_time",
            RangeOp::Min => "min_over_time",
            RangeOp::Max => "max_over_time",
            RangeOp::Stdvar => "stdvar_over_time",
            RangeOp::Stddev => "stddev_over_time",
            RangeOp::Quantile => "quantile_over_time",
            RangeOp::First => "first_over_time",
            RangeOp::Last => "last_over_time",
            RangeOp::Absent => "absent_over_time",
        }
    }
}

/// `by (...)` or `without (...)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grouping {
    /// `without` rather than `by`.
    pub without: bool,
    /// The labels, in the order written.
    pub labels: Vec<String>,
}

impl Grouping {
    /// `by ()` (or no grouping at all on a vector aggregation): one group.
    pub fn is_singleton(&self) -> bool {
        !self.without && self.labels.is_empty()
    }
}

/// A range aggregation: `op(param, log range) grouping`.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeAgg {
    /// The operator.
    pub op: RangeOp,
    /// `quantile_over_time`'s quantile.
    pub param: Option<f64>,
    /// The log range.
    pub range: LogRange,
    /// `by`/`without` (only some operators accept one).
    pub grouping: Option<Grouping>,
}

/// Vector aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VectorOp {
    /// `sum`.
    Sum,
    /// `avg`.
    Avg,
    /// `count`.
    Count,
    /// `max`.
    Max,
    /// `min`.
    Min,
    /// `stddev`.
    Stddev,
    /// `stdvar`.
    Stdvar,
    /// `bottomk`.
    Bottomk,
    /// `topk`.
    Topk,
    /// `sort`.
    Sort,
    /// `sort_desc`.
    SortDesc,
    /// `approx_topk`.
    ApproxTopk,
}

impl VectorOp {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            VectorOp::Sum => "sum",
            VectorOp::Avg => "avg",
            VectorOp::Count => "count",
            VectorOp::Max => "max",
            VectorOp::Min => "min",
            VectorOp::Stddev => "stddev",
            VectorOp::Stdvar => "stdvar",
            VectorOp::Bottomk => "bottomk",
            VectorOp::Topk => "topk",
            VectorOp::Sort => "sort",
            VectorOp::SortDesc => "sort_desc",
            VectorOp::ApproxTopk => "approx_topk",
        }
    }
}

/// A vector aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorAgg {
    /// The operator.
    pub op: VectorOp,
    /// `k` of topk, bottomk and approx_topk (0 otherwise).
    pub param: i64,
    /// The grouping (singleton when none was written).
    pub grouping: Grouping,
    /// The aggregated expression.
    pub inner: Box<SampleExpr>,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `unless`.
    Unless,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `^`.
    Pow,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Unless => "unless",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
        }
    }

    /// `or`, `and`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::Or | BinOp::And | BinOp::Unless)
    }

    /// The comparison operators.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le
        )
    }
}

/// Cardinality of a vector match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Card {
    /// One to one.
    #[default]
    OneToOne,
    /// `group_left`.
    ManyToOne,
    /// `group_right`.
    OneToMany,
}

/// Vector matching of a binary operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorMatching {
    /// The cardinality.
    pub card: Card,
    /// `on` (else `ignoring`).
    pub on: bool,
    /// The `on`/`ignoring` labels (`None`: not written or empty).
    pub labels: Option<Vec<String>>,
    /// The `group_left`/`group_right` labels (`None`: not written or empty).
    pub include: Option<Vec<String>>,
}

/// A binary operation.
#[derive(Clone, Debug, PartialEq)]
pub struct BinOpExpr {
    /// The operator.
    pub op: BinOp,
    /// `bool` modifier.
    pub return_bool: bool,
    /// Vector matching.
    pub matching: VectorMatching,
    /// Left operand.
    pub lhs: SampleExpr,
    /// Right operand.
    pub rhs: SampleExpr,
}

/// `label_replace(expr, dst, replacement, src, regex)`.
#[derive(Clone, Debug)]
pub struct LabelReplace {
    /// The expression.
    pub inner: SampleExpr,
    /// Destination label.
    pub dst: String,
    /// Replacement with `$1` references.
    pub replacement: String,
    /// Source label.
    pub src: String,
    /// The regular expression as written.
    pub regex: String,
    /// The anchored regular expression.
    pub re: regex::Regex,
}

impl PartialEq for LabelReplace {
    fn eq(&self, o: &Self) -> bool {
        self.inner == o.inner
            && self.dst == o.dst
            && self.replacement == o.replacement
            && self.src == o.src
            && self.regex == o.regex
    }
}

/// A metric expression.
#[derive(Clone, Debug, PartialEq)]
pub enum SampleExpr {
    /// A range aggregation.
    Range(Box<RangeAgg>),
    /// A vector aggregation.
    Vector(VectorAgg),
    /// A binary operation.
    BinOp(Box<BinOpExpr>),
    /// A number (binary operations between numbers are folded when parsing, as Loki does).
    Literal(f64),
    /// `vector(n)`.
    VectorLit(f64),
    /// `label_replace`.
    LabelReplace(Box<LabelReplace>),
}

impl Expr {
    /// The log query, if this is one.
    pub fn as_log(&self) -> Option<&LogExpr> {
        match self {
            Expr::Log(l) => Some(l),
            Expr::Sample(_) => None,
        }
    }

    /// The metric query, if this is one.
    pub fn as_sample(&self) -> Option<&SampleExpr> {
        match self {
            Expr::Sample(s) => Some(s),
            Expr::Log(_) => None,
        }
    }
}

impl SampleExpr {
    /// Calls `f` on every log range of the expression, left to right.
    pub fn for_each_range<'a>(&'a self, f: &mut impl FnMut(&'a RangeAgg)) {
        match self {
            SampleExpr::Range(r) => f(r),
            SampleExpr::Vector(v) => v.inner.for_each_range(f),
            SampleExpr::BinOp(b) => {
                b.lhs.for_each_range(f);
                b.rhs.for_each_range(f);
            }
            SampleExpr::LabelReplace(l) => l.inner.for_each_range(f),
            SampleExpr::Literal(_) | SampleExpr::VectorLit(_) => {}
        }
    }
}
