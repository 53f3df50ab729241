//! Redirect targets: a `next=` from a client becomes a [`LocalPath`] or
//! nothing, and only a `LocalPath` reaches a `Location` header.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Escaped in a `next=` value: everything but unreserved characters and `/`,
/// so `/audio/dashboard/` stays readable in the address bar.
const NEXT_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// A path on this server (`/learning/users/4/?date=2025-06-26`): starts with
/// one `/`, holds only visible ASCII, no backslash, no scheme or host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath(String);

impl LocalPath {
    /// Accepts `text` only if it is a local path; anything else (`//host`,
    /// `/\host`, `https://…`, CR/LF or other control characters, non-ASCII)
    /// is `None`, and the caller falls back to its default page.
    pub fn parse(text: &str) -> Option<LocalPath> {
        let bytes = text.as_bytes();
        let local = bytes.first() == Some(&b'/')
            && !matches!(bytes.get(1), Some(b'/') | Some(b'\\'))
            && bytes
                .iter()
                .all(|b| (0x21..=0x7e).contains(b) && *b != b'\\')
            && text.len() <= 2048;
        local.then(|| LocalPath(text.to_string()))
    }

    /// A path built by voxdash itself (a route), checked like any other.
    /// Falls back to `/` if it is not local, which would be a bug.
    pub fn of(text: &str) -> LocalPath {
        LocalPath::parse(text).unwrap_or_else(|| {
            log::error!("not a local path: {text:?}");
            LocalPath("/".into())
        })
    }

    /// `text` if local, else `default`.
    pub fn or(text: Option<&str>, default: &str) -> LocalPath {
        text.and_then(LocalPath::parse)
            .unwrap_or_else(|| LocalPath::of(default))
    }

    /// The sign-in page, coming back to `url` (this request's path and
    /// query) afterwards.
    pub fn sign_in_then(url: &str) -> LocalPath {
        LocalPath::of(&format!(
            "/login/?next={}",
            utf8_percent_encode(url, NEXT_VALUE)
        ))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::LocalPath;

    #[test]
    fn only_local_paths_pass() {
        for ok in [
            "/",
            "/audio/dashboard/",
            "/learning/users/4/?date=2025-06-26&lang=ko",
        ] {
            assert_eq!(LocalPath::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "audio",
            "//evil.example",
            "/\\evil.example",
            "/a\\b",
            "https://evil.example/",
            "/x\r\nSet-Cookie: a=b",
            "/x\ty",
            "/서울",
            " /x",
        ] {
            assert!(LocalPath::parse(bad).is_none(), "{bad:?} passed");
        }
        assert_eq!(LocalPath::or(Some("//x"), "/login/").as_str(), "/login/");
    }
}
