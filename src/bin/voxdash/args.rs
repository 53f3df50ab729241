//! The command line of the binary: clap arguments, and the mapping of each
//! subcommand onto the library's commands ([`voxdash::cli`]) and typed job
//! requests ([`voxdash::jobs::JobRequest`]).

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use voxdash::clock::LocalTime;
use voxdash::config::Config;
use voxdash::i18n::Lang;
use voxdash::jobs::cleanup::CleanupOptions;
use voxdash::jobs::warmup::{self, WarmupOptions};
use voxdash::jobs::JobRequest;
use voxdash::stats::key::{DateRange, Filter, KeyKind};
use voxdash::stats::{parse_date, StatKey};
use voxdash::store::accounts::AccountChange;
use voxdash::{cli, web};

/// voxdash: statistics of a voice-data lab and its practice platform.
#[derive(Debug, Parser)]
#[command(name = "voxdash", version, about)]
pub struct Cli {
    /// Data directory (voxdash.db, stats.redb, backups/).
    #[arg(long, global = true, env = "VOXDASH_DATA", default_value = "./data")]
    pub data_dir: PathBuf,
    /// IANA time zone of local days, weeks, months and hours.
    #[arg(long, global = true, env = "VOXDASH_TZ")]
    pub tz: Option<String>,
    /// Keep the stats cache in this Redis server, shared by several nodes
    /// (redis://[:password@]host[:port][/db] or unix:///path/redis.sock),
    /// instead of the data directory's stats.redb.
    #[arg(long, global = true, env = "VOXDASH_CACHE_URL", hide_env_values = true)]
    pub cache_url: Option<String>,
    /// Keep the data in this PostgreSQL database, shared by several nodes
    /// (postgres://user[:password]@host[:port]/db, or host=/run/postgresql
    /// dbname=…), instead of the data directory's voxdash.db.
    #[arg(
        long,
        global = true,
        env = "VOXDASH_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory and both stores, and print the next steps.
    Init {
        /// Also load the demo dataset if the database is empty, and create
        /// the staff account `admin` with a random password (printed once)
        /// unless an account `admin` exists.
        #[arg(long)]
        demo: bool,
    },
    /// Run the web server.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load a folder of CSV files (see docs/import-format.md).
    Import {
        /// The folder.
        dir: PathBuf,
        /// Abort with nothing written if any row is rejected.
        #[arg(long)]
        strict: bool,
    },
    /// Make a realistic, deterministic demo dataset; imported, it comes
    /// with the staff account `admin` (random password, printed once).
    Demo {
        /// Size relative to the original lab (1 = 186 speakers, 6,282 recordings).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write CSV files here instead of importing into the data directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Recompute the shared statistics: the dashboard, locations and learning.
    Refresh {
        /// Comma-separated subset of dashboard,locations,learning.
        #[arg(long, value_delimiter = ',', value_parser = shared_key)]
        only: Vec<StatKey>,
    },
    /// Compute cache entries ahead of their readers (a user's, or the shared ones).
    Warmup {
        /// Only this user.
        #[arg(long)]
        user: Option<i64>,
        /// Recompute entries that are still current.
        #[arg(long)]
        force: bool,
        /// The shared statistics.
        #[arg(long)]
        global: bool,
    },
    /// Compute the per-user entries of many users (of recently active ones with
    /// --active-users-only).
    Precompute {
        /// Only users active recently.
        #[arg(long)]
        active_users_only: bool,
        /// Days that count as recent.
        #[arg(long, default_value_t = warmup::RECENT_DAYS)]
        days_active: u32,
    },
    /// Data hygiene: invalid sessions, duplicate progress, and (a plain
    /// `cleanup`) old sessions archived, very old archived ones deleted.
    ///
    /// A plain `voxdash cleanup` removes invalid sessions and duplicate
    /// course progress, moves sessions older than the archive age to the
    /// archive, and deletes archived sessions older than the delete age.
    /// Archived sessions no longer count in any statistic. The ages come
    /// from `[retention]` in voxdash.toml (180 and 730 days unless set
    /// there; 0 turns a step off). `--dry-run` prints what a run would
    /// act on; a real run first writes a backup to backups/.
    Cleanup {
        /// Print the count of each rule and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only invalid sessions and duplicate course progress.
        #[arg(long)]
        cleanup_invalid: bool,
        /// Archive sessions that started more than D days ago; 0 archives
        /// none [default: `archive_after_days` of voxdash.toml's [retention],
        /// 180].
        #[arg(long, value_name = "D")]
        archive_older_than: Option<u32>,
        /// Delete archived sessions that started more than D days ago; 0
        /// deletes none [default: `delete_after_days` of [retention], 730].
        #[arg(long, value_name = "D")]
        delete_older_than: Option<u32>,
        /// Rows per transaction.
        #[arg(long, default_value_t = CleanupOptions::BATCH_SIZE)]
        batch_size: usize,
        /// Also delete all data of users inactive for --delete-older-than days.
        #[arg(long)]
        purge_inactive: bool,
        /// Do not write a backup first.
        #[arg(long)]
        no_backup: bool,
    },
    /// Print the crontab lines that run the nightly jobs.
    Schedule,
    /// Write a consistent copy of the database to DEST, also while the
    /// server runs (the stats cache is derived data and not copied).
    Backup {
        /// The file to write (must not exist).
        dest: PathBuf,
    },
    /// Copy the data directory's database (data, accounts, tokens, job
    /// runs, write counters) into an empty PostgreSQL database, and check
    /// every table's row count. Refuses a database that holds any table,
    /// unless told to replace voxdash's rows in it.
    Migrate {
        /// The target: postgres://USER[:PASSWORD]@HOST[:PORT]/DB, or
        /// key=value settings such as "host=/run/postgresql dbname=voxdash".
        #[arg(long, value_name = "DATABASE_URL")]
        to: String,
        /// The target already holds voxdash's tables (of this version, and
        /// nothing else): empty them and copy, in one transaction. Stop the
        /// nodes serving it first.
        #[arg(long)]
        replace: bool,
    },
    /// Replace the database with SRC (a file `backup` wrote). Refused while
    /// a server uses the data directory; the replaced database is kept
    /// beside it as `voxdash.db.replaced-TIME`, and the stats cache is dropped.
    Restore {
        /// The database file to restore.
        src: PathBuf,
    },
    /// Check the data directory: database integrity, schema version, the
    /// aggregates against the rows, the stats cache, free disk space. Exit
    /// status 1 when something is wrong.
    Check {
        /// Rebuild the aggregates the statistics read from the rows.
        #[arg(long)]
        repair: bool,
    },
    /// Print one statistic as the API's JSON envelope.
    Stats(StatsArgs),
    /// Inspect and clear the stats cache.
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// `voxdash serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = cli::DEFAULT_BIND)]
    pub bind: String,
    /// Serve stats pages and JSON without sign-in: anyone who reaches the
    /// server reads every page, every learner's page included, and the
    /// recording list and its manifest.
    #[arg(long)]
    pub public: bool,
    /// Worker threads.
    #[arg(long, default_value_t = 8)]
    pub threads: usize,
    /// Run the nightly jobs in process.
    #[arg(long)]
    pub scheduler: bool,
}

/// `voxdash user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account, or give an imported profile without one a
    /// password. An account that has a password is refused: use `user passwd`.
    Add {
        /// Username: 1 to 64 letters, digits or . _ - @ +; compared ignoring case.
        name: String,
        /// Make it staff.
        #[arg(long)]
        staff: bool,
        /// Read the password from standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a password.
    Passwd {
        /// Username.
        name: String,
        /// Read the password from standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts and profiles.
    List,
    /// Disable an account: it is signed out everywhere at once, cannot sign
    /// in, and its API tokens stop working (until it is enabled again).
    Disable {
        /// Username.
        name: String,
    },
    /// Enable a disabled account (its tokens work again).
    Enable {
        /// Username.
        name: String,
    },
    /// Make an account staff (`--on`) or not (`--off`).
    Staff {
        /// Username.
        name: String,
        /// Make it staff.
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        /// Take staff away.
        #[arg(long)]
        off: bool,
    },
    /// Remove an account's sign-in: its password, staff, browser sessions
    /// and API tokens. The profile and the learner's data stay.
    Remove {
        /// Username.
        name: String,
    },
}

/// `voxdash token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for an account (shown once; only its hash is kept).
    Create {
        /// Username.
        username: String,
    },
    /// List API tokens (ids, owners, dates; never the tokens themselves).
    List {
        /// Only this username's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id, or every token of a user.
    Revoke {
        /// Token id (as printed by `token create`).
        #[arg(long, conflicts_with = "user")]
        id: Option<i64>,
        /// Every token of this username.
        #[arg(long)]
        user: Option<String>,
    },
}

/// `voxdash stats ...`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Recompute instead of reading the cache.
    #[arg(long, global = true)]
    pub refresh: bool,
    /// Language of texts (en, ko, zh).
    #[arg(long, global = true, default_value = "en", value_parser = language)]
    pub lang: Lang,
    /// Which statistic.
    #[command(subcommand)]
    pub which: StatsCommand,
}

/// The days a corpus or locations statistic keeps.
#[derive(Debug, Args)]
pub struct RangeArgs {
    /// Only recordings (uploads for locations) from this local day on (YYYY-MM-DD).
    #[arg(long, value_parser = day("from"))]
    from: Option<NaiveDate>,
    /// Only recordings (uploads for locations) up to this local day, included.
    #[arg(long, value_parser = day("to"))]
    to: Option<NaiveDate>,
}

impl RangeArgs {
    /// The range, `--from` after `--to` refused.
    fn range(&self) -> Result<DateRange> {
        let range = DateRange {
            from: self.from,
            to: self.to,
        };
        range.check()?;
        Ok(range)
    }
}

/// The statistic of `voxdash stats`.
#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Voice corpus statistics, of every speaker or of a group of them.
    Dashboard {
        /// Only speakers of this category (empty: none given).
        #[arg(long)]
        category: Option<String>,
        /// Only speakers with this diagnosis (empty: none given).
        #[arg(long)]
        diagnosis: Option<String>,
        /// Only speakers of this gender.
        #[arg(long)]
        gender: Option<String>,
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Voice corpus statistics of one speaker.
    Speaker {
        /// Speaker id.
        id: i64,
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Upload locations.
    Locations {
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Platform-wide learning statistics.
    Learning,
    /// One user's statistics.
    User {
        /// User id.
        id: i64,
        /// Which of the user's statistics.
        #[command(subcommand)]
        which: UserStats,
    },
}

/// A user's statistic.
#[derive(Debug, Subcommand)]
pub enum UserStats {
    /// One local day (default today).
    Daily {
        /// YYYY-MM-DD.
        #[arg(long, value_parser = day("date"))]
        date: Option<NaiveDate>,
    },
    /// One week (default this week).
    Weekly {
        /// The Monday, YYYY-MM-DD.
        #[arg(long, value_parser = day("week_start"))]
        week_start: Option<NaiveDate>,
    },
    /// The last 30 days.
    Analytics,
    /// Course summary.
    Courses,
}

/// `voxdash cache ...`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List entries: key, status, age, TTL, size, changes since.
    Ls {
        /// Only entries of this kind (dashboard, subcorpus, speaker, daily, ...).
        #[arg(long, value_parser = KeyKind::parse)]
        kind: Option<KeyKind>,
    },
    /// Print one entry's JSON envelope.
    Show {
        /// Key, e.g. dashboard or user/42/analytics.
        key: String,
    },
    /// Drop entries whose key starts with PREFIX (all without one).
    Clear {
        /// Key prefix, e.g. user/42/.
        prefix: Option<String>,
        /// Only entries of this kind (dashboard, subcorpus, speaker, daily, ...).
        #[arg(long, value_parser = KeyKind::parse)]
        kind: Option<KeyKind>,
    },
    /// Hits, misses, stale serves and compute time per key kind (this process).
    Stats,
}

impl Cli {
    /// Runs the command; `Ok(false)` means it ran but failed in part (exit 1).
    pub fn run(self) -> Result<bool> {
        let places = cli::Places {
            cache_url: self.cache_url,
            database_url: self.database_url,
        };
        let config = cli::load_config(&self.data_dir, self.tz.as_deref(), places)?;
        match self.command {
            Command::Init { demo } => cli::init(&config, demo),
            Command::Serve(args) => {
                let options = web::ServeOptions {
                    bind: args.bind,
                    public: args.public,
                    threads: args.threads,
                };
                cli::serve(&config, &options, args.scheduler)
            }
            Command::User(cmd) => cmd.run(&config),
            Command::Token(TokenCommand::Create { username }) => {
                cli::token_create(&config, &username)
            }
            Command::Token(TokenCommand::Revoke { id, user }) => {
                cli::token_revoke(&config, id, user.as_deref())
            }
            Command::Token(TokenCommand::List { user }) => {
                cli::token_list(&config, user.as_deref())
            }
            Command::Import { dir, strict } => cli::import(&config, &dir, strict),
            Command::Demo { scale, seed, out } => cli::demo(&config, scale, seed, out),
            Command::Schedule => cli::schedule(&config),
            Command::Backup { dest } => cli::backup(&config, &dest),
            Command::Restore { src } => cli::restore(&config, &src),
            Command::Migrate { to, replace } => cli::migrate(&config, &to, replace),
            Command::Check { repair } => cli::check(&config, repair),
            job => cli::job(&config, job.request(&config)?),
        }
    }
}

impl UserCommand {
    fn run(self, config: &Config) -> Result<bool> {
        match self {
            UserCommand::Add {
                name,
                staff,
                password_stdin,
            } => cli::user_add(config, &name, staff, password_stdin),
            UserCommand::Passwd {
                name,
                password_stdin,
            } => cli::user_passwd(config, &name, password_stdin),
            UserCommand::List => cli::user_list(config),
            UserCommand::Disable { name } => {
                cli::user_change(config, &name, AccountChange::Disable)
            }
            UserCommand::Enable { name } => cli::user_change(config, &name, AccountChange::Enable),
            UserCommand::Staff { name, on, .. } => {
                cli::user_change(config, &name, AccountChange::Staff(on))
            }
            UserCommand::Remove { name } => {
                cli::user_change(config, &name, AccountChange::RemoveSignIn)
            }
        }
    }
}

impl Command {
    /// The job request of a command that runs through the job runner.
    fn request(self, config: &Config) -> Result<JobRequest> {
        Ok(match self {
            Command::Refresh { only } if only.is_empty() => JobRequest::refresh_all(),
            Command::Refresh { only } => JobRequest::Refresh { keys: only },
            Command::Warmup {
                user,
                force,
                global,
            } => JobRequest::Warmup(WarmupOptions {
                user,
                global,
                force,
            }),
            Command::Precompute {
                active_users_only,
                days_active,
            } => JobRequest::Precompute {
                active_users_only,
                days_active,
            },
            Command::Cleanup {
                dry_run,
                cleanup_invalid,
                archive_older_than,
                delete_older_than,
                batch_size,
                purge_inactive,
                no_backup,
            } => JobRequest::Cleanup(CleanupOptions {
                dry_run,
                invalid_only: cleanup_invalid,
                archive_older_than,
                delete_older_than,
                batch_size,
                purge_inactive,
                no_backup,
            }),
            Command::Stats(args) => JobRequest::Stats {
                key: args.which.key(config)?,
                refresh: args.refresh,
                lang: args.lang,
            },
            Command::Cache(CacheCommand::Ls { kind }) => JobRequest::CacheList { kind },
            Command::Cache(CacheCommand::Show { key }) => JobRequest::CacheShow {
                key: StatKey::parse(&key)?,
            },
            Command::Cache(CacheCommand::Clear { prefix, kind }) => JobRequest::CacheClear {
                prefix: prefix.unwrap_or_default(),
                kind,
            },
            Command::Cache(CacheCommand::Stats) => JobRequest::CacheStats,
            other => anyhow::bail!("{other:?} is not a job"),
        })
    }
}

/// `--only`: one of the shared statistics.
fn shared_key(name: &str) -> Result<StatKey, String> {
    StatKey::shared(name.trim()).ok_or_else(|| {
        format!(
            "{:?} is not one of dashboard, locations, learning",
            name.trim()
        )
    })
}

/// `--lang`: en, ko or zh.
fn language(code: &str) -> Result<Lang, String> {
    Lang::parse(code).ok_or_else(|| format!("{code:?} is not one of en, ko, zh"))
}

/// A `YYYY-MM-DD` option, checked as the web checks its `param`.
fn day(param: &'static str) -> impl Fn(&str) -> Result<NaiveDate, String> + Clone {
    move |text| parse_date(param, text).map_err(|e| e.to_string())
}

impl StatsCommand {
    /// The key of the statistic; a user's day and week default to today's.
    fn key(&self, config: &Config) -> Result<StatKey> {
        let today = config.local.date(config.clock.now_micros());
        let (user, which) = match self {
            StatsCommand::Dashboard {
                category,
                diagnosis,
                gender,
                range,
            } => {
                return Ok(StatKey::sub_corpus(Filter {
                    category: category.clone(),
                    diagnosis: diagnosis.clone(),
                    gender: gender.clone(),
                    range: range.range()?,
                }))
            }
            StatsCommand::Speaker { id, range } => {
                return Ok(StatKey::Speaker {
                    speaker: *id,
                    range: range.range()?,
                })
            }
            StatsCommand::Locations { range } => return Ok(StatKey::locations_in(range.range()?)),
            StatsCommand::Learning => return Ok(StatKey::Learning),
            StatsCommand::User { id, which } => (*id, which),
        };
        let date = match which {
            UserStats::Daily { date: Some(d) } => *d,
            _ => today,
        };
        let monday = match which {
            UserStats::Weekly {
                week_start: Some(d),
            } => *d,
            _ => LocalTime::monday_of(today),
        };
        let [daily, weekly, analytics, courses] = StatKey::user_keys(user, date, monday)?;
        Ok(match which {
            UserStats::Daily { .. } => daily,
            UserStats::Weekly { .. } => weekly,
            UserStats::Analytics => analytics,
            UserStats::Courses => courses,
        })
    }
}
