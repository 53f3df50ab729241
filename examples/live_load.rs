//! Benchmark helper for `make bench`: are the numbers current while a lab
//! uploads? One writer registers a recording every 500 ms (two a second)
//! through the API while a viewer polls the dashboard and one category's
//! drill-down, each every 250 ms. Prints the share of polls that were
//! current (`fresh`, or `cached` with no write since), the writes' latency,
//! and the CPU time the server spent over the run.
//!
//! Usage: `live_load ADDR TOKEN SERVER_PID CATEGORY SPEAKERS [SECONDS]`

use std::time::{Duration, Instant};

#[path = "../tests/common/http.rs"]
mod http;
use http::request;

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the server runs");
    // Fields after the command name (which may hold spaces): utime is the
    // 14th field of the line, stime the 15th, in clock ticks (100 a second).
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (addr, token, pid, category) = (
        args[1].clone(),
        format!("Bearer {}", args[2]),
        args[3].clone(),
        args[4].clone(),
    );
    let speakers: u64 = args[5].parse().expect("a number of speakers");
    let seconds: u64 = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(40);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = cpu_seconds(&pid);
    let started = Instant::now();
    let writer = {
        let (addr, token) = (addr.clone(), token.clone());
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            let mut n: u64 = 0;
            while Instant::now() < deadline {
                let tick = Instant::now();
                // Speakers spread over the corpus, so the drill-down's
                // group sees some of the writes and not others.
                let body = format!(
                    "{{\"speaker_id\": {}, \"file_name\": \"live{n}.wav\", \"duration_s\": 4.5, \"snr_db\": 21.5}}",
                    1 + (n * 7919) % speakers
                );
                match request(
                    &addr,
                    "POST",
                    "/api/v1/recordings",
                    &[("Authorization", &token)],
                    body.as_bytes(),
                ) {
                    Ok((201, _, _)) => latencies.push(tick.elapsed().as_secs_f64() * 1000.0),
                    other => eprintln!("write failed: {:?}", other.map(|r| r.0)),
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(500).saturating_sub(tick.elapsed()));
            }
            latencies
        })
    };
    let paths = [
        "/api/v1/stats/dashboard".to_string(),
        format!("/api/v1/stats/dashboard?category={category}"),
    ];
    let (mut polls, mut current) = (0u64, 0u64);
    let mut i = 0;
    while Instant::now() < deadline {
        let tick = Instant::now();
        let path = &paths[i % paths.len()];
        if let Ok((200, _, body)) = request(&addr, "GET", path, &[("Authorization", &token)], b"") {
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            polls += 1;
            let fresh = json["status"] == "fresh";
            let unchanged = json["status"] == "cached" && json["changes_since"] == 0;
            current += u64::from(fresh || unchanged);
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(125).saturating_sub(tick.elapsed()));
    }
    let mut latencies = writer.join().unwrap();
    let cpu = cpu_seconds(&pid) - cpu_before;
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let p50 = latencies
        .get(latencies.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    println!(
        "{} writes ({:.1}/s), write p50 {p50:.1} ms; {current} of {polls} polls current ({:.1} %); server CPU {:.1} % of a core",
        latencies.len(),
        latencies.len() as f64 / wall,
        100.0 * current as f64 / polls.max(1) as f64,
        100.0 * cpu / wall
    );
}
