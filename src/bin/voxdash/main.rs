//! The `voxdash` binary: parses the arguments ([`args`]), sets up logging,
//! runs the command from the library and maps failure to a one-line reason
//! and exit status 1.

mod args;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("VOXDASH_LOG", "info"))
        .format_target(true)
        .init();
    // A panic is contained where it happens (a request, a computation, redb
    // on a damaged file); it is reported as one log line like every event.
    std::panic::set_hook(Box::new(|info| log::error!("panic: {info}")));
    let cli = args::Cli::parse();
    match cli.run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
