//! Benchmark helper for `make bench`: 4 writer threads create study
//! sessions and 16 reader threads read statistics against a running server
//! for 10 s; prints accepted writes, errors, writes/s and read p50/p99.
//!
//! Usage: `write_load ADDR TOKEN USER_ID [SECONDS] [READERS]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../tests/common/http.rs"]
mod http;
use http::request;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (addr, token, user) = (
        args[1].clone(),
        format!("Bearer {}", args[2]),
        args[3].clone(),
    );
    let seconds: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(10);
    let readers: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(16);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let accepted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (addr, token, user, accepted, errors) = (
            addr.clone(),
            token.clone(),
            user.clone(),
            accepted.clone(),
            errors.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let body = format!(
                "{{\"user_id\": {user}, \"duration_minutes\": 25, \"effectiveness_rating\": 4}}"
            );
            while Instant::now() < deadline {
                match request(
                    &addr,
                    "POST",
                    "/api/v1/sessions",
                    &[("Authorization", &token)],
                    body.as_bytes(),
                ) {
                    Ok((201, _, _)) => accepted.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for i in 0..readers {
        let (addr, token, user, errors, latencies) = (
            addr.clone(),
            token.clone(),
            user.clone(),
            errors.clone(),
            latencies.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let paths = [
                "/api/v1/stats/dashboard".to_string(),
                "/api/v1/stats/learning".to_string(),
                format!("/api/v1/users/{user}/stats/daily"),
                format!("/api/v1/users/{user}/stats/analytics"),
            ];
            let mut mine = Vec::new();
            let mut n = i;
            while Instant::now() < deadline {
                let t = Instant::now();
                match request(
                    &addr,
                    "GET",
                    &paths[n % paths.len()],
                    &[("Authorization", &token)],
                    b"",
                ) {
                    Ok((200, _, _)) => mine.push(t.elapsed().as_secs_f64() * 1000.0),
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                n += 1;
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        l.get(((l.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let w = accepted.load(Ordering::Relaxed);
    println!(
        "accepted writes {w} ({:.0}/s), errors {}, reads {} (p50 {:.2} ms, p99 {:.2} ms)",
        w as f64 / seconds as f64,
        errors.load(Ordering::Relaxed),
        l.len(),
        pct(0.5),
        pct(0.99)
    );
}
