//! The message catalogue: every text a citizen reads, in Danish and English,
//! from `catalogue/{da,en}.toml`. The CLI uses it directly; the desktop UI
//! gets the same tables over IPC, so there is one source of truth.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A language the catalogue has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Da,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Da, Lang::En];

    /// The BCP 47 tag (`<html lang>`, PDF `/Lang`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::En => "en",
        }
    }

    /// Danish unless the environment (`LC_ALL`, `LC_MESSAGES`, `LANG`) asks
    /// for English: the default of both the CLI and the desktop app.
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .map_or(Lang::Da, |v| {
                if v.starts_with("en") {
                    Lang::En
                } else {
                    Lang::Da
                }
            })
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "da" | "da-dk" | "dansk" | "danish" => Some(Lang::Da),
            "en" | "en-gb" | "en-us" | "english" => Some(Lang::En),
            _ => None,
        }
    }
}

/// One language's tables: section → key → text.
pub type Table = BTreeMap<String, BTreeMap<String, String>>;

const DA: &str = include_str!("../catalogue/da.toml");
const EN: &str = include_str!("../catalogue/en.toml");

/// The parsed tables of a language. The files are compiled in and a test
/// parses them, so a failure here is a build defect.
pub fn table(lang: Lang) -> &'static Table {
    static TABLES: OnceLock<[Table; 2]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        [
            toml::from_str(DA).expect("catalogue/da.toml parses"),
            toml::from_str(EN).expect("catalogue/en.toml parses"),
        ]
    });
    &tables[lang as usize]
}

/// The text for `section.key` in `lang`, with `{name}` placeholders filled.
/// A missing key yields the key itself, visibly, rather than nothing.
pub fn text(lang: Lang, section: &str, key: &str, args: &[(&str, &str)]) -> String {
    let Some(template) = table(lang).get(section).and_then(|s| s.get(key)) else {
        return format!("{section}.{key}");
    };
    let mut out = template.clone();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_and_no_empty_text() {
        let keys = |lang| -> Vec<String> {
            table(lang)
                .iter()
                .flat_map(|(s, t)| t.keys().map(move |k| format!("{s}.{k}")))
                .collect()
        };
        assert_eq!(keys(Lang::Da), keys(Lang::En));
        for lang in Lang::ALL {
            for (section, entries) in table(lang) {
                for (key, value) in entries {
                    assert!(
                        !value.trim().is_empty(),
                        "{lang:?} {section}.{key} is empty"
                    );
                }
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            text(Lang::En, "card", "attempts_left", &[("n", "3")]),
            "3 attempts left."
        );
        assert_eq!(
            text(Lang::Da, "card", "attempts_left", &[("n", "3")]),
            "3 forsøg tilbage."
        );
        assert_eq!(text(Lang::En, "nope", "missing", &[]), "nope.missing");
    }
}
