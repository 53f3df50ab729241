//! `voxdash refresh` (the original `refresh_dashboard_cache`): recomputes the
//! shared statistics one step at a time, with the time and key figures of each.

use std::time::Instant;

use crate::clock::format_utc;
use crate::stats::{StatKey, Statistic};
use crate::App;

/// One step of a refresh.
#[derive(Debug, Clone)]
pub struct RefreshStep {
    /// The key refreshed.
    pub key: StatKey,
    /// Seconds it took.
    pub seconds: f64,
    /// Key figures (`total speakers: 186`, ...) or the error.
    pub outcome: Result<Vec<(String, String)>, String>,
}

/// What a refresh did.
#[derive(Debug, Clone)]
pub struct RefreshReport {
    /// When it started (µs).
    pub started_at: i64,
    /// Steps in order.
    pub steps: Vec<RefreshStep>,
    /// Seconds in all.
    pub seconds: f64,
}

impl RefreshReport {
    /// Whether every step succeeded.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.outcome.is_ok())
    }

    /// One line for the job record.
    pub fn summary(&self) -> String {
        let failed: Vec<String> = self
            .steps
            .iter()
            .filter(|s| s.outcome.is_err())
            .map(|s| s.key.to_string())
            .collect();
        if failed.is_empty() {
            format!(
                "{} keys refreshed in {:.1} s",
                self.steps.len(),
                self.seconds
            )
        } else {
            format!("failed: {}", failed.join(", "))
        }
    }
}

fn key_figures(statistic: &Statistic) -> Vec<(String, String)> {
    let pair = |k: &str, v: String| (k.to_string(), v);
    match statistic {
        Statistic::Dashboard(d) => vec![
            pair("total speakers", d.total_speakers.to_string()),
            pair("total recordings", d.total_recordings.to_string()),
            pair("hours", format!("{:.1}", d.total_duration_hours)),
        ],
        Statistic::Locations(l) => vec![
            pair("upload regions", l.total_regions.to_string()),
            pair("uploads", l.total_uploads.to_string()),
            pair("map points", l.points.len().to_string()),
        ],
        Statistic::Learning(l) => vec![
            pair("learners", l.total_users.to_string()),
            pair("sessions today", l.sessions_today.to_string()),
            pair("active users (7 days)", l.active_users_7d.to_string()),
        ],
        _ => Vec::new(),
    }
}

/// Recomputes `keys` in order, going on after a failed step. `line` receives
/// each line of the log as it happens (start, `[i/n]` steps, closing line).
pub fn refresh(app: &App, keys: &[StatKey], mut line: impl FnMut(&str)) -> RefreshReport {
    let started_at = app.config.clock.now_micros();
    let started = Instant::now();
    line(&format!("Starting refresh at {}", format_utc(started_at)));
    let mut steps = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let t = Instant::now();
        let outcome = app
            .cache
            .refresh(key)
            .map(|a| key_figures(&a.entry.statistic))
            .map_err(|e| e.to_string());
        let seconds = t.elapsed().as_secs_f64();
        match &outcome {
            Ok(figures) => {
                let figures: Vec<String> =
                    figures.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                line(&format!(
                    "[{}/{}] {key} ... {seconds:.2} s ({})",
                    i + 1,
                    keys.len(),
                    figures.join(", ")
                ));
            }
            Err(e) => line(&format!(
                "[{}/{}] {key} ... FAILED after {seconds:.2} s: {e}",
                i + 1,
                keys.len()
            )),
        }
        steps.push(RefreshStep {
            key: key.clone(),
            seconds,
            outcome,
        });
    }
    let report = RefreshReport {
        started_at,
        seconds: started.elapsed().as_secs_f64(),
        steps,
    };
    let ttl = keys
        .iter()
        .map(|k| format!("{k} {}", human_secs(app.cache.ttl_of(k.kind()))))
        .collect::<Vec<_>>()
        .join(", ");
    line(&format!(
        "{} in {:.2} s; cached for: {ttl}",
        if report.ok() {
            "Refresh done"
        } else {
            "Refresh finished with errors"
        },
        report.seconds
    ));
    report
}

/// `86400` → `24 h`, `300` → `5 min`.
pub fn human_secs(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}
