//! What `text/plain` may hold, so that what a citizen sees is all there is.
//!
//! A terminal obeys escape sequences, a lone carriage return overwrites a
//! line, and Unicode bidi controls reorder what follows them: each can hide
//! or disguise text that is still in the signed bytes. The rule (PROTOCOL.md,
//! "Text that can be signed"):
//!
//! - content may hold line feeds, tabs, and carriage returns that start a
//!   CRLF pair; a title is one line and holds none of them;
//! - neither holds any other C0 control (U+0000–U+001F), DEL (U+007F), a C1
//!   control (U+0080–U+009F), or a bidi embedding, override or isolate
//!   (U+202A–U+202E, U+2066–U+2069).
//!
//! The backend refuses a submission that breaks it. Every front end still
//! shows such a character as a visible escape ([`visible`]), never raw: an
//! envelope signed elsewhere, or before the rule, must not hide text either.

use std::borrow::Cow;

/// Where text broke the rule: the first offending character, with its
/// 1-based line and column (in characters) for the provider's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden {
    pub character: char,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "U+{:04X} at line {}, column {}",
            u32::from(self.character),
            self.line,
            self.column
        )
    }
}

/// A character that can hide or reorder text, wherever it stands.
pub fn is_hiding(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks document content: line breaks and tabs are allowed.
pub fn check_content(text: &str) -> Result<(), Forbidden> {
    first_forbidden(text, true)
}

/// Checks a title: one line, no tabs.
pub fn check_title(text: &str) -> Result<(), Forbidden> {
    first_forbidden(text, false)
}

fn first_forbidden(text: &str, multiline: bool) -> Result<(), Forbidden> {
    let (mut line, mut column) = (1, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        column += 1;
        let allowed = match c {
            '\n' if multiline => {
                line += 1;
                column = 0;
                true
            }
            '\t' => multiline,
            '\r' => multiline && chars.peek() == Some(&'\n'),
            c => !is_hiding(c),
        };
        if !allowed {
            return Err(Forbidden {
                character: c,
                line,
                column,
            });
        }
    }
    Ok(())
}

/// The text with every character that could hide something written as a
/// visible `[U+XXXX]`. Line feeds, tabs and CRLF pairs stay as they are;
/// text that follows the rule comes back unchanged and unallocated.
pub fn visible(text: &str) -> Cow<'_, str> {
    if check_content(text).is_ok() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let keep = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            c => !is_hiding(c),
        };
        if keep {
            out.push(c);
        } else {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        }
    }
    Cow::Owned(out)
}

/// A title as one visible line: [`visible`], with line breaks and tabs
/// escaped too.
pub fn visible_line(text: &str) -> Cow<'_, str> {
    if check_title(text).is_ok() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hiding(c) {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_tabs_and_crlf_are_allowed_in_content_only() {
        assert_eq!(check_content("a\tb\r\nc\nd"), Ok(()));
        assert_eq!(
            check_title("a\tb").unwrap_err(),
            Forbidden {
                character: '\t',
                line: 1,
                column: 2
            }
        );
        assert!(check_title("Samtykke – Æblegade 3").is_ok());
    }

    #[test]
    fn the_first_hiding_character_is_named_with_its_place() {
        let err = check_content("Jeg giver samtykke.\n\x1b[8mI also agree.\x1b[0m").unwrap_err();
        assert_eq!(err.to_string(), "U+001B at line 2, column 1");
        for bad in [
            "\0", "\x7f", "\u{85}", "\u{9b}", "a\rb", "a\r", "\u{202e}", "\u{2066}", "\u{2069}",
        ] {
            assert!(check_content(bad).is_err(), "{bad:?}");
        }
        // Joiners (emoji, Persian) and marks are text, not controls.
        assert!(check_content("👩\u{200d}💻 \u{200c}\u{200f}").is_ok());
    }

    #[test]
    fn visible_escapes_only_what_hides() {
        assert!(matches!(visible("a\r\nb\tc"), Cow::Borrowed(_)));
        assert_eq!(
            visible("ok\x1b[8mhidden\u{202e}x\ry"),
            "ok[U+001B][8mhidden[U+202E]x[U+000D]y"
        );
        assert_eq!(visible_line("a\nb\tc"), "a[U+000A]b[U+0009]c");
    }
}
