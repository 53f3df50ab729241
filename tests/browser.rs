//! A real browser on a live page: Debian's Chromium driven through
//! chromedriver (WebDriver), watching the dashboard badge turn stale and then
//! fresh after a write, without a reload. Needs the Debian packages
//! `chromium` and `chromium-driver`; `make e2e` installs them and runs these
//! tests (`cargo test --test browser -- --ignored`). A driver that cannot
//! start fails the test.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::http::request;
use common::server::{call, sign_in, start};
use serde_json::{json, Value};

/// A chromedriver process and one browser session in it.
struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) must be installed");
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while request(&addr, "GET", "/status", &[], b"").is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = common::temp_dir();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let answer = browser.call("POST", "/session", &capabilities);
        browser.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = body.to_string();
        let (status, _, answer) = request(
            &self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer["value"].clone()
    }

    fn go(&self, url: &str) {
        let path = format!("/session/{}/url", self.session);
        self.call("POST", &path, &json!({ "url": url }));
    }

    fn script(&self, script: &str) -> Value {
        let path = format!("/session/{}/execute/sync", self.session);
        self.call("POST", &path, &json!({ "script": script, "args": [] }))
    }

    /// Polls `script` until it returns `want`, for at most `wait`.
    fn until(&self, script: &str, want: &str, wait: Duration) {
        let started = Instant::now();
        loop {
            let got = self.script(script);
            if got == want {
                return;
            }
            assert!(
                started.elapsed() < wait,
                "{script}: still {got} after {wait:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(
                &self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                b"",
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const BADGE: &str =
    "return document.querySelector('.badge[data-key=\"dashboard\"]').getAttribute('data-status')";

#[test]
#[ignore = "needs chromium and chromium-driver; make e2e runs it"]
fn a_badge_turns_stale_then_fresh_after_a_write_without_a_reload() {
    let r = start(true);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let browser = Browser::start();
    browser.go(&format!("http://{}/audio/dashboard/", r.addr));
    browser.until(BADGE, "cached", Duration::from_secs(5));
    // A mark that a reload would lose, and a record of the badge's states.
    browser.script(
        "window.notReloaded = true; window.seen = ['cached'];
         new MutationObserver(function () {
           var b = document.querySelector('.badge[data-key=\"dashboard\"]');
           var s = b && b.getAttribute('data-status');
           if (s && window.seen[window.seen.length - 1] !== s) window.seen.push(s);
         }).observe(document.body, {subtree: true, attributes: true, childList: true});
         return true",
    );
    // Let the page's event stream connect before the write.
    std::thread::sleep(Duration::from_millis(500));
    let written = call(
        &r,
        "POST",
        "/api/v1/recordings",
        &[("Cookie", &staff), ("X-CSRF-Token", &csrf)],
        r#"{"speaker_id": 1, "file_name": "live.wav", "duration_s": 7200}"#,
    );
    assert_eq!(written.status, 201, "{}", written.body);
    browser.until(BADGE, "fresh", Duration::from_secs(10));
    assert_eq!(browser.script("return window.notReloaded === true"), true);
    let seen = browser.script("return window.seen.join(' ')");
    assert!(seen.as_str().unwrap().contains("stale"), "{seen}");
    assert!(seen.as_str().unwrap().ends_with("fresh"), "{seen}");
    // The numbers were swapped in: two more hours than before.
    let hours =
        browser.script("return document.querySelectorAll('.cards .card .value')[2].textContent");
    let api = request(&r.addr, "GET", "/api/v1/stats/dashboard", &[], b"").unwrap();
    let json: Value = serde_json::from_slice(&api.2).unwrap();
    let expected = format!(
        "{:.1}",
        json["data"]["total_duration_hours"].as_f64().unwrap()
    );
    assert_eq!(hours, expected);
}
