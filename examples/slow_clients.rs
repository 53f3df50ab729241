//! Benchmark helper for `make bench`: `/healthz` latency with no other
//! client, then with 128 slow or idle connections open (64 connected and
//! silent, 32 sending a request head one byte at a time, 32 announcing a
//! body they never send). Prints p50 and p99 of 200 requests each time.
//!
//! Usage: `slow_clients ADDR`

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/common/http.rs"]
mod http;
use http::request;

fn healthz(addr: &str) -> String {
    let mut times: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let (status, _, _) = request(addr, "GET", "/healthz", &[], b"").expect("healthz");
            assert_eq!(status, 200);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times[99], times[197], times[199]
    )
}

fn main() {
    let addr = std::env::args().nth(1).expect("usage: slow_clients ADDR");
    println!("/healthz alone: {}", healthz(&addr));
    let stop = Arc::new(AtomicBool::new(false));
    let mut held = Vec::new();
    for _ in 0..64 {
        held.push(TcpStream::connect(&addr).expect("connect"));
    }
    for _ in 0..32 {
        let mut s = TcpStream::connect(&addr).expect("connect");
        s.write_all(b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n{")
            .expect("write");
        held.push(s);
    }
    let mut dribblers = Vec::new();
    for _ in 0..32 {
        let addr = addr.clone();
        let stop = Arc::clone(&stop);
        dribblers.push(std::thread::spawn(move || {
            // Reconnects when the server closes it (head timeout), as an
            // attacker would, until told to stop.
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(&addr) else {
                    return;
                };
                for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
                    .iter()
                    .cycle()
                {
                    if stop.load(Ordering::Relaxed) || s.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    println!(
        "/healthz with 128 slow or idle connections open: {}",
        healthz(&addr)
    );
    stop.store(true, Ordering::Relaxed);
    drop(held);
    for d in dribblers {
        let _ = d.join();
    }
}
