//! New versions of the app, with `tauri-plugin-updater`. The manifest is the
//! static `latest.json` that `cargo xtask package` writes beside the
//! packages; the plugin checks each package's minisign signature against
//! the key pinned in `tauri.conf.json`, and the version the signature names
//! against the version the manifest announces, before anything is
//! installed. The webview never calls the plugin: it has the commands here.
//!
//! A check when the app starts says nothing when it fails (no network, a
//! library's offline class): the citizen learns of a new version, never of
//! a missing one. A check asked for in Settings says what went wrong.

use std::time::Duration;

use kodekort_app::{App, AppError, UiError, UpdateProblem, UpdatesConfig};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_updater::{Error as UpdaterError, Update, Updater, UpdaterExt};
use tokio::sync::Mutex;

/// How long fetching the manifest, or the package, may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A DOM event on the UI's window: a new version was found.
const FOUND_EVENT: &str = "window.dispatchEvent(new Event('kodekort-update'));";

/// What the updates screen shows.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    /// The version that runs.
    pub current: String,
    /// A newer version that the manifest offers. Its package is checked
    /// when it is installed.
    pub available: Option<String>,
    /// A version installed by this app, which runs after a restart.
    pub installed: Option<String>,
    /// Whether this build looks for new versions at all: a package does
    /// (unless the configuration file turns it off); a developer's build
    /// only when the configuration file names a manifest.
    pub can_check: bool,
}

/// The version found, kept for "Install".
#[derive(Default)]
pub struct Updates {
    found: Mutex<Found>,
}

#[derive(Default)]
struct Found {
    update: Option<Update>,
    installed: Option<String>,
}

impl Updates {
    async fn view<R: Runtime>(&self, handle: &AppHandle<R>, config: &UpdatesConfig) -> UpdateView {
        let found = self.found.lock().await;
        UpdateView {
            current: handle.package_info().version.to_string(),
            available: found.update.as_ref().map(|u| u.version.clone()),
            installed: found.installed.clone(),
            can_check: manifest_known(config),
        }
    }
}

/// Whether there is a manifest to ask: the configuration file names one,
/// or the app runs from a package (whose bundler wrote its kind into the
/// binary), which asks the address in `tauri.conf.json`.
fn manifest_known(config: &UpdatesConfig) -> bool {
    config.url.is_some() || tauri::utils::platform::bundle_type().is_some()
}

/// The updater for the configured manifest; `None` where there is none.
fn updater<R: Runtime>(
    handle: &AppHandle<R>,
    config: &UpdatesConfig,
) -> Result<Option<Updater>, UpdateProblem> {
    if !manifest_known(config) {
        return Ok(None);
    }
    let mut builder = handle.updater_builder().timeout(TIMEOUT);
    if let Some(url) = &config.url {
        let url = url.parse().map_err(|_| UpdateProblem::Failed)?;
        builder = builder.endpoints(vec![url]).map_err(problem)?;
    }
    // The tests' own key, for a build that is never shipped: a package is a
    // release build, which trusts the pinned key alone.
    if cfg!(debug_assertions) {
        if let Some(key) = std::env::var("KODEKORT_UPDATE_PUBKEY")
            .ok()
            .filter(|k| !k.is_empty())
        {
            builder = builder.pubkey(key);
        }
    }
    builder.build().map(Some).map_err(problem)
}

/// What the citizen is told; the plugin's own text (addresses, TLS) is not.
fn problem(err: UpdaterError) -> UpdateProblem {
    match err {
        UpdaterError::Minisign(_)
        | UpdaterError::Base64(_)
        | UpdaterError::SignatureUtf8(_)
        | UpdaterError::SignedVersionMismatch { .. }
        | UpdaterError::MissingSignedVersion => UpdateProblem::Signature,
        UpdaterError::Reqwest(_) | UpdaterError::Network(_) | UpdaterError::ReleaseNotFound => {
            UpdateProblem::Unreachable
        }
        UpdaterError::AuthenticationFailed => UpdateProblem::Cancelled,
        _ => UpdateProblem::Failed,
    }
}

async fn refusal(app: &App, problem: UpdateProblem) -> UiError {
    AppError::Update(problem).to_ui(app.lang().await)
}

/// Asks the manifest, keeps what it offers, and says what it found.
async fn check<R: Runtime>(
    handle: &AppHandle<R>,
    config: &UpdatesConfig,
) -> Result<bool, UpdateProblem> {
    let Some(updater) = updater(handle, config)? else {
        return Ok(false);
    };
    let update = match updater.check().await {
        Ok(update) => update,
        // The manifest has nothing for this system: nothing new for it.
        Err(UpdaterError::TargetNotFound(_) | UpdaterError::TargetsNotFound(_)) => None,
        Err(err) => return Err(problem(err)),
    };
    let found = update.is_some();
    handle.state::<Updates>().found.lock().await.update = update;
    Ok(found)
}

/// When the app starts: looks once, if the citizen (or the administrator)
/// has not turned it off, and tells the UI only of a new version.
pub fn check_at_start<R: Runtime>(handle: &AppHandle<R>) {
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        let config = handle.state::<App>().updates_config().await;
        if !config.check {
            return;
        }
        if let Ok(true) = check(&handle, &config).await {
            if let Some(window) = handle.get_webview_window("main") {
                let _ = window.eval(FOUND_EVENT);
            }
        }
    });
}

#[tauri::command]
pub async fn update_status(
    handle: AppHandle,
    app: tauri::State<'_, App>,
    updates: tauri::State<'_, Updates>,
) -> Result<UpdateView, UiError> {
    Ok(updates.view(&handle, &app.updates_config().await).await)
}

/// "Check now" in Settings: the same check, and its failure is told.
#[tauri::command]
pub async fn check_for_update(
    handle: AppHandle,
    app: tauri::State<'_, App>,
    updates: tauri::State<'_, Updates>,
) -> Result<UpdateView, UiError> {
    let config = app.updates_config().await;
    match check(&handle, &config).await {
        Ok(_) => Ok(updates.view(&handle, &config).await),
        Err(problem) => Err(refusal(&app, problem).await),
    }
}

/// Downloads the version found, checks its signature, and installs it
/// (on Linux through the system's package tool, which asks for an
/// administrator). A package that fails the check is dropped, never
/// installed, and the offer with it.
#[tauri::command]
pub async fn install_update(
    handle: AppHandle,
    app: tauri::State<'_, App>,
    updates: tauri::State<'_, Updates>,
) -> Result<UpdateView, UiError> {
    let update = updates.found.lock().await.update.take();
    let Some(update) = update else {
        return Ok(updates.view(&handle, &app.updates_config().await).await);
    };
    match update.download_and_install(|_, _| {}, || {}).await {
        Ok(()) => updates.found.lock().await.installed = Some(update.version.clone()),
        Err(err) => {
            let problem = problem(err);
            // A refused signature is the manifest's fault: the offer goes.
            // Anything else may pass: the offer stays for another try.
            if problem != UpdateProblem::Signature {
                updates.found.lock().await.update = Some(update);
            }
            return Err(refusal(&app, problem).await);
        }
    }
    Ok(updates.view(&handle, &app.updates_config().await).await)
}
