//! voxdash: statistics of a voice-data lab and its practice platform, kept in
//! SQLite, cached in redb, served as pages and JSON by one binary.
//!
//! Data flows one way: `store` → `stats` → `cache` → `web` / `cli`.
//!
//! - [`clock`]: "now" (`VOXDASH_NOW`) and local calendar arithmetic.
//! - [`config`]: data directory, zone, cache policy, schedule.
//! - [`store`]: SQLite, migrations, write counters, accounts, job record.
//! - [`accounts`]: password hashes and tokens.
//! - [`jobs`]: refresh, warm-up, precompute.
//! - [`rules`]: bounds on values where they enter (import and write API).
//! - [`import`]: the CSV import format.
//! - [`stats`]: pure computations of every statistic of `stats.md`.
//! - [`cache`]: the redb stats cache (fresh / cached / stale).
//! - [`i18n`]: English, Korean and Chinese texts.

pub mod accounts;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod i18n;
pub mod import;
pub mod jobs;
pub mod rules;
pub mod stats;
pub mod store;
pub mod web;
pub mod writes;
