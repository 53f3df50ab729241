//! PostgreSQL's [`DataView`]: the rows the statistics read, from one
//! repeatable-read transaction. The SQL is SQLite's without its planner
//! hints, with `$n` parameters.

use std::cell::RefCell;
use std::collections::HashMap;

use super::PgLink;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use crate::store::speakers::GroupFilter;
use crate::store::view::{
    PlatformSession, ProgressRow, RecordingRow, SessionRow, SpeakerRow, Speakers, UploadRow,
};
use crate::store::{DataView, Result, StoreError};

/// The speakers of a group: NULL and empty compare equal, as in the counters.
const GROUP_WHERE: &str = "($1::text IS NULL OR COALESCE(s.category, '') = $1)
    AND ($2::text IS NULL OR COALESCE(s.diagnosis, '') = $2)
    AND ($3::text IS NULL OR COALESCE(s.gender, '') = $3)";

/// A pooled link (inside a read-only transaction for a snapshot), borrowed
/// mutably by each query in turn; statements are prepared once per link.
pub struct PgView<'c> {
    link: RefCell<&'c mut PgLink>,
    store: &'c super::PgStore,
}

impl<'c> PgView<'c> {
    pub fn new(link: &'c mut PgLink, store: &'c super::PgStore) -> PgView<'c> {
        PgView {
            link: RefCell::new(link),
            store,
        }
    }

    fn err(&self) -> impl Fn(postgres::Error) -> StoreError + 'c {
        let store = self.store;
        move |source| store.error(source)
    }

    /// Every row of `sql`, each handed to `each`, streamed.
    fn each(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        mut each: impl FnMut(&postgres::Row) -> std::result::Result<(), postgres::Error>,
    ) -> Result<()> {
        let mut link = self.link.borrow_mut();
        let stmt = link.statement(self.store, sql)?;
        let mut rows = link
            .client()
            .query_raw(&stmt, params.iter().copied())
            .map_err(self.err())?;
        while let Some(row) = rows.next().map_err(self.err())? {
            each(&row).map_err(self.err())?;
        }
        Ok(())
    }

    fn one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<postgres::Row>> {
        let mut link = self.link.borrow_mut();
        let stmt = link.statement(self.store, sql)?;
        link.client().query_opt(&stmt, params).map_err(self.err())
    }

    /// The parameters of `which` and the SQL condition on speakers `s`.
    fn speakers_where(which: Speakers<'_>) -> (&'static str, Vec<Box<dyn ToSql + Sync + '_>>) {
        match which {
            Speakers::All => ("TRUE", Vec::new()),
            Speakers::Group(group) => (
                GROUP_WHERE,
                group
                    .iter()
                    .map(|v| Box::new(*v) as Box<dyn ToSql + Sync>)
                    .collect(),
            ),
            Speakers::One(id) => ("s.id = $1", vec![Box::new(id)]),
        }
    }
}

fn params<'a>(boxed: &'a [Box<dyn ToSql + Sync + 'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    boxed.iter().map(|b| b.as_ref()).collect()
}

impl DataView for PgView<'_> {
    fn tables_revision(&self, tables: &[&str]) -> Result<u64> {
        let names: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
        let row = self.one(
            "SELECT COALESCE(SUM(inserts + updates + deletes), 0)::bigint
             FROM write_counters WHERE table_name = ANY($1)",
            &[&names],
        )?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    fn user_revision(&self, user: i64) -> Result<(u64, u64)> {
        let row = self.one(
            "SELECT sessions, progress FROM user_revisions WHERE user_id = $1",
            &[&user],
        )?;
        Ok(row.map_or((0, 0), |r| {
            (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64)
        }))
    }

    fn group_revision(&self, filter: GroupFilter) -> Result<u64> {
        let row = self.one(
            "SELECT COALESCE(SUM(n), 0)::bigint FROM group_revisions s WHERE
             ($1::text IS NULL OR s.category = $1) AND ($2::text IS NULL OR s.diagnosis = $2)
             AND ($3::text IS NULL OR s.gender = $3)",
            &[&filter[0], &filter[1], &filter[2]],
        )?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    fn speaker_revision(&self, speaker: i64) -> Result<u64> {
        let row = self.one(
            "SELECT n FROM speaker_revisions WHERE speaker_id = $1",
            &[&speaker],
        )?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    fn user_is_known(&self, user: i64) -> Result<bool> {
        let row = self.one(
            "SELECT EXISTS(SELECT 1 FROM users WHERE id = $1)
                 OR EXISTS(SELECT 1 FROM study_sessions WHERE user_id = $1)",
            &[&user],
        )?;
        Ok(row.is_some_and(|r| r.get(0)))
    }

    fn speaker_exists(&self, speaker: i64) -> Result<bool> {
        let row = self.one(
            "SELECT EXISTS(SELECT 1 FROM speakers WHERE id = $1)",
            &[&speaker],
        )?;
        Ok(row.is_some_and(|r| r.get(0)))
    }

    fn speakers(&self, which: Speakers, each: &mut dyn FnMut(SpeakerRow)) -> Result<()> {
        let (condition, boxed) = Self::speakers_where(which);
        self.each(
            &format!(
                "SELECT s.id, s.category, s.gender, s.diagnosis FROM speakers s WHERE {condition}"
            ),
            &params(&boxed),
            |r| {
                each(SpeakerRow {
                    id: r.try_get(0)?,
                    category: r.try_get(1)?,
                    gender: r.try_get(2)?,
                    diagnosis: r.try_get(3)?,
                });
                Ok(())
            },
        )
    }

    fn recordings(&self, which: Speakers, each: &mut dyn FnMut(RecordingRow)) -> Result<()> {
        let (sql, boxed) = match which {
            Speakers::All => (
                // The order every engine hands them over in (see
                // `DataView::recordings`), so sums of reals agree to the bit.
                "SELECT speaker_id, recorded_at, duration_s, snr_db FROM recordings
                 ORDER BY speaker_id, recorded_at, duration_s, snr_db NULLS FIRST, id"
                    .to_string(),
                Vec::new(),
            ),
            other => {
                let (condition, boxed) = Self::speakers_where(other);
                (
                    format!(
                        "SELECT r.speaker_id, r.recorded_at, r.duration_s, r.snr_db
                         FROM speakers s JOIN recordings r ON r.speaker_id = s.id
                         WHERE {condition}
                         ORDER BY s.id, r.recorded_at, r.duration_s, r.snr_db NULLS FIRST, r.id"
                    ),
                    boxed,
                )
            }
        };
        self.each(&sql, &params(&boxed), |r| {
            each(RecordingRow {
                speaker: r.try_get(0)?,
                recorded_at: r.try_get(1)?,
                duration_s: r.try_get(2)?,
                snr_db: r.try_get(3)?,
            });
            Ok(())
        })
    }

    fn snr_in_order(&self, offset: u64, take: u64) -> Result<Vec<f64>> {
        let mut values = Vec::new();
        self.each(
            "SELECT snr_db FROM recordings WHERE snr_db IS NOT NULL
             ORDER BY snr_db LIMIT $1 OFFSET $2",
            &[&(take as i64), &(offset as i64)],
            |r| {
                values.push(r.try_get(0)?);
                Ok(())
            },
        )?;
        Ok(values)
    }

    fn sessions_of(&self, user: i64, from: i64, until: i64) -> Result<Vec<SessionRow>> {
        let mut out = Vec::new();
        self.each(
            "SELECT start_time, end_time, duration_minutes, effectiveness_rating, focus_score,
                    learning_environment, device_type, subject_category, is_active
             FROM study_sessions WHERE user_id = $1 AND start_time >= $2 AND start_time < $3
             ORDER BY start_time, id",
            &[&user, &from, &until],
            |r| {
                out.push(SessionRow {
                    start: r.try_get(0)?,
                    end: r.try_get(1)?,
                    duration: r.try_get(2)?,
                    rating: r.try_get(3)?,
                    focus: r.try_get(4)?,
                    environment: r.try_get(5)?,
                    device: r.try_get(6)?,
                    subject: r.try_get(7)?,
                    active: r.try_get::<_, i64>(8)? != 0,
                });
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn progress_of(&self, user: i64) -> Result<Vec<ProgressRow>> {
        let mut out = Vec::new();
        self.each(
            "SELECT p.proficiency_level, p.learning_hours_total, p.learning_hours_week,
                    p.completed_at, c.subject
             FROM course_progress p LEFT JOIN courses c ON c.id = p.course_id
             WHERE p.user_id = $1 ORDER BY p.id",
            &[&user],
            |r| {
                out.push(ProgressRow {
                    proficiency: r.try_get(0)?,
                    hours_total: r.try_get(1)?,
                    hours_week: r.try_get(2)?,
                    completed: r.try_get::<_, Option<i64>>(3)?.is_some(),
                    subject: r.try_get(4)?,
                });
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn all_sessions(&self, each: &mut dyn FnMut(PlatformSession<'_>)) -> Result<()> {
        self.each(
            "SELECT user_id, start_time, duration_minutes, learning_environment, device_type
             FROM study_sessions",
            &[],
            |r| {
                each(PlatformSession {
                    user: r.try_get(0)?,
                    start: r.try_get(1)?,
                    duration: r.try_get(2)?,
                    environment: r.try_get(3)?,
                    device: r.try_get(4)?,
                });
                Ok(())
            },
        )
    }

    fn ip_regions(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        self.each(
            "SELECT cidr, region FROM ip_regions ORDER BY seq",
            &[],
            |r| {
                out.push((r.try_get(0)?, r.try_get(1)?));
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn recordings_per_upload(&self) -> Result<HashMap<i64, u64>> {
        let mut counts = HashMap::new();
        self.each(
            "SELECT upload_id, COUNT(*) FROM recordings WHERE upload_id IS NOT NULL GROUP BY upload_id",
            &[],
            |r| {
                counts.insert(r.try_get(0)?, r.try_get::<_, i64>(1)? as u64);
                Ok(())
            },
        )?;
        Ok(counts)
    }

    fn uploads(&self, each: &mut dyn FnMut(UploadRow)) -> Result<()> {
        self.each(
            "SELECT id, ip, latitude, longitude, region FROM uploads",
            &[],
            |r| {
                each(UploadRow {
                    id: r.try_get(0)?,
                    ip: r.try_get(1)?,
                    latitude: r.try_get(2)?,
                    longitude: r.try_get(3)?,
                    region: r.try_get(4)?,
                });
                Ok(())
            },
        )
    }
}
