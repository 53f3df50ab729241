//! Each business rule on one column is declared once (`voxdash::rules`), and
//! the three doors agree on it: for values on and around its bounds, the
//! write API refuses exactly the values the import flags (a rejected row, or
//! a loaded one counted as breaking the rule) and cleanup finds among those
//! loaded (cleanup acts on sessions only).

mod common;

use common::server::{call, sign_in, start, Running};
use voxdash::jobs::cleanup::{plan, CleanupOptions};
use voxdash::rules::{Rule, RULES};

/// Values on, inside and just outside the rule's bounds.
fn values_around(rule: &Rule) -> Vec<f64> {
    let step = if whole(rule) { 1.0 } else { 0.5 };
    let mut out = Vec::new();
    for bound in [rule.min, rule.max].into_iter().flatten() {
        out.extend([bound - step, bound, bound + step]);
    }
    out
}

/// Whether the rule's column holds whole numbers.
fn whole(rule: &Rule) -> bool {
    matches!(rule.column, "effectiveness_rating" | "duration_minutes")
}

/// One write through the API with `value` in the rule's column; whether it
/// was refused naming that column.
fn api_refuses(r: &Running, auth: &[(&str, &str)], rule: &Rule, value: f64) -> bool {
    let number = |v: f64| {
        if whole(rule) {
            serde_json::json!(v as i64)
        } else {
            serde_json::json!(v)
        }
    };
    let reply = if rule.table == "course_progress" {
        let body = serde_json::json!({
            "proficiency_level": number(value),
            "learning_hours_total": 1.0,
            "learning_hours_week": 1.0,
        });
        call(
            r,
            "PUT",
            "/api/v1/users/2/progress/3",
            auth,
            &body.to_string(),
        )
    } else {
        let mut body = serde_json::json!({"user_id": 2, "duration_minutes": 30});
        body[rule.column] = number(value);
        call(r, "POST", "/api/v1/sessions", auth, &body.to_string())
    };
    match reply.status {
        200 | 201 => false,
        400 => {
            assert_eq!(reply.json()["field"], rule.column, "{}", reply.body);
            true
        }
        other => panic!("{}={value}: {other} {}", rule.column, reply.body),
    }
}

/// A CSV of the rule's table, one row per value (ids from 90001).
fn csv_of(rule: &Rule, values: &[f64]) -> (String, String) {
    let mut text = String::new();
    if rule.table == "course_progress" {
        text.push_str("id,user_id,course_id,proficiency_level,learning_hours_total,learning_hours_week,completed_at,updated_at\n");
        for (i, v) in values.iter().enumerate() {
            let course = i + 1;
            text.push_str(&format!(
                "{},5,{course},{v},1,1,,2026-11-04T00:00:00Z\n",
                90001 + i
            ));
        }
        return ("course_progress.csv".into(), text);
    }
    text.push_str("id,user_id,course_id,subject_category,start_time,end_time,duration_minutes,effectiveness_rating,focus_score,learning_environment,device_type,is_active\n");
    for (i, v) in values.iter().enumerate() {
        let (mut duration, mut rating, mut focus) =
            ("30".to_string(), "3".to_string(), "50".to_string());
        let value = if rule.column == "focus_score" {
            v.to_string()
        } else {
            (*v as i64).to_string()
        };
        match rule.column {
            "duration_minutes" => duration = value,
            "effectiveness_rating" => rating = value,
            _ => focus = value,
        }
        text.push_str(&format!(
            "{},2,2,,2026-11-11T00:00:00Z,,{duration},{rating},{focus},home,laptop,0\n",
            90001 + i
        ));
    }
    ("study_sessions.csv".into(), text)
}

/// What cleanup counts for `rule` now.
fn cleanup_count(r: &Running, rule: &Rule) -> u64 {
    let app = &r.server.as_ref().unwrap().app;
    let options = CleanupOptions {
        dry_run: true,
        invalid_only: true,
        ..CleanupOptions::default()
    };
    let report = plan(&r.store(), &app.config, &options).unwrap();
    report
        .counts
        .iter()
        .find(|(name, _)| name == rule.name)
        .map_or(0, |(_, n)| *n)
}

#[test]
fn the_write_api_the_import_and_cleanup_agree_on_every_rule() {
    for rule in RULES {
        let r = start(true);
        let (cookie, csrf) = sign_in(&r, "boss", "staff-password");
        let auth = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
        let values = values_around(&rule);
        let broken = values.iter().filter(|v| !rule.holds(**v)).count() as u64;
        assert!(broken > 0 && broken < values.len() as u64, "{values:?}");

        let refused = values
            .iter()
            .filter(|v| api_refuses(&r, &auth, &rule, **v))
            .count() as u64;
        assert_eq!(refused, broken, "{}: the write API", rule.name);

        let before = cleanup_count(&r, &rule);
        let dir = common::temp_dir();
        let (file, text) = csv_of(&rule, &values);
        std::fs::write(dir.path().join(file), text).unwrap();
        let report = voxdash::import::import_dir(
            &r.store(),
            dir.path(),
            &voxdash::import::ImportOptions::default(),
        )
        .unwrap();
        // A value past the sanity bounds too (a negative proficiency) is a
        // rejected row; one inside them a loaded row counted as breaking the
        // rule. Either way the import flags it, and nothing else.
        let rejected = report
            .rejected
            .iter()
            .filter(|e| e.column == rule.column)
            .count() as u64;
        assert_eq!(
            rejected as usize,
            report.rejected.len(),
            "{:?}",
            report.rejected
        );
        let counted: u64 = report
            .files
            .iter()
            .filter_map(|f| f.violations.get(rule.name))
            .sum();
        assert_eq!(counted + rejected, broken, "{}: the import", rule.name);

        if rule.table == "study_sessions" {
            let found = cleanup_count(&r, &rule) - before;
            assert_eq!(found, counted, "{}: cleanup", rule.name);
        }
    }
}
