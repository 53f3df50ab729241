//! The web server: a pool of worker threads over tiny_http, the route table,
//! server-rendered pages (maud, SVG charts), the JSON API, sign-in, metrics
//! and the loopback control endpoint the CLI uses while the server runs.

pub mod charts;
pub mod client;
mod context;
mod error;
mod handlers;
pub mod local_path;
mod pages;
mod throttle;
mod writes;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::StatsCache;
use crate::jobs::warmup::WarmupScheduler;
use crate::stats::StatKey;

pub use context::Ctx;
pub use error::WebError;
pub use handlers::handle;

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

/// Requests served, by route and status, for `/metrics`.
#[derive(Debug, Default)]
pub struct RequestMetrics {
    counts: Mutex<BTreeMap<(String, u16), u64>>,
}

impl RequestMetrics {
    fn count(&self, route: &str, status: u16) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((route.to_string(), status)).or_insert(0) += 1;
    }

    /// A snapshot: ((route, status), count).
    pub fn snapshot(&self) -> Vec<((String, u16), u64)> {
        let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// Everything a handler needs; shared by the workers.
pub struct App {
    /// The stats cache (and through it the store and the config).
    pub cache: Arc<StatsCache>,
    /// Serve without sign-in.
    pub public: bool,
    /// Request counters.
    pub requests: RequestMetrics,
    /// The debounced warm-up after finished sessions.
    pub warmups: WarmupScheduler,
    /// Secret the CLI presents on the control endpoint.
    pub control_secret: String,
    /// Mark cookies `Secure` (TLS deployments).
    pub secure_cookies: bool,
    /// Failed sign-ins, per account and address.
    pub sign_ins: throttle::SignInThrottle,
}

/// A running server; dropping it does not stop it, call [`Server::shutdown`].
pub struct Server {
    http: Arc<tiny_http::Server>,
    workers: Vec<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    control_file: PathBuf,
    /// The address actually bound (useful with port 0).
    pub addr: std::net::SocketAddr,
    /// Shared state (tests read metrics through it).
    pub app: Arc<App>,
}

/// Path of the file through which the CLI finds a running server.
pub fn control_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("server.control")
}

fn write_control_file(
    path: &std::path::Path,
    addr: &std::net::SocketAddr,
    secret: &str,
) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Only the data directory's owner may read the secret.
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        writeln!(f, "{addr}\n{secret}")?;
    }
    std::fs::rename(tmp, path)
}

/// Starts the server: binds, starts the workers and warms, in the
/// background, every shared key that has no entry yet.
pub fn start(cache: Arc<StatsCache>, options: &ServeOptions) -> Result<Server, WebError> {
    let listener = std::net::TcpListener::bind(&options.bind)
        .map_err(|e| WebError::Internal(format!("cannot listen on {}: {e}", options.bind)))?;
    disable_nagle(&listener);
    let policy = &cache.config().server;
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
        .map_err(|e| WebError::Internal(format!("cannot listen on {}: {e}", options.bind)))?;
    let addr = http
        .server_addr()
        .to_ip()
        .ok_or_else(|| WebError::Internal("not an IP listener".into()))?;
    let http = Arc::new(http);
    let secret = crate::accounts::new_token();
    let control = control_file(&cache.config().data_dir);
    write_control_file(&control, &addr, &secret)
        .map_err(|e| WebError::Internal(format!("{}: {e}", control.display())))?;
    let app = Arc::new(App {
        warmups: WarmupScheduler::start(Arc::clone(&cache)),
        secure_cookies: cache.config().server.secure_cookies,
        cache,
        public: options.public,
        requests: RequestMetrics::default(),
        control_secret: secret,
        sign_ins: throttle::SignInThrottle::default(),
    });
    for key in StatKey::SHARED {
        if app.cache.read(&key.to_string()).is_none() {
            app.cache.spawn_recompute(key);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let workers = (0..options.threads.max(1))
        .map(|i| {
            let http = Arc::clone(&http);
            let app = Arc::clone(&app);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("http worker {i}"))
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
        http,
        workers,
        stop,
        control_file: control,
        addr,
        app,
    })
}

/// Sets TCP_NODELAY on the listening socket; Linux copies it to every
/// accepted connection. tiny_http writes a response in several pieces, and
/// with Nagle's algorithm the last piece of a keep-alive answer waits for
/// the client's delayed ACK (~40 ms).
fn disable_nagle(listener: &std::net::TcpListener) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: a valid socket fd and a pointer to a c_int of the given size.
        let rc = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                &one as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            log::debug!("TCP_NODELAY not set: {}", std::io::Error::last_os_error());
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
        let (route, status) = handlers::handle(app, request);
        app.requests.count(&route, status);
        let path = url.split('?').next().unwrap_or("");
        log::info!(
            "{method} {path} {status} {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

impl Server {
    /// Stops accepting, lets in-flight requests finish, waits for the
    /// workers and background computations, and removes the control file.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.http.unblock();
        for w in self.workers {
            let _ = w.join();
        }
        self.app.cache.wait_idle();
        let _ = std::fs::remove_file(&self.control_file);
        log::info!("server stopped");
    }
}

/// Runs the server until SIGINT or SIGTERM, then shuts down gracefully.
pub fn serve_forever(cache: Arc<StatsCache>, options: &ServeOptions) -> Result<(), WebError> {
    let server = start(cache, options)?;
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| WebError::Internal(format!("signal handler: {e}")))?;
    let _ = rx.recv();
    log::info!("shutting down: finishing requests in flight");
    server.shutdown();
    Ok(())
}
