//! Jobs, the one service boundary above the cache: refresh of the shared
//! statistics, warm-up and precompute of per-user entries, cleanup, purge,
//! and the cache and statistics commands. A [`JobRequest`] goes through one
//! runner ([`run`], or [`begin`] then [`Started::run`]) that takes the lease,
//! reports [`Progress`], records the run and returns a [`JobReport`]; the
//! CLI, the scheduler, the web buttons and the control channel all call it.

pub(crate) mod admin;
pub mod cleanup;
pub mod lease;
pub(crate) mod refresh;
mod runner;
pub mod scheduler;
pub mod warmup;

pub use crate::store::jobs::RunBy;
pub use runner::{begin, run, JobError, JobReport, JobRequest, Printed, Progress, Started};

/// A job that runs under a lease (never twice at once, across processes)
/// and is recorded in the job history under [`JobName::as_str`]. The CLI,
/// the scheduler, the control channel and the web name jobs by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobName {
    /// `refresh`: the shared statistics recomputed.
    Refresh,
    /// `warmup`: per-user entries warmed.
    Warmup,
    /// `precompute`: per-user entries of many users warmed.
    Precompute,
    /// `cleanup`: invalid data removed, old sessions archived and deleted.
    Cleanup,
    /// `purge`: expired per-user cache entries dropped.
    Purge,
}

impl JobName {
    /// The name in the job history, the lease table and log lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobName::Refresh => "refresh",
            JobName::Warmup => "warmup",
            JobName::Precompute => "precompute",
            JobName::Cleanup => "cleanup",
            JobName::Purge => "purge",
        }
    }
}

impl std::fmt::Display for JobName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
