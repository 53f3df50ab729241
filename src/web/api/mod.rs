//! The JSON API under `/api/v1/`: one file per area. Handlers decode the
//! request into typed inputs, call the statistics, jobs or domain writes,
//! and encode the answer; the rules themselves live below the web layer.

pub(super) mod cache;
pub(super) mod recordings;
pub(super) mod search;
pub(super) mod sessions;
pub(super) mod stats;
