//! The sample dataset's statistics, compared with `expected-asia-seoul.json`.

mod common;

use voxdash::config::Config;
use voxdash::i18n::Lang;
use voxdash::stats::{compute, StatKey};
use voxdash::store::Store;

fn data(store: &Store, config: &Config, key: &str) -> serde_json::Value {
    let key = StatKey::parse(key).unwrap();
    store
        .snapshot(|view| compute(view, config, &key))
        .unwrap()
        .statistic
        .to_json(Lang::En)
}

#[test]
fn every_expected_statistic_of_the_sample_matches() {
    let (_dir, store, config) = common::sample_store();
    let expected = common::expected();
    let mut diffs = Vec::new();
    for key in ["dashboard", "locations", "learning"] {
        common::json_diff(key, &expected[key], &data(&store, &config, key), &mut diffs);
    }
    let users = expected["users"].as_object().unwrap();
    assert_eq!(users.len(), 6);
    let mut checked = 0;
    for (user, stats) in users {
        for (date, want) in stats["daily"].as_object().unwrap() {
            let key = format!("user/{user}/daily/{date}");
            common::json_diff(&key, want, &data(&store, &config, &key), &mut diffs);
            checked += 1;
        }
        for (monday, want) in stats["weekly"].as_object().unwrap() {
            let key = format!("user/{user}/weekly/{monday}");
            common::json_diff(&key, want, &data(&store, &config, &key), &mut diffs);
            checked += 1;
        }
        for kind in ["analytics", "courses"] {
            let key = format!("user/{user}/{kind}");
            common::json_diff(&key, &stats[kind], &data(&store, &config, &key), &mut diffs);
            checked += 1;
        }
    }
    assert_eq!(checked, 6 * (3 + 2 + 2));
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
