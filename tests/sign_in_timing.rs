//! How long a failed sign-in takes must not tell whether its username
//! exists. Alone in its own test binary on purpose: cargo runs test binaries
//! one after another, so no other test loads the cores while this one
//! compares two timings (beside the other suites' servers, each hashing
//! passwords as it starts, one check could take three times another).

mod common;

use std::time::{Duration, Instant};

use common::server::{post_login, start};

#[test]
fn an_unknown_username_costs_as_much_time_as_a_wrong_password() {
    let r = start(false);
    // Timed with its form's fetch, which costs both sides the same.
    let attempt = |user: &str| {
        let t = Instant::now();
        let reply = post_login(&r, user, "nope", "/");
        assert_eq!(reply.status, 200, "{user}");
        assert!(reply.body.contains("Wrong username or password."));
        t.elapsed()
    };
    // Interleaved, so that what else the machine does falls on both sides
    // alike, and compared by their fastest: load only ever adds time. Five
    // stays within the per-account throttle; the unknown names differ so
    // none is throttled.
    let (mut wrong, mut unknown) = (Duration::MAX, Duration::MAX);
    for i in 0..5 {
        wrong = wrong.min(attempt("boss"));
        unknown = unknown.min(attempt(&format!("nobody-by-this-name-{i}")));
    }
    assert!(
        unknown * 2 > wrong && wrong * 2 > unknown,
        "fastest unknown user {unknown:?}, fastest wrong password {wrong:?}"
    );
}
