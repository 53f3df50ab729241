//! The web server: a pool of worker threads over tiny_http ([`start`]), the
//! route table (`routes`), what an answer is (`reply`), one file per page
//! (`pages`) and per API area (`api`), sign-in, and `/metrics`. Handlers
//! decode, call the layers below (cache, jobs, writes) and encode.

mod api;
mod app;
pub(crate) mod charts;
mod context;
mod decode;
mod error;
pub(crate) mod events;
mod flash;
pub(crate) mod local_path;
mod manifest;
mod metrics;
pub(crate) mod numbers;
mod pages;
mod reply;
mod routes;
mod server;
mod table;
mod throttle;

pub use app::{App, RequestMetrics};
pub use context::Ctx;
pub use error::WebError;
pub use routes::handle;
pub use server::{start, ServeOptions, Server};
