//! The crate's error: a configuration that cannot run.

/// Why a generator configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A name in `processors` that is not one of Tempo's processor names.
    #[error("processors: {name:?} is not a known processor, valid values: {valid}")]
    UnknownProcessor {
        /// The name given.
        name: String,
        /// The accepted names, comma separated.
        valid: String,
    },
    /// Histogram buckets that are not finite and strictly increasing.
    #[error(
        "{key} must be finite and strictly increasing: bucket[{index}]={value} is <= bucket[{prev_index}]={prev} or not finite"
    )]
    Buckets {
        /// The configuration key.
        key: &'static str,
        /// The first bad bucket's index.
        index: usize,
        /// Its value.
        value: f64,
        /// The index before it.
        prev_index: usize,
        /// The value before it.
        prev: f64,
    },
    /// An empty string where an attribute or label name is needed.
    #[error("{key}: empty name at position {index}")]
    EmptyName {
        /// The configuration key.
        key: &'static str,
        /// Position in the list, from 0.
        index: usize,
    },
    /// A dimension mapping without source attributes.
    #[error("dimension_mappings: source_labels cannot be empty for mapping with name {name:?}")]
    NoSourceLabels {
        /// The mapping's label name.
        name: String,
    },
    /// Two configured dimensions that would write the same label.
    #[error("dimension_mapping {name:?} produces label {label:?} which collides with {other}")]
    LabelCollision {
        /// The mapping's name.
        name: String,
        /// The label both would write.
        label: String,
        /// What else writes it.
        other: String,
    },
    /// A duration or count outside the range that makes sense.
    #[error("{key}: {message}")]
    OutOfRange {
        /// The configuration key.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A filter policy that cannot be compiled.
    #[error("{key}[{index}]: {message}")]
    FilterPolicy {
        /// The configuration key.
        key: &'static str,
        /// The policy's position, from 0.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// An external label that is not a valid Prometheus label.
    #[error("external_labels: invalid label name {name:?}")]
    ExternalLabel {
        /// The label name.
        name: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
