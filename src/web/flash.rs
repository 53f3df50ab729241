//! The one-time message after a staff action ("3 cache entries cleared",
//! "refreshed"): set in a short-lived cookie by the action's redirect, shown
//! by the next page, then deleted. A cookie rather than a query parameter,
//! so a shared or reloaded link never repeats a message.

use cookie::SameSite;

use super::reply::set_cookie;
use crate::i18n::{plural, t, Lang};
use crate::store::accounts::AccountChange;

/// The cookie's name.
pub const COOKIE: &str = "voxdash_flash";

/// What just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    /// Statistics were recomputed on the staff's request (their keys,
    /// separated by [`Flash::KEY_SEPARATOR`]).
    Refreshed(String),
    /// Cache entries were cleared (how many).
    Cleared(u64),
    /// A cleanup was started in the background.
    CleanupStarted,
    /// A cleanup was asked for while one was running.
    CleanupAlreadyRunning,
    /// Staff changed an account.
    AccountChanged(AccountChange),
    /// A change was refused: it would leave no staff account that can
    /// sign in.
    AccountRefused,
}

/// An account change as the cookie carries it, and back.
const ACCOUNT_CHANGES: [(AccountChange, &str); 5] = [
    (AccountChange::Disable, "disabled"),
    (AccountChange::Enable, "enabled"),
    (AccountChange::Staff(true), "staff_on"),
    (AccountChange::Staff(false), "staff_off"),
    (AccountChange::RemoveSignIn, "removed"),
];

impl Flash {
    /// Between the keys of [`Flash::Refreshed`]: a character a cookie may
    /// carry and a key does not hold.
    pub const KEY_SEPARATOR: &'static str = "|";

    /// Whether `key` is one of the keys just refreshed.
    pub fn refreshed(&self, key: &str) -> bool {
        matches!(self, Flash::Refreshed(keys) if keys.split(Flash::KEY_SEPARATOR).any(|k| k == key))
    }

    /// Reads the cookie's value; anything else is ignored.
    pub fn parse(value: &str) -> Option<Flash> {
        match value.split_once(':')? {
            ("refreshed", key) if !key.is_empty() => Some(Flash::Refreshed(key.to_string())),
            ("cleared", n) => n.parse().ok().map(Flash::Cleared),
            ("cleanup", "started") => Some(Flash::CleanupStarted),
            ("cleanup", "already") => Some(Flash::CleanupAlreadyRunning),
            ("account", "refused") => Some(Flash::AccountRefused),
            ("account", code) => ACCOUNT_CHANGES
                .iter()
                .find(|(_, c)| *c == code)
                .map(|(change, _)| Flash::AccountChanged(*change)),
            _ => None,
        }
    }

    fn value(&self) -> String {
        match self {
            Flash::Refreshed(key) => format!("refreshed:{key}"),
            Flash::Cleared(n) => format!("cleared:{n}"),
            Flash::CleanupStarted => "cleanup:started".into(),
            Flash::CleanupAlreadyRunning => "cleanup:already".into(),
            Flash::AccountChanged(change) => format!("account:{}", account_code(*change)),
            Flash::AccountRefused => "account:refused".into(),
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
            Flash::AccountChanged(change) => {
                t(l, &format!("accounts.done.{}", account_code(*change))).to_string()
            }
            Flash::AccountRefused => t(l, "accounts.refused").to_string(),
        }
    }
}

fn account_code(change: AccountChange) -> &'static str {
    ACCOUNT_CHANGES
        .iter()
        .find(|(c, _)| *c == change)
        .map_or("changed", |(_, code)| code)
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
            Flash::AccountRefused,
            Flash::AccountChanged(AccountChange::Disable),
            Flash::AccountChanged(AccountChange::Staff(false)),
            Flash::AccountChanged(AccountChange::RemoveSignIn),
        ] {
            assert_eq!(Flash::parse(&f.value()), Some(f));
        }
        for bad in [
            "",
            "cleared:x",
            "refreshed:",
            "nope:1",
            "cleanup:later",
            "account:deleted",
        ] {
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
