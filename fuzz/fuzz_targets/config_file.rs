//! The client's config.toml. Beyond "no panic": an error names a line of
//! the file, and what parses is written back (as the app saves settings)
//! and read again to the same settings.

#![no_main]

use kodekort_client::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text) {
        Ok(config) => {
            let saved = config.to_text().expect("parsed settings serialise");
            let again = Config::parse(&saved)
                .unwrap_or_else(|e| panic!("saved settings do not load: {e:?}\n{saved}"));
            assert_eq!(again, config);
        }
        Err((line, _)) => {
            assert!(
                line <= text.lines().count() + 1,
                "line {line} of a shorter file"
            );
        }
    }
});
