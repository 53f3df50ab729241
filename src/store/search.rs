//! Finding people by what staff type in the search box: speakers by code,
//! users by login or display name.

use super::{Conn, Result};

/// At most this many speakers and this many users are found.
pub const FOUND_AT_MOST: usize = 20;

/// A speaker whose code matched.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundSpeaker {
    /// Speaker id.
    pub id: i64,
    /// The lab's code of the speaker.
    pub code: String,
    /// Category, gender and diagnosis, when known.
    pub category: Option<String>,
    /// Gender code.
    pub gender: Option<String>,
    /// Diagnosis.
    pub diagnosis: Option<String>,
}

/// A user whose login or display name matched.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundUser {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown to people, when set.
    pub display_name: Option<String>,
    /// A staff account (not a learner).
    pub is_staff: bool,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Speakers, best match first.
    pub speakers: Vec<FoundSpeaker>,
    /// Users, best match first.
    pub users: Vec<FoundUser>,
}

/// How well `text` matches `lowered` (the query, lowercased): 0 equal,
/// 1 a prefix, 2 elsewhere; `None` when it does not contain it. Letters
/// are compared ignoring case by Unicode's rules, the same in both
/// engines (SQL's `LOWER` and `LIKE` differ between them outside ASCII).
fn rank(text: &str, lowered: &str) -> Option<u8> {
    let text = text.to_lowercase();
    if text == lowered {
        Some(0)
    } else if text.starts_with(lowered) {
        Some(1)
    } else if text.contains(lowered) {
        Some(2)
    } else {
        None
    }
}

/// The speakers whose code and the users whose login or display name
/// contain `query` (ignoring case), [`FOUND_AT_MOST`] of each: exact
/// matches first, then prefixes, then the rest, each by code or login.
pub fn search(conn: &Conn, query: &str) -> Result<Found> {
    let lowered = query.to_lowercase();
    let mut speakers: Vec<(u8, FoundSpeaker)> = Vec::new();
    conn.each(
        "SELECT id, code, category, gender, diagnosis FROM speakers",
        &[],
        |r| {
            let code: String = r.get(1)?;
            if let Some(rank) = rank(&code, &lowered) {
                speakers.push((
                    rank,
                    FoundSpeaker {
                        id: r.get(0)?,
                        code,
                        category: r.get(2)?,
                        gender: r.get(3)?,
                        diagnosis: r.get(4)?,
                    },
                ));
            }
            Ok(())
        },
    )?;
    speakers.sort_by(|a, b| (a.0, &a.1.code, a.1.id).cmp(&(b.0, &b.1.code, b.1.id)));
    let mut users: Vec<(u8, FoundUser)> = Vec::new();
    conn.each(
        "SELECT id, username, display_name, is_staff FROM users",
        &[],
        |r| {
            let username: String = r.get(1)?;
            let display_name: Option<String> = r.get(2)?;
            let by_name = display_name.as_deref().and_then(|d| rank(d, &lowered));
            if let Some(rank) = [rank(&username, &lowered), by_name]
                .into_iter()
                .flatten()
                .min()
            {
                users.push((
                    rank,
                    FoundUser {
                        id: r.get(0)?,
                        username,
                        display_name,
                        is_staff: r.get::<i64>(3)? != 0,
                    },
                ));
            }
            Ok(())
        },
    )?;
    users.sort_by(|a, b| (a.0, &a.1.username, a.1.id).cmp(&(b.0, &b.1.username, b.1.id)));
    Ok(Found {
        speakers: speakers
            .into_iter()
            .take(FOUND_AT_MOST)
            .map(|(_, s)| s)
            .collect(),
        users: users
            .into_iter()
            .take(FOUND_AT_MOST)
            .map(|(_, u)| u)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::rank;

    #[test]
    fn a_match_ignores_case_and_ranks_equal_before_prefix_before_elsewhere() {
        assert_eq!(rank("SPK-0042", "spk-0042"), Some(0));
        assert_eq!(rank("SPK-0042", "spk"), Some(1));
        assert_eq!(rank("SPK-0042", "0042"), Some(2));
        assert_eq!(rank("SPK-0042", "0043"), None);
        assert_eq!(rank("Ärztin Özlem", "özlem"), Some(2));
    }
}
