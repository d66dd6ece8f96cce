//! Reading what the citizen types: visible for usernames and codes, hidden
//! for passwords on a terminal; plain lines from stdin when it is not a
//! terminal (scripts, tests, screen-reader users piping input). The prompt
//! is always said, on stderr: on a terminal the answer follows on its line;
//! otherwise it is a line of its own, so a transcript shows what was asked.

use std::io::{BufRead, IsTerminal, Write};

use kodekort_proto::Password;

use crate::error::CliError;

/// One line of standard input, without its line end; the end of input
/// where an answer was expected is an error of its own.
fn read_line() -> Result<String, CliError> {
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Input)?;
    if n == 0 {
        return Err(CliError::InputEnded);
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Says `prompt` on stderr, where the answer is typed after it on a
/// terminal, or as a line of its own when input comes from elsewhere.
fn show(prompt: &str) {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    } else {
        eprintln!("{}", prompt.trim_end());
    }
}

/// The words that leave a code prompt instead of answering it.
const STOP_WORDS: [&str; 2] = ["quit", "exit"];

/// A visible answer (a username).
pub fn ask(prompt: &str) -> Result<String, CliError> {
    show(prompt);
    read_line()
}

/// The answer at a code prompt: the typed code, or [`CliError::Stopped`]
/// for `quit` or `exit` (a code is digits, so neither can be one).
pub fn ask_code(prompt: &str) -> Result<String, CliError> {
    let typed = ask(prompt)?;
    if STOP_WORDS.contains(&typed.trim().to_lowercase().as_str()) {
        return Err(CliError::Stopped);
    }
    Ok(typed)
}

/// A password: hidden on a terminal, a plain line otherwise.
pub fn ask_password(prompt: &str) -> Result<Password, CliError> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map(Password::new)
            .map_err(CliError::Input)
    } else {
        show(prompt);
        read_line().map(Password::new)
    }
}

/// `--password-stdin`: the first line of standard input, no prompt.
pub fn password_from_stdin() -> Result<Password, CliError> {
    read_line().map(Password::new)
}
