//! The one-time message after a staff action ("3 cache entries cleared",
//! "refreshed"): set in a short-lived cookie by the action's redirect, shown
//! by the next page, then deleted. A cookie rather than a query parameter,
//! so a shared or reloaded link never repeats a message.

use cookie::SameSite;

use super::reply::set_cookie;
use crate::i18n::{plural, t, Lang};

/// The cookie's name.
pub const COOKIE: &str = "voxdash_flash";

/// What just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    /// A statistic was recomputed on the staff's request (its key).
    Refreshed(String),
    /// Cache entries were cleared (how many).
    Cleared(u64),
    /// A cleanup was started in the background.
    CleanupStarted,
    /// A cleanup was asked for while one was running.
    CleanupAlreadyRunning,
}

impl Flash {
    /// Reads the cookie's value; anything else is ignored.
    pub fn parse(value: &str) -> Option<Flash> {
        match value.split_once(':')? {
            ("refreshed", key) if !key.is_empty() => Some(Flash::Refreshed(key.to_string())),
            ("cleared", n) => n.parse().ok().map(Flash::Cleared),
            ("cleanup", "started") => Some(Flash::CleanupStarted),
            ("cleanup", "already") => Some(Flash::CleanupAlreadyRunning),
            _ => None,
        }
    }

    fn value(&self) -> String {
        match self {
            Flash::Refreshed(key) => format!("refreshed:{key}"),
            Flash::Cleared(n) => format!("cleared:{n}"),
            Flash::CleanupStarted => "cleanup:started".into(),
            Flash::CleanupAlreadyRunning => "cleanup:already".into(),
        }
    }

    /// The `Set-Cookie` value that carries it to the next page (for a
    /// minute at most).
    pub fn cookie(&self, secure: bool) -> String {
        set_cookie(COOKIE, self.value(), "/", SameSite::Lax, 60, secure)
    }

    /// The `Set-Cookie` value that deletes it once shown.
    pub fn spent(secure: bool) -> String {
        set_cookie(COOKIE, String::new(), "/", SameSite::Lax, 0, secure)
    }

    /// The message, in the page's language.
    pub fn message(&self, l: Lang) -> String {
        match self {
            Flash::Refreshed(_) => t(l, "done.refreshed").to_string(),
            Flash::Cleared(n) => plural(l, "done.cleared", *n),
            Flash::CleanupStarted => t(l, "maint.started").to_string(),
            Flash::CleanupAlreadyRunning => t(l, "maint.already").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_its_cookie_and_garbage_is_ignored() {
        for f in [
            Flash::Refreshed("user/3/daily/2026-11-23".into()),
            Flash::Cleared(12),
            Flash::CleanupStarted,
            Flash::CleanupAlreadyRunning,
        ] {
            assert_eq!(Flash::parse(&f.value()), Some(f));
        }
        for bad in ["", "cleared:x", "refreshed:", "nope:1", "cleanup:later"] {
            assert_eq!(Flash::parse(bad), None, "{bad}");
        }
        assert_eq!(
            plural(Lang::En, "done.cleared", 1),
            "1 cache entry cleared."
        );
        assert_eq!(
            plural(Lang::En, "done.cleared", 3),
            "3 cache entries cleared."
        );
    }
}
