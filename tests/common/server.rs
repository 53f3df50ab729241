//! A server on an ephemeral port over the sample dataset, and a client.

use std::sync::Arc;

use voxdash::clock::Clock;
use voxdash::config::Config;
use voxdash::control::ControlChannel;
use voxdash::import::{import_dir, ImportOptions};
use voxdash::store::Store;
use voxdash::web;

use super::http as client;

pub struct Running {
    pub dir: tempfile::TempDir,
    pub server: Option<web::Server>,
    pub control: Option<ControlChannel>,
    pub addr: String,
    /// The server's own Redis when the suite runs on the shared cache.
    pub redis: Option<super::redis::Redis>,
    /// The server's own PostgreSQL database when the suite runs on one.
    pub database_url: Option<String>,
}

/// Set by `make test-cluster`: every server of these helpers keeps its
/// stats cache in a Redis server of its own instead of the file.
pub fn on_redis() -> bool {
    std::env::var_os("VOXDASH_TEST_REDIS").is_some()
}

/// Set by `make test-cluster`: every server of these helpers keeps its
/// data in a PostgreSQL database of its own instead of `voxdash.db`.
pub fn on_postgres() -> bool {
    std::env::var_os("VOXDASH_TEST_POSTGRES").is_some()
}

impl Running {
    /// The environment a command needs to reach this server's data and cache.
    pub fn cli_env(&self) -> Vec<(&str, &str)> {
        let cache = self
            .redis
            .iter()
            .map(|r| ("VOXDASH_CACHE_URL", r.url.as_str()));
        let data = self
            .database_url
            .iter()
            .map(|u| ("VOXDASH_DATABASE_URL", u.as_str()));
        cache.chain(data).collect()
    }

    /// The server's store, opened again (as another process would).
    pub fn store(&self) -> Store {
        match &self.database_url {
            Some(url) => Store::open_postgres(url).unwrap(),
            None => Store::open(&self.dir.path().join("voxdash.db")).unwrap(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
        self.control.take();
    }
}

pub fn start(public: bool) -> Running {
    start_with(public, |_| {})
}

/// Like `start`, with the configuration adjusted first.
pub fn start_with(public: bool, adjust: impl FnOnce(&mut Config)) -> Running {
    serve(public, Some(&super::sample_dir()), adjust)
}

/// A server on a store holding only the accounts (nothing imported).
pub fn start_empty() -> Running {
    serve(true, None, |_| {})
}

/// A public server on the CSV files of `data`.
pub fn start_on(data: &std::path::Path) -> Running {
    serve(true, Some(data), |_| {})
}

fn serve(
    public: bool,
    data: Option<&std::path::Path>,
    adjust: impl FnOnce(&mut Config),
) -> Running {
    let dir = super::temp_dir();
    let database_url = on_postgres().then(super::postgres::fresh_database);
    let store = Arc::new(
        Store::open_configured(database_url.as_deref(), &dir.path().join("voxdash.db")).unwrap(),
    );
    if let Some(data) = data {
        import_dir(&store, data, &ImportOptions::default()).unwrap();
    }
    {
        let conn = store.conn().unwrap();
        let hash = voxdash::accounts::hash_password("staff-password");
        voxdash::store::accounts::add_account(&conn, "boss", true, &hash, 0).unwrap();
        let hash = voxdash::accounts::hash_password("user-password");
        voxdash::store::accounts::add_account(&conn, "user00002", false, &hash, 0).unwrap();
    }
    let mut config = Config::with(
        dir.path(),
        super::SAMPLE_TZ.parse().unwrap(),
        Clock::from_env_value(Some(super::SAMPLE_NOW)).unwrap(),
    );
    config.database_url = database_url.clone();
    adjust(&mut config);
    let redis = on_redis().then(super::redis::Redis::start);
    config.cache_url = redis.as_ref().map(|r| r.url.clone());
    let app = voxdash::App::open(&config, store).unwrap();
    // As `voxdash serve`: the control channel only for the cache file.
    let control = redis
        .is_none()
        .then(|| voxdash::control::listen(app.clone()).unwrap());
    let server = web::start(
        app,
        &web::ServeOptions {
            bind: "127.0.0.1:0".into(),
            public,
            threads: 4,
        },
    )
    .unwrap();
    server.app.cache.wait_idle();
    let addr = server.addr.to_string();
    Running {
        dir,
        server: Some(server),
        control,
        addr,
        redis,
        database_url,
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The `name=value` pair of the `Set-Cookie` header setting `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.headers
            .iter()
            .find(|(k, v)| k == "set-cookie" && v.starts_with(&prefix))
            .map(|(_, v)| v.split(';').next().unwrap_or("").to_string())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub fn call(r: &Running, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let (status, headers, body) =
        client::request(&r.addr, method, path, headers, body.as_bytes()).unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

pub fn get(r: &Running, path: &str, headers: &[(&str, &str)]) -> Reply {
    call(r, "GET", path, headers, "")
}

/// A number of the server's `/metrics` (the line `NAME VALUE`).
pub fn metric(r: &Running, name: &str) -> u64 {
    super::metric_in(&get(r, "/metrics", &[]).body, name)
}

/// The value of `name="csrf_token"` in a page.
pub fn csrf_in(body: &str) -> String {
    body.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .expect("a csrf_token field")
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// Opens the sign-in page: (its cookie header, the form's CSRF token).
pub fn login_form(r: &Running) -> (String, String) {
    let page = get(r, "/login/", &[]);
    assert_eq!(page.status, 200);
    let set = page.header("set-cookie").expect("a sign-in cookie");
    let cookie = set.split(';').next().unwrap().to_string();
    (cookie, csrf_in(&page.body))
}

/// Posts the sign-in form as a browser would (cookie and token from the page).
pub fn post_login(r: &Running, user: &str, password: &str, next: &str) -> Reply {
    let (cookie, token) = login_form(r);
    call(
        r,
        "POST",
        "/login/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        &format!("csrf_token={token}&username={user}&password={password}&next={next}"),
    )
}

/// Signs in and returns (cookie header, CSRF token from a page).
pub fn sign_in(r: &Running, user: &str, password: &str) -> (String, String) {
    let reply = post_login(r, user, password, "/learning/");
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/learning/"));
    let set = reply.header("set-cookie").unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let page = get(r, "/learning/", &[("Cookie", &cookie)]);
    (cookie, csrf_in(&page.body))
}
