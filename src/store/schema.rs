//! The ordered, append-only list of schema migrations. A shipped migration is
//! never edited; a change is a new entry at the end. The version applied is
//! kept in `PRAGMA user_version`.
//!
//! Instants are stored as INTEGER microseconds since the Unix epoch (UTC), so
//! that statistics compare and bucket them without parsing text.

/// Tables whose writes are counted by triggers (see migration 3).
pub const COUNTED_TABLES: &[&str] = &[
    "users",
    "speakers",
    "uploads",
    "recordings",
    "ip_regions",
    "courses",
    "study_sessions",
    "course_progress",
    "study_sessions_archive",
];

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the lab's data, as in docs/import-format.md.
    r#"
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT,
    is_staff INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_active_at INTEGER,
    region TEXT
);
CREATE TABLE speakers (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    gender TEXT NOT NULL,
    birth_year INTEGER,
    category TEXT NOT NULL,
    diagnosis TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL,
    ip TEXT,
    latitude REAL,
    longitude REAL,
    region TEXT
);
CREATE TABLE recordings (
    id INTEGER PRIMARY KEY,
    speaker_id INTEGER NOT NULL,
    upload_id INTEGER,
    file_name TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    sample_rate INTEGER,
    snr_db REAL
);
CREATE INDEX recordings_upload ON recordings(upload_id);
CREATE INDEX recordings_snr ON recordings(snr_db);
CREATE TABLE ip_regions (
    seq INTEGER PRIMARY KEY,
    cidr TEXT NOT NULL,
    region TEXT NOT NULL,
    latitude REAL,
    longitude REAL
);
CREATE TABLE courses (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    subject TEXT NOT NULL
);
CREATE TABLE study_sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    course_id INTEGER,
    subject_category TEXT,
    start_time INTEGER NOT NULL,
    end_time INTEGER,
    duration_minutes INTEGER NOT NULL,
    effectiveness_rating INTEGER,
    focus_score REAL,
    learning_environment TEXT,
    device_type TEXT,
    is_active INTEGER NOT NULL
);
CREATE INDEX study_sessions_user_start ON study_sessions(user_id, start_time);
CREATE INDEX study_sessions_start ON study_sessions(start_time);
CREATE TABLE course_progress (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    course_id INTEGER NOT NULL,
    proficiency_level REAL NOT NULL,
    learning_hours_total REAL NOT NULL,
    learning_hours_week REAL NOT NULL,
    completed_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX course_progress_user_course ON course_progress(user_id, course_id);
"#,
    // 2: accounts: passwords on users, browser sign-in sessions, API tokens.
    r#"
ALTER TABLE users ADD COLUMN password_hash TEXT;
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
"#,
    // 3: write counters kept by triggers, so writes from any process count.
    // Per-user counters make `changes_since` of a user's entries exact.
    r#"
CREATE TABLE write_counters (
    table_name TEXT PRIMARY KEY,
    inserts INTEGER NOT NULL DEFAULT 0,
    updates INTEGER NOT NULL DEFAULT 0,
    deletes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE user_revisions (
    user_id INTEGER PRIMARY KEY,
    sessions INTEGER NOT NULL DEFAULT 0,
    progress INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE study_sessions_archive (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    course_id INTEGER,
    subject_category TEXT,
    start_time INTEGER NOT NULL,
    end_time INTEGER,
    duration_minutes INTEGER NOT NULL,
    effectiveness_rating INTEGER,
    focus_score REAL,
    learning_environment TEXT,
    device_type TEXT,
    is_active INTEGER NOT NULL,
    archived_at INTEGER NOT NULL
);
CREATE INDEX study_sessions_archive_start ON study_sessions_archive(start_time);
CREATE INDEX study_sessions_archive_user ON study_sessions_archive(user_id);
@COUNTER_TRIGGERS@
CREATE TRIGGER study_sessions_user_ins AFTER INSERT ON study_sessions BEGIN
    INSERT INTO user_revisions(user_id, sessions) VALUES (NEW.user_id, 1)
    ON CONFLICT(user_id) DO UPDATE SET sessions = sessions + 1;
END;
CREATE TRIGGER study_sessions_user_upd AFTER UPDATE ON study_sessions BEGIN
    INSERT INTO user_revisions(user_id, sessions) VALUES (NEW.user_id, 1)
    ON CONFLICT(user_id) DO UPDATE SET sessions = sessions + 1;
    INSERT INTO user_revisions(user_id, sessions) SELECT OLD.user_id, 1 WHERE OLD.user_id <> NEW.user_id
    ON CONFLICT(user_id) DO UPDATE SET sessions = sessions + 1;
END;
CREATE TRIGGER study_sessions_user_del AFTER DELETE ON study_sessions BEGIN
    INSERT INTO user_revisions(user_id, sessions) VALUES (OLD.user_id, 1)
    ON CONFLICT(user_id) DO UPDATE SET sessions = sessions + 1;
END;
CREATE TRIGGER course_progress_user_ins AFTER INSERT ON course_progress BEGIN
    INSERT INTO user_revisions(user_id, progress) VALUES (NEW.user_id, 1)
    ON CONFLICT(user_id) DO UPDATE SET progress = progress + 1;
END;
CREATE TRIGGER course_progress_user_upd AFTER UPDATE ON course_progress BEGIN
    INSERT INTO user_revisions(user_id, progress) VALUES (NEW.user_id, 1)
    ON CONFLICT(user_id) DO UPDATE SET progress = progress + 1;
    INSERT INTO user_revisions(user_id, progress) SELECT OLD.user_id, 1 WHERE OLD.user_id <> NEW.user_id
    ON CONFLICT(user_id) DO UPDATE SET progress = progress + 1;
END;
CREATE TRIGGER course_progress_user_del AFTER DELETE ON course_progress BEGIN
    INSERT INTO user_revisions(user_id, progress) VALUES (OLD.user_id, 1)
    ON CONFLICT(user_id) DO UPDATE SET progress = progress + 1;
END;
"#,
    // 4: the record of every job run (scheduler, CLI, web buttons).
    r#"
CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    outcome TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX job_runs_job ON job_runs(job, started_at);
"#,
    // 5: one lease per job, so a job never runs twice at once across
    // processes (scheduler, cron CLI, web button); it expires if its holder dies.
    r#"
CREATE TABLE job_leases (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
"#,
    // 6: drill-down. Write counters per speaker and per group of speakers
    // (category, diagnosis, gender; NULL counted as empty), kept by triggers
    // like the per-user ones, so a sub-corpus entry goes stale exactly when
    // a recording of one of its speakers, or a speaker entering or leaving
    // it, is written, by any process. A covering index lets one speaker's or
    // one group's recordings be read without the rest of the table.
    r#"
CREATE TABLE speaker_revisions (
    speaker_id INTEGER PRIMARY KEY,
    n INTEGER NOT NULL
);
CREATE TABLE group_revisions (
    category TEXT NOT NULL,
    diagnosis TEXT NOT NULL,
    gender TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (category, diagnosis, gender)
);
CREATE INDEX recordings_speaker ON recordings(speaker_id, recorded_at, duration_s, snr_db);
@SPEAKER_TRIGGERS@
"#,
    // 7: aggregates kept by the writes (`store::aggregates`): study
    // sessions per learner, and per environment and device; the sessions
    // by start with their learner, for the last days' index walk.
    r#"
@AGGREGATE_TABLES@
@SESSION_AGGREGATE_TRIGGERS@
"#,
    // 8: the corpus aggregates (`store::aggregates::corpus`): per group of
    // speakers and local month, first recordings, SNR bands; built for the
    // configured zone when the statistics first open the database.
    r#"
@CORPUS_AGGREGATE_TABLES@
@CORPUS_AGGREGATE_TRIGGERS@
"#,
    // 9: the sums over every session and the learners per quarter hour of
    // their last session (`store::aggregates::sessions`); the session
    // aggregates' delete triggers stand aside while a bulk delete (cleanup)
    // adjusts the aggregates once for its whole batch; the recording list's
    // order by time.
    r#"
CREATE INDEX recordings_time ON recordings(recorded_at);
@SESSION_SUMS_AND_PAUSE@
"#,
    // 10: the whole corpus's SNR bands per local month, for the median of
    // a range of days (`store::aggregates::corpus`), rebuilt at the next
    // open; the uploads of a range of days by their time.
    r#"
@MONTH_BINS@
"#,
    // 11: the descriptors (sample rates, birth years, duration buckets per
    // cell) and the lengths' bands for their exact median
    // (`store::aggregates::corpus`), rebuilt at the next open; the
    // recordings by length.
    r#"
@DESCRIPTORS@
"#,
    // 12: accounts staff can disable (`store::accounts::change_account`).
    r#"
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
"#,
    // 13: who started each job run (`store::jobs::RunBy`).
    r#"
ALTER TABLE job_runs ADD COLUMN ran_by TEXT;
"#,
    // 14: each speaker's months with recordings and the speakers per month
    // by the month they last recorded before it
    // (`store::aggregates::months`), rebuilt at the next open; the SNR
    // index carries the time (a range's median reads no table row); the
    // recordings by sample rate (the recording list).
    r#"
@MONTHS@
"#,
    // 15: the corpus's cells, descriptors and bands per local day
    // (`store::aggregates::corpus`), rebuilt at the next open: a range's
    // days outside its whole months read no recording.
    r#"
@DAYS@
"#,
];

/// One side (`NEW` or `OLD`) of a trigger: counts a write for the speaker
/// `speaker` and for the group of that speaker's row in `speakers`.
fn count_speaker_write(speaker: &str) -> String {
    format!(
        "INSERT INTO speaker_revisions(speaker_id, n) VALUES ({speaker}, 1)
    ON CONFLICT(speaker_id) DO UPDATE SET n = n + 1;
INSERT INTO group_revisions(category, diagnosis, gender, n)
    SELECT COALESCE(category, ''), COALESCE(diagnosis, ''), COALESCE(gender, ''), 1
    FROM speakers WHERE id = {speaker}
    ON CONFLICT(category, diagnosis, gender) DO UPDATE SET n = n + 1;\n"
    )
}

/// The triggers of migration 6. A speaker's own row counts for the group
/// it was in (OLD) and the group it is in (NEW): for OLD the row is gone or
/// changed, so its group comes from the OLD columns, not from `speakers`.
fn speaker_triggers() -> String {
    let old_group = "INSERT INTO group_revisions(category, diagnosis, gender, n)
    VALUES (COALESCE(OLD.category, ''), COALESCE(OLD.diagnosis, ''), COALESCE(OLD.gender, ''), 1)
    ON CONFLICT(category, diagnosis, gender) DO UPDATE SET n = n + 1;
INSERT INTO speaker_revisions(speaker_id, n) VALUES (OLD.id, 1)
    ON CONFLICT(speaker_id) DO UPDATE SET n = n + 1;\n";
    let recording_new = count_speaker_write("NEW.speaker_id");
    let recording_old = count_speaker_write("OLD.speaker_id");
    let speaker_new = count_speaker_write("NEW.id");
    format!(
        "CREATE TRIGGER recordings_speaker_ins AFTER INSERT ON recordings BEGIN\n{recording_new}END;
CREATE TRIGGER recordings_speaker_upd AFTER UPDATE ON recordings BEGIN\n{recording_new}{recording_old}END;
CREATE TRIGGER recordings_speaker_del AFTER DELETE ON recordings BEGIN\n{recording_old}END;
CREATE TRIGGER speakers_group_ins AFTER INSERT ON speakers BEGIN\n{speaker_new}END;
CREATE TRIGGER speakers_group_upd AFTER UPDATE ON speakers BEGIN\n{old_group}{speaker_new}END;
CREATE TRIGGER speakers_group_del AFTER DELETE ON speakers BEGIN\n{old_group}END;\n"
    )
}

/// The SQL of migration `index`, with generated parts filled in.
pub fn migration_sql(index: usize) -> String {
    let sql = MIGRATIONS[index];
    if sql.contains("@DAYS@") {
        return sql.replace(
            "@DAYS@",
            &super::aggregates::days_migration(super::Engine::Sqlite),
        );
    }
    if sql.contains("@MONTHS@") {
        return sql.replace(
            "@MONTHS@",
            &super::aggregates::months_migration(super::Engine::Sqlite),
        );
    }
    if sql.contains("@DESCRIPTORS@") {
        return sql.replace(
            "@DESCRIPTORS@",
            &super::aggregates::descriptors_migration(super::Engine::Sqlite),
        );
    }
    if sql.contains("@MONTH_BINS@") {
        return sql.replace(
            "@MONTH_BINS@",
            &super::aggregates::month_bins_migration(super::Engine::Sqlite),
        );
    }
    if sql.contains("@SESSION_SUMS_AND_PAUSE@") {
        return sql.replace(
            "@SESSION_SUMS_AND_PAUSE@",
            &super::aggregates::sessions::sqlite_migration_9(),
        );
    }
    if sql.contains("@CORPUS_AGGREGATE_TABLES@") {
        return sql
            .replace(
                "@CORPUS_AGGREGATE_TABLES@",
                &super::aggregates::tables_sql(super::Engine::Sqlite),
            )
            .replace(
                "@CORPUS_AGGREGATE_TRIGGERS@",
                &super::aggregates::sqlite_triggers(),
            );
    }
    if sql.contains("@AGGREGATE_TABLES@") {
        return sql
            .replace(
                "@AGGREGATE_TABLES@",
                super::aggregates::sessions::TABLES_SQL,
            )
            .replace(
                "@SESSION_AGGREGATE_TRIGGERS@",
                &super::aggregates::sessions::sqlite_session_triggers(),
            );
    }
    if sql.contains("@SPEAKER_TRIGGERS@") {
        return sql.replace("@SPEAKER_TRIGGERS@", &speaker_triggers());
    }
    if !sql.contains("@COUNTER_TRIGGERS@") {
        return sql.to_string();
    }
    let mut triggers = String::new();
    for table in COUNTED_TABLES {
        triggers.push_str(&format!(
            "INSERT INTO write_counters(table_name) VALUES ('{table}');\n"
        ));
        for (event, column, _) in [
            ("INSERT", "inserts", "NEW"),
            ("UPDATE", "updates", "NEW"),
            ("DELETE", "deletes", "OLD"),
        ] {
            triggers.push_str(&format!(
                "CREATE TRIGGER {table}_count_{ev} AFTER {event} ON {table} BEGIN \
                 UPDATE write_counters SET {column} = {column} + 1 WHERE table_name = '{table}'; END;\n",
                ev = event.to_ascii_lowercase()
            ));
        }
    }
    sql.replace("@COUNTER_TRIGGERS@", &triggers)
}

/// The schema version this binary writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}
