//! "Continue in the Kodekort app": a login to a service, begun on the
//! OpenID Connect provider's pages in a browser, whose code the citizen
//! types here. The app was opened with a `kodekort://login/…` link (at
//! start, or forwarded to the running app); it names the service and the
//! key, takes the code, and the browser goes on to the service by itself.
//! The app's own session is not touched: this logs the browser in, not the app.
//!
//! Decisions:
//! - The link is opened when the screen for it shows, not when it arrives:
//!   opening spends it (it opens once), and the citizen should see it.
//! - The server is the one this app is set up for (or the running demo).
//!   A link from another server is unknown there, and said so; the app
//!   never talks to a server a link names.
//! - After an expired or spent prompt there is no "new key" here: the login
//!   belongs to the browser, which starts it again.

use kodekort_client::{login::normalise_code, ClientError, LoginLink};
use kodekort_proto::wire::AppLoginPrompt;
use kodekort_proto::ErrorCode;

use super::{App, AppError, Flow, Inner, Result};
use crate::error::UiError;
use crate::view::*;

/// An opened link and what the server asked.
pub(super) struct ServiceLogin {
    link: LoginLink,
    prompt: AppLoginPrompt,
}

impl Inner {
    fn service_prompt(&self) -> Result<PromptView> {
        let pending = self
            .service_login
            .as_ref()
            .ok_or(ClientError::ChallengeMissing)?;
        let p = &pending.prompt;
        Ok(PromptView {
            service_name: Some(p.client_name.clone()),
            ..self.prompt(
                Purpose::ServiceLogin,
                &p.card_serial,
                &p.key,
                p.expires_at,
                p.attempts_left,
            )
        })
    }

    /// Where a service login stands after a refusal: still at the code (with
    /// the attempts left), or ended (the browser must start again).
    pub(super) fn service_login_next(&mut self, err: &AppError) -> NextStep {
        let (code, attempts, waits) = match err {
            AppError::Client(ClientError::Server {
                code,
                attempts_left,
                locked_until,
            }) => (Some(*code), *attempts_left, locked_until.is_some()),
            _ => (None, None, false),
        };
        match (code, &mut self.service_login) {
            // The failure that starts a wait: the prompt is over, as in the
            // app's own login.
            (Some(ErrorCode::InvalidCode | ErrorCode::TooManyAttempts), _) if waits => {
                self.service_login = None;
                NextStep::new("waiting", None)
            }
            (Some(ErrorCode::InvalidCode), Some(pending)) => {
                if let Some(n) = attempts {
                    pending.prompt.attempts_left = n;
                }
                NextStep::new("code", Some(pending.prompt.attempts_left))
            }
            (None, Some(pending)) => NextStep::new("code", Some(pending.prompt.attempts_left)),
            (Some(ErrorCode::TooManyAttempts), Some(pending)) => {
                NextStep::new("code", Some(pending.prompt.attempts_left))
            }
            (Some(ErrorCode::CardLocked | ErrorCode::CardUsedUp), _) => {
                self.service_login = None;
                NextStep::new("locked", None)
            }
            _ => {
                self.service_login = None;
                NextStep::new("ended", None)
            }
        }
    }
}

impl App {
    /// A `kodekort:` link the app was opened with. Kept until the UI opens
    /// it; a newer link replaces an unopened one.
    pub async fn receive_login_link(&self, url: &str) {
        let mut inner = self.inner.lock().await;
        inner.login_link = Some(url.to_owned());
    }

    /// Opens the waiting link with the server: the service and the key.
    /// The link of the login already open here (the same link delivered
    /// twice, a double click on it) shows that login again: a link opens
    /// once on the server.
    pub async fn open_login_link(&self) -> Result<PromptView, UiError> {
        let path = self.options.config_path.clone();
        let keyring = self.options.keyring.clone();
        self.run(async move |inner| {
            let url = inner.login_link.take();
            let link = match (url, &inner.service_login) {
                (None, Some(_)) => return inner.service_prompt(),
                (None, None) => return Err(ClientError::InvalidLoginLink.into()),
                (Some(url), _) => LoginLink::parse(&url)?,
            };
            if inner
                .service_login
                .as_ref()
                .is_some_and(|open| open.link == link)
            {
                return inner.service_prompt();
            }
            if inner.connection.is_none() {
                inner.connect_configured(path.as_deref(), &keyring).await?;
            }
            let prompt = inner.connection()?.api().app_login_open(&link).await?;
            // A newer link replaces the login open here only once it opened.
            inner.service_login = Some(ServiceLogin { link, prompt });
            inner.service_prompt()
        })
        .await
    }

    /// The code for the opened link. A wrong code keeps the prompt, and
    /// the refusal carries the attempts left, as in the app's own login.
    pub async fn service_login_code(&self, code: &str) -> Result<ServiceLoginDoneView, UiError> {
        self.run_in(Flow::ServiceLogin, async move |inner| {
            let code = normalise_code(code)?;
            let pending = inner
                .service_login
                .as_ref()
                .ok_or(ClientError::ChallengeMissing)?;
            let done = inner
                .connection()?
                .api()
                .app_login_code(&pending.link, &code)
                .await?;
            inner.service_login = None;
            Ok(ServiceLoginDoneView {
                service_name: done.client_name,
            })
        })
        .await
    }

    /// Leaves the service login here; the browser's page still takes the code.
    pub async fn cancel_service_login(&self) -> Result<(), UiError> {
        let mut inner = self.inner.lock().await;
        inner.service_login = None;
        inner.login_link = None;
        Ok(())
    }
}
