//! The sample dataset's statistics, compared with `expected-asia-seoul.json`.

mod common;

#[test]
fn every_expected_statistic_of_the_sample_matches() {
    let (_dir, store, config) = common::sample_store();
    common::assert_sample_statistics(&store, &config);
}
