//! Query results as the HTTP layer and the rule engine consume them.

use cairn_model::{Labels, Series};

/// One sample of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    /// The series' labels.
    pub labels: Labels,
    /// Evaluation time in milliseconds.
    pub t_ms: i64,
    /// The value.
    pub v: f64,
}

/// The value of an evaluated expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar at the evaluation time.
    Scalar {
        /// Evaluation time in milliseconds.
        t_ms: i64,
        /// The value.
        v: f64,
    },
    /// A string at the evaluation time.
    String {
        /// Evaluation time in milliseconds.
        t_ms: i64,
        /// The string.
        v: String,
    },
    /// An instant vector (instant queries only).
    Vector(Vec<InstantSample>),
    /// A range vector: series with their points (range queries, and range selectors or
    /// subqueries in instant queries).
    Matrix(Vec<Series>),
}

/// Warnings and informational notes collected while evaluating, as Prometheus reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    /// `PromQL warning: ...` messages.
    pub warnings: Vec<String>,
    /// `PromQL info: ...` messages.
    pub infos: Vec<String>,
}

impl Annotations {
    pub(crate) fn warn(&mut self, msg: String) {
        let msg = format!("PromQL warning: {msg}");
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    pub(crate) fn info(&mut self, msg: String) {
        let msg = format!("PromQL info: {msg}");
        if !self.infos.contains(&msg) {
            self.infos.push(msg);
        }
    }
}

/// A value with the annotations its evaluation produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The result.
    pub value: Value,
    /// Warnings and infos.
    pub annotations: Annotations,
}
