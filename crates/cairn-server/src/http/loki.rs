//! The Loki HTTP API: push, queries, labels, series, index statistics and volumes, the
//! Drilldown endpoints and live tail, answered as Loki answers them so that Grafana's Loki
//! data source and Logs Drilldown work unchanged.

mod detected;
mod index;
mod json;
mod meta;
mod params;
mod patterns;
mod push;
mod query;
mod tail;

pub(crate) use push::{answer, push, push_legacy};

pub(crate) use detected::{detected_field_values, detected_fields};
pub(crate) use index::{
    detected_labels, label_values, labels, series, stats, volume, volume_range,
};
pub(crate) use meta::{buildinfo, drilldown_limits, format_query};
pub(crate) use patterns::patterns;
pub(crate) use query::{query, query_range};
pub(crate) use tail::tail;
