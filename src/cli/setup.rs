//! Setting up and finding a data directory: what `init` and `demo` print
//! (what the directory holds, the demo's staff login, the next steps), the
//! checks of commands that read an existing directory, and the refusal of a
//! second server on a directory already served.

use std::path::{Path, PathBuf};

use crate::accounts;
use crate::config::Config;
use crate::control::{self, ControlError, ServerInfo};
use crate::store::{self, Store, StoreError};

/// The address `voxdash serve` listens on unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8010";
/// The page to open first.
const FIRST_PAGE: &str = "/audio/dashboard/";
/// The staff account the demo data comes with.
pub const DEMO_LOGIN: &str = "admin";

/// Why a data directory cannot be used as asked.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A command that reads data was pointed at a directory that is not there.
    #[error("no data directory at {} (run `voxdash --data-dir {} init` first)", .0.display(), shell_word(.0))]
    NoDataDir(PathBuf),
    /// The directory exists but holds no database.
    #[error("no database at {} (run `voxdash --data-dir {} init` first)", .db.display(), shell_word(.dir))]
    NoDatabase {
        /// The data directory.
        dir: PathBuf,
        /// The database file that is missing.
        db: PathBuf,
    },
    /// Another `voxdash serve` holds the directory.
    #[error("another voxdash is already serving {} ({}); stop it first or use another --data-dir", .dir.display(), describe(.server))]
    AlreadyServing {
        /// The data directory.
        dir: PathBuf,
        /// What the server said about itself, if it answered the question.
        server: Option<ServerInfo>,
    },
    /// Nodes with a shared stats cache serve the directory, and this
    /// process would use the directory's own cache file instead.
    #[error("voxdash serves {} with a shared stats cache (cache_url), and this command has none: give it the same cache_url, best in {}", .0.display(), .0.join("voxdash.toml").display())]
    CacheElsewhere(PathBuf),
    /// Nodes serve the directory with their data in PostgreSQL, and this
    /// process would make a SQLite database of its own there.
    #[error("voxdash serves {} with its data in PostgreSQL (database_url), and this command has none: give it the same database_url, best in {}", .0.display(), .0.join("voxdash.toml").display())]
    DatabaseElsewhere(PathBuf),
    /// A server with the directory's own cache file serves it, and this
    /// process would use a shared cache instead.
    #[error("voxdash serves {} with its own stats cache file ({}); stop it, or give it the same cache_url", .dir.display(), describe(.server))]
    CacheInFile {
        /// The data directory.
        dir: PathBuf,
        /// What the server said about itself.
        server: Option<ServerInfo>,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(server: &Option<ServerInfo>) -> String {
    match server {
        Some(ServerInfo {
            pid,
            address: Some(address),
        }) => format!("pid {pid}, http://{address}"),
        Some(ServerInfo { pid, address: None }) => format!("pid {pid}, still starting"),
        None => "it does not say which; see its control.sock".into(),
    }
}

/// A path as one shell word, quoted when it needs to be.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// This program as a person runs it from where they are: `voxdash` when
/// it is the one on `PATH`, else its path (from the working directory when
/// it lies below it: `target/release/voxdash` in a checkout).
fn program() -> String {
    let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|e| e.canonicalize().ok())
    else {
        return "voxdash".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|dirs| {
        std::env::split_paths(&dirs)
            .any(|dir| dir.join("voxdash").canonicalize().ok().as_ref() == Some(&exe))
    });
    if on_path {
        return "voxdash".into();
    }
    let below_here = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(Path::to_path_buf));
    shell_word(&below_here.unwrap_or(exe))
}

/// `voxdash --data-dir DIR`, as a user would type it where they are.
fn command(config: &Config) -> String {
    format!("{} --data-dir {}", program(), shell_word(&config.data_dir))
}

/// Fails unless the data directory and its database exist: for commands
/// that read data, where a misspelt `--data-dir` must not silently become
/// a new, empty store.
pub fn require_data_dir(config: &Config) -> Result<(), SetupError> {
    if !config.data_dir.is_dir() {
        return Err(SetupError::NoDataDir(config.data_dir.clone()));
    }
    // With `database_url` the data is in PostgreSQL, which the command
    // reaches (and names when it cannot).
    database_agrees(config)?;
    if config.database_url.is_none() && !config.db_path().is_file() {
        return Err(SetupError::NoDatabase {
            dir: config.data_dir.clone(),
            db: config.db_path(),
        });
    }
    Ok(())
}

/// A warning when the database holds nothing at all (statistics over it
/// are all zero), naming how to load data.
pub fn empty_database(store: &Store, config: &Config) -> Result<Option<String>, SetupError> {
    if !store.holds_nothing()? {
        return Ok(None);
    }
    let vd = command(config);
    Ok(Some(format!(
        "empty database at {} — load data with `{vd} import DIR` or `{vd} init --demo`",
        store.place()
    )))
}

/// Fails with the server's pid and address when another `voxdash serve`
/// answers on the directory's control socket; succeeds when none does (the
/// stats cache is then held by a short command, worth waiting for).
pub fn refuse_if_served(config: &Config) -> Result<(), SetupError> {
    let server = match control::ask_server(&config.data_dir) {
        Err(ControlError::NotRunning(_)) => return Ok(()),
        Ok(info) => Some(info),
        Err(e) => {
            log::debug!("the running server does not describe itself: {e}");
            None
        }
    };
    Err(SetupError::AlreadyServing {
        dir: config.data_dir.clone(),
        server,
    })
}

/// Fails when this process would keep statistics somewhere else than the
/// nodes serving the directory: a file cache while nodes share a cache in
/// Redis, or a shared cache while a server holds the directory's file.
/// Two caches for one directory would each answer their own numbers.
pub fn cache_agrees(config: &Config, shared: bool) -> Result<(), SetupError> {
    if shared {
        return match control::ask_server(&config.data_dir) {
            Err(ControlError::NotRunning(_)) => Ok(()),
            Ok(info) => Err(SetupError::CacheInFile {
                dir: config.data_dir.clone(),
                server: Some(info),
            }),
            Err(_) => Err(SetupError::CacheInFile {
                dir: config.data_dir.clone(),
                server: None,
            }),
        };
    }
    // Nodes serve the directory but none holds its cache file (that one
    // would answer on the control socket, and the usual ways apply).
    if crate::store::DirLock::in_use(&config.data_dir)?
        && matches!(
            control::ask_server(&config.data_dir),
            Err(ControlError::NotRunning(_))
        )
    {
        return Err(SetupError::CacheElsewhere(config.data_dir.clone()));
    }
    Ok(())
}

/// Fails when nodes serve the directory with no `voxdash.db` in it (their
/// data is in PostgreSQL) and this process has no `database_url`: it would
/// create an empty database of its own and answer from it.
pub fn database_agrees(config: &Config) -> Result<(), SetupError> {
    if config.database_url.is_none()
        && !config.db_path().exists()
        && config.data_dir.is_dir()
        && crate::store::DirLock::in_use(&config.data_dir)?
    {
        return Err(SetupError::DatabaseElsewhere(config.data_dir.clone()));
    }
    Ok(())
}

/// What became of the demo's staff login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoLogin {
    /// Created, with this password (to be shown once).
    Created {
        /// The new random password.
        password: String,
    },
    /// An account of that name was there and is left as it was.
    Exists {
        /// Whether it is staff with a password.
        can_sign_in: bool,
    },
}

/// Creates the staff account [`DEMO_LOGIN`] with a random password, unless
/// an account of that name exists (it is then left unchanged).
pub fn ensure_demo_login(store: &Store, config: &Config) -> Result<DemoLogin, SetupError> {
    let conn = store.conn()?;
    if let Some(account) = store::accounts::by_username(&conn, DEMO_LOGIN)? {
        return Ok(DemoLogin::Exists {
            can_sign_in: account.is_staff && account.has_password,
        });
    }
    let password = accounts::new_password();
    let hash = accounts::hash_password(&password);
    let now = config.clock.now_micros();
    store::accounts::add_account(&conn, DEMO_LOGIN, true, &hash, now)?;
    Ok(DemoLogin::Created { password })
}

/// Prints what became of the demo's staff login (the password only here,
/// in a frame: print it last, so that nothing scrolls it away before the
/// server's log starts).
pub fn print_demo_login(login: &DemoLogin, config: &Config) {
    let passwd = format!("`{} user passwd {DEMO_LOGIN}`", command(config));
    match login {
        DemoLogin::Created { password } => {
            let lines = [
                format!("voxdash: staff login created: user {DEMO_LOGIN}, password {password}"),
                "(shown only this once; only its hash is kept)".to_string(),
                format!("to change it: {passwd}"),
            ];
            let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            let rule = "=".repeat(width + 4);
            eprintln!("{rule}");
            for line in &lines {
                eprintln!("| {line:width$} |");
            }
            eprintln!("{rule}");
        }
        DemoLogin::Exists { can_sign_in: true } => eprintln!(
            "voxdash: the staff login {DEMO_LOGIN} already exists; its password is unchanged \
             ({passwd} sets a new one)"
        ),
        DemoLogin::Exists { can_sign_in: false } => eprintln!(
            "voxdash: an account {DEMO_LOGIN} already exists (not a staff login); left unchanged"
        ),
    }
}

/// Prints, last, what the directory holds and what to do next: load data
/// if there is none, create a staff login if none can sign in, serve and
/// open the dashboard.
pub fn print_ready(store: &Store, config: &Config) -> Result<(), SetupError> {
    let counts = store.table_counts()?;
    let count = |table: &str| {
        counts
            .iter()
            .find(|(name, _)| name == table)
            .map_or(0, |(_, n)| *n)
    };
    let held = match (count("speakers"), count("recordings"), count("users")) {
        (0, 0, 0) => "empty database".to_string(),
        (s, r, u) => format!("{s} speakers, {r} recordings, {u} users"),
    };
    eprintln!(
        "voxdash: data directory ready at {} ({held})",
        config.data_dir.display()
    );
    let steps = next_steps(store, config)?;
    for (i, step) in steps.iter().enumerate() {
        eprintln!("{}{step}", if i == 0 { "Next: " } else { "      " });
    }
    Ok(())
}

/// The commands to run next, one a line.
fn next_steps(store: &Store, config: &Config) -> Result<Vec<String>, SetupError> {
    let vd = command(config);
    let staff: Vec<String> = store::accounts::list(&store.conn()?)?
        .into_iter()
        .filter(|a| a.is_staff && a.has_password)
        .map(|a| a.username)
        .collect();
    let mut steps = Vec::new();
    if store.is_empty()? {
        steps.push(format!(
            "{vd} import CSV_DIR   (or `{vd} init --demo` for demo data)"
        ));
    }
    if staff.is_empty() {
        steps.push(format!(
            "{vd} user add NAME --staff   (a staff login to sign in with)"
        ));
    }
    steps.push(format!("{vd} serve"));
    let who = staff
        .iter()
        .find(|name| *name == DEMO_LOGIN)
        .or(staff.first())
        .map_or_else(|| "NAME".to_string(), String::clone);
    steps.push(format!(
        "then open http://{DEFAULT_BIND}{FIRST_PAGE} and sign in as {who}"
    ));
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_one_shell_word() {
        assert_eq!(shell_word(Path::new("./data")), "./data");
        assert_eq!(shell_word(Path::new("/srv/my data")), "'/srv/my data'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
    }

    #[test]
    fn a_second_server_is_named_with_its_pid_and_address() {
        let err = SetupError::AlreadyServing {
            dir: PathBuf::from("/srv/data"),
            server: Some(ServerInfo {
                pid: 1234,
                address: Some("127.0.0.1:8010".into()),
            }),
        };
        assert_eq!(
            err.to_string(),
            "another voxdash is already serving /srv/data (pid 1234, http://127.0.0.1:8010); \
             stop it first or use another --data-dir"
        );
    }
}
