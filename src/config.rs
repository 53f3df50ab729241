//! Run-time configuration: the data directory, time zone, clock, cache policy
//! and schedule, built once from flags, environment and `DATA_DIR/voxdash.toml`.

use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::clock::{Clock, LocalTime};

/// Why a configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--tz` / `VOXDASH_TZ` is not an IANA zone name.
    #[error("time zone {0:?} is not an IANA zone name (e.g. Asia/Seoul)")]
    BadZone(String),
    /// `VOXDASH_NOW` is not an RFC 3339 instant.
    #[error("{0}")]
    BadNow(String),
    /// The config file cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for voxdash (the message names the
    /// setting and its line).
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: toml::de::Error,
    },
}

/// Time-to-live of each kind of cache entry and the entry limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CachePolicy {
    /// `dashboard` TTL in seconds.
    pub dashboard_ttl: u64,
    /// `locations` TTL in seconds.
    pub locations_ttl: u64,
    /// `learning` TTL in seconds.
    pub learning_ttl: u64,
    /// `user/{id}/daily/{date}` TTL in seconds.
    pub daily_ttl: u64,
    /// `user/{id}/weekly/{monday}` TTL in seconds.
    pub weekly_ttl: u64,
    /// `user/{id}/analytics` TTL in seconds.
    pub analytics_ttl: u64,
    /// `user/{id}/courses` TTL in seconds.
    pub courses_ttl: u64,
    /// Most entries kept; least recently used per-user entries go first.
    pub max_entries: usize,
    /// Delay of the warm-up scheduled when a user finishes a session, in seconds.
    pub warmup_delay: u64,
    /// With a shared cache (`cache_url`): how long one node may hold the
    /// computation of a key before another takes over, in seconds.
    pub lock_secs: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            dashboard_ttl: 24 * 3600,
            locations_ttl: 24 * 3600,
            learning_ttl: 3600,
            daily_ttl: 5 * 60,
            weekly_ttl: 15 * 60,
            analytics_ttl: 10 * 60,
            courses_ttl: 15 * 60,
            max_entries: 1000,
            warmup_delay: 5,
            lock_secs: 30,
        }
    }
}

/// When the in-process scheduler (`serve --scheduler`) runs each job.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Local time of the nightly refresh, `HH:MM` in the file.
    #[serde(deserialize_with = "hh_mm")]
    pub refresh_at: NaiveTime,
    /// Local time of the nightly cleanup (archive), `HH:MM` in the file.
    #[serde(deserialize_with = "hh_mm")]
    pub cleanup_at: NaiveTime,
    /// Minutes between two precomputes of active users (at least 1).
    #[serde(deserialize_with = "at_least_one")]
    pub precompute_every_minutes: u64,
    /// Minutes between two purges of expired cache entries (at least 1).
    #[serde(deserialize_with = "at_least_one")]
    pub purge_every_minutes: u64,
}

/// Reads `HH:MM` (00:00 to 23:59); anything else is an error that names the
/// setting (the TOML parser adds its key and line), never a silent default.
fn hh_mm<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(d)?;
    NaiveTime::parse_from_str(&text, "%H:%M").map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not a time of day HH:MM (00:00 to 23:59)"
        ))
    })
}

fn at_least_one<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom("must be at least 1")),
        n => Ok(n),
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            refresh_at: NaiveTime::from_hms_opt(3, 0, 0).expect("a valid time"),
            cleanup_at: NaiveTime::from_hms_opt(2, 0, 0).expect("a valid time"),
            precompute_every_minutes: 5,
            purge_every_minutes: 60,
        }
    }
}

/// The optional `DATA_DIR/voxdash.toml`.
/// Limits and settings of the web server (`[server]` in `voxdash.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerPolicy {
    /// Mark cookies `Secure` (set this when a TLS proxy is in front).
    pub secure_cookies: bool,
    /// Open client connections at most; more are answered 503.
    pub max_connections: usize,
    /// Seconds to wait for a client's next bytes (request head, body, or an
    /// idle keep-alive connection's next request) and for it to take ours.
    pub timeout_secs: u64,
    /// Longest request line (method + URL), bytes; longer is 414.
    pub max_request_line: usize,
    /// Largest request head (all header lines), bytes; larger is 431.
    pub max_header_bytes: usize,
    /// Behind a reverse proxy on this host: take the client's address (for
    /// sign-in throttling) from the last `X-Forwarded-For` entry of requests
    /// that come from a loopback address.
    pub trust_forwarded_for: bool,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        ServerPolicy {
            secure_cookies: false,
            max_connections: 512,
            timeout_secs: 10,
            max_request_line: 8 * 1024,
            max_header_bytes: 32 * 1024,
            trust_forwarded_for: false,
        }
    }
}

/// How long study sessions are kept (`[retention]`), in days; 0 turns a
/// step off. `cleanup` and its nightly run follow it unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Sessions that started longer ago are moved to the archive, where the
    /// statistics no longer count them.
    pub archive_after_days: u32,
    /// Archived sessions that started longer ago are deleted for good.
    pub delete_after_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            archive_after_days: 180,
            delete_after_days: 730,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// IANA zone; `--tz` / `VOXDASH_TZ` override it.
    pub tz: Option<String>,
    /// `[cache]` section.
    pub cache: CachePolicy,
    /// `[schedule]` section.
    pub schedule: ScheduleConfig,
    /// How many cleanup backups to keep in `backups/`.
    pub backups_keep: Option<usize>,
    /// Web server limits and cookie settings.
    pub server: ServerPolicy,
    /// `[retention]` section.
    pub retention: RetentionPolicy,
    /// A Redis server holding the stats cache of every node
    /// (`redis://…` or `unix:///…`); `--cache-url` / `VOXDASH_CACHE_URL`
    /// override it.
    pub cache_url: Option<String>,
    /// A PostgreSQL database holding the data of every node
    /// (`postgres://…`); `--database-url` / `VOXDASH_DATABASE_URL`
    /// override it.
    pub database_url: Option<String>,
}

/// Everything a command needs to know about where and when it runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (`voxdash.db`, `stats.redb`, `backups/`).
    pub data_dir: PathBuf,
    /// Local calendar of the configured zone.
    pub local: LocalTime,
    /// Source of "now".
    pub clock: Clock,
    /// Cache TTLs and limits.
    pub cache: CachePolicy,
    /// Scheduler times.
    pub schedule: ScheduleConfig,
    /// Web server limits and cookie settings.
    pub server: ServerPolicy,
    /// Cleanup backups kept.
    pub backups_keep: usize,
    /// How long sessions are kept.
    pub retention: RetentionPolicy,
    /// The Redis server of a shared stats cache; `None`: the data
    /// directory's file.
    pub cache_url: Option<String>,
    /// The PostgreSQL database of the data; `None`: the data directory's
    /// `voxdash.db`.
    pub database_url: Option<String>,
}

impl Config {
    /// Builds the configuration: `tz` and `now` are the flag/env values (flags
    /// win over env, both over the file); the file is read when present.
    pub fn load(
        data_dir: &Path,
        tz: Option<&str>,
        now: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let file_path = data_dir.join("voxdash.toml");
        let file = match std::fs::read_to_string(&file_path) {
            Ok(text) => {
                toml::from_str::<ConfigFile>(&text).map_err(|source| ConfigError::Parse {
                    path: file_path.clone(),
                    source,
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigFile::default(),
            Err(e) => {
                return Err(ConfigError::Read {
                    path: file_path,
                    source: e,
                })
            }
        };
        let tz_name = tz
            .map(str::to_string)
            .or(file.tz.clone())
            .unwrap_or_else(|| "UTC".into());
        let zone: Tz = tz_name
            .parse()
            .map_err(|_| ConfigError::BadZone(tz_name.clone()))?;
        let clock = Clock::from_env_value(now).map_err(ConfigError::BadNow)?;
        Ok(Config {
            data_dir: data_dir.to_path_buf(),
            local: LocalTime::new(zone),
            clock,
            cache: file.cache,
            schedule: file.schedule,
            server: file.server,
            backups_keep: file.backups_keep.unwrap_or(7),
            retention: file.retention,
            cache_url: file.cache_url.filter(|u| !u.is_empty()),
            database_url: file.database_url.filter(|u| !u.is_empty()),
        })
    }

    /// A configuration for tests and tools: defaults, the given zone and clock.
    pub fn with(data_dir: &Path, tz: Tz, clock: Clock) -> Config {
        Config {
            data_dir: data_dir.to_path_buf(),
            local: LocalTime::new(tz),
            clock,
            cache: CachePolicy::default(),
            schedule: ScheduleConfig::default(),
            server: ServerPolicy::default(),
            backups_keep: 7,
            retention: RetentionPolicy::default(),
            cache_url: None,
            database_url: None,
        }
    }

    /// Path of the SQLite store.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("voxdash.db")
    }

    /// Path of the stats cache.
    pub fn cache_path(&self) -> PathBuf {
        self.data_dir.join("stats.redb")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("voxdash.toml"), toml).unwrap();
        Config::load(dir.path(), None, None)
    }

    #[test]
    fn schedule_times_are_read_once_and_bad_ones_are_errors_naming_the_setting() {
        let c = load_with("[schedule]\nrefresh_at = \"04:30\"\n").unwrap();
        assert_eq!(
            c.schedule.refresh_at,
            NaiveTime::from_hms_opt(4, 30, 0).unwrap()
        );
        assert_eq!(
            c.schedule.cleanup_at,
            NaiveTime::from_hms_opt(2, 0, 0).unwrap()
        );
        for (bad, key) in [
            ("[schedule]\nrefresh_at = \"25:99\"\n", "refresh_at"),
            ("[schedule]\ncleanup_at = \"3am\"\n", "cleanup_at"),
            (
                "[schedule]\nprecompute_every_minutes = 0\n",
                "precompute_every_minutes",
            ),
        ] {
            let err = load_with(bad).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("voxdash.toml"), "{err}");
        }
    }
}
