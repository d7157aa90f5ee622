//! Terminal symbols of the grammar, numbered in the order Tempo's `expr.y` declares them: the
//! order decides how "expecting X or Y" lists in syntax errors read, and the names are the
//! ones those messages print (Tempo replaces a token's name by its text where it has one).

/// End of input.
pub(crate) const END: u8 = cairn_syntax::END;

// UMINUS is declared only to keep Tempo's numbering.
cairn_syntax::tokens! {
    IDENTIFIER = "IDENTIFIER",
    STRING = "STRING",
    INTEGER = "INTEGER",
    FLOAT = "FLOAT",
    DURATION = "DURATION",
    DOT = ".",
    OPEN_BRACE = "{",
    CLOSE_BRACE = "}",
    OPEN_PARENS = "(",
    CLOSE_PARENS = ")",
    COMMA = ",",
    NIL = "nil",
    TRUE = "true",
    FALSE = "false",
    STATUS_ERROR = "error",
    STATUS_OK = "ok",
    STATUS_UNSET = "unset",
    KIND_UNSPECIFIED = "unspecified",
    KIND_INTERNAL = "internal",
    KIND_SERVER = "server",
    KIND_CLIENT = "client",
    KIND_PRODUCER = "producer",
    KIND_CONSUMER = "consumer",
    IDURATION = "duration",
    CHILDCOUNT = "childCount",
    NAME = "name",
    STATUS = "status",
    STATUS_MESSAGE = "statusMessage",
    PARENT = "parent",
    KIND = "kind",
    ROOTNAME = "rootName",
    ROOTSERVICENAME = "rootServiceName",
    ROOTSERVICE = "rootService",
    TRACEDURATION = "traceDuration",
    NESTEDSETLEFT = "nestedSetLeft",
    NESTEDSETRIGHT = "nestedSetRight",
    NESTEDSETPARENT = "nestedSetParent",
    ID = "id",
    TRACE_ID = "traceID",
    SPAN_ID = "spanID",
    PARENT_ID = "parentID",
    TIMESINCESTART = "timeSinceStart",
    VERSION = "version",
    PARENT_DOT = "parent.",
    RESOURCE_DOT = "resource.",
    SPAN_DOT = "span.",
    TRACE_COLON = "trace:",
    SPAN_COLON = "span:",
    EVENT_COLON = "event:",
    EVENT_DOT = "event.",
    LINK_COLON = "link:",
    LINK_DOT = "link.",
    INSTRUMENTATION_COLON = "instrumentation:",
    INSTRUMENTATION_DOT = "instrumentation.",
    COUNT = "count",
    AVG = "avg",
    MAX = "max",
    MIN = "min",
    SUM = "sum",
    BY = "by",
    COALESCE = "coalesce",
    SELECT = "select",
    END_ATTRIBUTE = "END_ATTRIBUTE",
    RATE = "rate",
    COUNT_OVER_TIME = "count_over_time",
    MIN_OVER_TIME = "min_over_time",
    MAX_OVER_TIME = "max_over_time",
    AVG_OVER_TIME = "avg_over_time",
    SUM_OVER_TIME = "sum_over_time",
    QUANTILE_OVER_TIME = "quantile_over_time",
    HISTOGRAM_OVER_TIME = "histogram_over_time",
    COMPARE = "compare",
    TOPK = "topk",
    BOTTOMK = "bottomk",
    WITH = "with",
    PIPE = "|",
    AND = "&&",
    OR = "||",
    EQ = "=",
    NEQ = "!=",
    LT = "<",
    LTE = "<=",
    GT = ">",
    GTE = ">=",
    NRE = "!~",
    RE = "=~",
    DESC = ">>",
    ANCE = "<<",
    SIBL = "~",
    NOT_CHILD = "!>",
    NOT_PARENT = "!<",
    NOT_DESC = "!>>",
    NOT_ANCE = "!<<",
    UNION_CHILD = "&>",
    UNION_PARENT = "&<",
    UNION_DESC = "&>>",
    UNION_ANCE = "&<<",
    UNION_SIBL = "&~",
    ADD = "+",
    SUB = "-",
    NOT = "!",
    MUL = "*",
    DIV = "/",
    MOD = "%",
    POW = "^",
    UMINUS = "UMINUS",
}

/// Number of terminals, the pseudo-tokens included.
pub(crate) const N_TERMS: usize = NAMES.len();

/// The token of a grammar name (`OPEN_BRACE`, `$end`).
pub(crate) fn terminal(ident: &str) -> Option<u8> {
    IDENTS.iter().position(|n| *n == ident).map(|i| i as u8)
}

/// The token a word or operator of `tokenMap` stands for.
pub(crate) fn lookup(text: &str) -> Option<u8> {
    // Names double as texts except for the few tokens without one.
    if matches!(
        text,
        "IDENTIFIER" | "STRING" | "INTEGER" | "FLOAT" | "DURATION" | "END_ATTRIBUTE" | "UMINUS"
    ) {
        return None;
    }
    NAMES
        .iter()
        .skip(4)
        .position(|n| *n == text)
        .map(|i| (i + 4) as u8)
}
