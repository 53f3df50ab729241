//! Jobs, the one service boundary above the cache: refresh of the shared
//! statistics, warm-up and precompute of per-user entries, cleanup, purge,
//! and the cache and statistics commands. A [`JobRequest`] goes through one
//! runner ([`run`], or [`begin`] then [`Started::run`]) that takes the lease,
//! reports [`Progress`], records the run and returns a [`JobReport`]; the
//! CLI, the scheduler, the web buttons and the control channel all call it.

pub mod admin;
pub mod cleanup;
pub mod lease;
pub mod refresh;
mod runner;
pub mod scheduler;
pub mod warmup;

pub use runner::{begin, run, JobError, JobReport, JobRequest, Printed, Progress, Started};
