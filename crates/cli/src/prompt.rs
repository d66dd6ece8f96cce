//! Reading what the citizen types: visible for usernames and codes, hidden
//! for passwords on a terminal; plain lines from stdin when it is not a
//! terminal (scripts, tests, screen-reader users piping input).

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

/// A visible answer (username, code); the prompt only on a terminal.
pub fn ask(prompt: &str) -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    read_line()
}

/// A password: hidden on a terminal, a plain line otherwise.
pub fn ask_password(prompt: &str) -> Result<Password, CliError> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map(Password::new)
            .map_err(CliError::Input)
    } else {
        read_line().map(Password::new)
    }
}

/// `--password-stdin`: the first line of standard input, no prompt.
pub fn password_from_stdin() -> Result<Password, CliError> {
    read_line().map(Password::new)
}
