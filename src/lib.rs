//! voxdash: statistics of a voice-data lab and its practice platform, kept in
//! SQLite (or PostgreSQL), cached in redb (or Redis), served as pages and
//! JSON by one binary.
//!
//! Data flows one way: `store` → `stats` → `cache` → `jobs` → `web` / `cli`
//! (`docs/ARCHITECTURE.md` has the map and the flows).
//!
//! - [`clock`]: "now" (`VOXDASH_NOW`) and local calendar arithmetic.
//! - [`rules`]: bounds on values where they enter, and the business rules
//!   the write API, the import and cleanup share.
//! - [`i18n`]: English, Korean and Chinese texts.
//! - [`accounts`]: password hashes and tokens.
//! - [`demo`]: the demo dataset.
//! - [`regions`]: which region an address falls in.
//! - [`config`]: data directory, zone, cache policy, schedule, server limits.
//! - [`store`]: SQLite or PostgreSQL: migrations, write counters, accounts,
//!   the job record and lease, the statistics' rows, the copy into PostgreSQL.
//! - [`stats`]: pure computations of every statistic of `docs/statistics.md`.
//! - [`import`]: the CSV import format of `docs/import-format.md`.
//! - [`cache`]: the stats cache (fresh / cached / stale) in a redb file or Redis.
//! - [`App`]: the store, the stats cache and the configuration, opened once
//!   and handed to every job, write, handler and command.
//! - [`jobs`]: refresh, warm-up, precompute, cleanup, purge, admin commands,
//!   through one runner; the scheduler.
//! - [`writes`]: the domain writes of the API (sessions, progress, recordings).
//! - [`control`]: the control channel through which the CLI reaches a server.
//! - [`web`]: the HTTP server, pages, JSON API, event streams, `/metrics`.
//! - [`cli`]: the commands, called by the thin binary.

pub mod accounts;
mod app;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod i18n;
pub mod import;
pub mod jobs;
pub mod regions;
pub mod rules;
pub mod stats;
pub mod store;
pub mod web;
pub mod writes;

pub use app::App;
