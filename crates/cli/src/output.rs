//! Output for people and for scripts. For people: plain lines, no colour,
//! no spinner, and any control character in them escaped; errors on stderr. With `--json`: one JSON value on stdout,
//! errors as `{"error": {"code", "message"}}`.

use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

use kodekort_client::{catalogue, Lang, Notice};
use kodekort_proto::text;
use serde_json::{json, Value};

use crate::error::CliError;

/// Waits longer than this get one progress line, on a terminal only.
const PROGRESS_AFTER: Duration = Duration::from_millis(300);

#[derive(Debug, Clone)]
pub struct Out {
    pub json: bool,
    pub lang: Lang,
}

impl Out {
    pub fn new(json: bool, lang: Lang) -> Out {
        Out { json, lang }
    }

    /// A text of the `cli` catalogue section.
    pub fn t(&self, key: &str, args: &[(&str, &str)]) -> String {
        catalogue::text(self.lang, "cli", key, args)
    }

    /// Prints text lines for people, or the JSON value for scripts.
    pub fn emit(&self, value: Value, lines: impl FnOnce() -> Vec<String>) {
        if self.json {
            println!("{value}");
        } else {
            // Text from a provider may hold a control character (sent
            // before the rule, or in an envelope from elsewhere): a terminal
            // would obey it and could hide a line, so it is shown escaped.
            for line in lines() {
                println!("{}", text::visible(&line));
            }
        }
    }

    /// A note for people, on stderr (so JSON on stdout stays clean).
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// The card prompt: a line for people, a JSON line for scripts (which
    /// must know the key before they can answer).
    pub fn challenge(
        &self,
        serial: &str,
        key: &str,
        expires_at: time::OffsetDateTime,
        attempts_left: u32,
    ) {
        if self.json {
            println!(
                "{}",
                json!({"challenge": {"card_serial": serial, "key": key,
                    "expires_at": expires_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    "attempts_left": attempts_left}})
            );
        } else {
            eprintln!(
                "{}",
                self.t("card_prompt", &[("serial", serial), ("key", key)])
            );
        }
    }

    /// What the connection reports (where the session went, a trust file
    /// that could not be read): a line on stderr for people, a JSON line
    /// `{"notice": {"code", "message"}}` for scripts.
    pub fn notice(&self, notice: &Notice) {
        if self.json {
            println!(
                "{}",
                json!({"notice": {"code": notice.code(), "message": notice.message(self.lang)}})
            );
        } else {
            eprintln!("{}", notice.message(self.lang));
        }
    }

    pub fn error(&self, err: &CliError) {
        if self.json {
            println!(
                "{}",
                json!({"error": {"code": err.code(), "message": err.message(self.lang)}})
            );
        } else {
            eprintln!("{}: {}", self.t("error", &[]), err.message(self.lang));
        }
    }

    /// Runs `work`; if it takes long, says so once on a terminal.
    pub async fn progress<T>(&self, work: impl Future<Output = T>) -> T {
        if self.json || !std::io::stderr().is_terminal() {
            return work.await;
        }
        tokio::pin!(work);
        tokio::select! {
            done = &mut work => done,
            _ = tokio::time::sleep(PROGRESS_AFTER) => {
                eprintln!("{}", self.t("working", &[]));
                work.await
            }
        }
    }
}
