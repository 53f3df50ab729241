//! What every job, write, handler and command works with, opened once: the
//! store, the stats cache over it, and the checked configuration. Cloning
//! an [`App`] is cheap (three shared pointers), so threads take their own.

use std::sync::Arc;

use crate::cache::{CacheError, StatsCache};
use crate::config::Config;
use crate::store::Store;

/// The store, the stats cache and the configuration of one process.
#[derive(Clone)]
pub struct App {
    /// The lab's data.
    pub store: Arc<Store>,
    /// The statistics computed from it, kept.
    pub cache: Arc<StatsCache>,
    /// The settings, checked.
    pub config: Arc<Config>,
}

impl App {
    /// Opens the stats cache `config` names over `store`.
    pub fn open(config: &Config, store: Arc<Store>) -> Result<App, CacheError> {
        let cache = StatsCache::open(config, Arc::clone(&store))?;
        Ok(App {
            store,
            cache,
            config: Arc::new(config.clone()),
        })
    }
}
