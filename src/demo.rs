//! `voxdash demo`: a realistic, deterministic dataset in the import format,
//! written row by row (constant memory at any scale), with every dirty case
//! `cleanup` exists for, Korean and Chinese text, IPv6 and nested prefixes,
//! and several UTC offsets.

use std::path::{Path, PathBuf};

use chrono::{FixedOffset, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Options of `voxdash demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Size relative to the original lab (1 = 186 speakers, 6,282 recordings).
    pub scale: f64,
    /// Random seed; the same options give byte-identical files.
    pub seed: u64,
    /// "Now" (µs): activity is spread over the two years before it.
    pub now_micros: i64,
}

/// Rows written per file.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    /// (file name, data rows).
    pub files: Vec<(String, u64)>,
}

/// Why the demo could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or the folder could not be written.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The scale is not a positive number.
    #[error("--scale must be > 0 (got {0})")]
    BadScale(f64),
}

const OFFSETS: [i32; 5] = [9 * 3600, 0, 8 * 3600, -5 * 3600, 5 * 3600 + 1800];
const REGIONS: [&str; 17] = [
    "Seoul",
    "Busan",
    "Daegu",
    "Incheon",
    "Gwangju",
    "Daejeon",
    "Ulsan",
    "Sejong",
    "Gyeonggi",
    "Gangwon",
    "Chungbuk",
    "Chungnam",
    "Jeonbuk",
    "Jeonnam",
    "Gyeongbuk",
    "Gyeongnam",
    "Jeju",
];
const COORDS: [(f64, f64); 17] = [
    (37.5665, 126.978),
    (35.1796, 129.0756),
    (35.8714, 128.6014),
    (37.4563, 126.7052),
    (35.1595, 126.8526),
    (36.3504, 127.3845),
    (35.5384, 129.3114),
    (36.48, 127.289),
    (37.4138, 127.5183),
    (37.8228, 128.1555),
    (36.6357, 127.4917),
    (36.5184, 126.8),
    (35.7175, 127.153),
    (34.8679, 126.991),
    (36.4919, 128.8889),
    (35.4606, 128.2132),
    (33.4996, 126.5312),
];
const CATEGORIES: [&str; 5] = ["normal", "patient", "child", "elderly", "환자"];
const DIAGNOSES: [&str; 8] = [
    "",
    "",
    "dysarthria",
    "aphasia",
    "성대결절",
    "声带息肉",
    "vocal nodules",
    "Parkinson's disease",
];
const SUBJECTS: [&str; 6] = ["발음", "发音", "fluency", "articulation", "voice", ""];
const ENVIRONMENTS: [&str; 7] = [
    "home",
    "library",
    "office",
    "cafe",
    "classroom",
    "other",
    "",
];
const DEVICES: [&str; 6] = ["desktop", "laptop", "tablet", "mobile", "other", ""];

struct Out {
    path: PathBuf,
    writer: csv::Writer<std::io::BufWriter<std::fs::File>>,
    rows: u64,
}

impl Out {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Out, DemoError> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
        let mut writer = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
        writer.write_record(header).map_err(|e| io(&path, e))?;
        Ok(Out {
            path,
            writer,
            rows: 0,
        })
    }

    fn row(&mut self, fields: &[&str]) -> Result<(), DemoError> {
        self.rows += 1;
        self.writer
            .write_record(fields)
            .map_err(|e| io(&self.path, e))
    }

    fn finish(mut self, summary: &mut DemoSummary) -> Result<(), DemoError> {
        self.writer.flush().map_err(|e| io(&self.path, e))?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        summary.files.push((name, self.rows));
        Ok(())
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> DemoError {
    DemoError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// An instant as RFC 3339 with one of several offsets.
fn stamp(rng: &mut StdRng, micros: i64) -> String {
    let offset =
        FixedOffset::east_opt(OFFSETS[rng.gen_range(0..OFFSETS.len())]).expect("valid offset");
    let t = Utc
        .timestamp_micros(micros - micros % 1_000_000)
        .single()
        .unwrap_or_default()
        .with_timezone(&offset);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn recent_stamp(rng: &mut StdRng, now: i64) -> String {
    let t = recent(rng, now);
    stamp(rng, t)
}

fn days_ago_stamp(rng: &mut StdRng, now: i64, lo: i64, hi: i64) -> String {
    let t = now - rng.gen_range(lo..hi) * 86_400_000_000;
    stamp(rng, t)
}

/// A time in the two years before now, denser towards now.
fn recent(rng: &mut StdRng, now: i64) -> i64 {
    let r: f64 = rng.gen();
    now - (r * r * 730.0 * 86_400e6) as i64
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn count(base: f64, scale: f64) -> u64 {
    ((base * scale).round() as u64).max(1)
}

/// Rows of each generated table for one scale.
struct Sizes {
    users: u64,
    speakers: u64,
    recordings: u64,
    uploads: u64,
    sessions: u64,
    courses: u64,
}

impl Sizes {
    fn for_scale(scale: f64) -> Sizes {
        Sizes {
            users: count(60.0, scale).max(2),
            speakers: count(186.0, scale),
            recordings: count(6282.0, scale),
            uploads: count(400.0, scale),
            sessions: count(12000.0, scale),
            courses: 12,
        }
    }
}

/// One demo being written: the folder, the single random stream every file
/// draws from (in file order, so the same options give the same bytes), and
/// the rows written so far.
struct Demo<'a> {
    dir: &'a Path,
    rng: StdRng,
    now: i64,
    sizes: Sizes,
    summary: DemoSummary,
}

/// Writes the dataset into `dir` (created if missing).
pub fn write_demo(dir: &Path, options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    if !(options.scale > 0.0 && options.scale.is_finite()) {
        return Err(DemoError::BadScale(options.scale));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut demo = Demo {
        dir,
        rng: StdRng::seed_from_u64(options.seed),
        now: options.now_micros,
        sizes: Sizes::for_scale(options.scale),
        summary: DemoSummary::default(),
    };
    // The order matters: each file continues the random stream of the last.
    demo.users()?;
    demo.speakers()?;
    demo.courses()?;
    demo.uploads()?;
    demo.recordings()?;
    demo.ip_regions()?;
    demo.sessions()?;
    demo.progress()?;
    Ok(demo.summary)
}

impl Demo<'_> {
    /// `users.csv`: accounts with Korean, Chinese or no display names, every
    /// tenth one staff, some never active.
    fn users(&mut self) -> Result<(), DemoError> {
        let mut users = Out::create(
            self.dir,
            "users.csv",
            &[
                "id",
                "username",
                "display_name",
                "is_staff",
                "created_at",
                "last_active_at",
                "region",
            ],
        )?;
        let (rng, now) = (&mut self.rng, self.now);
        for id in 1..=self.sizes.users {
            let name = match id % 3 {
                0 => format!("사용자 {id}"),
                1 => format!("用户{id}"),
                _ => String::new(),
            };
            let created = days_ago_stamp(rng, now, 400, 900);
            let active = if rng.gen_bool(0.7) {
                recent_stamp(rng, now)
            } else {
                String::new()
            };
            let region = if rng.gen_bool(0.2) {
                "서울"
            } else {
                pick(rng, &REGIONS)
            };
            users.row(&[
                &id.to_string(),
                &format!("user{id:05}"),
                &name,
                if id % 10 == 1 { "1" } else { "0" },
                &created,
                &active,
                region,
            ])?;
        }
        users.finish(&mut self.summary)
    }

    /// `speakers.csv`: speakers with optional birth years, categories and
    /// diagnoses in several languages.
    fn speakers(&mut self) -> Result<(), DemoError> {
        let mut speakers = Out::create(
            self.dir,
            "speakers.csv",
            &[
                "id",
                "code",
                "gender",
                "birth_year",
                "category",
                "diagnosis",
                "created_at",
            ],
        )?;
        let (rng, now) = (&mut self.rng, self.now);
        for id in 1..=self.sizes.speakers {
            let birth = if rng.gen_bool(0.6) {
                rng.gen_range(1935..2015).to_string()
            } else {
                String::new()
            };
            let created = days_ago_stamp(rng, now, 0, 760);
            speakers.row(&[
                &id.to_string(),
                &format!("SPK-{id:05}"),
                pick(rng, &["F", "M", "F", "U"]),
                &birth,
                pick(rng, &CATEGORIES),
                pick(rng, &DIAGNOSES),
                &created,
            ])?;
        }
        speakers.finish(&mut self.summary)
    }

    /// `courses.csv`: a fixed set of courses (no random draws).
    fn courses(&mut self) -> Result<(), DemoError> {
        let mut courses = Out::create(self.dir, "courses.csv", &["id", "name", "subject"])?;
        for id in 1..=self.sizes.courses {
            courses.row(&[
                &id.to_string(),
                &format!("Course {id}"),
                SUBJECTS[(id as usize) % 5],
            ])?;
        }
        courses.finish(&mut self.summary)
    }

    /// `uploads.csv`: uploads from IPv4, IPv6, mapped and unparsable
    /// addresses, mostly with coordinates near their region.
    fn uploads(&mut self) -> Result<(), DemoError> {
        let mut uploads = Out::create(
            self.dir,
            "uploads.csv",
            &[
                "id",
                "user_id",
                "uploaded_at",
                "ip",
                "latitude",
                "longitude",
                "region",
            ],
        )?;
        let (rng, now) = (&mut self.rng, self.now);
        for id in 1..=self.sizes.uploads {
            let r = rng.gen_range(0..REGIONS.len());
            let ip = upload_ip(rng, r);
            let (lat, lon) = if rng.gen_bool(0.85) {
                let (la, lo) = COORDS[r];
                (
                    format!("{:.5}", la + rng.gen_range(-0.3..0.3)),
                    format!("{:.5}", lo + rng.gen_range(-0.3..0.3)),
                )
            } else {
                (String::new(), String::new())
            };
            let region = match rng.gen_range(0..10) {
                0 => "",
                1 => "서울",
                _ => REGIONS[r],
            };
            let at = recent_stamp(rng, now);
            uploads.row(&[
                &id.to_string(),
                &rng.gen_range(1..=self.sizes.users).to_string(),
                &at,
                &ip,
                &lat,
                &lon,
                region,
            ])?;
        }
        uploads.finish(&mut self.summary)
    }

    /// `recordings.csv`: recordings of known speakers (about 1% of unknown
    /// ones), most tied to an upload, most with a signal-to-noise ratio.
    fn recordings(&mut self) -> Result<(), DemoError> {
        let mut recordings = Out::create(
            self.dir,
            "recordings.csv",
            &[
                "id",
                "speaker_id",
                "upload_id",
                "file_name",
                "recorded_at",
                "duration_s",
                "sample_rate",
                "snr_db",
            ],
        )?;
        let (rng, now, sizes) = (&mut self.rng, self.now, &self.sizes);
        for id in 1..=sizes.recordings {
            // About 1% of recordings point at a speaker that does not exist.
            let speaker = if rng.gen_bool(0.01) {
                sizes.speakers + rng.gen_range(1..100)
            } else {
                rng.gen_range(1..=sizes.speakers)
            };
            let upload = if rng.gen_bool(0.9) {
                rng.gen_range(1..=sizes.uploads).to_string()
            } else {
                String::new()
            };
            let snr = if rng.gen_bool(0.95) {
                let z: f64 = (0..6).map(|_| rng.gen::<f64>()).sum::<f64>() - 3.0;
                format!("{:.2}", 21.0 + z * 8.0)
            } else {
                String::new()
            };
            let at = recent_stamp(rng, now);
            recordings.row(&[
                &id.to_string(),
                &speaker.to_string(),
                &upload,
                &format!("spk{speaker:05}_{id:07}.wav"),
                &at,
                &format!("{:.3}", rng.gen_range(1.0..60.0)),
                pick(rng, &["16000", "44100", "48000", ""]),
                &snr,
            ])?;
        }
        recordings.finish(&mut self.summary)
    }

    /// `ip_regions.csv`: per region an IPv4 /16 with a nested /17 of the
    /// next region and an IPv6 /48, then a few wider and mapped networks
    /// (no random draws).
    fn ip_regions(&mut self) -> Result<(), DemoError> {
        let mut regions = Out::create(
            self.dir,
            "ip_regions.csv",
            &["cidr", "region", "latitude", "longitude"],
        )?;
        for (i, (name, (lat, lon))) in REGIONS.iter().zip(COORDS).enumerate() {
            regions.row(&[
                &format!("10.{i}.0.0/16"),
                name,
                &lat.to_string(),
                &lon.to_string(),
            ])?;
            regions.row(&[
                &format!("10.{i}.128.0/17"),
                REGIONS[(i + 1) % REGIONS.len()],
                "",
                "",
            ])?;
            regions.row(&[
                &format!("2001:db8:{i:x}::/48"),
                name,
                &lat.to_string(),
                &lon.to_string(),
            ])?;
        }
        regions.row(&["10.0.0.0/8", "Korea (other)", "36.5", "127.8"])?;
        regions.row(&["203.252.0.0/16", "Daejeon", "36.35", "127.38"])?;
        regions.row(&["203.252.7.0/24", "Sejong", "36.48", "127.29"])?;
        regions.row(&["::ffff:10.0.0.0/104", "Mapped Seoul", "", ""])?;
        regions.finish(&mut self.summary)
    }

    /// `study_sessions.csv`: sessions, about 7% of them dirty in one of the
    /// ways `cleanup` counts, some still active.
    fn sessions(&mut self) -> Result<(), DemoError> {
        let mut sessions = Out::create(
            self.dir,
            "study_sessions.csv",
            &[
                "id",
                "user_id",
                "course_id",
                "subject_category",
                "start_time",
                "end_time",
                "duration_minutes",
                "effectiveness_rating",
                "focus_score",
                "learning_environment",
                "device_type",
                "is_active",
            ],
        )?;
        for id in 1..=self.sizes.sessions {
            let row = session_row(&mut self.rng, self.now, &self.sizes, id);
            sessions.row(&row.iter().map(String::as_str).collect::<Vec<_>>())?;
        }
        sessions.finish(&mut self.summary)
    }

    /// `course_progress.csv`: one to four courses per user, with a few
    /// duplicates of one (user, course) updated at another time.
    fn progress(&mut self) -> Result<(), DemoError> {
        let mut progress = Out::create(
            self.dir,
            "course_progress.csv",
            &[
                "id",
                "user_id",
                "course_id",
                "proficiency_level",
                "learning_hours_total",
                "learning_hours_week",
                "completed_at",
                "updated_at",
            ],
        )?;
        let (rng, now, n_courses) = (&mut self.rng, self.now, self.sizes.courses);
        let mut id = 0u64;
        for user in 1..=self.sizes.users {
            let first = rng.gen_range(1..=n_courses);
            for k in 0..rng.gen_range(1..=4u64) {
                id += 1;
                let course = (first + k * 5) % n_courses + 1;
                let row = progress_row(rng, now, [id, user, course]);
                progress.row(&row.iter().map(String::as_str).collect::<Vec<_>>())?;
                // A few duplicates of one (user, course), updated at another time.
                if rng.gen_bool(0.03) {
                    id += 1;
                    let updated = recent_stamp(rng, now);
                    progress.row(&[
                        &id.to_string(),
                        &row[1],
                        &row[2],
                        &row[3],
                        &row[4],
                        &row[5],
                        "",
                        &updated,
                    ])?;
                }
            }
        }
        progress.finish(&mut self.summary)
    }
}

/// The address of an upload from region `r`: mostly the region's IPv4
/// network, some wider IPv4, IPv6 and IPv4-mapped ones, some empty or not
/// an address at all.
fn upload_ip(rng: &mut StdRng, r: usize) -> String {
    match rng.gen_range(0..100) {
        0..=64 => format!(
            "10.{}.{}.{}",
            r,
            rng.gen_range(0..=255),
            rng.gen_range(1..=254)
        ),
        65..=74 => format!(
            "203.252.{}.{}",
            rng.gen_range(0..16),
            rng.gen_range(1..=254)
        ),
        75..=86 => format!("2001:db8:{r:x}::{:x}", rng.gen_range(1..0xffff)),
        87..=89 => format!("::ffff:10.{r}.5.{}", rng.gen_range(1..=254)),
        90..=94 => String::new(),
        _ => "unknown-host".to_string(),
    }
}

/// The fields of study session `id`. A draw below 72 of 1000 (about 7%)
/// makes it dirty: an unknown user or course, a negative duration, an end before
/// the start, a rating or a focus score out of range.
fn session_row(rng: &mut StdRng, now: i64, sizes: &Sizes, id: u64) -> [String; 12] {
    let start = recent(rng, now);
    let mut duration: i64 = rng.gen_range(5..=120);
    let mut end = start + duration * 60_000_000;
    let dirty = rng.gen_range(0..1000);
    let user = if dirty < 12 {
        sizes.users + rng.gen_range(1..50)
    } else {
        rng.gen_range(1..=sizes.users)
    };
    let course = match dirty {
        12..=23 => (sizes.courses + rng.gen_range(1..10)).to_string(),
        _ if rng.gen_bool(0.3) => String::new(),
        _ => rng.gen_range(1..=sizes.courses).to_string(),
    };
    if (24..36).contains(&dirty) {
        duration = -rng.gen_range(1..60);
    }
    if (36..48).contains(&dirty) {
        end = start - rng.gen_range(1..120) * 60_000_000;
    }
    let rating = match dirty {
        48..=59 => pick(rng, &["0", "6", "7"]).to_string(),
        _ if rng.gen_bool(0.1) => String::new(),
        _ => rng.gen_range(1..=5).to_string(),
    };
    let focus = match dirty {
        60..=71 => format!(
            "{:.1}",
            pick(rng, &["-5", "120", "101.5"])
                .parse::<f64>()
                .unwrap_or(-1.0)
        ),
        _ if rng.gen_bool(0.1) => String::new(),
        _ => format!("{:.1}", rng.gen_range(0.0..100.0)),
    };
    let active = end > now || (now - start < 3 * 3_600_000_000 && rng.gen_bool(0.3));
    let end_text = if active {
        String::new()
    } else {
        stamp(rng, end)
    };
    // Drawn in field order, as the fields are written.
    [
        id.to_string(),
        user.to_string(),
        course,
        pick(rng, &SUBJECTS).to_string(),
        stamp(rng, start),
        end_text,
        duration.to_string(),
        rating,
        focus,
        pick(rng, &ENVIRONMENTS).to_string(),
        pick(rng, &DEVICES).to_string(),
        if active { "1" } else { "0" }.to_string(),
    ]
}

/// The fields of one course progress row for `[id, user, course]`.
fn progress_row(rng: &mut StdRng, now: i64, [id, user, course]: [u64; 3]) -> [String; 8] {
    let completed = if rng.gen_bool(0.2) {
        recent_stamp(rng, now)
    } else {
        String::new()
    };
    [
        id.to_string(),
        user.to_string(),
        course.to_string(),
        format!("{:.2}", rng.gen_range(0.0..5.0)),
        format!("{:.1}", rng.gen_range(0.0..300.0)),
        format!("{:.1}", rng.gen_range(0.0..12.0)),
        completed,
        recent_stamp(rng, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(scale: f64) -> DemoOptions {
        DemoOptions {
            scale,
            seed: 7,
            now_micros: 1_795_000_000_000_000,
        }
    }

    #[test]
    fn the_same_seed_writes_the_same_files() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_demo(a.path(), &options(0.1)).unwrap();
        write_demo(b.path(), &options(0.1)).unwrap();
        for name in crate::import::file_names() {
            let x = std::fs::read(a.path().join(name)).unwrap();
            let y = std::fs::read(b.path().join(name)).unwrap();
            assert!(x == y, "{name} differs");
        }
    }

    #[test]
    fn a_demo_imports_cleanly_with_dirty_rows_counted() {
        let dir = tempfile::tempdir().unwrap();
        let summary = write_demo(&dir.path().join("csv"), &options(0.5)).unwrap();
        assert_eq!(summary.files.len(), 8);
        let store = crate::store::Store::open(&dir.path().join("voxdash.db")).unwrap();
        let report =
            crate::import::import_dir(&store, &dir.path().join("csv"), &Default::default())
                .unwrap();
        assert!(
            report.rejected.is_empty(),
            "{:?}",
            &report.rejected[..3.min(report.rejected.len())]
        );
        let violations = report.violations();
        for rule in [
            "study_sessions.csv: negative_duration",
            "study_sessions.csv: end_before_start",
            "study_sessions.csv: rating_out_of_range",
            "study_sessions.csv: focus_out_of_range",
            "study_sessions.csv: unknown_user",
            "study_sessions.csv: unknown_course",
            "recordings.csv: unknown_speaker",
        ] {
            assert!(
                violations.get(rule).copied().unwrap_or(0) > 0,
                "{rule}: {violations:?}"
            );
        }
        let rows: u64 = report.files.iter().map(|f| f.rows_loaded).sum();
        assert_eq!(rows, summary.files.iter().map(|f| f.1).sum::<u64>());
    }

    #[test]
    fn a_bad_scale_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            write_demo(dir.path(), &options(0.0)),
            Err(DemoError::BadScale(_))
        ));
    }
}
