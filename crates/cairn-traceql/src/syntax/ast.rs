//! The TraceQL syntax tree. It follows Tempo's grammar (`pkg/traceql/expr.y`) but is a plain
//! tree: a query is a spanset pipeline or a metrics expression, each part holding its
//! children. Two normalisations keep one tree per meaning, so that the canonical printed form
//! parses back to the same tree: a parenthesised pipeline of a single spanset expression is
//! that expression, and second stages written after a parenthesised metrics pipeline belong
//! to that pipeline. Constant arithmetic on numbers outside a spanset filter (`scalar` in the
//! grammar) is folded while parsing, as Tempo does; inside a filter it is kept as written.

/// A parsed TraceQL query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// What the query computes.
    pub expr: Expr,
    /// Hints of `with (key=value, ...)`; when several `with` clauses follow, the last wins.
    pub hints: Vec<Hint>,
}

/// The body of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A search: spansets through a pipeline.
    Spans(Pipeline),
    /// A TraceQL metrics query.
    Metrics(MetricsExpr),
}

/// A hint of `with (...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hint {
    /// The key.
    pub name: String,
    /// The value.
    pub value: Static,
}

/// Stages separated by `|`, each consuming the spansets the previous one produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    /// The stages, at least one.
    pub stages: Vec<Stage>,
}

/// A stage of a spanset pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// Spanset filters combined with spanset operators.
    Spanset(SpansetExpr),
    /// A comparison on aggregates of each spanset: `count() > 2`.
    ScalarFilter(ScalarFilter),
    /// `by(expr)`: regroups spans by a value.
    By(FieldExpr),
    /// `coalesce()`: merges the spansets of a trace.
    Coalesce,
    /// `select(a, b)`: fetches more attributes for the result.
    Select(Vec<Attribute>),
}

/// Spanset filters and the operators that combine spansets.
#[derive(Clone, Debug, PartialEq)]
pub enum SpansetExpr {
    /// `{ expr }`.
    Filter(SpansetFilter),
    /// `lhs op rhs`.
    Op {
        /// The operator.
        op: SpansetOp,
        /// Left operand.
        lhs: Box<SpansetExpr>,
        /// Right operand.
        rhs: Box<SpansetExpr>,
    },
    /// A parenthesised pipeline used as an operand: `({ a } | count() > 1) && ({ b })`.
    Pipeline(Pipeline),
}

/// `{ expr }`: the spans for which `expr` is true; `{}` is `{ true }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpansetFilter {
    /// The condition.
    pub expr: FieldExpr,
}

/// Operators between spansets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpansetOp {
    /// `&&`: both sides match in the trace.
    And,
    /// `||`.
    Union,
    /// `>`: right spans that are children of left spans.
    Child,
    /// `<`: right spans that are parents of left spans.
    Parent,
    /// `>>`.
    Descendant,
    /// `<<`.
    Ancestor,
    /// `~`.
    Sibling,
    /// `!>`.
    NotChild,
    /// `!<`.
    NotParent,
    /// `!>>`.
    NotDescendant,
    /// `!<<`.
    NotAncestor,
    /// `!~`.
    NotSibling,
    /// `&>`: both sides of the child relation.
    UnionChild,
    /// `&<`.
    UnionParent,
    /// `&>>`.
    UnionDescendant,
    /// `&<<`.
    UnionAncestor,
    /// `&~`.
    UnionSibling,
}

impl SpansetOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Union => "||",
            SpansetOp::Child => ">",
            SpansetOp::Parent => "<",
            SpansetOp::Descendant => ">>",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
            SpansetOp::NotChild => "!>",
            SpansetOp::NotParent => "!<",
            SpansetOp::NotDescendant => "!>>",
            SpansetOp::NotAncestor => "!<<",
            SpansetOp::NotSibling => "!~",
            SpansetOp::UnionChild => "&>",
            SpansetOp::UnionParent => "&<",
            SpansetOp::UnionDescendant => "&>>",
            SpansetOp::UnionAncestor => "&<<",
            SpansetOp::UnionSibling => "&~",
        }
    }
}

/// `lhs op rhs` over aggregates of a spanset.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarFilter {
    /// A comparison (`=`, `!=`, `<`, `<=`, `>`, `>=`).
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: ScalarExpr,
    /// Right operand.
    pub rhs: ScalarExpr,
}

/// An arithmetic expression over aggregates.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarExpr {
    /// `count()`, `avg(duration)`...
    Aggregate(Aggregate),
    /// A number (constants are folded while parsing).
    Static(Static),
    /// `lhs op rhs`, arithmetic.
    Op {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<ScalarExpr>,
        /// Right operand.
        rhs: Box<ScalarExpr>,
    },
    /// `(pipeline | aggregate)` at the top of a query.
    Pipeline {
        /// The pipeline producing the spansets.
        pipeline: Pipeline,
        /// The aggregate computed over each of them.
        aggregate: Aggregate,
    },
}

/// An aggregate over the spans of a spanset.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// Which aggregate.
    pub op: AggregateOp,
    /// Its argument; `None` only for `count()`.
    pub expr: Option<FieldExpr>,
}

/// Aggregates of a spanset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `count()`.
    Count,
    /// `avg(x)`.
    Avg,
    /// `max(x)`.
    Max,
    /// `min(x)`.
    Min,
    /// `sum(x)`.
    Sum,
}

impl AggregateOp {
    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            AggregateOp::Count => "count",
            AggregateOp::Avg => "avg",
            AggregateOp::Max => "max",
            AggregateOp::Min => "min",
            AggregateOp::Sum => "sum",
        }
    }
}

/// An expression over the values of a span.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldExpr {
    /// A literal.
    Static(Static),
    /// An intrinsic or attribute of the span.
    Attribute(Attribute),
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<FieldExpr>,
        /// Right operand.
        rhs: Box<FieldExpr>,
    },
    /// `-x`, `!x`, `x != nil`, `x = nil`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<FieldExpr>,
    },
}

/// Binary operators of field and scalar expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
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
    /// `=`.
    Eq,
    /// `!=`.
    Neq,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// `=~`.
    Re,
    /// `!~`.
    Nre,
    /// `&&`.
    And,
    /// `||`.
    Or,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "=",
            BinaryOp::Neq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Lte => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Gte => ">=",
            BinaryOp::Re => "=~",
            BinaryOp::Nre => "!~",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }

    /// Whether the result is a boolean (comparisons and logic).
    pub fn is_boolean(self) -> bool {
        !self.is_arithmetic() && self != BinaryOp::Mod && self != BinaryOp::Pow
    }

    /// `+ - * /`, the operators of metrics arithmetic.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div
        )
    }
}

/// Unary operators of field expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `!x`.
    Not,
    /// `x != nil`.
    Exists,
    /// `x = nil`.
    NotExists,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Static {
    /// `nil`.
    Nil,
    /// An integer (Go's `int`, 64 bits).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// `true` or `false`.
    Bool(bool),
    /// A duration, in nanoseconds.
    Duration(i64),
    /// `ok`, `error`, `unset`.
    Status(Status),
    /// `server`, `client`...
    Kind(Kind),
}

/// The type of a value, as Tempo's validation reasons about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StaticType {
    /// `nil`, and the `parent` intrinsic.
    Nil,
    /// Decided per span: an attribute.
    Attribute,
    /// Integer.
    Int,
    /// Float.
    Float,
    /// String.
    String,
    /// Boolean.
    Boolean,
    /// Duration.
    Duration,
    /// Span status.
    Status,
    /// Span kind.
    Kind,
}

impl StaticType {
    /// Integers, floats and durations.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            StaticType::Int | StaticType::Float | StaticType::Duration
        )
    }
}

impl Static {
    /// The value's type.
    pub fn static_type(&self) -> StaticType {
        match self {
            Static::Nil => StaticType::Nil,
            Static::Int(_) => StaticType::Int,
            Static::Float(_) => StaticType::Float,
            Static::String(_) => StaticType::String,
            Static::Bool(_) => StaticType::Boolean,
            Static::Duration(_) => StaticType::Duration,
            Static::Status(_) => StaticType::Status,
            Static::Kind(_) => StaticType::Kind,
        }
    }

    /// The value as a float, as Tempo's `Static.Float` gives it (durations in nanoseconds).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Static::Int(i) => Some(*i as f64),
            Static::Float(f) => Some(*f),
            Static::Duration(d) => Some(*d as f64),
            _ => None,
        }
    }
}

/// A span's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `error`.
    Error,
    /// `ok`.
    Ok,
    /// `unset`.
    Unset,
}

impl Status {
    /// The keyword.
    pub fn name(self) -> &'static str {
        match self {
            Status::Error => "error",
            Status::Ok => "ok",
            Status::Unset => "unset",
        }
    }
}

/// A span's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `unspecified`.
    Unspecified,
    /// `internal`.
    Internal,
    /// `server`.
    Server,
    /// `client`.
    Client,
    /// `producer`.
    Producer,
    /// `consumer`.
    Consumer,
}

impl Kind {
    /// The keyword.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

/// An intrinsic or an attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// A value every span has: `duration`, `span:id`...
    Intrinsic(Intrinsic),
    /// An attribute: `.a`, `span.a`, `resource.a`, `parent.span.a`...
    Named {
        /// Where it is looked up.
        scope: Scope,
        /// `parent.`: on the span's parent.
        parent: bool,
        /// The attribute's name (dots included: `http.status_code`).
        name: String,
    },
}

/// Scopes of attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `.a`: span or resource.
    None,
    /// `resource.`.
    Resource,
    /// `span.`.
    Span,
    /// `event.`.
    Event,
    /// `link.`.
    Link,
    /// `instrumentation.`.
    Instrumentation,
}

impl Scope {
    /// The prefix word.
    pub fn name(self) -> &'static str {
        match self {
            Scope::None => "",
            Scope::Resource => "resource",
            Scope::Span => "span",
            Scope::Event => "event",
            Scope::Link => "link",
            Scope::Instrumentation => "instrumentation",
        }
    }
}

/// The intrinsics TraceQL can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    /// `duration`, `span:duration`.
    Duration,
    /// `name`, `span:name`.
    Name,
    /// `status`, `span:status`.
    Status,
    /// `statusMessage`, `span:statusMessage`.
    StatusMessage,
    /// `kind`, `span:kind`.
    Kind,
    /// `span:childCount`.
    ChildCount,
    /// `parent` (not supported by Tempo's engine).
    Parent,
    /// `rootServiceName`, `trace:rootService`.
    TraceRootService,
    /// `rootName`, `trace:rootName`.
    TraceRootSpan,
    /// `traceDuration`, `trace:duration`.
    TraceDuration,
    /// `trace:id`.
    TraceId,
    /// `span:id`.
    SpanId,
    /// `span:parentID`.
    ParentId,
    /// `nestedSetLeft`.
    NestedSetLeft,
    /// `nestedSetRight`.
    NestedSetRight,
    /// `nestedSetParent`.
    NestedSetParent,
    /// `event:name`.
    EventName,
    /// `event:timeSinceStart`.
    EventTimeSinceStart,
    /// `link:traceID`.
    LinkTraceId,
    /// `link:spanID`.
    LinkSpanId,
    /// `instrumentation:name`.
    InstrumentationName,
    /// `instrumentation:version`.
    InstrumentationVersion,
}

impl Intrinsic {
    /// The canonical spelling, as Tempo prints it.
    pub fn name(self) -> &'static str {
        match self {
            Intrinsic::Duration => "duration",
            Intrinsic::Name => "name",
            Intrinsic::Status => "status",
            Intrinsic::StatusMessage => "statusMessage",
            Intrinsic::Kind => "kind",
            Intrinsic::ChildCount => "span:childCount",
            Intrinsic::Parent => "parent",
            Intrinsic::TraceRootService => "rootServiceName",
            Intrinsic::TraceRootSpan => "rootName",
            Intrinsic::TraceDuration => "traceDuration",
            Intrinsic::TraceId => "trace:id",
            Intrinsic::SpanId => "span:id",
            Intrinsic::ParentId => "span:parentID",
            Intrinsic::NestedSetLeft => "nestedSetLeft",
            Intrinsic::NestedSetRight => "nestedSetRight",
            Intrinsic::NestedSetParent => "nestedSetParent",
            Intrinsic::EventName => "event:name",
            Intrinsic::EventTimeSinceStart => "event:timeSinceStart",
            Intrinsic::LinkTraceId => "link:traceID",
            Intrinsic::LinkSpanId => "link:spanID",
            Intrinsic::InstrumentationName => "instrumentation:name",
            Intrinsic::InstrumentationVersion => "instrumentation:version",
        }
    }

    /// The type of its values.
    pub fn static_type(self) -> StaticType {
        match self {
            Intrinsic::Duration | Intrinsic::TraceDuration | Intrinsic::EventTimeSinceStart => {
                StaticType::Duration
            }
            Intrinsic::ChildCount
            | Intrinsic::NestedSetLeft
            | Intrinsic::NestedSetRight
            | Intrinsic::NestedSetParent => StaticType::Int,
            Intrinsic::Status => StaticType::Status,
            Intrinsic::Kind => StaticType::Kind,
            Intrinsic::Parent => StaticType::Nil,
            // Tempo leaves the instrumentation intrinsics to be typed per span.
            Intrinsic::InstrumentationName | Intrinsic::InstrumentationVersion => {
                StaticType::Attribute
            }
            Intrinsic::Name
            | Intrinsic::StatusMessage
            | Intrinsic::TraceRootService
            | Intrinsic::TraceRootSpan
            | Intrinsic::TraceId
            | Intrinsic::SpanId
            | Intrinsic::ParentId
            | Intrinsic::EventName
            | Intrinsic::LinkTraceId
            | Intrinsic::LinkSpanId => StaticType::String,
        }
    }
}

/// A TraceQL metrics expression.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricsExpr {
    /// `pipeline | first_stage` then second stages.
    Pipeline {
        /// The spans measured.
        pipeline: Pipeline,
        /// What is measured.
        first: FirstStage,
        /// What is done with the series, in order.
        second: Vec<SecondStage>,
    },
    /// `(a) op (b)` between two metrics expressions (`+ - * /`).
    Math {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<MetricsExpr>,
        /// Right operand.
        rhs: Box<MetricsExpr>,
    },
    /// A metrics expression and a number: `(a) * 100`, `1 - (a)`.
    Scalar {
        /// The operator (`+ - * /`).
        op: BinaryOp,
        /// The series operand.
        expr: Box<MetricsExpr>,
        /// The number.
        value: f64,
        /// Whether the number is the left operand.
        scalar_on_left: bool,
    },
    /// Second stages applied to a math or scalar expression: `(a) + (b) | topk(5)`.
    Chained {
        /// The expression.
        expr: Box<MetricsExpr>,
        /// The stages, in order.
        second: Vec<SecondStage>,
    },
}

/// The first stage of a metrics query, which turns spans into series.
#[derive(Clone, Debug, PartialEq)]
pub enum FirstStage {
    /// `rate()`, `count_over_time()`, `avg_over_time(x)`...
    Aggregate {
        /// Which function.
        op: MetricsOp,
        /// Its attribute; `None` for `rate()` and `count_over_time()`.
        attr: Option<Attribute>,
        /// The quantiles of `quantile_over_time`.
        quantiles: Vec<f64>,
        /// `by (a, b)`.
        by: Vec<Attribute>,
    },
    /// `compare({ filter }, topN, start, end)`.
    Compare {
        /// The selection compared with the baseline.
        filter: SpansetFilter,
        /// How many values per attribute (10 when not given).
        top_n: i64,
        /// Selection start, unix nanoseconds (0: not given).
        start: i64,
        /// Selection end, unix nanoseconds (0: not given).
        end: i64,
    },
}

/// The functions of a metrics first stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricsOp {
    /// `rate()`.
    Rate,
    /// `count_over_time()`.
    CountOverTime,
    /// `min_over_time(x)`.
    MinOverTime,
    /// `max_over_time(x)`.
    MaxOverTime,
    /// `avg_over_time(x)`.
    AvgOverTime,
    /// `sum_over_time(x)`.
    SumOverTime,
    /// `quantile_over_time(x, q...)`.
    QuantileOverTime,
    /// `histogram_over_time(x)`.
    HistogramOverTime,
}

impl MetricsOp {
    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            MetricsOp::Rate => "rate",
            MetricsOp::CountOverTime => "count_over_time",
            MetricsOp::MinOverTime => "min_over_time",
            MetricsOp::MaxOverTime => "max_over_time",
            MetricsOp::AvgOverTime => "avg_over_time",
            MetricsOp::SumOverTime => "sum_over_time",
            MetricsOp::QuantileOverTime => "quantile_over_time",
            MetricsOp::HistogramOverTime => "histogram_over_time",
        }
    }
}

/// A stage applied to the series of a metrics query.
#[derive(Clone, Debug, PartialEq)]
pub enum SecondStage {
    /// `topk(n)`.
    TopK(i64),
    /// `bottomk(n)`.
    BottomK(i64),
    /// `> 10`: keeps the samples that compare true (durations in seconds).
    Filter {
        /// The comparison.
        op: BinaryOp,
        /// The number compared with.
        value: f64,
    },
}
