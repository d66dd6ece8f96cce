//! The trainer's side of the demo: the panel's overview, reset, scenarios
//! and the class kit. Everything here answers `not_demo` outside the demo.
//!
//! Decisions:
//! - Reset logs out whoever is signed in on this computer: their session
//!   is gone with the data, and the welcome screen is the honest place to
//!   land.
//! - "Session about to expire" needs the account to be signed in here: it
//!   ages that session, and the warning shows in it at once.
//! - "Server identity" switches this app to a second demo listener whose
//!   certificate the app does not trust. It stays on until the trainer
//!   ends it or resets, like a real network problem would.

use std::path::Path;

use kodekort_demo::{Applied, Demo, PrintSize, Scenario};

use super::{write_file, App, Inner, Result};
use crate::error::{AppError, UiError};
use crate::view::*;

impl Inner {
    fn demo(&self) -> Result<&Demo> {
        self.demo.as_ref().ok_or(AppError::NotDemo)
    }

    fn demo_mut(&mut self) -> Result<&mut Demo> {
        self.demo.as_mut().ok_or(AppError::NotDemo)
    }

    /// Talks to `server` from now on, keeping the session and its URL key.
    fn switch_api(&mut self, server: &kodekort_client::Server) -> Result<()> {
        self.connection
            .as_mut()
            .ok_or(AppError::NoServerConfigured)?
            .switch_server(server)?;
        Ok(())
    }

    async fn trainer(&self) -> Result<TrainerView> {
        let demo = self.demo()?;
        let overview = demo.overview().await.map_err(AppError::DemoAction)?;
        let accounts = overview
            .into_iter()
            .zip(demo.accounts())
            .map(|(o, a)| TrainerAccountView {
                username: a.username.clone(),
                password: a.password.clone(),
                name: a.name.clone(),
                card: CardView::from(&o.state.card),
                pending: o.state.pending,
                signed: o.state.signed,
                declined: o.state.declined,
                printed: CardPrintView::from(&a.card),
            })
            .collect();
        Ok(TrainerView {
            started_at: rfc3339(demo.started_at()),
            last_reset: demo.last_reset().map(rfc3339),
            accounts,
            scenarios: Scenario::ALL.iter().map(|s| s.name()).collect(),
            server_identity_scenario: demo.impostor_running(),
            signed_in_as: self.session.as_ref().map(|s| s.user.username.clone()),
        })
    }
}

impl App {
    /// The trainer panel's data.
    pub async fn trainer(&self) -> Result<TrainerView, UiError> {
        self.run(async move |inner| inner.trainer().await).await
    }

    /// Restores every account, card and document to the seed and ends every
    /// scenario; whoever was signed in here is logged out.
    pub async fn reset_demo(&self) -> Result<TrainerView, UiError> {
        self.run(async move |inner| {
            inner.demo()?;
            // The session dies with the data; forget it without a round trip.
            inner.forget_session();
            inner.login = None;
            let demo = inner.demo_mut()?;
            let reset = demo.reset().await;
            // Back to the trusted server whatever happened, then report.
            let server = demo.server();
            inner.switch_api(&server)?;
            reset.map_err(AppError::DemoAction)?;
            inner.trainer().await
        })
        .await
    }

    /// Puts `username` into `scenario` (a name from [`Scenario::name`]).
    pub async fn apply_scenario(
        &self,
        username: &str,
        scenario: &str,
    ) -> Result<ScenarioView, UiError> {
        self.run(async move |inner| {
            let scenario = Scenario::from_name(scenario).ok_or(AppError::UnknownScenario)?;
            let account = inner
                .demo()?
                .account(username)
                .map_err(AppError::DemoAction)?
                .username
                .clone();
            let active = inner
                .session
                .as_ref()
                .filter(|s| s.user.username == account);
            if scenario == Scenario::SessionAboutToExpire && active.is_none() {
                return Err(AppError::ScenarioNeedsLogin);
            }
            let idle_timeout_s = active.map(|s| s.idle_timeout_s);
            let signed_in = active.is_some();
            let applied = inner
                .demo_mut()?
                .scenario(&account, scenario)
                .await
                .map_err(AppError::DemoAction)?;
            let mut view = ScenarioView {
                scenario: scenario.name(),
                username: account,
                next: if signed_in { "home" } else { "login" },
                locked_until: None,
                idle_left_s: None,
                state: inner.state(),
            };
            match applied {
                Applied::LockedUntil(until) => {
                    view.locked_until = Some(rfc3339(until));
                    view.next = "login";
                }
                Applied::Impostor(server) => {
                    inner.switch_api(&server)?;
                    view.next = "trust_error";
                }
                Applied::Done if scenario == Scenario::SessionAboutToExpire => {
                    // The server now counts 28 of the idle minutes as gone.
                    let timeout = idle_timeout_s.unwrap_or(30 * 60);
                    view.idle_left_s = Some(timeout.saturating_sub(28 * 60));
                    view.next = "idle_warning";
                }
                Applied::Done => {}
            }
            Ok(view)
        })
        .await
    }

    /// Ends the "server identity" scenario: back to the trusted demo server.
    pub async fn end_server_identity_scenario(&self) -> Result<TrainerView, UiError> {
        self.run(async move |inner| {
            // Back to the trusted server first, so a failed stop cannot
            // leave the app talking to a closed port.
            let server = inner.demo()?.server();
            inner.switch_api(&server)?;
            inner
                .demo_mut()?
                .stop_impostor()
                .await
                .map_err(AppError::DemoAction)?;
            inner.trainer().await
        })
        .await
    }

    /// The class kit PDF for this demo's accounts.
    pub async fn class_kit(&self, large: bool) -> Result<Vec<u8>, UiError> {
        let size = if large {
            PrintSize::Large
        } else {
            PrintSize::Standard
        };
        self.run(async move |inner| inner.demo()?.class_kit(size).map_err(AppError::DemoAction))
            .await
    }

    /// Saves a kit made by [`App::class_kit`] (made first, so that outside
    /// the demo no save dialog opens).
    pub async fn save_class_kit(&self, path: &Path, pdf: &[u8]) -> Result<SavedView, UiError> {
        self.run(async move |_| {
            write_file(path, pdf)?;
            Ok(SavedView {
                path: path.display().to_string(),
            })
        })
        .await
    }

    /// The kit's suggested file name.
    pub fn class_kit_file_name(large: bool) -> &'static str {
        if large {
            "kodekort-demo-class-kit-large-print.pdf"
        } else {
            "kodekort-demo-class-kit.pdf"
        }
    }
}
