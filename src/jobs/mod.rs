//! Jobs: refresh of the shared statistics, warm-up and precompute of
//! per-user entries, cleanup. Each is a plain function taking its handles and
//! returning a report; the CLI, the web buttons and the scheduler call the
//! same functions.

pub mod admin;
pub mod cleanup;
pub mod lease;
pub mod refresh;
pub mod scheduler;
pub mod warmup;

/// Progress shown by long jobs: a bar on a terminal, plain lines otherwise.
pub(crate) fn progress(total: u64, show: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:12} [{bar:40}] {pos}/{len} {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
