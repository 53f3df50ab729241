//! What people see on the pages, over HTTP: tables sorted and exported as
//! CSV, the green badge after Refresh without script, confirmations before
//! destructive actions, translated error pages, plural forms, the learner
//! list, and what an empty store says. (Layout, charts and clicks in a real
//! browser: tests/browser.rs.)

mod common;

use common::server::{call, get, sign_in, start, start_empty, Reply};

fn flash_of(reply: &Reply) -> String {
    reply.cookie("voxdash_flash").expect("a one-time message")
}

#[test]
fn every_table_sorts_on_the_server_and_exports_csv() {
    let r = start(true);
    let json = get(&r, "/api/v1/stats/dashboard", &[]).json();
    let mut by_recordings: Vec<(u64, String)> = json["data"]["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["recordings"].as_u64().unwrap(),
                g["category"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    by_recordings.sort_by_key(|g| g.0);
    let csv = get(
        &r,
        "/audio/dashboard/?sort=category.recordings&format=csv&table=category",
        &[],
    );
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"voxdash-category.csv\"")
    );
    assert!(csv.body.starts_with('\u{feff}'), "no byte-order mark");
    let lines: Vec<&str> = csv.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "Category,Speakers,Recordings,Hours");
    let counts: Vec<u64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    let want: Vec<u64> = by_recordings.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts, want, "ascending by recordings");
    // The page shows the same order, and the heading links to the other
    // direction.
    let page = get(&r, "/audio/dashboard/?sort=category.recordings", &[]);
    assert!(page
        .body
        .contains("href=\"/audio/dashboard/?sort=-category.recordings\""));
    assert!(page.body.contains("aria-sort=\"ascending\""));
    // Every table of every page has its CSV link, and each link answers.
    for path in [
        "/audio/dashboard/",
        "/api/userprofile/",
        "/learning/",
        "/audio/speakers/1/",
    ] {
        let page = get(&r, path, &[]);
        let links: Vec<&str> = page
            .body
            .split("class=\"csv\" href=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert!(!links.is_empty(), "{path}: no CSV link");
        assert_eq!(
            links.len(),
            page.body.matches("<table").count(),
            "{path}: one CSV link per table"
        );
        for link in links {
            let link = link.replace("&amp;", "&");
            let csv = get(&r, &link, &[]);
            assert_eq!(csv.status, 200, "{link}");
            assert!(csv.body.starts_with('\u{feff}'), "{link}");
        }
    }
    // Wrong requests name their parameter.
    for (query, field) in [
        ("sort=category.nope", "sort"),
        ("sort=nope.recordings", "sort"),
        ("sort=recordings", "sort"),
        ("format=xml", "format"),
        ("format=csv", "table"),
        ("format=csv&table=nope", "table"),
    ] {
        let reply = get(&r, &format!("/audio/dashboard/?{query}"), &[]);
        assert_eq!(reply.status, 400, "{query}");
        assert!(
            reply.body.contains(&format!("{field}: ")),
            "{query}: {}",
            reply.body
        );
    }
}

#[test]
fn refresh_without_script_shows_the_green_badge_once() {
    let r = start(false);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let before = get(&r, "/learning/", &[("Cookie", &staff)]);
    assert!(before.body.contains("data-status=\"cached\""));
    let refreshed = call(
        &r,
        "POST",
        "/refresh/",
        &[("Cookie", &staff)],
        &format!("csrf_token={csrf}&key=learning&next=/learning/"),
    );
    assert_eq!(refreshed.status, 303);
    let cookies = format!("{staff}; {}", flash_of(&refreshed));
    let after = get(&r, "/learning/", &[("Cookie", &cookies)]);
    assert!(
        after.body.contains("data-status=\"fresh\""),
        "{}",
        after.body
    );
    assert!(after
        .body
        .contains("Refreshed: the numbers below were just computed."));
    // The answer deletes the message; without it the entry reads as cached.
    assert!(after
        .headers
        .iter()
        .any(|(k, v)| k == "set-cookie" && v.starts_with("voxdash_flash=;")));
    let later = get(&r, "/learning/", &[("Cookie", &staff)]);
    assert!(later.body.contains("data-status=\"cached\""));
    // A forged message about another key changes no badge.
    let forged = format!("{staff}; voxdash_flash=refreshed:dashboard");
    let other = get(&r, "/learning/", &[("Cookie", &forged)]);
    assert!(other.body.contains("data-status=\"cached\""));
}

#[test]
fn clear_all_asks_first_and_says_what_it_did() {
    let r = start(false);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let count = || {
        get(&r, "/api/v1/cache", &[("Cookie", &staff)]).json()["entries"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = count();
    assert!(before >= 3);
    let ask = get(&r, "/admin/cache/clear?prefix=", &[("Cookie", &staff)]);
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("Clear every entry of the stats cache?"));
    assert!(ask
        .body
        .contains(&format!("{before} entries will be removed.")));
    assert!(ask.body.contains("href=\"/admin/cache/\""), "a way back");
    // A post without the confirmation only asks again.
    let unconfirmed = call(
        &r,
        "POST",
        "/admin/cache/clear",
        &[("Cookie", &staff)],
        &format!("csrf_token={csrf}&prefix="),
    );
    assert_eq!(unconfirmed.status, 200);
    assert_eq!(count(), before);
    let done = call(
        &r,
        "POST",
        "/admin/cache/clear",
        &[("Cookie", &staff)],
        &format!("csrf_token={csrf}&prefix=&confirm=yes"),
    );
    assert_eq!(done.status, 303);
    assert_eq!(count(), 0);
    let cookies = format!("{staff}; {}", flash_of(&done));
    let page = get(&r, "/admin/cache/", &[("Cookie", &cookies)]);
    assert!(
        page.body
            .contains(&format!("{before} cache entries cleared.")),
        "{}",
        page.body
    );
    // Learners cannot even see the question.
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    assert_eq!(
        get(&r, "/admin/cache/clear?prefix=", &[("Cookie", &learner)]).status,
        403
    );
}

#[test]
fn error_pages_are_translated_styled_and_lead_back() {
    let r = start(true);
    let missing = get(&r, "/no/such/page/?lang=ko", &[]);
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("<html lang=\"ko\""));
    assert!(missing.body.contains("페이지가 없습니다"));
    assert!(missing.body.contains("<style>"), "styled like every page");
    assert!(missing.body.contains("href=\"/audio/dashboard/\""));
    assert!(missing.body.contains("코퍼스 대시보드로 돌아가기"));
    let bad = get(&r, "/learning/users/1/?date=2026-02-30&lang=zh", &[]);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("请求有误"));
    assert!(bad.body.contains("date: "), "names the parameter");
    // The language links of an error page never lead off this server.
    let odd = get(&r, "//evil.example/x?lang=en", &[]);
    assert!(!odd.body.contains("href=\"//evil"), "{}", odd.body);
    // The API keeps answering JSON.
    let api = get(&r, "/api/v1/nothing", &[]);
    assert_eq!(api.status, 404);
    assert!(api.json()["error"].is_string());
}

#[test]
fn changes_since_are_counted_in_words_people_use() {
    use voxdash::i18n::{plural, Lang};
    assert_eq!(plural(Lang::En, "badge.changes", 1), "1 change since");
    assert_eq!(plural(Lang::En, "badge.changes", 2), "2 changes since");
    assert_eq!(plural(Lang::Ko, "badge.changes", 1), "이후 변경 1건");
    assert_eq!(plural(Lang::Zh, "badge.changes", 3), "此后 3 处变更");
    let r = start(true);
    // Another process writes a recording: voxdash's own writes recompute
    // the dashboard at once, this one is seen through the write counters.
    r.store()
        .conn()
        .unwrap()
        .execute(
            "INSERT INTO recordings (id, speaker_id, file_name, recorded_at, duration_s)
             VALUES ((SELECT MAX(id) + 1 FROM recordings), 1, 'one.wav', 0, 60)",
            &[],
        )
        .unwrap();
    let page = get(&r, "/audio/dashboard/", &[]);
    assert!(page.body.contains(", 1 change since)"), "{}", page.body);
}

#[test]
fn staff_see_the_learners_and_learners_see_their_own_page() {
    let r = start(false);
    let (staff, _) = sign_in(&r, "boss", "staff-password");
    let list = get(&r, "/learning/", &[("Cookie", &staff)]);
    assert!(list.body.contains("id=\"learners\""));
    assert!(list.body.contains("href=\"/learning/users/2/\""));
    let by_sessions = get(
        &r,
        "/learning/?sort=-learners.sessions&format=csv&table=learners",
        &[("Cookie", &staff)],
    );
    let sessions: Vec<u64> = by_sessions
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(!sessions.is_empty());
    assert!(sessions.windows(2).all(|w| w[0] >= w[1]), "{sessions:?}");
    // The list agrees with the card: its learners with sessions are the
    // ones the statistic counts, each with when they were last active;
    // staff accounts without sessions of their own are not learners.
    let learning = get(&r, "/api/v1/stats/learning", &[("Cookie", &staff)]).json();
    let rows: Vec<Vec<String>> = by_sessions
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let with_sessions: Vec<&Vec<String>> = rows.iter().filter(|r| r[5] != "0").collect();
    assert_eq!(
        with_sessions.len() as u64,
        learning["data"]["total_users"].as_u64().unwrap()
    );
    assert!(with_sessions.iter().all(|r| !r[4].is_empty()), "{rows:?}");
    assert!(!rows.iter().any(|r| r[1] == "boss"), "{rows:?}");
    assert!(
        list.body.contains(&format!(
            "{} with sessions (the card above counts them)",
            with_sessions.len()
        )),
        "{}",
        list.body
    );
    let (learner, _) = sign_in(&r, "user00002", "user-password");
    let own = get(&r, "/learning/", &[("Cookie", &learner)]);
    assert!(!own.body.contains("id=\"learners\""));
    assert!(own.body.contains("href=\"/learning/users/2/\""));
    assert_eq!(
        get(
            &r,
            "/learning/?format=csv&table=learners",
            &[("Cookie", &learner)]
        )
        .status,
        403
    );
    // The learner page names the learner and offers other days and weeks.
    let page = get(&r, "/learning/users/2/?lang=ko", &[("Cookie", &learner)]);
    assert!(page.body.contains("학습자: 用户2 (#2)"), "{}", page.body);
    assert!(page
        .body
        .contains("href=\"/learning/users/2/?lang=ko&amp;date=2026-11-22\""));
    assert!(page
        .body
        .contains("href=\"/learning/users/2/?lang=ko&amp;week_start=2026-11-30\""));
    assert!(page.body.contains("type=\"date\" name=\"week_start\""));
    // The language links keep the day.
    let day = get(
        &r,
        "/learning/users/2/?date=2026-11-20",
        &[("Cookie", &learner)],
    );
    assert!(day
        .body
        .contains("href=\"/learning/users/2/?date=2026-11-20&amp;lang=zh\""));
}

#[test]
fn an_empty_store_says_how_to_load_data() {
    let r = start_empty();
    for path in ["/audio/dashboard/", "/api/userprofile/"] {
        let page = get(&r, path, &[]);
        assert_eq!(page.status, 200);
        assert!(page.body.contains("No data yet"), "{path}");
        assert!(page.body.contains("voxdash import DIR"), "{path}");
        assert!(!page.body.contains("<svg"), "{path}: an empty chart");
    }
    let ko = get(&r, "/audio/dashboard/?lang=ko", &[]);
    assert!(ko.body.contains("아직 데이터가 없습니다"));
}

#[test]
fn the_admin_page_says_where_the_stats_cache_is() {
    let r = start(false);
    let staff = sign_in(&r, "boss", "staff-password");
    let files = get(
        &r,
        "/admin/cache/?format=csv&table=files",
        &[("Cookie", &staff.0)],
    );
    assert_eq!(files.status, 200);
    assert!(files.body.contains("voxdash.db"), "{}", files.body);
    match &r.redis {
        // On a shared cache (make test-cluster): the server, not a file.
        Some(redis) => {
            assert!(files.body.contains(&redis.url), "{}", files.body);
            assert!(!files.body.contains("stats.redb"), "{}", files.body);
        }
        None => assert!(files.body.contains("stats.redb"), "{}", files.body),
    }
}

#[test]
fn numbers_people_read_are_grouped_by_thousands_and_exports_stay_plain() {
    let r = start(true);
    // 1,000 more recordings of speaker 1 (an elderly speaker).
    r.store()
        .conn()
        .unwrap()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
             INSERT INTO recordings (id, speaker_id, file_name, recorded_at, duration_s)
             SELECT 100000 + i, 1, 'more.wav', 1748736000000000 + i, 10.0 FROM n",
            &[],
        )
        .unwrap();
    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let json = get(
        &r,
        "/api/v1/stats/dashboard?refresh=1",
        &[("Cookie", &cookie)],
    )
    .json();
    let total = json["data"]["total_recordings"].as_u64().unwrap();
    assert_eq!(total, 1628);
    let elderly = json["data"]["by_category"][0]["recordings"]
        .as_u64()
        .unwrap();
    assert!(elderly > 1000, "{json}");
    let page = get(&r, "/audio/dashboard/", &[]);
    assert!(
        page.body.contains(r#"<div class="value">1,628</div>"#),
        "{}",
        page.body
    );
    let grouped = format!("{},{:03}", elderly / 1000, elderly % 1000);
    assert!(page.body.contains(&format!(">{grouped}<")), "{}", page.body);
    let csv = get(&r, "/audio/dashboard/?format=csv&table=category", &[]).body;
    assert!(csv.contains(&format!(",{elderly},")), "{csv}");
    assert!(!csv.contains(&grouped), "{csv}");
}

#[test]
fn gender_codes_read_as_words_in_each_language() {
    let r = start(true);
    for (lang, female, male) in [
        ("en", "female", "male"),
        ("ko", "여성", "남성"),
        ("zh", "女", "男"),
    ] {
        let page = get(&r, &format!("/audio/dashboard/?lang={lang}"), &[]).body;
        assert!(page.contains(&format!(">{female}</a>")), "{lang}: {page}");
        assert!(page.contains(&format!(">{male}</a>")), "{lang}: {page}");
        assert!(!page.contains(">F</a>"), "{lang}: {page}");
        let group = get(&r, &format!("/audio/dashboard/?gender=F&lang={lang}"), &[]).body;
        assert!(group.contains(&format!(": {female}")), "{lang}: {group}");
    }
    // The CSV keeps the codes, as stored.
    let csv = get(&r, "/audio/dashboard/?format=csv&table=gender", &[]).body;
    assert!(csv.lines().any(|line| line.starts_with("F,")), "{csv}");
}

#[test]
fn uploaders_addresses_are_masked_unless_staff_ask_for_them() {
    let r = start(true);
    // Speaker 3 recorded through upload 9, sent from 2001:db8:11::2189.
    let page = get(&r, "/audio/speakers/3/", &[]).body;
    assert!(page.contains("2001:db8:11::/48"), "{page}");
    assert!(!page.contains("2001:db8:11::2189"), "{page}");
    assert!(!page.contains("addresses=full"), "{page}");
    let csv = get(&r, "/audio/speakers/3/?format=csv&table=uploads", &[]).body;
    assert!(
        csv.contains("2001:db8:11::/48") && !csv.contains("::2189"),
        "{csv}"
    );
    let region = get(&r, "/api/userprofile/uploads/?region=Ulsan", &[]).body;
    assert!(region.contains("10.16.185.0/24"), "{region}");
    assert!(!region.contains("10.16.185.38"), "{region}");
    // Asking is for staff; a wrong value is named.
    assert_eq!(
        get(&r, "/audio/speakers/3/?addresses=full", &[]).status,
        403
    );
    let bad = get(&r, "/audio/speakers/3/?addresses=all", &[]);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("addresses"), "{}", bad.body);

    let (cookie, _) = sign_in(&r, "boss", "staff-password");
    let staff = get(&r, "/audio/speakers/3/", &[("Cookie", &cookie)]).body;
    assert!(staff.contains("2001:db8:11::/48"), "{staff}");
    assert!(staff.contains("addresses=full"), "{staff}");
    let full = get(
        &r,
        "/audio/speakers/3/?addresses=full",
        &[("Cookie", &cookie)],
    )
    .body;
    assert!(full.contains("2001:db8:11::2189"), "{full}");
    let region = get(
        &r,
        "/api/userprofile/uploads/?region=Ulsan&addresses=full",
        &[("Cookie", &cookie)],
    )
    .body;
    assert!(region.contains("10.16.185.38"), "{region}");
}

#[test]
fn a_learner_page_has_one_badge_whose_refresh_recomputes_all_it_shows() {
    let r = start(false);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let page = get(&r, "/learning/users/2/", &[("Cookie", &staff)]);
    assert_eq!(page.body.matches("class=\"badge ").count(), 1);
    assert_eq!(
        page.body
            .matches("method=\"post\" action=\"/refresh/\"")
            .count(),
        1
    );
    let keys = "user/2/daily/2026-11-23 user/2/weekly/2026-11-23 user/2/analytics user/2/courses";
    assert!(
        page.body.contains(&format!("data-key=\"{keys}\"")),
        "{}",
        page.body
    );
    // Each number says what it counts.
    assert!(page.body.contains("Course hours this week"));
    assert!(page.body.contains("not from the study sessions above"));
    let refreshed = call(
        &r,
        "POST",
        "/refresh/",
        &[("Cookie", &staff)],
        &format!("csrf_token={csrf}&key={keys}&next=/learning/users/2/"),
    );
    assert_eq!(refreshed.status, 303, "{}", refreshed.body);
    let cookies = format!("{staff}; {}", flash_of(&refreshed));
    let after = get(&r, "/learning/users/2/", &[("Cookie", &cookies)]);
    assert!(
        after.body.contains("data-status=\"fresh\""),
        "{}",
        after.body
    );
    // Every entry it names was computed again.
    let entries = get(&r, "/api/v1/cache", &[("Cookie", &staff)]).json();
    for key in keys.split(' ') {
        assert!(
            entries["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["key"] == key),
            "{key}: {entries}"
        );
    }
    // Too many keys, or a bad one, is refused by name.
    let nine = ["learning"; 9].join("+");
    for body in [format!("key={nine}"), "key=nope".to_string()] {
        let bad = call(
            &r,
            "POST",
            "/refresh/",
            &[("Cookie", &staff)],
            &format!("csrf_token={csrf}&{body}&next=/"),
        );
        assert_eq!(bad.status, 400, "{body}");
        assert!(bad.body.contains("key"), "{}", bad.body);
    }
}

#[test]
fn staff_see_sessions_forgotten_for_a_day_and_can_discard_them() {
    let r = start(false);
    let (staff, csrf) = sign_in(&r, "boss", "staff-password");
    let form = |start: &str| {
        call(
            &r,
            "POST",
            "/learning/users/2/sessions",
            &[("Cookie", &staff)],
            &format!("csrf_token={csrf}&start_time={start}&duration_minutes=0"),
        )
    };
    // Sessions without an end are running; the clock is 2026-11-23 12:00 KST.
    assert_eq!(form("2026-11-21T09:00:00%2B09:00").status, 303);
    let page = get(&r, "/learning/users/2/", &[("Cookie", &staff)]);
    let running = page.body.matches("/discard\"").count();
    assert!(running >= 1, "{}", page.body);
    assert!(page.body.contains("unfinished for more than a day"));
    let start = page.body.find("/discard\"").unwrap();
    let action = &page.body[..start];
    let id = action[action.rfind("/sessions/").unwrap() + "/sessions/".len()..].to_string();
    let discarded = call(
        &r,
        "POST",
        &format!("/learning/users/2/sessions/{id}/discard"),
        &[("Cookie", &staff)],
        &format!("csrf_token={csrf}"),
    );
    assert_eq!(discarded.status, 303);
    let page = get(&r, "/learning/users/2/", &[("Cookie", &staff)]);
    assert_eq!(page.body.matches("/discard\"").count(), running - 1);
    // A learner cannot discard, not even their own.
    let (learner, learner_csrf) = sign_in(&r, "user00002", "user-password");
    let refused = call(
        &r,
        "POST",
        &format!("/learning/users/2/sessions/{id}/discard"),
        &[("Cookie", &learner)],
        &format!("csrf_token={learner_csrf}"),
    );
    assert_eq!(refused.status, 403);
}

#[test]
fn a_page_about_a_group_or_a_speaker_draws_no_one_bar_charts() {
    let r = start(true);
    let sections = |path: &str| {
        let body = get(&r, path, &[]).body;
        [
            "by-category",
            "by-gender",
            "by-diagnosis",
            "by-age",
            "snr",
            "monthly",
        ]
        .into_iter()
        .filter(|id| body.contains(&format!("<section id=\"{id}\">")))
        .collect::<Vec<_>>()
    };
    assert_eq!(
        sections("/audio/dashboard/"),
        [
            "by-category",
            "by-gender",
            "by-diagnosis",
            "by-age",
            "snr",
            "monthly"
        ]
    );
    let dashboard = get(&r, "/api/v1/stats/dashboard", &[]).json();
    let category = dashboard["data"]["by_category"][0]["category"]
        .as_str()
        .unwrap()
        .to_string();
    let group = format!("/audio/dashboard/?category={category}");
    assert_eq!(
        sections(&group),
        ["by-gender", "by-diagnosis", "by-age", "snr", "monthly"]
    );
    // The group's speakers come before its charts.
    let page = get(&r, &group, &[]).body;
    assert!(page.find("id=\"speakers-list\"").unwrap() < page.find("id=\"by-gender\"").unwrap());
    // A speaker is one category, gender, diagnosis and age, and one speaker.
    let speaker = get(&r, "/audio/speakers/1/", &[]).body;
    assert_eq!(sections("/audio/speakers/1/"), ["snr", "monthly"]);
    assert!(!speaker.contains(">Speaker</div>") && !speaker.contains(">Speakers</div>"));
    // The tables stay one click away, and in the CSV.
    assert!(speaker.contains("<summary>Table ("), "{speaker}");
    let csv = get(&r, "/audio/speakers/1/?format=csv&table=category", &[]);
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.body.trim_start_matches('\u{feff}').lines().count(),
        2,
        "{}",
        csv.body
    );
}
