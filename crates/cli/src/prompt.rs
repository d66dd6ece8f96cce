//! Reading what the citizen types: visible for usernames and codes, hidden
//! for passwords on a terminal; plain lines from stdin when it is not a
//! terminal (scripts, tests, screen-reader users piping input).

use std::io::{BufRead, IsTerminal, Write};

use kodekort_client::ClientError;
use kodekort_proto::Password;

fn read_line(prompt: &str) -> Result<String, ClientError> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let n =
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| ClientError::FileUnreadable {
                path: "stdin".into(),
                reason: e.to_string(),
            })?;
    if n == 0 {
        return Err(ClientError::FileUnreadable {
            path: "stdin".into(),
            reason: "end of input".into(),
        });
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A visible answer (username, code).
pub fn ask(prompt: &str) -> Result<String, ClientError> {
    read_line(prompt)
}

/// A password: hidden on a terminal, a plain line otherwise.
pub fn ask_password(prompt: &str) -> Result<Password, ClientError> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map(Password::new)
            .map_err(|e| ClientError::FileUnreadable {
                path: "terminal".into(),
                reason: e.to_string(),
            })
    } else {
        read_line(prompt).map(Password::new)
    }
}

/// `--password-stdin`: the first line of standard input, no prompt.
pub fn password_from_stdin() -> Result<Password, ClientError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| ClientError::FileUnreadable {
            path: "stdin".into(),
            reason: e.to_string(),
        })?;
    Ok(Password::new(line.trim_end_matches(['\r', '\n'])))
}
