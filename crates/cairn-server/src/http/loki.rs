//! The Loki HTTP API: push, queries, labels, series, index statistics and volumes, the
//! Drilldown endpoints and live tail, answered as Loki answers them so that Grafana's Loki
//! data source and Logs Drilldown work unchanged.

mod json;
mod params;
mod push;

pub(crate) use push::{answer, push, push_legacy};
