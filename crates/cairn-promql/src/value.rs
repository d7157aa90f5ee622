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

/// What a query cost, in the terms of Prometheus' `stats` object (times in seconds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryStats {
    /// Evaluation proper, from the first fetch to the shaped result.
    pub eval_total_time: f64,
    /// Sorting the result series.
    pub result_sort_time: f64,
    /// Parsing and planning.
    pub query_preparation_time: f64,
    /// Evaluation on the blocking pool, without fetching.
    pub inner_eval_time: f64,
    /// Waiting for a query slot (filled in by the caller that queues queries).
    pub exec_queue_time: f64,
    /// Everything, queueing included (the caller adds its queue time).
    pub exec_total_time: f64,
    /// Samples read from storage.
    pub total_queryable_samples: i64,
    /// Largest number of samples held at once (fetched samples plus the result's points: an
    /// upper estimate, as evaluation frees nothing before it ends).
    pub peak_samples: i64,
    /// Samples read per step of a range query, as `(time in ms, samples)`; a sample counts
    /// towards the first step at or after its timestamp.
    pub per_step: Vec<(i64, i64)>,
}
