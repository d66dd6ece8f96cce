//! `kodekort-desktop [--demo]`: the desktop app. `--demo` (or
//! `KODEKORT_DEMO=1`) starts the embedded demo before the window opens.
//! `kodekort-desktop kodekort://login/…`: opened by a login link of the
//! provider's pages, it asks for that login's code.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread: it may set an environment variable.
    kodekort_desktop::no_session_bus_autolaunch();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version") {
        println!(
            "{} {}",
            kodekort_desktop::PRODUCT_NAME,
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    // A `kodekort:` link comes alone, from the desktop (the `.desktop`
    // file's `%u`); the deep-link plugin reads it.
    if let Some(unknown) = args
        .iter()
        .find(|a| *a != "--demo" && !kodekort_desktop::is_link(a))
    {
        eprintln!(
            "kodekort-desktop: unknown argument {unknown}\n\
             usage: kodekort-desktop [--demo] | kodekort-desktop kodekort://login/…"
        );
        return ExitCode::from(2);
    }
    if let Some(problem) = kodekort_desktop::display_problem() {
        eprintln!("{problem}");
        return ExitCode::from(1);
    }
    let demo = args.iter().any(|a| a == "--demo")
        || std::env::var("KODEKORT_DEMO").is_ok_and(|v| v == "1");
    match kodekort_desktop::run(kodekort_desktop::Launch { demo }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kodekort-desktop: {e}");
            ExitCode::from(1)
        }
    }
}
