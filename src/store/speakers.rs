//! SQL of the drill-down: the write counters of speakers and groups, the
//! group values present, and the lists behind the sub-corpus pages
//! (speakers of a group, a speaker's uploads, a region's uploads), paged.
//!
//! A group filter is three optional values (category, diagnosis, gender);
//! `None` does not filter, an empty value selects NULL or empty.

use super::{args, Conn, Result, RowRef, Speaker, Upload};

/// A group filter as the store reads it: (category, diagnosis, gender).
pub type GroupFilter<'a> = [Option<&'a str>; 3];

/// The condition of a group filter on `speakers` (aliased `s`), with its
/// three parameters at `?1`..`?3`; the statistics select a sub-corpus with it.
pub const GROUP_WHERE: &str = "(CAST(?1 AS TEXT) IS NULL OR COALESCE(s.category, '') = ?1)
    AND (CAST(?2 AS TEXT) IS NULL OR COALESCE(s.diagnosis, '') = ?2)
    AND (CAST(?3 AS TEXT) IS NULL OR COALESCE(s.gender, '') = ?3)";

/// Writes counted for one speaker, `?1`.
pub(crate) const SPEAKER_REVISION: &str = "SELECT n FROM speaker_revisions WHERE speaker_id = ?1";

/// Writes counted for the groups a filter selects, `?1`..`?3`.
pub(crate) const GROUP_REVISION: &str =
    "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM group_revisions s WHERE
     (CAST(?1 AS TEXT) IS NULL OR s.category = ?1) AND (CAST(?2 AS TEXT) IS NULL OR s.diagnosis = ?2)
     AND (CAST(?3 AS TEXT) IS NULL OR s.gender = ?3)";

/// Writes counted for speaker `id` (its row and its recordings).
pub fn speaker_revision(conn: &Conn, id: i64) -> Result<u64> {
    let n: Option<i64> = conn
        .query_opt(SPEAKER_REVISION, args![id])?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(n.unwrap_or(0) as u64)
}

/// Writes counted for the groups a filter selects.
pub fn group_revision(conn: &Conn, filter: GroupFilter) -> Result<u64> {
    let n: i64 = conn.query_value(GROUP_REVISION, args![filter[0], filter[1], filter[2]])?;
    Ok(n as u64)
}

/// The distinct values of each grouping column (NULL as empty), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupValues {
    /// Categories.
    pub categories: Vec<String>,
    /// Diagnoses.
    pub diagnoses: Vec<String>,
    /// Genders.
    pub genders: Vec<String>,
}

/// The group values present among the speakers.
pub fn group_values(conn: &Conn) -> Result<GroupValues> {
    let column = |name: &str| -> Result<Vec<String>> {
        conn.query(
            &format!("SELECT DISTINCT COALESCE({name}, '') FROM speakers ORDER BY 1"),
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    Ok(GroupValues {
        categories: column("category")?,
        diagnoses: column("diagnosis")?,
        genders: column("gender")?,
    })
}

/// A speaker with the totals of their recordings.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerSummary {
    /// The speaker.
    pub speaker: Speaker,
    /// Recordings.
    pub recordings: u64,
    /// Hours recorded.
    pub hours: f64,
    /// Mean SNR of the measured recordings.
    pub mean_snr_db: Option<f64>,
}

/// Every speaker a filter selects, with their recordings: most recordings
/// first, then by id, so that pages of the list never overlap.
pub fn speakers_of(conn: &Conn, filter: GroupFilter) -> Result<Vec<SpeakerSummary>> {
    let sql = format!(
        "SELECT {}, COUNT(r.speaker_id), COALESCE(SUM(r.duration_s), 0), AVG(r.snr_db)
         FROM speakers s LEFT JOIN recordings r ON r.speaker_id = s.id
         WHERE {GROUP_WHERE}
         GROUP BY s.id ORDER BY COUNT(r.speaker_id) DESC, s.id",
        Speaker::COLUMNS
    );
    conn.rows(&sql, args![filter[0], filter[1], filter[2]], |r| {
        Ok(SpeakerSummary {
            speaker: Speaker::read(r)?,
            recordings: r.get::<i64>(6)? as u64,
            hours: r.get::<f64>(7)? / 3600.0,
            mean_snr_db: r.get(8)?,
        })
    })
}

/// Speaker `id`, if the speaker exists.
pub fn speaker(conn: &Conn, id: i64) -> Result<Option<Speaker>> {
    conn.row(
        &format!(
            "SELECT {} FROM speakers s WHERE s.id = ?1",
            Speaker::COLUMNS
        ),
        args![id],
        Speaker::read,
    )
}

/// An upload with the recordings in it (of one speaker, on a speaker's page).
#[derive(Debug, Clone, PartialEq)]
pub struct UploadSummary {
    /// The upload.
    pub upload: Upload,
    /// Recordings in it.
    pub recordings: u64,
}

fn upload_summary(r: &RowRef) -> Result<UploadSummary> {
    Ok(UploadSummary {
        upload: Upload::read(r)?,
        recordings: r.get::<i64>(7)? as u64,
    })
}

/// One page of the uploads holding recordings of speaker `id`, newest
/// first, and how many there are.
pub fn speaker_uploads(
    conn: &Conn,
    id: i64,
    limit: u32,
    offset: u64,
) -> Result<(Vec<UploadSummary>, u64)> {
    let rows = conn.rows(
        &format!(
            "SELECT {}, COUNT(*)
             FROM recordings r JOIN uploads u ON u.id = r.upload_id
             WHERE r.speaker_id = ?1 GROUP BY u.id
             ORDER BY u.uploaded_at DESC, u.id DESC LIMIT ?2 OFFSET ?3",
            Upload::COLUMNS
        ),
        args![id, i64::from(limit), offset as i64],
        upload_summary,
    )?;
    let total: i64 = conn.query_value(
        "SELECT COUNT(DISTINCT r.upload_id) FROM recordings r JOIN uploads u ON u.id = r.upload_id
         WHERE r.speaker_id = ?1",
        args![id],
    )?;
    Ok((rows, total as u64))
}

/// One page of the uploads whose region column is `region` (empty: none),
/// newest first, and how many there are.
pub fn region_uploads(
    conn: &Conn,
    region: &str,
    limit: u32,
    offset: u64,
) -> Result<(Vec<UploadSummary>, u64)> {
    let rows = conn.rows(
        &format!(
            "SELECT {}, (SELECT COUNT(*) FROM recordings r WHERE r.upload_id = u.id)
             FROM uploads u WHERE COALESCE(u.region, '') = ?1
             ORDER BY u.uploaded_at DESC, u.id DESC LIMIT ?2 OFFSET ?3",
            Upload::COLUMNS
        ),
        args![region, i64::from(limit), offset as i64],
        upload_summary,
    )?;
    let total: i64 = conn.query_value(
        "SELECT COUNT(*) FROM uploads u WHERE COALESCE(u.region, '') = ?1",
        args![region],
    )?;
    Ok((rows, total as u64))
}
