//! Real browsers on a live server: Debian's Chromium driven through
//! chromedriver (WebDriver), as a desktop (1200 px) and as a phone (390 px).
//! Every page in English, Korean and Chinese: no horizontal scrolling, no
//! chart text outside its chart, no English phrase on a Korean or Chinese
//! page, and a screenshot of each in `e2e-out/`. Then what people do: sign
//! in, press Refresh and see the green badge, cancel and confirm "Clear all",
//! follow a drill-down and a learner link, step through weeks, download a
//! CSV and compare it with the JSON, watch a badge turn stale then fresh.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`; `make e2e`
//! installs them and runs these tests (`cargo test --test browser --
//! --ignored`). A driver that cannot start fails the test.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::http::request;
use common::server::{call, get, sign_in, start, Running};
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
        Browser::sized(1200, 900)
    }

    /// A browser whose window is `width` × `height` CSS pixels.
    fn sized(width: u32, height: u32) -> Browser {
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
        let mut chrome = json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--hide-scrollbars",
                     format!("--window-size={},{height}", width.max(500)),
                     format!("--user-data-dir={}", profile.path().display())]
        });
        // A window cannot be narrower than 500 px: a phone is a phone's
        // viewport, as the browser's device mode makes it.
        if width < 500 {
            chrome["mobileEmulation"] = json!({"deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 2.0, "mobile": true, "touch": true
            }});
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": chrome
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

    /// Runs `script` with a callback as its last argument; its value.
    fn script_async(&self, script: &str) -> Value {
        let path = format!("/session/{}/execute/async", self.session);
        self.call("POST", &path, &json!({ "script": script, "args": [] }))
    }

    /// The page's path and query.
    fn here(&self) -> String {
        self.script("return location.pathname + location.search")
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Clicks the element `css` names and waits for the next page, which
    /// must be at a path and query starting with `then`.
    fn click(&self, css: &str, then: &str) {
        self.navigate_by(
            &format!(
                "var e = document.querySelector({}); if (!e) return false;
                 e.dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true, view: window}}));
                 return true",
                json!(css)
            ),
            &format!("nothing to click at {css}"),
        );
        let here = self.here();
        assert!(
            here.starts_with(then),
            "after clicking {css}: at {here}, not {then}"
        );
    }

    /// Runs `script` (which returns true when it started a navigation) and
    /// waits until the next page has loaded.
    fn navigate_by(&self, script: &str, what: &str) {
        self.script("window.voxdashOldPage = true; return true");
        assert_eq!(self.script(script), true, "{what} on {}", self.here());
        let started = Instant::now();
        loop {
            let done = self.script(
                "return window.voxdashOldPage !== true && document.readyState === 'complete'",
            );
            if done == true {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{what}: no new page after 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a screenshot of the whole page (through the browser's own
    /// protocol: WebDriver's screenshot is of the window only).
    fn screenshot(&self, file: &std::path::Path) {
        let cdp = format!("/session/{}/goog/cdp/execute", self.session);
        let metrics = self.call(
            "POST",
            &cdp,
            &json!({"cmd": "Page.getLayoutMetrics", "params": {}}),
        );
        let size = &metrics["cssContentSize"];
        let shot = self.call(
            "POST",
            &cdp,
            &json!({"cmd": "Page.captureScreenshot", "params": {
                "format": "png", "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            }}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(file, png).unwrap();
    }

    /// Signs in through the sign-in form.
    fn sign_in(&self, base: &str, username: &str, password: &str) {
        self.go(&format!("{base}/login/?next=/learning/"));
        self.script(&format!(
            "document.querySelector('[name=username]').value = {};
             document.querySelector('[name=password]').value = {};
             return true",
            json!(username),
            json!(password)
        ));
        self.click("form.login button[type=submit]", "/learning/");
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
fn a_badge_is_fresh_with_the_new_total_within_two_seconds_of_a_write() {
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
    // The dashboard is kept by the writes: recomputed at once, pushed to
    // the page, swapped in. (It may be stale too briefly to be seen.)
    browser.until(BADGE, "fresh", Duration::from_secs(2));
    assert_eq!(browser.script("return window.notReloaded === true"), true);
    let seen = browser.script("return window.seen.join(' ')");
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

/// What a page looks like to the checks: how far it scrolls sideways, the
/// chart texts outside their chart, its language and its text.
const LOOK: &str = "
  var de = document.documentElement, clipped = [], colliding = [], unsorted = [], ungrouped = [];
  function seen(e) { var c = getComputedStyle(e); return c.visibility === 'visible' && c.display !== 'none'; }
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var b = svg.getBoundingClientRect(), boxes = [];
    svg.querySelectorAll('text').forEach(function (t) {
      var r = t.getBoundingClientRect();
      if (r.width === 0 || !seen(t)) return;
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5)
        clipped.push(t.textContent + ' [' + Math.round(r.left) + '..' + Math.round(r.right) + ' in ' + Math.round(b.left) + '..' + Math.round(b.right) + ']');
      boxes.forEach(function (o) {
        if (r.left < o.r.right - 1 && o.r.left < r.right - 1 && r.top < o.r.bottom - 1 && o.r.top < r.bottom - 1)
          colliding.push(o.text + ' / ' + t.textContent);
      });
      boxes.push({ r: r, text: t.textContent });
    });
  });
  // Every heading of a table sorts, and says so before one is sorted.
  document.querySelectorAll('div.table th a').forEach(function (a) {
    var th = a.closest('th');
    if (!th.hasAttribute('aria-sort') && getComputedStyle(a, '::after').content.indexOf('↕') < 0)
      unsorted.push(a.textContent);
  });
  // Amounts people read are grouped by thousands (ids are code, as written).
  document.querySelectorAll('td.num, .card .value').forEach(function (c) {
    if (c.querySelector('code')) return;
    if (/^-?\\d{4,}(\\.\\d+)?$/.test(c.textContent.trim())) ungrouped.push(c.textContent.trim());
  });
  // Text people read: identifiers shown as code (keys, table names, job
  // reports) are the software's own words in every language.
  var copy = document.body.cloneNode(true);
  copy.querySelectorAll('code, script, style').forEach(function (c) { c.remove(); });
  return { overflow: de.scrollWidth - de.clientWidth, width: de.clientWidth, clipped: clipped,
           colliding: colliding, unsorted: unsorted, ungrouped: ungrouped,
           badges: document.querySelectorAll('.badge').length,
           cells: Array.prototype.map.call(document.querySelectorAll('td'), function (td) { return td.textContent.trim(); }),
           lang: de.lang, text: copy.textContent, charts: document.querySelectorAll('svg.chart').length };
";

/// English phrases of the interface that must not appear on a Korean or
/// Chinese page (whole words; short words and shared terms left out).
fn english_only() -> Vec<&'static str> {
    const SHARED: [&str; 6] = ["SNR (dB)", "CSV", "TTL", "voxdash", "Mean SNR (dB)", "Size"];
    voxdash::i18n::phrases()
        .filter(|(_, en, ko, zh)| en != ko && en != zh && en.len() >= 4 && !en.contains('{'))
        .map(|(_, en, ..)| en)
        .filter(|en| !SHARED.contains(en))
        .collect()
}

/// `text` without the region names of the data in `data` (its
/// `ip_regions.csv`) that pages show as written: only Korea's provinces and
/// cities have translations, and those stay in.
fn without_data(text: &str, data: &Path) -> String {
    let regions = std::fs::read_to_string(data.join("ip_regions.csv")).unwrap();
    let translated: Vec<&str> = voxdash::i18n::regions()
        .flat_map(|(en, ko, zh)| [en, ko, zh])
        .collect();
    let mut text = text.to_string();
    for line in regions.lines().skip(1) {
        if let Some(name) = line
            .split(',')
            .nth(1)
            .filter(|n| n.len() > 3 && !translated.contains(&n.trim()))
        {
            text = text.replace(name, " ");
        }
    }
    text
}

/// Whether `text` holds `word` with no letter or digit on either side.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Whether `word` is a whole IPv4 address (not a network like `10.1.2.0/24`).
fn whole_ipv4(word: &str) -> bool {
    word.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Every page a staff member can open, by name.
fn pages(r: &Running) -> Vec<(&'static str, String)> {
    let (staff, _) = sign_in(r, "boss", "staff-password");
    let dashboard = get(r, "/api/v1/stats/dashboard", &[("Cookie", &staff)]).json();
    let category = dashboard["data"]["by_category"][0]["category"]
        .as_str()
        .unwrap()
        .to_string();
    let mut group = form_pair("category", &category);
    group.insert_str(0, "/audio/dashboard/?");
    vec![
        ("dashboard", "/audio/dashboard/".into()),
        ("group", group.clone()),
        (
            "ranged-group",
            format!("{group}&from=2025-03-01&to=2025-06-30"),
        ),
        (
            "ranged",
            "/audio/dashboard/?from=2025-03-15&to=2025-06-30".into(),
        ),
        (
            "recordings",
            "/audio/recordings/?snr_min=20&snr_max=30".into(),
        ),
        ("search", "/search/?q=spk".into()),
        ("speaker", "/audio/speakers/1/?from=2025-01-01".into()),
        ("locations", "/api/userprofile/".into()),
        ("uploads", "/api/userprofile/uploads/?region=Seoul".into()),
        ("learning", "/learning/".into()),
        ("learner", "/learning/users/1/".into()),
        ("cache", "/admin/cache/".into()),
        ("clear-all", "/admin/cache/clear?prefix=".into()),
        ("maintenance", "/admin/maintenance/".into()),
        ("cleanup-confirm", "/admin/maintenance/run".into()),
        ("accounts", "/admin/accounts/".into()),
        ("not-found", "/no/such/page/".into()),
        ("bad-request", "/learning/users/1/?date=2026-02-30".into()),
    ]
}

fn form_pair(name: &str, value: &str) -> String {
    let mut q = String::new();
    q.push_str(name);
    q.push('=');
    for b in value.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => q.push(b as char),
            _ => q.push_str(&format!("%{b:02X}")),
        }
    }
    q
}

/// What is wrong with the page the browser shows, as `at` in `lang`, over
/// the data of the directory `data`.
fn look_at(
    browser: &Browser,
    (at, lang, width): (&str, &str, u32),
    data: &Path,
    english: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let look = browser.script(LOOK);
    if look["width"] != width {
        problems.push(format!("{at}: the window is {} px wide", look["width"]));
    }
    if look["overflow"].as_f64().unwrap() > 0.0 {
        problems.push(format!("{at}: scrolls {} px sideways", look["overflow"]));
    }
    for text in look["clipped"].as_array().unwrap() {
        problems.push(format!("{at}: chart text outside its chart: {text}"));
    }
    for texts in look["colliding"].as_array().unwrap() {
        problems.push(format!("{at}: chart texts on top of each other: {texts}"));
    }
    for heading in look["unsorted"].as_array().unwrap() {
        problems.push(format!(
            "{at}: heading {heading} gives no cue that it sorts"
        ));
    }
    for number in look["ungrouped"].as_array().unwrap() {
        problems.push(format!("{at}: {number} is not grouped by thousands"));
    }
    if look["badges"].as_u64().unwrap() > 1 {
        problems.push(format!("{at}: {} badges on one page", look["badges"]));
    }
    for cell in look["cells"].as_array().unwrap() {
        let cell = cell.as_str().unwrap();
        // Codes read as words; addresses are masked to their network.
        if ["F", "M", "U"].contains(&cell) {
            problems.push(format!("{at}: the code {cell:?} in a table"));
        }
        if cell.split_whitespace().any(whole_ipv4) {
            problems.push(format!("{at}: a whole address {cell:?}"));
        }
    }
    if look["lang"] != lang {
        problems.push(format!("{at}: <html lang={}>", look["lang"]));
    }
    // A place reads in the page's language, whichever spelling the data has.
    let page = without_data(look["text"].as_str().unwrap(), data);
    let page = page.as_str();
    for (en, ko, zh) in voxdash::i18n::regions() {
        let others: &[&str] = match lang {
            "en" => &[ko, zh],
            "ko" => &[en, zh],
            _ => &[en, ko],
        };
        for other in others {
            if has_word(page, other) {
                problems.push(format!("{at}: the place {other:?} untranslated"));
            }
        }
    }
    if lang != "en" {
        for phrase in english {
            if has_word(page, phrase) {
                problems.push(format!("{at}: English {phrase:?}"));
            }
        }
    }
    problems
}

fn e2e_out() -> std::path::PathBuf {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e-out");
    std::fs::create_dir_all(&out).unwrap();
    out
}

#[test]
#[ignore = "needs chromium and chromium-driver; make e2e runs it"]
fn charts_fit_at_twenty_times_the_lab() {
    let data = common::temp_dir();
    let options = voxdash::demo::DemoOptions {
        scale: 20.0,
        seed: 7,
        now_micros: 1_795_402_800_000_000,
    };
    voxdash::demo::write_demo(data.path(), &options).unwrap();
    let r = common::server::start_on(data.path());
    let base = format!("http://{}", r.addr);
    let english = english_only();
    let mut problems = Vec::new();
    for (width, height) in [(1200, 900), (390, 844)] {
        let browser = Browser::sized(width, height);
        for (name, path) in [
            ("dashboard", "/audio/dashboard/"),
            ("locations", "/api/userprofile/"),
            ("learner", "/learning/users/1/"),
        ] {
            for lang in ["en", "zh"] {
                browser.go(&format!("{base}{path}?lang={lang}"));
                let at = format!("{name} 20x {lang} {width}px");
                let charts = browser.script("return document.querySelectorAll('svg.chart').length");
                assert!(charts.as_u64().unwrap() >= 2, "{at}: {charts} charts");
                problems.extend(look_at(&browser, (&at, lang, width), data.path(), &english));
                browser.screenshot(&e2e_out().join(format!("{name}-20x-{lang}-{width}.png")));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
#[ignore = "needs chromium and chromium-driver; make e2e runs it"]
fn every_page_fits_a_phone_and_a_desktop_in_three_languages() {
    let r = start(false);
    let base = format!("http://{}", r.addr);
    let out = e2e_out();
    let english = english_only();
    let mut problems = Vec::new();
    for (width, height) in [(1200, 900), (390, 844)] {
        let browser = Browser::sized(width, height);
        for lang in ["en", "ko", "zh"] {
            browser.go(&format!("{base}/login/?lang={lang}"));
            let at = format!("sign-in {lang} {width}px");
            problems.extend(look_at(
                &browser,
                (&at, lang, width),
                &common::sample_dir(),
                &english,
            ));
            browser.screenshot(&out.join(format!("sign-in-{lang}-{width}.png")));
        }
        browser.sign_in(&base, "boss", "staff-password");
        for (name, path) in pages(&r) {
            for lang in ["en", "ko", "zh"] {
                let join = if path.contains('?') { '&' } else { '?' };
                browser.go(&format!("{base}{path}{join}lang={lang}"));
                let at = format!("{name} {lang} {width}px");
                problems.extend(look_at(
                    &browser,
                    (&at, lang, width),
                    &common::sample_dir(),
                    &english,
                ));
                browser.screenshot(&out.join(format!("{name}-{lang}-{width}.png")));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
#[ignore = "needs chromium and chromium-driver; make e2e runs it"]
fn refresh_shows_the_green_badge_and_clear_all_asks_first() {
    let r = start(false);
    let base = format!("http://{}", r.addr);
    let browser = Browser::start();
    browser.sign_in(&base, "boss", "staff-password");
    browser.go(&format!("{base}/audio/dashboard/"));
    browser.until(BADGE, "cached", Duration::from_secs(5));
    browser
        .script("document.querySelector('form[action=\"/refresh/\"] button').click(); return true");
    browser.until(BADGE, "fresh", Duration::from_secs(10));
    // Without script too: the Refresh form's answer (a redirect with a
    // one-time message) is a page with a green badge. Asked over plain
    // HTTP: in the browser, the live script may already have swapped in
    // the numbers again on the refresh's own event.
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let posted = call(
        &r,
        "POST",
        "/refresh/",
        &[
            ("Cookie", &staff),
            ("X-CSRF-Token", &csrf),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("csrf_token={csrf}&key=dashboard&next=%2Faudio%2Fdashboard%2F"),
    );
    assert_eq!(posted.status, 303, "{}", posted.body);
    let flash = posted
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let page = get(
        &r,
        "/audio/dashboard/",
        &[("Cookie", &format!("{staff}; {flash}"))],
    );
    assert!(page.body.contains("class=\"badge fresh\""), "{}", page.body);
    assert!(
        page.body
            .contains("Refreshed: the numbers below were just computed."),
        "{}",
        page.body
    );

    // "Clear all": cancelled, nothing goes; confirmed, everything goes and
    // the page says how much.
    browser.go(&format!("{base}/admin/cache/"));
    let entries = "return document.querySelectorAll('#entries tbody tr').length";
    let before = browser.script(entries).as_u64().unwrap();
    assert!(before >= 3, "{before} entries");
    browser.click(
        "a.button.danger[href='/admin/cache/clear?prefix=']",
        "/admin/cache/clear",
    );
    let question = browser.script("return document.querySelector('h1').textContent");
    assert_eq!(question, "Clear every entry of the stats cache?");
    browser.click("section.confirm a.button", "/admin/cache/");
    assert_eq!(browser.script(entries).as_u64().unwrap(), before);
    browser.click(
        "a.button.danger[href='/admin/cache/clear?prefix=']",
        "/admin/cache/clear",
    );
    browser.click("section.confirm button.danger", "/admin/cache/");
    let notice = browser.script("return document.querySelector('.notice').textContent");
    assert_eq!(notice, format!("{before} cache entries cleared."));
    assert_eq!(browser.script(entries).as_u64().unwrap(), 0);
    // The message is shown once.
    browser.go(&format!("{base}/admin/cache/"));
    assert_eq!(
        browser.script("return document.querySelector('.notice') === null"),
        true
    );
}

#[test]
#[ignore = "needs chromium and chromium-driver; make e2e runs it"]
fn links_lead_down_the_corpus_and_through_a_learners_weeks() {
    let r = start(false);
    let base = format!("http://{}", r.addr);
    let browser = Browser::start();
    browser.sign_in(&base, "boss", "staff-password");
    // A category bar, then a speaker of it, then back up the breadcrumbs.
    browser.go(&format!("{base}/audio/dashboard/"));
    let category =
        browser.script("return document.querySelector('#by-category svg a').getAttribute('href')");
    let category = category.as_str().unwrap().to_string();
    browser.click("#by-category svg a", &category);
    let h1 = browser.script("return document.querySelector('h1').textContent");
    assert!(
        h1.as_str()
            .unwrap()
            .starts_with("Voice corpus — Category: "),
        "{h1}"
    );
    browser.click("#speakers tbody a", "/audio/speakers/");
    assert!(browser
        .script("return document.querySelector('h1').textContent")
        .as_str()
        .unwrap()
        .starts_with("Speaker "));
    browser.click("nav.breadcrumbs a:nth-of-type(2)", &category);

    // The learner list, a learner, their weeks.
    browser.go(&format!("{base}/learning/"));
    browser.click(
        "#learners tbody tr:first-child td:nth-child(2) a",
        "/learning/users/",
    );
    let title = browser.script("return document.querySelector('h1').textContent");
    assert!(title.as_str().unwrap().starts_with("Learner: "), "{title}");
    let week = "return document.querySelector('#weekly h2').textContent";
    let this_week = browser.script(week);
    assert_eq!(this_week, "Week 2026-11-23 – 2026-11-29");
    browser.click("nav.dates a.week[rel=prev]", "/learning/users/");
    assert_eq!(browser.script(week), "Week 2026-11-16 – 2026-11-22");
    browser.click("nav.dates a.week[rel=next]", "/learning/users/");
    assert_eq!(browser.script(week), this_week);
    // The date picker: any day shows the week that holds it.
    browser.navigate_by(
        "var f = document.querySelector('form.pick');
         f.querySelector('[name=week_start]').value = '2026-11-05';
         f.submit(); return true",
        "the date picker",
    );
    assert_eq!(browser.script(week), "Week 2026-11-02 – 2026-11-08");
}

#[test]
#[ignore = "needs chromium and chromium-driver; make e2e runs it"]
fn a_range_preset_keeps_the_group_and_language_and_bars_lead_to_recordings() {
    let r = start(false);
    let base = format!("http://{}", r.addr);
    let browser = Browser::start();
    browser.sign_in(&base, "boss", "staff-password");
    browser.go(&format!("{base}/audio/dashboard/?category=elderly&lang=ko"));
    // "Last 12 months" from 2026-11-23: December 2025 to November 2026.
    browser.click(
        "form.range .presets a:nth-child(4)",
        "/audio/dashboard/?category=elderly&lang=ko&from=2025-12-01&to=2026-11-30",
    );
    let shown = browser.script("return document.querySelector('form.range [name=from]').value");
    assert_eq!(shown, "2025-12-01");
    let current = browser
        .script("return document.querySelector('form.range .presets a[aria-current]').textContent");
    assert_eq!(current, "최근 12개월");
    // The dates typed in the form, the group kept.
    browser.navigate_by(
        "var f = document.querySelector('form.range');
         f.querySelector('[name=from]').value = '2026-01-05';
         f.querySelector('[name=to]').value = '';
         f.submit(); return true",
        "the range form",
    );
    let here = browser.here();
    assert!(
        here.contains("category=elderly") && here.contains("from=2026-01-05"),
        "{here}"
    );
    // The good SNR bar opens the list of the group's good recordings.
    browser.click(
        "#snr svg a:nth-of-type(3)",
        "/audio/recordings/?category=elderly&from=2026-01-05",
    );
    let here = browser.here();
    assert!(
        here.contains("snr_min=20") && here.contains("snr_max=30"),
        "{here}"
    );
    let snrs = browser.script(
        "return Array.from(document.querySelectorAll('table.list tbody tr td:last-child'))
            .map(td => parseFloat(td.textContent))",
    );
    let snrs = snrs.as_array().unwrap();
    assert!(!snrs.is_empty(), "the list shows recordings");
    assert!(
        snrs.iter()
            .all(|v| (20.0..30.0).contains(&v.as_f64().unwrap())),
        "{snrs:?}"
    );
}

#[test]
#[ignore = "needs chromium and chromium-driver; make e2e runs it"]
fn a_downloaded_csv_holds_what_the_json_says() {
    let r = start(true);
    let base = format!("http://{}", r.addr);
    let browser = Browser::start();
    browser.go(&format!("{base}/audio/dashboard/?lang=ko"));
    let href = browser.script("return document.querySelector('#by-category a.csv').href");
    let csv = browser.script_async(&format!(
        "var done = arguments[arguments.length - 1];
         fetch({}).then(function (r) {{ return r.arrayBuffer(); }})
           .then(function (b) {{ done(Array.from(new Uint8Array(b))); }})",
        json!(href)
    ));
    let bytes: Vec<u8> = csv
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no byte-order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("범주,화자,녹음,시간"));
    let json = get(&r, "/api/v1/stats/dashboard", &[]).json();
    let groups = json["data"]["by_category"].as_array().unwrap();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), groups.len());
    for (row, g) in rows.iter().zip(groups) {
        let cells: Vec<&str> = row.split(',').collect();
        let name = g["category"].as_str().unwrap();
        assert_eq!(cells[0], if name.is_empty() { "없음" } else { name });
        assert_eq!(cells[1], g["speakers"].to_string());
        assert_eq!(cells[2], g["recordings"].to_string());
        let hours: f64 = cells[3].parse().unwrap();
        assert_eq!(hours, g["duration_hours"].as_f64().unwrap());
    }
}
