//! The configuration file: servers (URL, pinned CA, pinned signature root),
//! language, and whether this is a public computer. TOML in the platform's
//! config dir (`~/.config/kodekort/config.toml` on Linux), or the file
//! named by `KODEKORT_CONFIG`. A bad file is reported with its path and
//! line, and the client carries on with defaults: a typo must never keep a
//! citizen from their documents.
//!
//! ```toml
//! language = "en"
//! public_computer = false
//! default_server = "reference"
//!
//! [servers.reference]
//! url = "https://localhost:8443"
//! ca = "/var/lib/kodekort/ca.pem"        # trust exactly this CA (or: platform_roots = true)
//! trust = "/var/lib/kodekort/trust.json" # the root that certifies signatures
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kodekort_proto::signing::TrustRoot;
use serde::{Deserialize, Serialize};

use crate::api::{Server, Trust};
use crate::catalogue::Lang;
use crate::error::{ClientError, Result};

/// One configured server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    pub url: String,
    /// PEM file of the CA to pin. Without it, `platform_roots` must be true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Use the operating system's roots (a deployment with a public certificate).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform_roots: bool,
    /// `trust.json` of the server: the root key that certifies signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<PathBuf>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
    /// Persist nothing; forget the session on logout and exit.
    #[serde(default)]
    pub public_computer: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_server: Option<String>,
    #[serde(default)]
    pub servers: BTreeMap<String, ServerEntry>,
    /// How the desktop app looks; the CLI ignores it.
    #[serde(default, skip_serializing_if = "Display::is_default")]
    pub display: Display,
    /// Whether and where the desktop app looks for a new version; the CLI
    /// ignores it.
    #[serde(default, skip_serializing_if = "Updates::is_default")]
    pub updates: Updates,
}

/// The desktop app's update check (`[updates]`). A managed install turns it
/// off (`check = false`), or points it at its own copy of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Updates {
    /// Look for a new version when the app starts.
    #[serde(default = "checks_by_default")]
    pub check: bool,
    /// The update manifest's address, instead of the one the app was built
    /// with. Whatever it names must still be signed with the pinned key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

fn checks_by_default() -> bool {
    true
}

impl Default for Updates {
    fn default() -> Self {
        Updates {
            check: checks_by_default(),
            url: None,
        }
    }
}

impl Updates {
    fn is_default(&self) -> bool {
        *self == Updates::default()
    }
}

/// The desktop app's display settings (`[display]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Display {
    /// Text size in per cent: 100, 125, 150 or 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_size: Option<u16>,
    #[serde(default)]
    pub high_contrast: bool,
    #[serde(default)]
    pub reduced_motion: bool,
}

impl Display {
    fn is_default(&self) -> bool {
        *self == Display::default()
    }
}

/// Where the configuration lives: `KODEKORT_CONFIG`, or the platform's config dir.
pub fn default_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KODEKORT_CONFIG") {
        return Some(PathBuf::from(path));
    }
    directories::ProjectDirs::from("dk", "Kodekort", "kodekort")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

/// The line of a byte offset. toml's spans may end inside a character, so
/// the bytes are counted, never a slice of the text taken.
fn line_of(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().filter(|b| **b == b'\n').count() + 1
}

impl Config {
    /// Reads the file. Missing: defaults, no complaint. Unreadable or
    /// invalid: defaults, and the error to show (with path and line).
    pub fn load(path: &Path) -> (Config, Option<ClientError>) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Config::default(), None),
            Err(e) => {
                return (
                    Config::default(),
                    Some(ClientError::Config {
                        path: path.to_path_buf(),
                        line: 0,
                        message: e.to_string(),
                    }),
                )
            }
        };
        match Config::parse(&text) {
            Ok(config) => (config, None),
            Err((line, message)) => (
                Config::default(),
                Some(ClientError::Config {
                    path: path.to_path_buf(),
                    line,
                    message,
                }),
            ),
        }
    }

    /// Parses TOML text; an error carries the line and toml's message.
    pub fn parse(text: &str) -> std::result::Result<Config, (usize, String)> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |span| line_of(text, span.start));
            (line, e.message().to_owned())
        })?;
        if let Some(name) = &config.default_server {
            if !config.servers.contains_key(name) {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("default_server"))
                    .map_or(0, |i| i + 1);
                return Err((line, format!("no [servers.{name}] section")));
            }
        }
        Ok(config)
    }

    /// The file's text, as [`Config::save`] writes it; [`Config::parse`]
    /// reads it back to the same settings.
    pub fn to_text(&self) -> std::result::Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// Writes the file (settings changed in the app), creating its folder.
    pub fn save(&self, path: &Path) -> Result<()> {
        let unwritable = |reason: String| ClientError::ConfigUnwritable {
            path: path.to_path_buf(),
            reason,
        };
        let text = self.to_text().map_err(|e| unwritable(e.to_string()))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| unwritable(e.to_string()))?;
        }
        std::fs::write(path, text).map_err(|e| unwritable(e.to_string()))
    }

    /// The named server, or the default one, ready to connect to.
    pub fn server(
        &self,
        name: Option<&str>,
    ) -> Option<(Server, Vec<TrustRoot>, Option<ClientError>)> {
        let name = name.or(self.default_server.as_deref())?;
        let entry = self.servers.get(name)?;
        let trust = match (&entry.ca, entry.platform_roots) {
            (Some(ca), _) => Trust::PinnedCa(ca.clone()),
            (None, true) => Trust::PlatformRoots,
            (None, false) => return None,
        };
        let server = Server::new(&entry.url, trust).ok()?;
        let (roots, problem) = match &entry.trust {
            Some(path) => match read_trust_root(path) {
                Ok(root) => (vec![root], None),
                Err(e) => (Vec::new(), Some(e)),
            },
            None => (Vec::new(), None),
        };
        Some((server, roots, problem))
    }
}

/// Reads a pinned signature root (`trust.json`).
pub fn read_trust_root(path: &Path) -> Result<TrustRoot> {
    let unreadable = |reason: String| ClientError::FileUnreadable {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let root: TrustRoot = serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
    root.verifying_key()
        .map_err(|_| ClientError::TrustKeyMismatch(path.to_path_buf()))?;
    Ok(root)
}

/// The roots a verifier pins with no server in sight, as a connection would
/// pin them: the `--trust` file if given; else none for a server named on
/// the command line; else the default server's trust file from the
/// configuration. A trust file that cannot be used comes back as the problem.
pub fn pinned_roots(
    config: &Config,
    overrides: &crate::Overrides,
) -> (Vec<TrustRoot>, Option<ClientError>) {
    let from_config = || {
        if overrides.server.is_some() {
            return None;
        }
        let name = config.default_server.as_deref()?;
        config.servers.get(name)?.trust.clone()
    };
    let path = overrides.trust.clone().or_else(from_config);
    match path.as_deref().map(read_trust_root) {
        Some(Ok(root)) => (vec![root], None),
        Some(Err(e)) => (Vec::new(), Some(e)),
        None => (Vec::new(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `config_file` fuzz target: toml's error span started
    /// inside the two-byte "ޓ", and slicing the text there panicked.
    #[test]
    fn an_error_inside_a_multibyte_character_names_its_line() {
        let text = "ic_computeover = \"refer\\\u{793}\ne\"\n\n[er=t\nsbbbbbbrefer=bt\n";
        let (line, _) = Config::parse(text).unwrap_err();
        assert!((1..=5).contains(&line), "line {line}");
    }

    const GOOD: &str = r#"
language = "en"
public_computer = true
default_server = "ref"

[servers.ref]
url = "https://localhost:8443"
ca = "/tmp/ca.pem"
"#;

    #[test]
    fn a_good_file_parses_and_names_its_server() {
        let config = Config::parse(GOOD).unwrap();
        assert_eq!(config.language, Some(Lang::En));
        assert!(config.public_computer);
        let (server, roots, problem) = config.server(None).unwrap();
        assert_eq!(server.url, "https://localhost:8443");
        assert_eq!(server.trust, Trust::PinnedCa("/tmp/ca.pem".into()));
        assert!(roots.is_empty() && problem.is_none());
    }

    #[test]
    fn errors_name_the_line_and_defaults_remain() {
        let (line, _) = Config::parse("language = \"en\"\npublic_computr = true\n").unwrap_err();
        assert_eq!(line, 2);
        let (line, message) = Config::parse("language = \"xx\"\n").unwrap_err();
        assert_eq!(line, 1, "{message}");
        let (line, message) = Config::parse("default_server = \"nope\"\n").unwrap_err();
        assert_eq!((line, message.as_str()), (1, "no [servers.nope] section"));

        let dir = std::env::temp_dir().join(format!("kk-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, "[servers.a]\nurl = 5\n").unwrap();
        let (config, err) = Config::load(&path);
        assert_eq!(config, Config::default());
        let err = err.unwrap();
        assert_eq!(err.code(), "config_invalid");
        let text = err.message(Lang::En);
        assert!(text.contains("config.toml:2"), "{text}");
        // Missing file: defaults, nothing to say.
        let (config, err) = Config::load(&dir.join("absent.toml"));
        assert_eq!(config, Config::default());
        assert!(err.is_none());
        // Save and load round trip.
        let good = Config::parse(GOOD).unwrap();
        good.save(&dir.join("saved/config.toml")).unwrap();
        assert_eq!(Config::load(&dir.join("saved/config.toml")).0, good);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn update_checks_are_on_unless_the_file_turns_them_off() {
        assert!(Config::parse("").unwrap().updates.check);
        let managed = Config::parse("[updates]\ncheck = false\n").unwrap();
        assert!(!managed.updates.check);
        let mirror =
            Config::parse("[updates]\nurl = \"https://mirror.example/latest.json\"\n").unwrap();
        assert!(mirror.updates.check);
        assert_eq!(
            mirror.updates.url.as_deref(),
            Some("https://mirror.example/latest.json")
        );
        let (line, _) = Config::parse("[updates]\nchek = false\n").unwrap_err();
        assert_eq!(line, 2);
        // The default is not written back, so a file stays as its owner wrote it.
        assert!(!toml::to_string(&Config::default())
            .unwrap()
            .contains("updates"));
    }
}
