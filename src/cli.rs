//! The command line: clap arguments, the configuration built from them once,
//! and one `match` that runs the subcommand. Errors become one line on
//! stderr and a non-zero exit status in `main.rs`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::cache::StatsCache;
use crate::config::Config;
use crate::i18n::Lang;
use crate::import::{import_dir, ImportOptions};
use crate::jobs::{cleanup, refresh, warmup};
use crate::stats::{parse_date, StatKey};
use crate::store::{self, Store};
use crate::{accounts, clock};

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
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory and both stores.
    Init {
        /// Also load the demo dataset if the database is empty, and create a
        /// staff account `admin` with a random password if no staff can sign in.
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
    /// Load a folder of CSV files (see data-format.md).
    Import {
        /// The folder.
        dir: PathBuf,
        /// Abort with nothing written if any row is rejected.
        #[arg(long)]
        strict: bool,
    },
    /// Make a realistic, deterministic demo dataset.
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
    /// Recompute the shared statistics (refresh_dashboard_cache).
    Refresh {
        /// Comma-separated subset of dashboard,locations,learning.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Warm caches (CacheWarmupService).
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
    /// Per-user entries for many users (precompute_cache).
    Precompute {
        /// Only users active recently.
        #[arg(long)]
        active_users_only: bool,
        /// Days that count as recent.
        #[arg(long, default_value_t = 7)]
        days_active: u32,
    },
    /// Data hygiene (cleanup_learning_data): invalid rows, duplicates, archive, delete.
    Cleanup {
        /// Print the count of each rule and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only invalid sessions and duplicate course progress.
        #[arg(long)]
        cleanup_invalid: bool,
        /// Archive sessions that started more than D days ago.
        #[arg(long, value_name = "D", default_value_t = 180)]
        archive_older_than: u32,
        /// Delete archived sessions that started more than D days ago.
        #[arg(long, value_name = "D", default_value_t = 730)]
        delete_older_than: u32,
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
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
    /// Replace the database with SRC (a file `backup` wrote). Refused while
    /// a server uses the data directory; the replaced database is kept
    /// beside it as `voxdash.db.replaced-TIME`, and the stats cache is dropped.
    Restore {
        /// The database file to restore.
        src: PathBuf,
    },
    /// Check the data directory: database integrity, schema version, the
    /// stats cache, free disk space. Exit status 1 when something is wrong.
    Check,
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
    #[arg(long, default_value = "127.0.0.1:8010")]
    pub bind: String,
    /// Serve stats pages and JSON without sign-in.
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
    /// Create an account, or give an imported profile a password.
    Add {
        /// Username.
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
}

/// `voxdash token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for an account (shown once; only its hash is kept).
    Create {
        /// Username.
        username: String,
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
    #[arg(long, global = true, default_value = "en")]
    pub lang: String,
    /// Which statistic.
    #[command(subcommand)]
    pub which: StatsCommand,
}

/// The statistic of `voxdash stats`.
#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Voice corpus statistics.
    Dashboard,
    /// Upload locations.
    Locations,
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
        #[arg(long)]
        date: Option<String>,
    },
    /// One week (default this week).
    Weekly {
        /// The Monday, YYYY-MM-DD.
        #[arg(long)]
        week_start: Option<String>,
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
    Ls,
    /// Print one entry's JSON envelope.
    Show {
        /// Key, e.g. dashboard or user/42/analytics.
        key: String,
    },
    /// Drop entries whose key starts with PREFIX (all without one).
    Clear {
        /// Key prefix, e.g. user/42/.
        prefix: Option<String>,
    },
    /// Hits, misses, stale serves and compute time per key kind (this process).
    Stats,
}

/// Builds the configuration from the arguments and the environment.
fn config(cli: &Cli) -> Result<Config> {
    let now = std::env::var("VOXDASH_NOW").ok();
    Ok(Config::load(
        &cli.data_dir,
        cli.tz.as_deref(),
        now.as_deref(),
    )?)
}

fn open_store(config: &Config) -> Result<Arc<Store>> {
    Ok(Arc::new(Store::open(&config.db_path())?))
}

fn read_password(prompt_for: &str, from_stdin: bool) -> Result<String> {
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        eprint!("Password for {prompt_for}: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.len() < 8 {
        bail!("password: must be at least 8 characters");
    }
    Ok(password)
}

/// Runs the command; `Ok(false)` means it ran but failed in part (exit 1).
pub fn run(cli: Cli) -> Result<bool> {
    let config = config(&cli)?;
    match cli.command {
        Command::Init { demo: with_demo } => {
            let store = open_store(&config)?;
            let cache = StatsCache::open(&config, Arc::clone(&store))?;
            eprintln!(
                "data directory {} ready ({} and {})",
                config.data_dir.display(),
                config.db_path().display(),
                cache.path().display()
            );
            drop(cache);
            if with_demo {
                if store.is_empty()? {
                    eprintln!("the database is empty: loading the demo dataset");
                    demo(&config, 1.0, 42, None)?;
                }
                let conn = store.conn()?;
                if !store::accounts::staff_with_password_exists(&conn)? {
                    let password = accounts::new_password();
                    let hash = accounts::hash_password(&password);
                    store::accounts::upsert_with_password(
                        &conn,
                        "admin",
                        true,
                        &hash,
                        config.clock.now_micros(),
                    )?;
                    println!("staff login: admin / {password}  (shown once; change it with `voxdash user passwd admin`)");
                }
            }
            Ok(true)
        }
        Command::Serve(args) => {
            let store = open_store(&config)?;
            // A CLI job may hold the cache for a moment: wait for it.
            let mut tries = 0;
            let cache = loop {
                match StatsCache::open(&config, Arc::clone(&store)) {
                    Err(crate::cache::CacheError::Locked(path)) if tries < 60 => {
                        if tries == 0 {
                            log::warn!(
                                "{} is in use by another voxdash process; waiting",
                                path.display()
                            );
                        }
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(500));
                    }
                    other => break other?,
                }
            };
            let options = crate::web::ServeOptions {
                bind: args.bind.clone(),
                public: args.public,
                threads: args.threads,
            };
            let _scheduler = args.scheduler.then(|| {
                log::info!(
                    "scheduler on: refresh at {}, cleanup at {}",
                    config.schedule.refresh_at,
                    config.schedule.cleanup_at
                );
                crate::jobs::scheduler::Scheduler::start(
                    Arc::clone(&cache),
                    std::time::Duration::from_secs(20),
                )
            });
            crate::web::serve_forever(cache, &options)?;
            Ok(true)
        }
        Command::Cleanup {
            dry_run,
            cleanup_invalid,
            archive_older_than,
            delete_older_than,
            batch_size,
            purge_inactive,
            no_backup,
        } => {
            if batch_size == 0 {
                bail!("--batch-size: must be at least 1");
            }
            let options = cleanup::CleanupOptions {
                dry_run,
                invalid_only: cleanup_invalid,
                archive_older_than,
                delete_older_than,
                batch_size,
                purge_inactive,
                no_backup,
            };
            let store = open_store(&config)?;
            let _lease = if dry_run {
                None
            } else {
                Some(job_lease(&store, "cleanup")?)
            };
            // The cache is optional here: while a server holds it, the write
            // counters make its entries stale anyway.
            let cache = StatsCache::open(&config, Arc::clone(&store)).ok();
            let started = config.clock.now_micros();
            let t = std::time::Instant::now();
            let report = cleanup::cleanup(&store, &config, cache.as_ref(), &options)?;
            print!("{}", report.render());
            if !dry_run {
                let run = store::jobs::JobRun {
                    job: "cleanup".into(),
                    started_at: started,
                    duration_ms: t.elapsed().as_secs_f64() * 1000.0,
                    outcome: "ok".into(),
                    summary: report.summary(),
                };
                store::jobs::record(&*store.conn()?, &run)?;
            }
            Ok(true)
        }
        Command::Backup { dest } => {
            let store = Store::open_existing(&config.db_path())
                .with_context(|| format!("no database in {}", config.data_dir.display()))?;
            crate::jobs::admin::backup(&store, &dest)?;
            eprintln!("backup written to {}", dest.display());
            Ok(true)
        }
        Command::Restore { src } => {
            let report = crate::jobs::admin::restore(&config, &src)?;
            eprintln!("restored {}", src.display());
            if let Some(old) = report.replaced {
                eprintln!("the replaced database is kept as {}", old.display());
            }
            Ok(true)
        }
        Command::Check => {
            let findings = crate::jobs::admin::check(&config);
            for f in &findings {
                println!(
                    "{} {:<20} {}",
                    if f.ok { "ok  " } else { "FAIL" },
                    f.what,
                    f.detail
                );
            }
            Ok(findings.iter().all(|f| f.ok))
        }
        Command::Schedule => {
            let exe = std::env::current_exe().context("cannot find the voxdash binary")?;
            let dir = std::fs::canonicalize(&config.data_dir).unwrap_or(config.data_dir.clone());
            print!("{}", schedule_lines(&exe, &dir, &config));
            Ok(true)
        }
        Command::User(cmd) => user(&config, cmd),
        Command::Token(cmd) => token(&config, cmd),
        Command::Import { dir, strict } => {
            let store = open_store(&config)?;
            let options = ImportOptions {
                strict,
                progress: true,
            };
            let report = import_dir(&store, &dir, &options)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            for r in report.rejected.iter().take(50) {
                eprintln!("rejected: {r}");
            }
            if report.rejected.len() > 50 {
                eprintln!("... and {} more rejected rows", report.rejected.len() - 50);
            }
            eprint!("{}", report.render());
            Ok(true)
        }
        Command::Demo { scale, seed, out } => demo(&config, scale, seed, out),
        Command::Refresh { .. }
        | Command::Warmup { .. }
        | Command::Precompute { .. }
        | Command::Stats(_)
        | Command::Cache(_) => {
            let store = open_store(&config)?;
            match StatsCache::open(&config, store) {
                Ok(cache) => {
                    let ok = run_cached(
                        &cache,
                        &cli.command,
                        &mut std::io::stdout(),
                        &mut std::io::stderr(),
                        true,
                    )?;
                    cache.wait_idle();
                    Ok(ok)
                }
                Err(crate::cache::CacheError::Locked(path)) => {
                    // The server holds the cache: it runs the command for us.
                    let args: Vec<String> = std::env::args().skip(1).collect();
                    match crate::web::client::run_on_server(&config.data_dir, &args) {
                        Some(Ok(remote)) => {
                            print!("{}", remote.stdout);
                            eprint!("{}", remote.stderr);
                            Ok(remote.ok)
                        }
                        Some(Err(e)) => bail!("{e}"),
                        None => bail!(
                            "{} is open in another voxdash process and no server answers for it",
                            path.display()
                        ),
                    }
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Runs a command that needs the stats cache, writing what it prints to
/// `out` and `err`: in this process, or in the server for the CLI.
/// `local` = in the CLI process (progress bars allowed).
fn run_cached(
    cache: &Arc<StatsCache>,
    command: &Command,
    out: &mut dyn Write,
    err: &mut dyn Write,
    local: bool,
) -> Result<bool> {
    match command {
        Command::Refresh { only } => {
            let _lease = job_lease(cache.store(), "refresh")?;
            let keys = if only.is_empty() {
                StatKey::SHARED.to_vec()
            } else {
                only.iter()
                    .map(|k| {
                        StatKey::shared(k.trim()).ok_or_else(|| {
                            anyhow::anyhow!(
                                "--only: {:?} is not one of dashboard, locations, learning",
                                k.trim()
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?
            };
            let report = refresh::refresh(cache, &keys, |l| {
                let _ = writeln!(out, "{l}");
            });
            record_job(
                cache,
                "refresh",
                report.started_at,
                report.seconds,
                report.ok(),
                &report.summary(),
            );
            Ok(report.ok())
        }
        Command::Warmup {
            user,
            force,
            global,
        } => {
            let _lease = job_lease(cache.store(), "warmup")?;
            let started = cache.config().clock.now_micros();
            let t = std::time::Instant::now();
            let report = warmup::warmup(
                cache,
                &warmup::WarmupOptions {
                    user: *user,
                    global: *global,
                    force: *force,
                    progress: local,
                },
            )?;
            writeln!(out, "warmup: {}", report.summary())?;
            for (k, e) in &report.failed {
                writeln!(err, "failed: {k}: {e}")?;
            }
            record_job(
                cache,
                "warmup",
                started,
                t.elapsed().as_secs_f64(),
                report.failed.is_empty(),
                &report.summary(),
            );
            Ok(report.failed.is_empty())
        }
        Command::Precompute {
            active_users_only,
            days_active,
        } => {
            let _lease = job_lease(cache.store(), "precompute")?;
            let started = cache.config().clock.now_micros();
            let t = std::time::Instant::now();
            let report = warmup::precompute(cache, *active_users_only, *days_active, local)?;
            writeln!(out, "precompute: {}", report.summary())?;
            record_job(
                cache,
                "precompute",
                started,
                t.elapsed().as_secs_f64(),
                report.failed.is_empty(),
                &report.summary(),
            );
            Ok(report.failed.is_empty())
        }
        Command::Stats(args) => stats(cache, args, out),
        Command::Cache(cmd) => cache_command(cache, cmd, out, err),
        _ => bail!("not a command of the stats cache"),
    }
}

/// Runs CLI arguments on the server's cache (the control channel); returns
/// whether the command succeeded. Errors are written to `err`.
pub fn run_remote(
    cache: &Arc<StatsCache>,
    args: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> bool {
    let parsed =
        Cli::try_parse_from(std::iter::once("voxdash".to_string()).chain(args.iter().cloned()));
    let result = parsed
        .map_err(anyhow::Error::from)
        .and_then(|cli| run_cached(cache, &cli.command, out, err, false));
    match result {
        Ok(ok) => ok,
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            false
        }
    }
}

/// The lease of a job, or an error saying it already runs elsewhere.
fn job_lease(store: &Arc<Store>, job: &str) -> Result<crate::jobs::lease::Lease> {
    crate::jobs::lease::take(store, job)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{job} is already running (in this or another voxdash process); not started"
        )
    })
}

fn record_job(
    cache: &StatsCache,
    job: &str,
    started_at: i64,
    seconds: f64,
    ok: bool,
    summary: &str,
) {
    let run = store::jobs::JobRun {
        job: job.into(),
        started_at,
        duration_ms: seconds * 1000.0,
        outcome: if ok { "ok" } else { "failed" }.into(),
        summary: summary.into(),
    };
    if let Err(e) = cache
        .store()
        .conn()
        .map_err(anyhow::Error::from)
        .and_then(|c| Ok(store::jobs::record(&c, &run)?))
    {
        log::warn!("could not record the {job} run: {e}");
    }
}

fn user(config: &Config, cmd: UserCommand) -> Result<bool> {
    let store = open_store(config)?;
    let conn = store.conn()?;
    match cmd {
        UserCommand::Add {
            name,
            staff,
            password_stdin,
        } => {
            if name.trim().is_empty() {
                bail!("username: must not be empty");
            }
            let password = read_password(&name, password_stdin)?;
            let hash = accounts::hash_password(&password);
            let (account, created) = store::accounts::upsert_with_password(
                &conn,
                &name,
                staff,
                &hash,
                config.clock.now_micros(),
            )?;
            eprintln!(
                "{} user {} (id {}{})",
                if created {
                    "created"
                } else {
                    "set the password of"
                },
                account.username,
                account.id,
                if account.is_staff { ", staff" } else { "" }
            );
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if store::accounts::by_username(&conn, &name)?.is_none() {
                bail!("user {name:?} not found");
            }
            let password = read_password(&name, password_stdin)?;
            let mut conn = conn;
            store::accounts::set_password(&mut conn, &name, &accounts::hash_password(&password))?;
            eprintln!("password of {name} changed");
        }
        UserCommand::List => {
            println!(
                "{:>6}  {:<20} {:<6} {:<9} display name",
                "id", "username", "staff", "password"
            );
            for a in store::accounts::list(&conn)? {
                println!(
                    "{:>6}  {:<20} {:<6} {:<9} {}",
                    a.id,
                    a.username,
                    if a.is_staff { "yes" } else { "no" },
                    if a.has_password { "set" } else { "-" },
                    a.display_name.unwrap_or_default()
                );
            }
        }
    }
    Ok(true)
}

fn token(config: &Config, cmd: TokenCommand) -> Result<bool> {
    let store = open_store(config)?;
    let conn = store.conn()?;
    let now = config.clock.now_micros();
    match cmd {
        TokenCommand::Create { username } => {
            let account = store::accounts::by_username(&conn, &username)?
                .with_context(|| format!("user {username:?} not found"))?;
            let token = accounts::new_token();
            let id = store::accounts::create_api_token(
                &conn,
                account.id,
                &accounts::token_digest(&token),
                now,
            )?;
            eprintln!("token {id} for {username} (shown once; keep it secret):");
            println!("{token}");
        }
        TokenCommand::Revoke { id, user } => {
            let user_id = match &user {
                Some(name) => Some(
                    store::accounts::by_username(&conn, name)?
                        .with_context(|| format!("user {name:?} not found"))?
                        .id,
                ),
                None => None,
            };
            if id.is_none() && user_id.is_none() {
                bail!("token revoke: give --id N or --user NAME");
            }
            let n = store::accounts::revoke_api_tokens(&conn, id, user_id, now)?;
            eprintln!("{n} token(s) revoked");
        }
    }
    Ok(true)
}

fn demo(config: &Config, scale: f64, seed: u64, out: Option<PathBuf>) -> Result<bool> {
    let options = crate::demo::DemoOptions {
        scale,
        seed,
        now_micros: config.clock.now_micros(),
    };
    match out {
        Some(dir) => {
            let summary = crate::demo::write_demo(&dir, &options)?;
            for (file, rows) in &summary.files {
                eprintln!("{file}: {rows} rows");
            }
            eprintln!("demo dataset written to {}", dir.display());
        }
        None => {
            let tmp = config
                .data_dir
                .join(format!(".demo-{}", std::process::id()));
            crate::demo::write_demo(&tmp, &options)?;
            let store = open_store(config)?;
            let result = import_dir(
                &store,
                &tmp,
                &ImportOptions {
                    progress: true,
                    ..Default::default()
                },
            );
            let _ = std::fs::remove_dir_all(&tmp);
            let report = result?;
            eprint!("{}", report.render());
        }
    }
    Ok(true)
}

fn stats_key(config: &Config, which: &StatsCommand) -> Result<StatKey> {
    let today = config.local.date(config.clock.now_micros());
    Ok(match which {
        StatsCommand::Dashboard => StatKey::Dashboard,
        StatsCommand::Locations => StatKey::Locations,
        StatsCommand::Learning => StatKey::Learning,
        StatsCommand::User { id, which } => match which {
            UserStats::Daily { date } => StatKey::Daily {
                user: *id,
                date: match date {
                    Some(d) => parse_date("date", d)?,
                    None => today,
                },
            },
            UserStats::Weekly { week_start } => StatKey::weekly(
                *id,
                match week_start {
                    Some(d) => parse_date("week_start", d)?,
                    None => clock::LocalTime::monday_of(today),
                },
            )?,
            UserStats::Analytics => StatKey::Analytics { user: *id },
            UserStats::Courses => StatKey::Courses { user: *id },
        },
    })
}

fn stats(cache: &Arc<StatsCache>, args: &StatsArgs, out: &mut dyn Write) -> Result<bool> {
    let lang = Lang::parse(&args.lang)
        .with_context(|| format!("--lang: {:?} is not one of en, ko, zh", args.lang))?;
    let key = stats_key(cache.config(), &args.which)?;
    let answer = if args.refresh {
        cache.refresh(&key)
    } else {
        cache.get(&key)
    }?;
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&answer.envelope(lang))?
    )?;
    Ok(true)
}

fn cache_command(
    cache: &Arc<StatsCache>,
    cmd: &CacheCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool> {
    match cmd {
        CacheCommand::Ls => {
            writeln!(
                out,
                "{:<36} {:<7} {:>10} {:>8} {:>8} {:>8}",
                "key", "status", "age", "ttl", "size", "changes"
            )?;
            for e in cache.list()? {
                writeln!(
                    out,
                    "{:<36} {:<7} {:>10} {:>8} {:>8} {:>8}",
                    e.key,
                    e.status.as_str(),
                    refresh::human_secs(e.age_secs.max(0.0) as u64),
                    refresh::human_secs(e.ttl_secs),
                    e.size,
                    e.changes_since
                )?;
            }
        }
        CacheCommand::Show { key } => {
            let parsed = StatKey::parse(key)?;
            let answer = cache
                .peek(&parsed)?
                .with_context(|| format!("{parsed}: not in the cache"))?;
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&answer.envelope(Lang::En))?
            )?;
        }
        CacheCommand::Clear { prefix } => {
            let n = cache.invalidate_prefix(prefix.as_deref().unwrap_or(""))?;
            writeln!(err, "{n} entries removed")?;
        }
        CacheCommand::Stats => {
            write!(out, "{}", cache.metrics().render())?;
            writeln!(
                err,
                "(counters of this process; the server's are on /admin/cache/ and /metrics)"
            )?;
        }
    }
    Ok(true)
}

/// The crontab equivalent of `serve --scheduler`, with absolute paths.
fn schedule_lines(exe: &std::path::Path, dir: &std::path::Path, config: &Config) -> String {
    let s = &config.schedule;
    let at = |t: &chrono::NaiveTime| {
        use chrono::Timelike;
        format!("{} {}", t.minute(), t.hour())
    };
    let tz = config.local.tz.name();
    let base = format!("{} --data-dir {} --tz {tz}", exe.display(), dir.display());
    let log = dir.to_path_buf();
    format!(
        "# voxdash jobs (times in {tz}; set CRON_TZ or the host zone to match)\n\
         CRON_TZ={tz}\n\
         {} * * * {base} refresh >> {log}/refresh.log 2>&1\n\
         */{} * * * * {base} precompute --active-users-only >> {log}/precompute.log 2>&1\n\
         {} * * * {base} cleanup >> {log}/cleanup.log 2>&1\n\
         # purge of expired cache entries: `serve --scheduler` does it hourly; by cron,\n\
         # `voxdash cache clear` drops everything instead.\n",
        at(&s.refresh_at),
        s.precompute_every_minutes,
        at(&s.cleanup_at),
        log = log.display(),
    )
}
