//! What the statistics read: typed rows over one consistent view of the data
//! (one read transaction). The arithmetic of every statistic lives in
//! `stats`, once; an engine only says how its rows are read, by implementing
//! [`DataView`]. This file holds SQLite's implementation and its SQL.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

use super::speakers::{GroupFilter, GROUP_WHERE};
use super::Result;

/// Which speakers a dashboard covers.
#[derive(Debug, Clone, Copy)]
pub enum Speakers<'a> {
    /// Every speaker, and every recording (orphans count in the totals).
    All,
    /// The speakers of a group (category, diagnosis, gender; `None` is any,
    /// NULL and empty compare equal), and their recordings.
    Group(GroupFilter<'a>),
    /// One speaker and their recordings.
    One(i64),
}

/// A speaker as the dashboard counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerRow {
    /// Id.
    pub id: i64,
    /// Category as written (`None` when NULL).
    pub category: Option<String>,
    /// Gender as written.
    pub gender: Option<String>,
    /// Diagnosis as written.
    pub diagnosis: Option<String>,
}

/// A recording as the dashboard counts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordingRow {
    /// The speaker's id.
    pub speaker: i64,
    /// When it was recorded (µs since the epoch).
    pub recorded_at: i64,
    /// Length in seconds.
    pub duration_s: f64,
    /// Signal-to-noise ratio in dB, when measured.
    pub snr_db: Option<f64>,
}

/// A study session as a learner's statistics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// Start (µs since the epoch).
    pub start: i64,
    /// End, when finished.
    pub end: Option<i64>,
    /// Minutes.
    pub duration: i64,
    /// Effectiveness rating 1–5.
    pub rating: Option<i64>,
    /// Focus score.
    pub focus: Option<f64>,
    /// Learning environment.
    pub environment: Option<String>,
    /// Device type.
    pub device: Option<String>,
    /// Subject category.
    pub subject: Option<String>,
    /// Still running.
    pub active: bool,
}

/// One row of a learner's course progress, with the course's subject.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressRow {
    /// Proficiency level.
    pub proficiency: f64,
    /// Hours in all.
    pub hours_total: f64,
    /// Hours this week.
    pub hours_week: f64,
    /// Whether the course is completed.
    pub completed: bool,
    /// The course's subject (`None` for an unknown course).
    pub subject: Option<String>,
}

/// A study session as the platform-wide statistic reads it; texts borrowed
/// for the one call, so a pass over millions allocates only new names.
#[derive(Debug, Clone, Copy)]
pub struct PlatformSession<'a> {
    /// The learner.
    pub user: i64,
    /// Start (µs since the epoch).
    pub start: i64,
    /// Minutes.
    pub duration: i64,
    /// Learning environment.
    pub environment: Option<&'a str>,
    /// Device type.
    pub device: Option<&'a str>,
}

/// An upload as the locations statistic reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRow {
    /// Id.
    pub id: i64,
    /// The client's address as written.
    pub ip: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Region as written.
    pub region: Option<String>,
}

/// One consistent view of the data, as the statistics read it. Methods that
/// visit many rows call `each` once per row, in the engine's order unless
/// said otherwise.
pub trait DataView {
    /// Writes counted for these tables (the sum of their counters).
    fn tables_revision(&self, tables: &[&str]) -> Result<u64>;
    /// Writes counted for a learner: (study sessions, course progress).
    fn user_revision(&self, user: i64) -> Result<(u64, u64)>;
    /// Writes counted for the groups a filter selects.
    fn group_revision(&self, filter: GroupFilter) -> Result<u64>;
    /// Writes counted for one speaker (its row and its recordings).
    fn speaker_revision(&self, speaker: i64) -> Result<u64>;
    /// Whether a learner exists (an account, or sessions of theirs).
    fn user_is_known(&self, user: i64) -> Result<bool>;
    /// Whether a speaker exists.
    fn speaker_exists(&self, speaker: i64) -> Result<bool>;
    /// The speakers of a selection.
    fn speakers(&self, which: Speakers, each: &mut dyn FnMut(SpeakerRow)) -> Result<()>;
    /// The recordings of a selection's speakers (with `All`, every one),
    /// by speaker id, then recorded_at, duration_s, snr_db (no SNR first)
    /// and id: one order for every engine, so sums agree to the bit.
    fn recordings(&self, which: Speakers, each: &mut dyn FnMut(RecordingRow)) -> Result<()>;
    /// Measured SNR values in ascending order: `take` of them from `offset`.
    fn snr_in_order(&self, offset: u64, take: u64) -> Result<Vec<f64>>;
    /// A learner's sessions with `from <= start < until`, by start then id.
    fn sessions_of(&self, user: i64, from: i64, until: i64) -> Result<Vec<SessionRow>>;
    /// A learner's course progress, in the order it was stored.
    fn progress_of(&self, user: i64) -> Result<Vec<ProgressRow>>;
    /// Every study session.
    fn all_sessions(&self, each: &mut dyn FnMut(PlatformSession<'_>)) -> Result<()>;
    /// The address-to-region table (CIDR, region), in file order.
    fn ip_regions(&self) -> Result<Vec<(String, String)>>;
    /// Recordings per upload id (uploads without recordings absent).
    fn recordings_per_upload(&self) -> Result<HashMap<i64, u64>>;
    /// Every upload.
    fn uploads(&self, each: &mut dyn FnMut(UploadRow)) -> Result<()>;
}

/// SQLite's view: a connection, normally inside a read transaction.
pub struct SqliteView<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteView<'c> {
    /// The view through `conn` (open a transaction first for one snapshot).
    pub fn new(conn: &'c Connection) -> SqliteView<'c> {
        SqliteView { conn }
    }
}

/// Runs `stmt` with the parameters of `which`: none for the whole corpus,
/// the group's three values, or the speaker's id.
fn query<'s>(
    stmt: &'s mut rusqlite::Statement<'_>,
    which: Speakers,
) -> rusqlite::Result<rusqlite::Rows<'s>> {
    match which {
        Speakers::All => stmt.query([]),
        Speakers::Group(group) => stmt.query(group),
        Speakers::One(id) => stmt.query([id]),
    }
}

impl DataView for SqliteView<'_> {
    fn tables_revision(&self, tables: &[&str]) -> Result<u64> {
        super::read_revision_sum(self.conn, tables)
    }

    fn user_revision(&self, user: i64) -> Result<(u64, u64)> {
        super::read_user_revision(self.conn, user)
    }

    fn group_revision(&self, filter: GroupFilter) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached(super::speakers::GROUP_REVISION)?
            .query_row(filter, |r| r.get(0))?;
        Ok(n as u64)
    }

    fn speaker_revision(&self, speaker: i64) -> Result<u64> {
        let n: Option<i64> = self
            .conn
            .prepare_cached(super::speakers::SPEAKER_REVISION)?
            .query_row([speaker], |r| r.get(0))
            .optional()?;
        Ok(n.unwrap_or(0) as u64)
    }

    fn user_is_known(&self, user: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(super::accounts::USER_IS_KNOWN)?
            .query_row([user], |r| r.get(0))?)
    }

    fn speaker_exists(&self, speaker: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM speakers WHERE id = ?1)")?
            .query_row([speaker], |r| r.get(0))?)
    }

    fn speakers(&self, which: Speakers, each: &mut dyn FnMut(SpeakerRow)) -> Result<()> {
        let columns = "SELECT id, category, gender, diagnosis";
        let mut stmt = match which {
            Speakers::All => self.conn.prepare(&format!("{columns} FROM speakers"))?,
            Speakers::Group(_) => self
                .conn
                .prepare(&format!("{columns} FROM speakers s WHERE {GROUP_WHERE}"))?,
            Speakers::One(_) => self
                .conn
                .prepare(&format!("{columns} FROM speakers WHERE id = ?1"))?,
        };
        let mut rows = query(&mut stmt, which)?;
        while let Some(r) = rows.next()? {
            each(SpeakerRow {
                id: r.get(0)?,
                category: r.get(1)?,
                gender: r.get(2)?,
                diagnosis: r.get(3)?,
            });
        }
        Ok(())
    }

    fn recordings(&self, which: Speakers, each: &mut dyn FnMut(RecordingRow)) -> Result<()> {
        // Every engine hands the rows over in one order, by speaker, then
        // (recorded_at, duration_s, snr_db, id): sums of reals then add up
        // in the same order and agree to the last bit. Here that is the
        // covering index's own order, so nothing is sorted; a group or a
        // speaker reads only its speakers' recordings through it (CROSS
        // JOIN keeps speakers, in id order, the outer loop).
        let sql = match which {
            Speakers::All => "SELECT speaker_id, recorded_at, duration_s, snr_db
                 FROM recordings INDEXED BY recordings_speaker
                 ORDER BY speaker_id, recorded_at, duration_s, snr_db, id"
                .to_string(),
            Speakers::Group(_) => format!(
                "SELECT r.speaker_id, r.recorded_at, r.duration_s, r.snr_db
                 FROM (SELECT s.id FROM speakers s WHERE {GROUP_WHERE}) g
                 CROSS JOIN recordings r INDEXED BY recordings_speaker ON r.speaker_id = g.id"
            ),
            Speakers::One(_) => "SELECT speaker_id, recorded_at, duration_s, snr_db
                 FROM recordings INDEXED BY recordings_speaker WHERE speaker_id = ?1"
                .to_string(),
        };
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = query(&mut stmt, which)?;
        while let Some(r) = rows.next()? {
            each(RecordingRow {
                speaker: r.get(0)?,
                recorded_at: r.get(1)?,
                duration_s: r.get(2)?,
                snr_db: r.get(3)?,
            });
        }
        Ok(())
    }

    fn snr_in_order(&self, offset: u64, take: u64) -> Result<Vec<f64>> {
        let mut stmt = self.conn.prepare(
            "SELECT snr_db FROM recordings INDEXED BY recordings_snr WHERE snr_db IS NOT NULL
             ORDER BY snr_db LIMIT ?1 OFFSET ?2",
        )?;
        let values = stmt
            .query_map([take as i64, offset as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(values)
    }

    fn sessions_of(&self, user: i64, from: i64, until: i64) -> Result<Vec<SessionRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT start_time, end_time, duration_minutes, effectiveness_rating, focus_score,
                    learning_environment, device_type, subject_category, is_active
             FROM study_sessions WHERE user_id = ?1 AND start_time >= ?2 AND start_time < ?3
             ORDER BY start_time, id",
        )?;
        let rows = stmt.query_map([user, from, until], |r| {
            Ok(SessionRow {
                start: r.get(0)?,
                end: r.get(1)?,
                duration: r.get(2)?,
                rating: r.get(3)?,
                focus: r.get(4)?,
                environment: r.get(5)?,
                device: r.get(6)?,
                subject: r.get(7)?,
                active: r.get::<_, i64>(8)? != 0,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn progress_of(&self, user: i64) -> Result<Vec<ProgressRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.proficiency_level, p.learning_hours_total, p.learning_hours_week,
                    p.completed_at, c.subject
             FROM course_progress p LEFT JOIN courses c ON c.id = p.course_id
             WHERE p.user_id = ?1 ORDER BY p.id",
        )?;
        let rows = stmt.query_map([user], |r| {
            Ok(ProgressRow {
                proficiency: r.get(0)?,
                hours_total: r.get(1)?,
                hours_week: r.get(2)?,
                completed: r.get::<_, Option<i64>>(3)?.is_some(),
                subject: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn all_sessions(&self, each: &mut dyn FnMut(PlatformSession<'_>)) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT user_id, start_time, duration_minutes, learning_environment, device_type
             FROM study_sessions",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let text = |i| -> rusqlite::Result<Option<&str>> {
                r.get_ref(i)?
                    .as_str_or_null()
                    .map_err(rusqlite::Error::from)
            };
            each(PlatformSession {
                user: r.get(0)?,
                start: r.get(1)?,
                duration: r.get(2)?,
                environment: text(3)?,
                device: text(4)?,
            });
        }
        Ok(())
    }

    fn ip_regions(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT cidr, region FROM ip_regions ORDER BY seq")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn recordings_per_upload(&self) -> Result<HashMap<i64, u64>> {
        let mut stmt = self.conn.prepare(
            "SELECT upload_id, COUNT(*) FROM recordings WHERE upload_id IS NOT NULL GROUP BY upload_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut counts = HashMap::new();
        while let Some(r) = rows.next()? {
            counts.insert(r.get(0)?, r.get::<_, i64>(1)? as u64);
        }
        Ok(counts)
    }

    fn uploads(&self, each: &mut dyn FnMut(UploadRow)) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, ip, latitude, longitude, region FROM uploads")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(UploadRow {
                id: r.get(0)?,
                ip: r.get(1)?,
                latitude: r.get(2)?,
                longitude: r.get(3)?,
                region: r.get(4)?,
            });
        }
        Ok(())
    }
}
