//! The commands of the `voxdash` binary, after its arguments are parsed
//! (the parsing lives with the binary): each opens what it needs, calls the
//! job runner or the store, and prints for people. Jobs that need the stats
//! cache run here, or in the server through the control channel when the
//! server holds the cache; they print the same either way.

pub(crate) mod setup;

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cache::{CacheError, StatsCache};
use crate::config::Config;
use crate::import::{import_dir, ImportOptions};
use crate::jobs::{self, JobRequest, Printed, Progress};
use crate::store::{self, Store};
use crate::web::ServeOptions;
use crate::App;
use crate::{accounts, control};

pub use setup::{SetupError, DEFAULT_BIND};

/// Where the data and the stats cache are kept, from flags or the
/// environment; each wins over the configuration file.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// `--cache-url` / `VOXDASH_CACHE_URL`.
    pub cache_url: Option<String>,
    /// `--database-url` / `VOXDASH_DATABASE_URL`.
    pub database_url: Option<String>,
}

/// Builds the configuration from the data directory, `--tz` and the
/// environment (`VOXDASH_NOW`); a bad value is an error naming the setting.
pub fn load_config(data_dir: &Path, tz: Option<&str>, places: Places) -> Result<Config> {
    let now = std::env::var("VOXDASH_NOW").ok();
    let mut config = Config::load(data_dir, tz, now.as_deref())?;
    if let Some(url) = places.cache_url.filter(|u| !u.is_empty()) {
        config.cache_url = Some(url);
    }
    if let Some(url) = places.database_url.filter(|u| !u.is_empty()) {
        config.database_url = Some(url);
    }
    Ok(config)
}

/// Opens (creating or migrating) the store the configuration names;
/// refuses to make a database of its own in a directory whose nodes keep
/// their data in PostgreSQL.
fn open_store(config: &Config) -> Result<Arc<Store>> {
    setup::database_agrees(config)?;
    let store = Store::open_configured(config.database_url.as_deref(), &config.db_path())?;
    // The aggregates follow the configured zone before anything is written.
    follow_zone(&store, config)?;
    Ok(Arc::new(store))
}

/// Rebuilds the statistics' aggregates when the configured time zone is
/// not the one they were built for.
fn follow_zone(store: &Store, config: &Config) -> Result<()> {
    crate::store::aggregates::follow_zone(&store.conn()?, config.local.tz)?;
    Ok(())
}

/// Opens the store the configuration names without creating one: the
/// data directory's database must exist.
fn open_existing_store(config: &Config) -> Result<Store> {
    match &config.database_url {
        Some(url) => Ok(Store::open_postgres(url)?),
        None => Store::open_existing(&config.db_path())
            .with_context(|| format!("no database in {}", config.data_dir.display())),
    }
}

/// `voxdash init [--demo]`: creates both stores; with `demo`, loads the
/// demo dataset into an empty database and makes sure of its staff login.
/// Ends with what the directory holds and the next steps, on stderr.
pub fn init(config: &Config, with_demo: bool) -> Result<bool> {
    let store = open_store(config)?;
    match StatsCache::open(config, Arc::clone(&store)) {
        // Held by a server (or a job) on this directory: it exists.
        Ok(_) | Err(CacheError::Locked(_)) => {}
        Err(e) => return Err(e.into()),
    }
    if with_demo {
        if store.is_empty()? {
            eprintln!("voxdash: the database is empty: loading the demo dataset");
            import_demo(config, &store, demo_options(config, 1.0, 42))?;
        }
        let login = setup::ensure_demo_login(&store, config)?;
        setup::print_ready(&store, config)?;
        setup::print_demo_login(&login, config);
        return Ok(true);
    }
    setup::print_ready(&store, config)?;
    Ok(true)
}

/// Opens the stats cache for `serve`. Fails at once, naming it, when
/// another server holds the cache; waits up to 30 s for a short command
/// that holds it.
fn open_cache_for_serving(config: &Config, store: &Arc<Store>) -> Result<App> {
    setup::cache_agrees(config, config.cache_url.is_some())?;
    for tries in 0.. {
        match App::open(config, Arc::clone(store)) {
            Err(CacheError::Locked(path)) if tries < 60 => {
                setup::refuse_if_served(config)?;
                if tries == 0 {
                    log::warn!(
                        "{} is in use by another voxdash command; waiting for it to finish",
                        path.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            other => return Ok(other?),
        }
    }
    unreachable!("the loop returns")
}

/// `voxdash serve`: the web server, the control channel and, with
/// `scheduler`, the in-process scheduler, until SIGINT or SIGTERM.
pub fn serve(config: &Config, options: &ServeOptions, scheduler: bool) -> Result<bool> {
    let store = open_store(config)?;
    let app = open_cache_for_serving(config, &store)?;
    if let Some(warning) = setup::empty_database(&store, config)? {
        log::warn!("{warning}");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("signal handler")?;
    // The control channel lets commands reach the process that holds the
    // cache file; a shared cache is open to every process, and several
    // nodes may serve one directory.
    let control = if app.cache.is_shared() {
        None
    } else {
        Some(control::listen(app.clone())?)
    };
    let server = crate::web::start(app.clone(), options)?;
    if let Some(control) = &control {
        control.announce(server.addr);
    }
    let scheduler = scheduler.then(|| {
        log::info!(
            "scheduler on: refresh at {}, cleanup at {}",
            config.schedule.refresh_at,
            config.schedule.cleanup_at
        );
        jobs::scheduler::Scheduler::start(app.clone(), Duration::from_secs(20))
    });
    let _ = rx.recv();
    log::info!("shutting down: finishing requests in flight");
    drop(scheduler);
    server.shutdown();
    drop(control);
    Ok(true)
}

/// Shows job progress: step lines on standard output; counts as a bar on a
/// terminal, or as a plain line every tenth of the way otherwise.
struct Console {
    bar: Option<indicatif::ProgressBar>,
    tenth: u64,
}

impl Console {
    fn new() -> Console {
        Console {
            bar: None,
            tenth: 0,
        }
    }

    fn show(&mut self, progress: Progress) {
        match progress {
            Progress::Line(line) => println!("{line}"),
            Progress::Count { what, done, total } if std::io::stderr().is_terminal() => {
                let bar = self.bar.get_or_insert_with(|| {
                    let bar = indicatif::ProgressBar::new(total);
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{msg:12} [{bar:40}] {pos}/{len} {eta}",
                    ) {
                        bar.set_style(style.progress_chars("=> "));
                    }
                    bar.set_message(what);
                    bar
                });
                bar.set_position(done);
            }
            Progress::Count { what, done, total } => {
                let tenth = done * 10 / total.max(1);
                if tenth > self.tenth || done == total {
                    self.tenth = tenth;
                    eprintln!("{what}: {done}/{total}");
                }
            }
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn print(printed: &Printed) {
    print!("{}", printed.out);
    eprint!("{}", printed.err);
}

/// Whether a job computes statistics, which are all zero over an empty
/// database.
fn computes_statistics(request: &JobRequest) -> bool {
    matches!(
        request,
        JobRequest::Stats { .. }
            | JobRequest::Refresh { .. }
            | JobRequest::Warmup(_)
            | JobRequest::Precompute { .. }
    )
}

/// The system user running this command, as the job history names them:
/// the one who used `sudo` rather than the service account it ran as.
fn system_user() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Runs a job: here when the stats cache is free, else in the server that
/// holds it. Returns whether the job did all it was asked. The data
/// directory must exist; a job that computes statistics over an empty
/// database runs, with a warning.
pub fn job(config: &Config, request: JobRequest) -> Result<bool> {
    setup::require_data_dir(config)?;
    let store = open_store(config)?;
    if computes_statistics(&request) {
        if let Some(warning) = setup::empty_database(&store, config)? {
            eprintln!("voxdash: {warning}");
        }
    }
    let mut console = Console::new();
    // Before the cache is opened: a refused command leaves nothing behind.
    setup::cache_agrees(config, config.cache_url.is_some())?;
    match App::open(config, store) {
        Ok(app) => {
            let by = jobs::RunBy::Command(system_user());
            let report = jobs::run(&app, request, by, &mut |p| console.show(p));
            drop(console);
            app.cache.wait_idle();
            let report = report?;
            print(&report.printed());
            Ok(report.ok())
        }
        Err(CacheError::Locked(path)) => {
            let sent = control::send(&config.data_dir, &request, &system_user(), &mut |p| {
                console.show(p)
            });
            drop(console);
            match sent {
                Ok(finished) => {
                    print(&finished.printed);
                    Ok(finished.ok)
                }
                Err(control::ControlError::NotRunning(_)) => bail!(
                    "{} is open in another voxdash process and no server answers for it",
                    path.display()
                ),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// `voxdash import DIR`.
pub fn import(config: &Config, dir: &Path, strict: bool) -> Result<bool> {
    let store = open_store(config)?;
    let options = ImportOptions {
        strict,
        progress: true,
    };
    let report = import_dir(&store, dir, &options)?;
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

fn demo_options(config: &Config, scale: f64, seed: u64) -> crate::demo::DemoOptions {
    crate::demo::DemoOptions {
        scale,
        seed,
        now_micros: config.clock.now_micros(),
    }
}

/// Imports a demo dataset into the store, through CSV files in the data
/// directory that are removed afterwards.
fn import_demo(config: &Config, store: &Store, options: crate::demo::DemoOptions) -> Result<()> {
    let tmp = config
        .data_dir
        .join(format!(".demo-{}", std::process::id()));
    crate::demo::write_demo(&tmp, &options)?;
    let options = ImportOptions {
        progress: true,
        ..Default::default()
    };
    let result = import_dir(store, &tmp, &options);
    let _ = std::fs::remove_dir_all(&tmp);
    eprint!("{}", result?.render());
    Ok(())
}

/// `voxdash demo`: writes the demo CSV files to `out`; or imports them with
/// the staff login `setup::DEMO_LOGIN`, and prints the next steps.
pub fn demo(config: &Config, scale: f64, seed: u64, out: Option<PathBuf>) -> Result<bool> {
    let options = demo_options(config, scale, seed);
    if let Some(dir) = out {
        let summary = crate::demo::write_demo(&dir, &options)?;
        for (file, rows) in &summary.files {
            eprintln!("{file}: {rows} rows");
        }
        eprintln!("demo dataset written to {}", dir.display());
        return Ok(true);
    }
    let store = open_store(config)?;
    import_demo(config, &store, options)?;
    let login = setup::ensure_demo_login(&store, config)?;
    setup::print_ready(&store, config)?;
    setup::print_demo_login(&login, config);
    Ok(true)
}

/// `voxdash backup DEST`.
pub fn backup(config: &Config, dest: &Path) -> Result<bool> {
    let store = open_existing_store(config)?;
    jobs::admin::backup(&store, dest)?;
    eprintln!("backup written to {}", dest.display());
    Ok(true)
}

/// `voxdash migrate --to URL`: one line per table copied, then the total.
pub fn migrate(config: &Config, url: &str, replace: bool) -> Result<bool> {
    setup::require_data_dir(config)?;
    let store = Store::open_existing(&config.db_path())
        .with_context(|| format!("no database in {}", config.data_dir.display()))?;
    let target = if replace {
        store::Target::Replace
    } else {
        store::Target::Empty
    };
    let report = jobs::admin::migrate(&store, url, target, |table, rows| {
        println!("{table}: {rows} rows");
    })?;
    let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
    eprintln!(
        "copied {} tables ({rows} rows) into {}; every table's row count checked",
        report.tables.len(),
        report.place
    );
    Ok(true)
}

/// `voxdash restore SRC`.
pub fn restore(config: &Config, src: &Path) -> Result<bool> {
    let report = jobs::admin::restore(config, src)?;
    eprintln!("restored {}", src.display());
    if let Some(old) = report.replaced {
        eprintln!("the replaced database is kept as {}", old.display());
    }
    Ok(true)
}

/// `voxdash check`: one line per finding; false when any failed.
pub fn check(config: &Config, repair: bool) -> Result<bool> {
    let findings = jobs::admin::check(config, repair);
    for f in &findings {
        let status = if f.ok { "ok  " } else { "FAIL" };
        println!("{status} {:<20} {}", f.what, f.detail);
    }
    Ok(findings.iter().all(|f| f.ok))
}

/// `voxdash schedule`: the crontab equivalent of `serve --scheduler`.
pub fn schedule(config: &Config) -> Result<bool> {
    let exe = std::env::current_exe().context("cannot find the voxdash binary")?;
    let dir = std::fs::canonicalize(&config.data_dir).unwrap_or(config.data_dir.clone());
    print!("{}", schedule_lines(&exe, &dir, config));
    Ok(true)
}

/// The crontab lines, with absolute paths.
fn schedule_lines(exe: &Path, dir: &Path, config: &Config) -> String {
    let s = &config.schedule;
    let at = |t: &chrono::NaiveTime| {
        use chrono::Timelike;
        format!("{} {}", t.minute(), t.hour())
    };
    let tz = config.local.tz.name();
    let base = format!("{} --data-dir {} --tz {tz}", exe.display(), dir.display());
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
        log = dir.display(),
    )
}

/// Reads a password: on a terminal, asked twice without showing what is
/// typed; otherwise (or with `--password-stdin`) one line of standard input.
fn read_password(prompt_for: &str, from_stdin: bool) -> Result<String> {
    let password = if !from_stdin && std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {prompt_for}: "))?;
        let again = rpassword::prompt_password("The same password again: ")?;
        if first != again {
            bail!("password: the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.len() < 8 {
        bail!("password: must be at least 8 characters");
    }
    Ok(password)
}

/// `voxdash user add NAME`: creates an account, or gives an imported
/// profile without a password one. The name is taken in its NFKC form and
/// must follow the username rules; an account that already has a password
/// is refused (that is `user passwd`), before any password is asked for.
pub fn user_add(config: &Config, name: &str, staff: bool, password_stdin: bool) -> Result<bool> {
    let name = crate::rules::normalize_username(name);
    crate::rules::username("username", &name)?;
    let store = open_store(config)?;
    let conn = store.conn()?;
    if let Some(existing) = store::accounts::by_name_ignoring_case(&conn, &name)? {
        if existing.username != name {
            bail!(
                "username {name:?} is taken by user {:?} (names are compared ignoring case)",
                existing.username
            );
        }
        if existing.has_password {
            bail!(
                "user {name:?} already exists; change its password with `voxdash user passwd {name}`"
            );
        }
    }
    let password = read_password(&name, password_stdin)?;
    let hash = accounts::hash_password(&password);
    let now = config.clock.now_micros();
    let (account, created) = store::accounts::add_account(&conn, &name, staff, &hash, now)?;
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
    Ok(true)
}

/// `voxdash user passwd NAME`.
pub fn user_passwd(config: &Config, name: &str, password_stdin: bool) -> Result<bool> {
    let store = open_store(config)?;
    let conn = store.conn()?;
    if store::accounts::by_username(&conn, name)?.is_none() {
        bail!("user {name:?} not found");
    }
    let password = read_password(name, password_stdin)?;
    store::accounts::set_password(&conn, name, &accounts::hash_password(&password))?;
    eprintln!("password of {name} changed");
    Ok(true)
}

/// `voxdash user list`. Names from before the username rule may hold
/// control or invisible characters: they are shown escaped (`\u{200b}`),
/// never sent raw to the terminal.
pub fn user_list(config: &Config) -> Result<bool> {
    let store = open_store(config)?;
    let conn = store.conn()?;
    let row = |id: &str, name: &str, staff: &str, password: &str, state: &str, display: &str| {
        println!("{id:>6}  {name:<20} {staff:<6} {password:<9} {state:<9} {display}");
    };
    row(
        "id",
        "username",
        "staff",
        "password",
        "state",
        "display name",
    );
    for a in store::accounts::list(&conn)? {
        row(
            &a.id.to_string(),
            &a.username.escape_debug().to_string(),
            if a.is_staff { "yes" } else { "no" },
            if a.has_password { "set" } else { "-" },
            if a.disabled { "disabled" } else { "active" },
            &a.display_name
                .unwrap_or_default()
                .escape_debug()
                .to_string(),
        );
    }
    Ok(true)
}

/// `voxdash user disable|enable|staff|remove NAME`: one change to an
/// account, said on stderr.
pub fn user_change(
    config: &Config,
    username: &str,
    change: store::accounts::AccountChange,
) -> Result<bool> {
    use store::accounts::AccountChange;
    let store = open_store(config)?;
    let conn = store.conn()?;
    let a = store::accounts::change_account(&conn, username, change, config.clock.now_micros())?;
    let name = a.username.escape_debug();
    match change {
        AccountChange::Disable => {
            eprintln!("user {name} disabled: signed out everywhere; its tokens stop working")
        }
        AccountChange::Enable => eprintln!("user {name} enabled"),
        AccountChange::Staff(true) => eprintln!("user {name} is staff"),
        AccountChange::Staff(false) => eprintln!("user {name} is no longer staff"),
        AccountChange::RemoveSignIn => eprintln!(
            "user {name} can no longer sign in (password, sessions and tokens removed); \
             the profile and its data stay"
        ),
    }
    Ok(true)
}

/// `voxdash token list [--user NAME]`: ids, owners and dates.
pub fn token_list(config: &Config, username: Option<&str>) -> Result<bool> {
    let store = open_store(config)?;
    let conn = store.conn()?;
    println!("{:>6}  {:<20} {:<25} revoked", "id", "username", "created");
    for t in store::accounts::tokens(&conn, username)? {
        println!(
            "{:>6}  {:<20} {:<25} {}",
            t.id,
            t.username.escape_debug().to_string(),
            crate::clock::format_utc(t.created_at),
            t.revoked_at
                .map_or("-".to_string(), crate::clock::format_utc)
        );
    }
    Ok(true)
}

/// `voxdash token create USER`: prints a new token once.
pub fn token_create(config: &Config, username: &str) -> Result<bool> {
    let store = open_store(config)?;
    let conn = store.conn()?;
    let account = store::accounts::by_username(&conn, username)?
        .with_context(|| format!("user {username:?} not found"))?;
    let token = accounts::new_token();
    let digest = accounts::token_digest(&token);
    let id =
        store::accounts::create_api_token(&conn, account.id, &digest, config.clock.now_micros())?;
    eprintln!("token {id} for {username} (shown once; keep it secret):");
    println!("{token}");
    Ok(true)
}

/// `voxdash token revoke --id N | --user NAME`.
pub fn token_revoke(config: &Config, id: Option<i64>, user: Option<&str>) -> Result<bool> {
    let store = open_store(config)?;
    let conn = store.conn()?;
    let user_id = match user {
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
    let n = store::accounts::revoke_api_tokens(&conn, id, user_id, config.clock.now_micros())?;
    eprintln!("{n} token(s) revoked");
    Ok(true)
}
