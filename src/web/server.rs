//! The HTTP server: a listener with bounds on every connection, a pool of
//! worker threads each answering one request at a time, and a graceful stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::app::{App, RequestMetrics};
use super::error::WebError;
use super::{routes, throttle};
use crate::jobs::warmup::WarmupScheduler;
use crate::stats::StatKey;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (`127.0.0.1:8010`, or port 0 for any).
    pub bind: String,
    /// Stats pages and JSON without sign-in.
    pub public: bool,
    /// Worker threads.
    pub threads: usize,
}

/// A running server; dropping it does not stop it, call [`Server::shutdown`].
pub struct Server {
    http: Arc<tiny_http::Server>,
    /// The data directory held as one of its serving nodes until the
    /// server stops (a restore waits for every node).
    _serving: crate::store::DirLock,
    workers: Vec<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    /// The address actually bound (useful with port 0).
    pub addr: std::net::SocketAddr,
    /// Shared state (tests read metrics through it).
    pub app: Arc<App>,
}

/// Starts the server: binds, starts the workers and warms, in the
/// background, every shared key that has no entry yet.
pub fn start(core: crate::App, options: &ServeOptions) -> Result<Server, WebError> {
    let serving = crate::store::DirLock::serving(&core.config.data_dir)?;
    let cannot_listen = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", options.bind))
    };
    let listener = std::net::TcpListener::bind(&options.bind).map_err(cannot_listen)?;
    disable_nagle(&listener);
    let policy = &core.config.server;
    let timeout = Duration::from_secs(policy.timeout_secs.max(1));
    let limits = tiny_http::Limits {
        max_connections: policy.max_connections.max(1),
        read_timeout: timeout,
        write_timeout: timeout,
        head_timeout: timeout,
        max_request_line: policy.max_request_line,
        max_header_bytes: policy.max_header_bytes,
        max_headers: 100,
    };
    let http = tiny_http::Server::from_listener_with_limits(listener, None, limits)
        .map_err(|e| cannot_listen(std::io::Error::other(e)))?;
    let addr = http
        .server_addr()
        .to_ip()
        .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
    let http = Arc::new(http);
    let app = Arc::new(App {
        events: super::events::Broadcaster::start(
            &core.cache,
            max_event_streams(policy.max_connections),
            credential_check(&core),
        ),
        warmups: WarmupScheduler::start(core.clone()),
        secure_cookies: policy.secure_cookies,
        core,
        public: options.public,
        requests: RequestMetrics::default(),
        sign_ins: throttle::SignInThrottle::default(),
        speaker_lists: Default::default(),
        rendered: Default::default(),
        manifests: Default::default(),
    });
    for key in StatKey::SHARED {
        if app.cache.read(&key.to_string()).is_none() {
            app.cache.spawn_fill(key);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let workers = (0..options.threads.max(1))
        .map(|i| {
            let http = Arc::clone(&http);
            let app = Arc::clone(&app);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("http {}/{i}", addr.port()))
                .spawn(move || worker(&http, &app, &stop))
                .expect("spawn worker")
        })
        .collect();
    log::info!(
        "serving on http://{addr}/ ({} workers{})",
        options.threads.max(1),
        if options.public { ", public" } else { "" }
    );
    Ok(Server {
        _serving: serving,
        http,
        workers,
        stop,
        addr,
        app,
    })
}

/// Open event streams at most: half the connection cap, so that streams can
/// never take every connection and ordinary requests always find room.
pub fn max_event_streams(max_connections: usize) -> usize {
    (max_connections / 2).max(1)
}

/// Whether the sign-in behind an open event stream still holds: a revoked
/// token, a changed password or a signed-out session closes the stream.
fn credential_check(core: &crate::App) -> super::events::CredentialCheck {
    use super::events::Credential;
    use crate::store::accounts;
    let core = core.clone();
    Box::new(move |credential: &Credential| {
        let conn = core.store.conn().ok()?;
        let valid = match credential {
            Credential::Token(digest) => accounts::api_token_account(&conn, digest).ok()?.is_some(),
            Credential::Session(digest) => {
                let now = core.config.clock.now_micros();
                accounts::web_session(&conn, digest, now).ok()?.is_some()
            }
        };
        Some(valid)
    })
}

/// Sets TCP_NODELAY on the listening socket; Linux copies it to every
/// accepted connection. tiny_http writes a response in several pieces, and
/// with Nagle's algorithm the last piece of a keep-alive answer waits for
/// the client's delayed ACK (~40 ms).
fn disable_nagle(listener: &std::net::TcpListener) {
    #[cfg(unix)]
    {
        use nix::sys::socket::{setsockopt, sockopt::TcpNoDelay};
        if let Err(e) = setsockopt(listener, TcpNoDelay, &true) {
            log::debug!("TCP_NODELAY not set: {e}");
        }
    }
}

fn worker(http: &tiny_http::Server, app: &App, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let request = match http.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                log::warn!("accept failed: {e}");
                continue;
            }
        };
        let started = Instant::now();
        let method = request.method().to_string();
        let url = request.url().to_string();
        let (route, status) = routes::handle(app, request);
        app.requests.count(&route, status);
        let path = url.split('?').next().unwrap_or("");
        log::info!(
            "{method} {path} {status} {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

impl Server {
    /// Stops accepting, lets in-flight requests finish, and waits for the
    /// workers and background computations.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.http.unblock();
        for w in self.workers {
            let _ = w.join();
        }
        self.app.cache.wait_idle();
        self.app.events.close_all();
        log::info!("server stopped");
    }
}
