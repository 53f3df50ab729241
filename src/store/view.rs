//! What the statistics read: typed rows over one consistent view of the data
//! (one read transaction). The arithmetic of every statistic lives in
//! `stats`, once; the reads live here, once for both engines, on
//! [`Conn`]. Only the planner hints of the two largest reads differ.

use std::collections::HashMap;

use super::aggregates::corpus::Measure;
use super::speakers::{GroupFilter, GROUP_WHERE};
use super::{args, Conn, CourseProgress, Result, Speaker, StudySession, Upload, Value};

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

/// Local months or local days, from the first to the last, as the
/// aggregates keep the corpus per period: whole months of a range from the
/// months, its other days from the days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Periods {
    /// `YYYYMM` to `YYYYMM`.
    Months(i64, i64),
    /// `YYYYMMDD` to `YYYYMMDD`.
    Days(i64, i64),
}

impl Periods {
    /// The name of the period's column in the aggregates.
    fn column(self) -> &'static str {
        match self {
            Periods::Months(..) => "month",
            Periods::Days(..) => "day",
        }
    }

    /// The first and the last period.
    fn bounds(self) -> (i64, i64) {
        match self {
            Periods::Months(first, last) | Periods::Days(first, last) => (first, last),
        }
    }
}

/// Periods whose aggregates a range adds, or takes away (`less`): most
/// of a month is read as the month less the few days the range leaves out,
/// fewer rows than the many days it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The periods.
    pub periods: Periods,
    /// Whether they are taken away.
    pub less: bool,
}

impl Part {
    /// 1 for periods added, -1 for periods taken away.
    pub fn sign(&self) -> i64 {
        if self.less {
            -1
        } else {
            1
        }
    }
}

/// The speakers of a range while rows of the speakers' counts are added
/// and taken away. Summed here: SQLite's `GROUP BY` sorts the rows (a
/// year's few thousand) in a temporary B-tree, four times slower than the
/// read.
#[derive(Default)]
struct SpeakerSums {
    /// Per group, keyed by its three texts joined (looked up without an
    /// allocation per row).
    groups: HashMap<String, i64>,
    /// Per birth year (0 for none).
    births: std::collections::BTreeMap<i64, i64>,
    key: String,
}

/// What joins a group's texts in [`SpeakerSums`]: no text holds it.
const JOIN: char = '\u{1f}';

impl SpeakerSums {
    /// Adds (`sign` 1) or takes away (-1) the rows of `rows` (a table
    /// and its condition) of a count of speakers.
    fn read(&mut self, conn: &Conn, rows: &str, args: &[Value], sign: i64) -> Result<()> {
        use crate::store::aggregates::months::PER_GROUP;
        conn.each(
            &format!("SELECT kind, category, gender, diagnosis, birth_year, speakers FROM {rows}"),
            args,
            |r| {
                let speakers = sign * r.get::<i64>(5)?;
                if r.get::<i64>(0)? != PER_GROUP {
                    *self.births.entry(r.get(4)?).or_default() += speakers;
                    return Ok(());
                }
                self.key.clear();
                for i in 1..=3 {
                    self.key.push_str(r.text(i)?.unwrap_or_default());
                    self.key.push(JOIN);
                }
                match self.groups.get_mut(self.key.as_str()) {
                    Some(n) => *n += speakers,
                    None => {
                        self.groups.insert(self.key.clone(), speakers);
                    }
                }
                Ok(())
            },
        )
    }

    /// The speakers counted, per group and birth year.
    fn finish(self) -> RangeSpeakers {
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        let mut groups: Vec<GroupSpeakers> = self
            .groups
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(key, n)| {
                let mut texts = key.split(JOIN).map(str::to_string);
                let mut text = || texts.next().unwrap_or_default();
                GroupSpeakers {
                    category: text(),
                    gender: text(),
                    diagnosis: text(),
                    speakers: count(n),
                }
            })
            .collect();
        groups.sort_by(|a, b| {
            (&a.category, &a.gender, &a.diagnosis).cmp(&(&b.category, &b.gender, &b.diagnosis))
        });
        let births = self
            .births
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(born, n)| ((born != 0).then_some(born), count(n)))
            .collect();
        RangeSpeakers { groups, births }
    }
}

/// A cell's sums while the parts of a range are added and taken away.
#[derive(Default)]
struct SignedCell {
    /// Recordings, measured SNRs, the four bands, new speakers.
    counts: [i64; 7],
    duration_s: f64,
    snr_sum: f64,
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
    /// Sample rate in Hz, when given.
    pub sample_rate: Option<i64>,
}

/// Speakers of one group, from the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpeakers {
    /// Category (`""` for none).
    pub category: String,
    /// Gender (`""` for none).
    pub gender: String,
    /// Diagnosis (`""` for none).
    pub diagnosis: String,
    /// Speakers in the group.
    pub speakers: u64,
}

/// The recordings of one group and local month, from the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingCell<'a> {
    /// Whether their speaker has a row (if not, they count in the whole
    /// corpus only, and the group is empty).
    pub known: bool,
    /// Category (`""` for none).
    pub category: &'a str,
    /// Gender (`""` for none).
    pub gender: &'a str,
    /// Diagnosis (`""` for none).
    pub diagnosis: &'a str,
    /// The local month, `YYYYMM`.
    pub month: i64,
    /// Recordings.
    pub recordings: u64,
    /// Their seconds.
    pub duration_s: f64,
    /// Those with an SNR.
    pub snr_n: u64,
    /// The sum of their SNRs.
    pub snr_sum: f64,
    /// Recordings per SNR band: poor, fair, good, excellent.
    pub bands: [u64; 4],
    /// Speakers whose first recording falls in the month.
    pub new_speakers: u64,
}

/// Recordings with one descriptor value, summed from the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct DescriptorSum {
    /// Whether their speakers have a row (if not, they have no age).
    pub known: bool,
    /// What `value` is (`aggregates::corpus::descriptor`).
    pub kind: i64,
    /// The sample rate, birth year (0 for none) or duration bucket.
    pub value: i64,
    /// Recordings.
    pub recordings: u64,
    /// Their seconds.
    pub duration_s: f64,
}

/// The speakers with a recording in a range of days, from the aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSpeakers {
    /// Per group.
    pub groups: Vec<GroupSpeakers>,
    /// Per birth year (`None`: none given).
    pub births: Vec<(Option<i64>, u64)>,
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

/// One consistent view of the data, as the statistics read it (a
/// connection, normally inside a read transaction). Methods that visit many
/// rows call `each` once per row, streamed.
pub struct DataView<'c> {
    conn: &'c Conn<'c>,
}

impl Speakers<'_> {
    /// The statement's parameters: none for the whole corpus, the group's
    /// three values, or the speaker's id.
    fn args(self) -> Vec<Value> {
        match self {
            Speakers::All => Vec::new(),
            Speakers::Group(group) => group.iter().map(|v| Value::from(*v)).collect(),
            Speakers::One(id) => vec![Value::from(id)],
        }
    }
}

impl<'c> DataView<'c> {
    /// The view through `conn` (begin a read transaction first for one
    /// snapshot).
    pub fn new(conn: &'c Conn<'c>) -> DataView<'c> {
        DataView { conn }
    }

    /// Writes counted for these tables (the sum of their counters, at most
    /// three). One key lookup per table: `IN (...)` would make SQLite build
    /// and drop a temporary b-tree on every run, a tenth of a page view.
    pub fn tables_revision(&self, tables: &[&str]) -> Result<u64> {
        debug_assert!(tables.len() <= 3, "at most three tables per statistic");
        let name = |i: usize| tables.get(i).copied().unwrap_or("");
        let n: i64 = self.conn.query_value(
            "SELECT COALESCE((SELECT inserts + updates + deletes FROM write_counters WHERE table_name = ?1), 0)
                  + COALESCE((SELECT inserts + updates + deletes FROM write_counters WHERE table_name = ?2), 0)
                  + COALESCE((SELECT inserts + updates + deletes FROM write_counters WHERE table_name = ?3), 0)",
            args![name(0), name(1), name(2)],
        )?;
        Ok(n as u64)
    }

    /// Writes counted for a learner: (study sessions, course progress).
    pub fn user_revision(&self, user: i64) -> Result<(u64, u64)> {
        let row = self.conn.query_opt(
            "SELECT sessions, progress FROM user_revisions WHERE user_id = ?1",
            args![user],
        )?;
        match row {
            Some(r) => Ok((r.get::<i64>(0)? as u64, r.get::<i64>(1)? as u64)),
            None => Ok((0, 0)),
        }
    }

    /// Writes counted for the groups a filter selects.
    pub fn group_revision(&self, filter: GroupFilter) -> Result<u64> {
        super::speakers::group_revision(self.conn, filter)
    }

    /// Writes counted for one speaker (its row and its recordings).
    pub fn speaker_revision(&self, speaker: i64) -> Result<u64> {
        super::speakers::speaker_revision(self.conn, speaker)
    }

    /// Whether a learner exists (an account, or sessions of theirs).
    pub fn user_is_known(&self, user: i64) -> Result<bool> {
        super::accounts::user_is_known(self.conn, user)
    }

    /// Whether a speaker exists.
    pub fn speaker_exists(&self, speaker: i64) -> Result<bool> {
        self.conn.query_value(
            "SELECT EXISTS(SELECT 1 FROM speakers WHERE id = ?1)",
            args![speaker],
        )
    }

    /// The speakers of a selection.
    pub fn speakers(&self, which: Speakers, mut each: impl FnMut(Speaker)) -> Result<()> {
        let columns = format!("SELECT {} FROM speakers s", Speaker::COLUMNS);
        let sql = match which {
            Speakers::All => columns,
            Speakers::Group(_) => format!("{columns} WHERE {GROUP_WHERE}"),
            Speakers::One(_) => format!("{columns} WHERE s.id = ?1"),
        };
        self.conn.each(&sql, &which.args(), |r| {
            each(Speaker::read(&r)?);
            Ok(())
        })
    }

    /// The recordings of a selection's speakers (with `All`, every one),
    /// by speaker id, then recorded_at, duration_s, snr_db (no SNR first)
    /// and id: one order for every engine, so sums of reals add up in the
    /// same order and agree to the last bit.
    pub fn recordings(&self, which: Speakers, mut each: impl FnMut(RecordingRow)) -> Result<()> {
        // SQLite: the covering index's own order, so nothing is sorted; a
        // group or a speaker reads only its speakers' recordings through
        // it (CROSS JOIN keeps speakers, in id order, the outer loop).
        // PostgreSQL: the same order asked for, which its index gives.
        let sql = match which {
            Speakers::All => self
                .conn
                .dialect(
                    "SELECT speaker_id, recorded_at, duration_s, snr_db, sample_rate
                     FROM recordings INDEXED BY recordings_speaker
                     ORDER BY speaker_id, recorded_at, duration_s, snr_db, id",
                    "SELECT speaker_id, recorded_at, duration_s, snr_db, sample_rate FROM recordings
                     ORDER BY speaker_id, recorded_at, duration_s, snr_db NULLS FIRST, id",
                )
                .to_string(),
            Speakers::Group(_) => self
                .conn
                .dialect(
                    &format!(
                        "SELECT r.speaker_id, r.recorded_at, r.duration_s, r.snr_db, r.sample_rate
                         FROM (SELECT s.id FROM speakers s WHERE {GROUP_WHERE}) g
                         CROSS JOIN recordings r INDEXED BY recordings_speaker ON r.speaker_id = g.id"
                    ),
                    &format!(
                        "SELECT r.speaker_id, r.recorded_at, r.duration_s, r.snr_db, r.sample_rate
                         FROM speakers s JOIN recordings r ON r.speaker_id = s.id
                         WHERE {GROUP_WHERE}
                         ORDER BY s.id, r.recorded_at, r.duration_s, r.snr_db NULLS FIRST, r.id"
                    ),
                )
                .to_string(),
            Speakers::One(_) => self
                .conn
                .dialect(
                    "SELECT speaker_id, recorded_at, duration_s, snr_db, sample_rate
                     FROM recordings INDEXED BY recordings_speaker WHERE speaker_id = ?1",
                    "SELECT speaker_id, recorded_at, duration_s, snr_db, sample_rate FROM recordings
                     WHERE speaker_id = ?1
                     ORDER BY recorded_at, duration_s, snr_db NULLS FIRST, id",
                )
                .to_string(),
        };
        self.conn.each(&sql, &which.args(), |r| {
            each(RecordingRow {
                speaker: r.get(0)?,
                recorded_at: r.get(1)?,
                duration_s: r.get(2)?,
                snr_db: r.get(3)?,
                sample_rate: r.get(4)?,
            });
            Ok(())
        })
    }

    /// The recordings of a selection's speakers (with `All`, every one)
    /// made in `from..until` (µs), by time then id: through the index on
    /// time for `All` (what a range costs is its own recordings), through
    /// each speaker's index range otherwise.
    pub fn recordings_in(
        &self,
        which: Speakers,
        from: i64,
        until: i64,
        mut each: impl FnMut(RecordingRow),
    ) -> Result<()> {
        let columns = "SELECT r.speaker_id, r.recorded_at, r.duration_s, r.snr_db, r.sample_rate";
        let sql = match which {
            Speakers::All => format!(
                "{columns} FROM recordings r {}
                     WHERE r.recorded_at >= ?1 AND r.recorded_at < ?2",
                self.conn.dialect("INDEXED BY recordings_time", "")
            ),
            Speakers::Group(_) => format!(
                "{columns} FROM (SELECT s.id FROM speakers s WHERE {GROUP_WHERE}) g
                     {} recordings r ON r.speaker_id = g.id
                     WHERE r.recorded_at >= ?4 AND r.recorded_at < ?5",
                // SQLite: the group's speakers the outer loop.
                self.conn.dialect("CROSS JOIN", "JOIN")
            ),
            Speakers::One(_) => format!(
                "{columns} FROM recordings r
                     WHERE r.speaker_id = ?1 AND r.recorded_at >= ?2 AND r.recorded_at < ?3"
            ),
        };
        let sql = format!("{sql} ORDER BY r.recorded_at, r.id");
        let mut args = which.args();
        args.extend([Value::from(from), Value::from(until)]);
        self.conn.each(&sql, &args, |r| {
            each(RecordingRow {
                speaker: r.get(0)?,
                recorded_at: r.get(1)?,
                duration_s: r.get(2)?,
                snr_db: r.get(3)?,
                sample_rate: r.get(4)?,
            });
            Ok(())
        })
    }

    /// Each speaker's first recording ever (µs), for the speakers of a
    /// selection that have one: one seek per speaker on the index on
    /// (speaker, time).
    pub fn first_recordings(&self, which: Speakers) -> Result<HashMap<i64, i64>> {
        let filter = match which {
            Speakers::All => "",
            Speakers::Group(_) => &format!("WHERE {GROUP_WHERE}"),
            Speakers::One(_) => "WHERE s.id = ?1",
        };
        let sql = format!(
            "SELECT s.id, (SELECT MIN(r.recorded_at) FROM recordings r WHERE r.speaker_id = s.id)
             FROM speakers s {filter}"
        );
        let mut firsts = HashMap::new();
        self.conn.each(&sql, &which.args(), |r| {
            if let Some(at) = r.get::<Option<i64>>(1)? {
                firsts.insert(r.get(0)?, at);
            }
            Ok(())
        })?;
        Ok(firsts)
    }

    /// Measured SNR values in ascending order: `take` of them from `offset`.
    pub fn snr_in_order(&self, offset: u64, take: u64) -> Result<Vec<f64>> {
        let sql = self.conn.dialect(
            "SELECT snr_db FROM recordings INDEXED BY recordings_snr WHERE snr_db IS NOT NULL
             ORDER BY snr_db LIMIT ?1 OFFSET ?2",
            "SELECT snr_db FROM recordings WHERE snr_db IS NOT NULL
             ORDER BY snr_db LIMIT ?1 OFFSET ?2",
        );
        let mut values = Vec::new();
        self.conn
            .each(sql, args![take as i64, offset as i64], |r| {
                values.push(r.get(0)?);
                Ok(())
            })?;
        Ok(values)
    }

    /// The time zone the aggregates were built for, if they were.
    pub fn aggregates_zone(&self) -> Result<Option<String>> {
        super::aggregates::built_for(self.conn)
    }

    /// From the aggregates: speakers per group of a selection (`All` or a
    /// group), as (category, gender, diagnosis, speakers).
    pub fn speaker_groups(&self, which: Speakers) -> Result<Vec<GroupSpeakers>> {
        let sql = match which {
            Speakers::Group(_) => format!(
                "SELECT category, gender, diagnosis, speakers FROM speaker_groups s WHERE {GROUP_WHERE}"
            ),
            _ => "SELECT category, gender, diagnosis, speakers FROM speaker_groups".to_string(),
        };
        self.conn.rows(&sql, &which.args(), |r| {
            Ok(GroupSpeakers {
                category: r.get(0)?,
                gender: r.get(1)?,
                diagnosis: r.get(2)?,
                speakers: r.get::<i64>(3)? as u64,
            })
        })
    }

    /// From the aggregates: the cells (group and local month, or local
    /// day) of a selection (`All`, with the recordings of unknown speakers,
    /// or a group) in `periods`. A day's cell tells its month.
    pub fn recording_cells(
        &self,
        which: Speakers,
        periods: Periods,
        mut each: impl FnMut(RecordingCell),
    ) -> Result<()> {
        let (table, at) = match periods {
            Periods::Months(..) => ("recording_cells", "month"),
            Periods::Days(..) => ("recording_day_cells", "day / 100"),
        };
        let period = periods.column();
        let columns = format!(
            "SELECT known, category, gender, diagnosis, {at}, recordings, duration_s,
                    snr_n, snr_sum, poor, fair, good, excellent, new_speakers
             FROM {table} s"
        );
        let (sql, bounds) = match which {
            Speakers::Group(_) => (
                format!("{columns} WHERE s.known = 1 AND {GROUP_WHERE} AND"),
                format!("?4 AND s.{period} <= ?5"),
            ),
            _ => (
                format!("{columns} WHERE"),
                format!("?1 AND s.{period} <= ?2"),
            ),
        };
        let sql = format!("{sql} s.{period} >= {bounds}");
        let (first, last) = periods.bounds();
        let mut args = which.args();
        args.extend([Value::from(first), Value::from(last)]);
        self.conn.each(&sql, &args, |r| {
            let n = |i: usize| -> Result<u64> { Ok(r.get::<i64>(i)? as u64) };
            each(RecordingCell {
                known: r.get::<i64>(0)? == 1,
                category: r.text(1)?.unwrap_or_default(),
                gender: r.text(2)?.unwrap_or_default(),
                diagnosis: r.text(3)?.unwrap_or_default(),
                month: r.get(4)?,
                recordings: n(5)?,
                duration_s: r.get(6)?,
                snr_n: n(7)?,
                snr_sum: r.get(8)?,
                bands: [n(9)?, n(10)?, n(11)?, n(12)?],
                new_speakers: n(13)?,
            });
            Ok(())
        })
    }

    /// From the aggregates: the whole corpus's cells (group and local
    /// month) of the parts of a range, each added or taken away; a cell
    /// left with no recording and no new speaker is left out, as the
    /// aggregates delete one.
    pub fn range_cells(&self, parts: &[Part], mut each: impl FnMut(RecordingCell)) -> Result<()> {
        if parts.iter().all(|p| !p.less) {
            // Nothing to take away: the cells as they are read.
            return parts
                .iter()
                .try_for_each(|p| self.recording_cells(Speakers::All, p.periods, &mut each));
        }
        type Key = (bool, String, String, String, i64);
        let mut sums: std::collections::BTreeMap<Key, SignedCell> = Default::default();
        for part in parts {
            let sign = part.sign();
            self.recording_cells(Speakers::All, part.periods, |c| {
                let key = (
                    c.known,
                    c.category.into(),
                    c.gender.into(),
                    c.diagnosis.into(),
                    c.month,
                );
                let sum = sums.entry(key).or_default();
                let counts = [c.recordings, c.snr_n, c.bands[0], c.bands[1], c.bands[2]]
                    .into_iter()
                    .chain([c.bands[3], c.new_speakers]);
                for (total, n) in sum.counts.iter_mut().zip(counts) {
                    *total += sign * n as i64;
                }
                sum.duration_s += sign as f64 * c.duration_s;
                sum.snr_sum += sign as f64 * c.snr_sum;
            })?;
        }
        for ((known, category, gender, diagnosis, month), sum) in &sums {
            let n = sum.counts.map(|n| u64::try_from(n).unwrap_or_default());
            if n[0] == 0 && n[6] == 0 {
                continue;
            }
            each(RecordingCell {
                known: *known,
                category,
                gender,
                diagnosis,
                month: *month,
                recordings: n[0],
                duration_s: sum.duration_s,
                snr_n: n[1],
                snr_sum: sum.snr_sum,
                bands: [n[2], n[3], n[4], n[5]],
                new_speakers: n[6],
            });
        }
        Ok(())
    }

    /// From the aggregates: values of `measure` per band of `grain`
    /// (hundredths of its unit) in `from..until`, by band: of the whole
    /// corpus (`groups` `None`), or of these groups of speakers, each read
    /// through the key (group, band), so a drill-down reads its own
    /// groups' bands only.
    pub fn bands(
        &self,
        measure: Measure,
        groups: Option<&[GroupSpeakers]>,
        grain: i64,
        from: i64,
        until: i64,
    ) -> Result<Vec<(i64, u64)>> {
        let sql = format!(
            "SELECT bin, recordings FROM {}_bins
             WHERE grain = ?1 AND known = ?2 AND category = ?3 AND gender = ?4
             AND diagnosis = ?5 AND bin >= ?6 AND bin < ?7 ORDER BY bin",
            measure.tables()
        );
        let mut counts: std::collections::BTreeMap<i64, u64> = Default::default();
        let mut read = |known: i64, category: &str, gender: &str, diagnosis: &str| {
            self.conn.each(
                &sql,
                args![grain, known, category, gender, diagnosis, from, until],
                |r| {
                    *counts.entry(r.get(0)?).or_default() += r.get::<i64>(1)? as u64;
                    Ok(())
                },
            )
        };
        match groups {
            None => read(2, "", "", "")?,
            Some(groups) => {
                for g in groups {
                    read(1, &g.category, &g.gender, &g.diagnosis)?;
                }
            }
        }
        Ok(counts.into_iter().collect())
    }

    /// From the aggregates: the values of `measure` in `from..until` of
    /// the whole corpus (`groups` `None`) or of these groups of speakers,
    /// in order, each with its recordings (a value of several groups once).
    pub fn band_values(
        &self,
        measure: Measure,
        groups: Option<&[GroupSpeakers]>,
        from: f64,
        until: f64,
    ) -> Result<Vec<(f64, u64)>> {
        let sql = format!(
            "SELECT value, recordings FROM {}_values
             WHERE known = ?1 AND category = ?2 AND gender = ?3 AND diagnosis = ?4
             AND value >= ?5 AND value < ?6",
            measure.tables()
        );
        let mut values: Vec<(f64, u64)> = Vec::new();
        let mut read = |known: i64, category: &str, gender: &str, diagnosis: &str| {
            self.conn.each(
                &sql,
                args![known, category, gender, diagnosis, from, until],
                |r| {
                    values.push((r.get(0)?, r.get::<i64>(1)? as u64));
                    Ok(())
                },
            )
        };
        match groups {
            None => read(2, "", "", "")?,
            Some(groups) => {
                for g in groups {
                    read(1, &g.category, &g.gender, &g.diagnosis)?;
                }
            }
        }
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        // One entry per value: groups share values (0.0 and -0.0 are one).
        let mut merged: Vec<(f64, u64)> = Vec::with_capacity(values.len());
        for (value, n) in values {
            match merged.last_mut() {
                Some((last, count)) if *last == value => *count += n,
                _ => merged.push((value, n)),
            }
        }
        Ok(merged)
    }

    /// From the aggregates: the speakers with a recording in the local
    /// months `first..=last` (`YYYYMM`), per group and per birth year
    /// (none given: `None`), each counted in their first month of the
    /// range (the one whose previous month lies before it).
    pub fn speakers_of_months(&self, (first, last): (i64, i64)) -> Result<RangeSpeakers> {
        let mut sums = SpeakerSums::default();
        sums.read(
            self.conn,
            "month_speakers WHERE month >= ?1 AND month <= ?2
             AND (previous_month = 0 OR previous_month < ?1)",
            args![first, last],
            1,
        )?;
        Ok(sums.finish())
    }

    /// From the aggregates: the speakers with a recording on a local day
    /// of `a..=b` (`YYYYMMDD`; 0 and `i64::MAX` leave an end open), per
    /// group and per birth year, as [`DataView::speakers_of_months`]
    /// gives them. Counted over each speaker's chain of days
    /// (`aggregates::days`, where the rule is explained): a few thousand
    /// rows for a month's edge, however many speakers there are.
    pub fn speakers_of_days(&self, a: i64, b: i64) -> Result<RangeSpeakers> {
        let (ma, mb) = (a / 100, b / 100);
        let mut sums = SpeakerSums::default();
        let mut add = |sql: &str, args: &[Value], sign: i64| sums.read(self.conn, sql, args, sign);
        // Days listed one by one: each is one seek, where a range over
        // them would read the rows of every later column too.
        let days = |first: i64, last: i64| {
            let days: Vec<String> = (first..=last).map(|d| d.to_string()).collect();
            (!days.is_empty()).then(|| format!("({})", days.join(", ")))
        };
        // Recorded in Ma on or after a.
        add(
            "day_lasts WHERE month = ?1 AND last_day >= ?2",
            args![ma, a],
            1,
        )?;
        // Came back in a month of Ma+1..=Mb from a month before Ma...
        add(
            "month_speakers WHERE month > ?1 AND month <= ?2
             AND (previous_month = 0 OR previous_month < ?1)",
            args![ma, mb],
            1,
        )?;
        // ... or from a day of Ma before a.
        add(
            "day_links WHERE previous_month = ?1 AND previous_last_day < ?2
             AND month > ?1 AND month <= ?3",
            args![ma, a, mb],
            1,
        )?;
        // Less those who came back in Mb only after b, from before Ma...
        add(
            "day_firsts WHERE month = ?1 AND first_day > ?2
             AND (previous_month = 0 OR previous_month < ?3)",
            args![mb, b, ma],
            -1,
        )?;
        let open_end = b == i64::MAX;
        let before_a = (ma < mb && !open_end)
            .then(|| days(ma * 100 + 1, a - 1))
            .flatten();
        let after_b = (ma == mb).then(|| days(b + 1, mb * 100 + 31)).flatten();
        if let Some(before_a) = before_a {
            // ... or from a day of Ma before a;
            add(
                &format!(
                    "day_returns WHERE month = ?1 AND previous_month = ?2
                     AND previous_last_day IN {before_a} AND first_day > ?3"
                ),
                args![mb, ma, b],
                -1,
            )?;
        } else if let Some(after_b) = after_b {
            // ... or, in one month, skipped from before a to after b.
            add(
                &format!("day_gaps WHERE month = ?1 AND day IN {after_b} AND previous_day < ?2"),
                args![ma, a],
                -1,
            )?;
        }
        Ok(sums.finish())
    }

    /// From the aggregates: speakers per birth year (none given: `None`)
    /// of the whole corpus (`groups` none) or of these groups, each read
    /// through its key.
    pub fn speaker_births(
        &self,
        groups: Option<&[GroupSpeakers]>,
    ) -> Result<Vec<(Option<i64>, u64)>> {
        let sql = "SELECT birth_year, speakers FROM speaker_births
                   WHERE known = ?1 AND category = ?2 AND gender = ?3 AND diagnosis = ?4";
        let mut counts: std::collections::BTreeMap<i64, u64> = Default::default();
        self.each_group(groups, |known, category, gender, diagnosis| {
            self.conn
                .each(sql, args![known, category, gender, diagnosis], |r| {
                    *counts.entry(r.get(0)?).or_default() += r.get::<i64>(1)? as u64;
                    Ok(())
                })
        })?;
        Ok(counts
            .into_iter()
            .map(|(born, n)| ((born != 0).then_some(born), n))
            .collect())
    }

    /// Runs `read` with the key (known, category, gender, diagnosis) of
    /// the whole corpus (`groups` none: known 2) or of each group.
    fn each_group(
        &self,
        groups: Option<&[GroupSpeakers]>,
        mut read: impl FnMut(i64, &str, &str, &str) -> Result<()>,
    ) -> Result<()> {
        match groups {
            None => read(2, "", "", ""),
            Some(groups) => groups
                .iter()
                .try_for_each(|g| read(1, &g.category, &g.gender, &g.diagnosis)),
        }
    }

    /// From the aggregates: recordings and seconds per descriptor value
    /// of the whole corpus (`groups` none) or of these groups, each read
    /// through its key; of every month, or (the whole corpus only) of
    /// the parts of a range, each added or taken away.
    pub fn descriptor_sums(
        &self,
        groups: Option<&[GroupSpeakers]>,
        parts: Option<&[Part]>,
    ) -> Result<Vec<DescriptorSum>> {
        // Month 0 holds every month.
        let every_month = [Part {
            periods: Periods::Months(0, 0),
            less: false,
        }];
        let mut sums: std::collections::BTreeMap<(bool, i64, i64), (i64, f64)> = Default::default();
        let mut add = |known: i64, sign: i64, r: &super::value::RowRef<'_>| -> Result<()> {
            let sum = sums
                .entry((known == 1 || known == 3, r.get(0)?, r.get(1)?))
                .or_default();
            sum.0 += sign * r.get::<i64>(2)?;
            sum.1 += sign as f64 * r.get::<f64>(3)?;
            Ok(())
        };
        // Summed here, not by `GROUP BY` (a sort in a temporary B-tree).
        let columns = "SELECT kind, value, recordings, duration_s FROM";
        match groups {
            // The whole corpus's cells: 3 with a speaker row, 4 without.
            None => {
                for (part, known) in parts
                    .unwrap_or(&every_month)
                    .iter()
                    .flat_map(|p| [(p, 3), (p, 4)])
                {
                    let (corpus, period) = match part.periods {
                        Periods::Days(..) => ("descriptor_days WHERE known = ?1", "day"),
                        Periods::Months(..) => (
                            "descriptor_cells WHERE known = ?1 AND category = '' AND gender = ''
                             AND diagnosis = ''",
                            "month",
                        ),
                    };
                    let (first, last) = part.periods.bounds();
                    // The months of a range start at 1 (month 0 is every month).
                    let first = if parts.is_some() { first.max(1) } else { first };
                    let sign = part.sign();
                    self.conn.each(
                        &format!("{columns} {corpus} AND {period} >= ?2 AND {period} <= ?3"),
                        args![known, first, last],
                        |r| add(known, sign, &r),
                    )?;
                }
            }
            Some(groups) => {
                for g in groups {
                    self.conn.each(
                        // One row per value already: nothing to sum.
                        "SELECT kind, value, recordings, duration_s FROM descriptor_cells
                         WHERE known = 1 AND category = ?1 AND gender = ?2 AND diagnosis = ?3
                         AND month = 0",
                        args![g.category.as_str(), g.gender.as_str(), g.diagnosis.as_str()],
                        |r| add(1, 1, &r),
                    )?;
                }
            }
        }
        // A value a range's parts leave without recordings is left out.
        Ok(sums
            .into_iter()
            .filter(|(_, (recordings, _))| *recordings > 0)
            .map(
                |((known, kind, value), (recordings, duration_s))| DescriptorSum {
                    known,
                    kind,
                    value,
                    recordings: recordings as u64,
                    duration_s,
                },
            )
            .collect())
    }

    /// From the aggregates: the whole corpus's values of `measure` per
    /// band of `grain` in `from..until`, over `periods`.
    pub fn period_bands(
        &self,
        measure: Measure,
        grain: i64,
        periods: Periods,
        from: i64,
        until: i64,
    ) -> Result<Vec<(i64, u64)>> {
        let (first, last) = periods.bounds();
        self.conn.rows(
            &format!(
                // One seek per period (its periods from the few wide bands):
                // a range over the periods alone reads all their narrow bands.
                "SELECT b.bin, CAST(SUM(b.recordings) AS BIGINT)
                 FROM (SELECT DISTINCT {period} FROM {table}
                       WHERE grain = {COARSE} AND {period} >= ?2 AND {period} <= ?3) m
                 JOIN {table} b ON b.grain = ?1 AND b.{period} = m.{period}
                    AND b.bin >= ?4 AND b.bin < ?5
                 GROUP BY b.bin ORDER BY b.bin",
                period = periods.column(),
                table = format!("{}_{}_bins", measure.tables(), periods.column()),
                COARSE = crate::store::aggregates::corpus::COARSE,
            ),
            args![grain, first, last, from, until],
            |r| Ok((r.get(0)?, r.get::<i64>(1)? as u64)),
        )
    }

    /// The values of `measure` in `lo..hi` of the recordings made in
    /// `from..until` (µs), in order, each with its recordings: through the
    /// measure's index, so it costs what the band holds.
    pub fn values_made_in(
        &self,
        measure: Measure,
        (lo, hi): (f64, f64),
        from: i64,
        until: i64,
    ) -> Result<Vec<(f64, u64)>> {
        let (column, index) = (measure.column(), measure.index());
        let sql = format!(
            "SELECT {column}, COUNT(*) FROM recordings {}
             WHERE {column} >= ?1 AND {column} < ?2 AND recorded_at >= ?3 AND recorded_at < ?4
             GROUP BY {column} ORDER BY {column}",
            self.conn.dialect(&format!("INDEXED BY {index}"), "")
        );
        self.conn.rows(&sql, args![lo, hi, from, until], |r| {
            Ok((r.get(0)?, r.get::<i64>(1)? as u64))
        })
    }

    /// A learner's sessions with `from <= start < until`, by start then id.
    pub fn sessions_of(&self, user: i64, from: i64, until: i64) -> Result<Vec<StudySession>> {
        self.conn.rows(
            &format!(
                "SELECT {} FROM study_sessions
                 WHERE user_id = ?1 AND start_time >= ?2 AND start_time < ?3
                 ORDER BY start_time, id",
                StudySession::COLUMNS
            ),
            args![user, from, until],
            StudySession::read,
        )
    }

    /// A learner's course progress with each course's subject (`None` for
    /// an unknown course), in the order it was stored.
    pub fn progress_of(&self, user: i64) -> Result<Vec<(CourseProgress, Option<String>)>> {
        self.conn.rows(
            &format!(
                "SELECT {}, c.subject
                 FROM course_progress p LEFT JOIN courses c ON c.id = p.course_id
                 WHERE p.user_id = ?1 ORDER BY p.id",
                CourseProgress::COLUMNS
            ),
            args![user],
            |r| Ok((CourseProgress::read(r)?, r.get(8)?)),
        )
    }

    /// Every study session.
    pub fn all_sessions(&self, mut each: impl FnMut(PlatformSession<'_>)) -> Result<()> {
        self.conn.each(
            "SELECT user_id, start_time, duration_minutes, learning_environment, device_type
             FROM study_sessions",
            &[],
            |r| {
                each(PlatformSession {
                    user: r.get(0)?,
                    start: r.get(1)?,
                    duration: r.get(2)?,
                    environment: r.text(3)?,
                    device: r.text(4)?,
                });
                Ok(())
            },
        )
    }

    /// From the aggregates: learners with a study session, their sessions
    /// and the sessions' minutes (as a number: legacy rows may hold sums
    /// past `i64`).
    pub fn session_totals(&self) -> Result<(u64, u64, f64)> {
        let row = self.conn.query_opt(
            "SELECT (SELECT COUNT(*) FROM session_users), CAST(sessions AS BIGINT),
                    CAST(minutes AS DOUBLE PRECISION)
             FROM session_sums",
            &[],
        );
        match row? {
            Some(r) => Ok((r.get::<i64>(0)? as u64, r.get::<i64>(1)? as u64, r.get(2)?)),
            None => Ok((0, 0, 0.0)),
        }
    }

    /// Sessions starting in `from..until` (µs), counted through the index
    /// on start: for a part of a quarter hour at the edge of a window.
    pub fn sessions_starting(&self, from: i64, until: i64) -> Result<u64> {
        self.count_between(
            "SELECT COUNT(*) FROM study_sessions WHERE start_time >= ?1 AND start_time < ?2",
            from,
            until,
        )
    }

    /// From the aggregates: sessions starting in the quarter hours
    /// `from..until` (numbered from 1970).
    pub fn sessions_in_quarters(&self, from: i64, until: i64) -> Result<u64> {
        self.count_between(
            "SELECT CAST(COALESCE(SUM(sessions), 0) AS BIGINT) FROM session_quarters
             WHERE quarter >= ?1 AND quarter < ?2",
            from,
            until,
        )
    }

    /// Learners whose last session starts in `from..until` (µs), counted
    /// through the index on last start: for a part of a quarter hour at the
    /// edge of a window.
    pub fn learners_last_starting(&self, from: i64, until: i64) -> Result<u64> {
        self.count_between(
            "SELECT COUNT(*) FROM session_last WHERE last_start >= ?1 AND last_start < ?2",
            from,
            until,
        )
    }

    /// From the aggregates: learners whose last session starts in the
    /// quarter hours `from..until` (numbered from 1970).
    pub fn learners_last_in_quarters(&self, from: i64, until: i64) -> Result<u64> {
        self.count_between(
            "SELECT CAST(COALESCE(SUM(learners), 0) AS BIGINT) FROM session_last_quarters
             WHERE quarter >= ?1 AND quarter < ?2",
            from,
            until,
        )
    }

    /// A count over `from..until` by `sql` (bounds `?1`, `?2`); nothing for
    /// an empty range.
    fn count_between(&self, sql: &str, from: i64, until: i64) -> Result<u64> {
        if from >= until {
            return Ok(0);
        }
        let n: i64 = self.conn.query_value(sql, args![from, until])?;
        Ok(n.max(0) as u64)
    }

    /// Learners whose last session starts at or after `until` (µs) with a
    /// session in `from..until`: found through the index on learner and
    /// start; few (sessions in the future).
    pub fn learners_later_with_session(&self, from: i64, until: i64) -> Result<u64> {
        let n: i64 = self.conn.query_value(
            "SELECT COUNT(*) FROM session_last u WHERE u.last_start >= ?2
                AND EXISTS (SELECT 1 FROM study_sessions s WHERE s.user_id = u.user_id
                            AND s.start_time >= ?1 AND s.start_time < ?2)",
            args![from, until],
        )?;
        Ok(n as u64)
    }

    /// From the aggregates: sessions per non-empty value of `kind`
    /// (`environment` or `device`).
    pub fn session_tallies(&self, kind: &str) -> Result<Vec<(String, u64)>> {
        self.conn.rows(
            "SELECT value, sessions FROM session_tallies WHERE kind = ?1 ORDER BY value",
            args![kind],
            |r| Ok((r.get(0)?, r.get::<i64>(1)? as u64)),
        )
    }

    /// The address-to-region table (CIDR, region), in file order.
    pub fn ip_regions(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        self.conn.each(
            "SELECT cidr, region FROM ip_regions ORDER BY seq",
            &[],
            |r| {
                out.push((r.get(0)?, r.get(1)?));
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// From the aggregates: (region, uploads, recordings of those uploads)
    /// per `region` of uploads (`""` for none).
    pub fn upload_regions(&self) -> Result<Vec<(String, u64, u64)>> {
        self.conn.rows(
            "SELECT region, uploads, recordings FROM upload_regions",
            &[],
            |r| Ok((r.get(0)?, r.get::<i64>(1)? as u64, r.get::<i64>(2)? as u64)),
        )
    }

    /// From the aggregates: (region, uploads, distinct addresses) per
    /// region of the addresses voxdash resolved (`unknown` for none).
    pub fn ip_region_totals(&self) -> Result<Vec<(String, u64, u64)>> {
        self.conn.rows(
            "SELECT region, uploads, addresses FROM ip_region_totals",
            &[],
            |r| Ok((r.get(0)?, r.get::<i64>(1)? as u64, r.get::<i64>(2)? as u64)),
        )
    }

    /// From the aggregates: addresses not resolved yet, with their uploads.
    pub fn unresolved_addresses(&self) -> Result<Vec<(String, u64)>> {
        self.conn.rows(
            "SELECT address, uploads FROM unresolved_addresses",
            &[],
            |r| Ok((r.get(0)?, r.get::<i64>(1)? as u64)),
        )
    }

    /// From the aggregates: whether a resolved address of `region` is
    /// spelled `canonical`.
    pub fn ip_region_has(&self, region: &str, canonical: &str) -> Result<bool> {
        self.conn.query_value(
            "SELECT EXISTS(SELECT 1 FROM ip_region_addresses WHERE region = ?1 AND canonical = ?2)",
            args![region, canonical],
        )
    }

    /// From the aggregates: uploads per cell of the 0.1° grid, as (tenths
    /// of a degree of latitude, of longitude, uploads).
    pub fn upload_cells(&self) -> Result<Vec<(i64, i64, u64)>> {
        self.conn
            .rows("SELECT lat, lon, uploads FROM upload_cells", &[], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<i64>(2)? as u64))
            })
    }

    /// Recordings per upload id (uploads without recordings absent): of
    /// every upload, or of those made in `from..until` (µs).
    pub fn recordings_per_upload(&self, range: Option<(i64, i64)>) -> Result<HashMap<i64, u64>> {
        let mut counts = HashMap::new();
        let (sql, args) = match range {
            None => (
                "SELECT upload_id, COUNT(*) FROM recordings WHERE upload_id IS NOT NULL
                 GROUP BY upload_id",
                Vec::new(),
            ),
            Some((from, until)) => (
                "SELECT r.upload_id, COUNT(*) FROM uploads u JOIN recordings r ON r.upload_id = u.id
                 WHERE u.uploaded_at >= ?1 AND u.uploaded_at < ?2 GROUP BY r.upload_id",
                args![from, until].to_vec(),
            ),
        };
        self.conn.each(sql, &args, |r| {
            counts.insert(r.get(0)?, r.get::<i64>(1)? as u64);
            Ok(())
        })?;
        Ok(counts)
    }

    /// Every upload, or those made in `from..until` (µs).
    pub fn uploads(&self, range: Option<(i64, i64)>, mut each: impl FnMut(Upload)) -> Result<()> {
        let (filter, args) = match range {
            None => ("", Vec::new()),
            Some((from, until)) => (
                "WHERE u.uploaded_at >= ?1 AND u.uploaded_at < ?2",
                args![from, until].to_vec(),
            ),
        };
        self.conn.each(
            &format!("SELECT {} FROM uploads u {filter}", Upload::COLUMNS),
            &args,
            |r| {
                each(Upload::read(&r)?);
                Ok(())
            },
        )
    }
}
