//! `kodekort demo`: starts the demo engine, prints the demo accounts, and
//! runs an interactive session (one command per line) until `quit` or the
//! end of input. Nothing leaves this computer; everything goes on exit.

use std::io::{BufRead, IsTerminal, Write};

use kodekort_client::ClientError;
use kodekort_demo::{Applied, Demo, PrintSize, Scenario};
use serde_json::json;

use crate::context::Context;
use crate::error::CliError;
use crate::exit;
use crate::output::Out;

fn print_accounts(out: &Out, demo: &Demo) {
    let accounts: Vec<_> = demo
        .accounts()
        .iter()
        .map(|a| json!({"username": a.username, "password": a.password, "name": a.name, "card": a.card.serial}))
        .collect();
    out.emit(json!({"demo": true, "accounts": accounts}), || {
        let mut lines = vec![out.t("demo_banner", &[]), out.t("demo_accounts", &[])];
        lines.extend(demo.accounts().iter().map(|a| {
            out.t(
                "demo_account_line",
                &[
                    ("username", &a.username),
                    ("password", &a.password),
                    ("name", &a.name),
                    ("serial", &a.card.serial),
                ],
            )
        }));
        lines.push(out.t("demo_help", &[]));
        lines
    });
}

/// `kodekort demo kit`, and `kit FILE [large]` in the session: writes the
/// class kit for the first `accounts` demo accounts.
pub fn write_kit(
    accounts: usize,
    path: &std::path::Path,
    large: bool,
    out: &Out,
) -> Result<u8, CliError> {
    let size = if large {
        PrintSize::Large
    } else {
        PrintSize::Standard
    };
    let accounts = kodekort_demo::accounts(accounts);
    let pdf = kodekort_demo::kit::render(&accounts, size).map_err(kodekort_demo::DemoError::Pdf)?;
    std::fs::write(path, &pdf).map_err(|e| ClientError::FileUnwritable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let shown = path.display().to_string();
    let count = accounts.len().to_string();
    out.emit(
        json!({"kit": shown, "accounts": accounts.len(), "large": large}),
        || vec![out.t("demo_kit_saved", &[("path", &shown), ("accounts", &count)])],
    );
    Ok(exit::OK)
}

/// A fresh session context on the demo server, with its cards on screen.
fn demo_context(demo: &Demo, out: &Out) -> Result<Context, CliError> {
    server_context(demo, &demo.server(), out)
}

/// A session context on `server` (the demo's, or its impostor).
fn server_context(
    demo: &Demo,
    server: &kodekort_client::Server,
    out: &Out,
) -> Result<Context, CliError> {
    let mut ctx = Context::demo(server, out.clone())?;
    ctx.demo_cards = demo.accounts().iter().map(|a| a.card.clone()).collect();
    Ok(ctx)
}

pub async fn run(accounts: usize, out: &Out) -> Result<u8, CliError> {
    let mut demo = out.progress(Demo::start(accounts)).await?;
    print_accounts(out, &demo);
    let mut ctx = demo_context(&demo, out)?;
    let mut last_list: Vec<String> = Vec::new();
    let interactive = std::io::stdin().is_terminal();

    loop {
        if interactive {
            eprint!("demo> ");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) => break,
            // Piped input: the command is said after the prompt, so a
            // transcript reads as a session.
            Ok(_) if !interactive => eprintln!("demo> {}", line.trim_end()),
            Ok(_) => {}
            Err(e) => {
                // Said, then the demo ends as at the end of input.
                out.error(&CliError::Input(e));
                break;
            }
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let resolve = |arg: Option<&&str>| -> Option<String> {
            let arg = arg?;
            // A number picks from the last list; anything else is an id.
            match arg.parse::<usize>() {
                Ok(n) if n >= 1 && n <= last_list.len() => Some(last_list[n - 1].clone()),
                _ => Some((*arg).to_owned()),
            }
        };
        let result = match words.as_slice() {
            [] => continue,
            ["quit"] | ["exit"] => break,
            ["help"] => {
                out.note(&out.t("demo_help", &[]));
                Ok(exit::OK)
            }
            ["accounts"] => {
                print_accounts(out, &demo);
                Ok(exit::OK)
            }
            ["login", user] => ctx.login(Some((*user).to_owned()), false, false).await,
            ["logout"] => ctx.logout().await,
            ["card"] => ctx.card().await,
            ["documents"] => {
                let r = ctx.documents().await;
                if r.is_ok() {
                    last_list = ctx.document_ids().await.unwrap_or_default();
                }
                r
            }
            ["show", _] => ctx.show(&resolve(words.get(1)).unwrap_or_default()).await,
            ["sign", _] => ctx.sign(&resolve(words.get(1)).unwrap_or_default()).await,
            ["decline", _] => {
                ctx.decline(&resolve(words.get(1)).unwrap_or_default())
                    .await
            }
            ["verify", file] => ctx.verify(std::path::Path::new(file)),
            ["export", _, file] => {
                let id = resolve(words.get(1)).unwrap_or_default();
                ctx.export(&id, std::path::Path::new(file)).await
            }
            ["showcard"] | ["showcard", _] => {
                let user = words
                    .get(1)
                    .map(|u| u.to_string())
                    .or_else(|| ctx.username.clone());
                match user.as_deref().map(|u| demo.account(u)) {
                    Some(Ok(account)) => {
                        out.emit(json!(account.card), || {
                            let mut lines = vec![out.t(
                                "card_status",
                                &[
                                    ("serial", &account.card.serial),
                                    ("remaining", &account.card.codes.len().to_string()),
                                    ("total", &account.card.codes.len().to_string()),
                                ],
                            )];
                            lines.extend(account.card.codes.iter().map(|p| {
                                out.t("demo_card_line", &[("key", &p.key), ("code", &p.code)])
                            }));
                            lines
                        });
                        Ok(exit::OK)
                    }
                    Some(Err(e)) => Err(e.into()),
                    None => Err(ClientError::NotLoggedIn.into()),
                }
            }
            ["key", user, key] => match demo.account(user) {
                Ok(account) => match account.card.codes.iter().find(|p| p.key == *key) {
                    Some(p) => {
                        out.emit(json!({"key": p.key, "code": p.code}), || {
                            vec![out.t("demo_card_line", &[("key", &p.key), ("code", &p.code)])]
                        });
                        Ok(exit::OK)
                    }
                    None => Err(CliError::NoSuchDemoKey((*key).to_owned())),
                },
                Err(e) => Err(e.into()),
            },
            ["reset"] => match demo.reset().await {
                Ok(()) => {
                    ctx = demo_context(&demo, out)?;
                    out.emit(json!({"reset": true}), || vec![out.t("demo_reset", &[])]);
                    Ok(exit::OK)
                }
                Err(e) => Err(e.into()),
            },
            ["kit", file] | ["kit", file, "large"] => {
                let large = words.len() == 3;
                write_kit(
                    demo.accounts().len(),
                    std::path::Path::new(file),
                    large,
                    out,
                )
            }
            ["scenario", user, name] => {
                match Scenario::from_name(name) {
                    Some(s) => match demo.scenario(user, s).await {
                        Ok(applied) => {
                            // From now on this session talks to the impostor,
                            // until `reset`.
                            if let Applied::Impostor(server) = &applied {
                                match server_context(&demo, server, out) {
                                    Ok(next) => ctx = next,
                                    Err(e) => out.error(&e),
                                }
                            }
                            let scenario = s.name();
                            out.emit(json!({"scenario": scenario, "username": user}), || {
                                vec![out.t("demo_scenario", &[("username", user)])]
                            });
                            Ok(exit::OK)
                        }
                        Err(e) => Err(e.into()),
                    },
                    None => {
                        out.note(&out.t("demo_unknown", &[]));
                        Ok(exit::USAGE)
                    }
                }
            }
            _ => {
                out.note(&out.t("demo_unknown", &[]));
                Ok(exit::USAGE)
            }
        };
        if let Err(err) = result {
            out.error(&err);
        }
    }
    demo.stop().await?;
    Ok(exit::OK)
}
