//! The Kodekort desktop app: a Tauri 2 shell over `kodekort-app`. Each
//! command is a one-line wrapper; the state, the network and the files are
//! the app crate's business. The webview gets views, never a token.

#[macro_use]
mod commands;
mod dialogs;
mod updates;

use std::path::PathBuf;

use kodekort_app::*;
use tauri::{AppHandle, Manager, State, WebviewWindow};
use tauri_plugin_deep_link::DeepLinkExt;
use updates::{check_for_update, install_update, update_status, Updates};

/// Human-readable product name, shared by the window title and `--version`.
pub const PRODUCT_NAME: &str = "Kodekort";

type Reply<T> = Result<T, UiError>;

#[tauri::command]
async fn app_state(app: State<'_, App>) -> Reply<StateView> {
    Ok(app.state().await)
}

#[tauri::command]
fn catalogue(lang: Lang) -> &'static CatalogueTable {
    App::catalogue(lang)
}

#[tauri::command]
async fn set_settings(app: State<'_, App>, settings: Settings) -> Reply<StateView> {
    app.set_settings(settings).await
}

#[tauri::command]
async fn start_demo(app: State<'_, App>, window: WebviewWindow) -> Reply<StateView> {
    app.start_demo().await.inspect(|s| set_title(&window, s))
}

#[tauri::command]
async fn connect(app: State<'_, App>, window: WebviewWindow) -> Reply<StateView> {
    app.connect().await.inspect(|s| set_title(&window, s))
}

#[tauri::command]
async fn login(
    app: State<'_, App>,
    username: String,
    password: String,
    public_computer: bool,
) -> Reply<PromptView> {
    app.login(&username, Password::new(password), public_computer)
        .await
}

#[tauri::command]
async fn renew_login_prompt(app: State<'_, App>) -> Reply<PromptView> {
    app.renew_login_prompt().await
}

#[tauri::command]
async fn cancel_login(app: State<'_, App>) -> Reply<()> {
    app.cancel_login().await
}

#[tauri::command]
async fn login_code(app: State<'_, App>, code: String) -> Reply<HomeView> {
    app.login_code(&code).await
}

#[tauri::command]
async fn home(app: State<'_, App>) -> Reply<HomeView> {
    app.home().await
}

#[tauri::command]
async fn document(app: State<'_, App>, id: String) -> Reply<DocumentView> {
    app.document(&id).await
}

#[tauri::command]
async fn begin_sign(app: State<'_, App>, id: String) -> Reply<PromptView> {
    app.begin_sign(&id).await
}

#[tauri::command]
async fn sign_code(app: State<'_, App>, code: String) -> Reply<SignedView> {
    app.sign_code(&code).await
}

#[tauri::command]
async fn cancel_sign(app: State<'_, App>) -> Reply<()> {
    app.cancel_sign().await
}

#[tauri::command]
async fn decline(app: State<'_, App>, id: String) -> Reply<HomeView> {
    app.decline(&id).await
}

#[tauri::command]
async fn signed(app: State<'_, App>, id: String) -> Reply<SignedView> {
    app.signed(&id).await
}

/// Asks where to save (a native dialog), then saves; `None` if cancelled.
#[tauri::command]
async fn save_signed(
    app: State<'_, App>,
    window: WebviewWindow,
    id: String,
) -> Reply<Option<SavedView>> {
    in_picked(
        dialogs::save_pdf(&window, &App::signed_file_name(&id)).await,
        async |p| app.save_signed(&id, p).await,
    )
    .await
}

/// Asks which file to check (a native dialog), then checks it.
#[tauri::command]
async fn verify_file(app: State<'_, App>, window: WebviewWindow) -> Reply<Option<FileVerdictView>> {
    in_picked(dialogs::open_signed(&window).await, async |p| {
        app.verify_file(p).await
    })
    .await
}

#[tauri::command]
async fn open_login_link(app: State<'_, App>) -> Reply<PromptView> {
    app.open_login_link().await
}

#[tauri::command]
async fn service_login_code(app: State<'_, App>, code: String) -> Reply<ServiceLoginDoneView> {
    app.service_login_code(&code).await
}

#[tauri::command]
async fn cancel_service_login(app: State<'_, App>) -> Reply<()> {
    app.cancel_service_login().await
}

#[tauri::command]
async fn keep_alive(app: State<'_, App>) -> Reply<SessionView> {
    app.keep_alive().await
}

#[tauri::command]
async fn logout(app: State<'_, App>) -> Reply<StateView> {
    app.logout().await
}

#[tauri::command]
async fn check_connection(app: State<'_, App>) -> Reply<ConnectionView> {
    Ok(app.check_connection().await)
}

#[tauri::command]
async fn save_diagnostics(app: State<'_, App>, window: WebviewWindow) -> Reply<Option<SavedView>> {
    in_picked(dialogs::save_report(&window).await, async |p| {
        app.save_diagnostics(p).await
    })
    .await
}

#[tauri::command]
async fn trainer(app: State<'_, App>) -> Reply<TrainerView> {
    app.trainer().await
}

#[tauri::command]
async fn reset_demo(app: State<'_, App>) -> Reply<TrainerView> {
    app.reset_demo().await
}

#[tauri::command]
async fn apply_scenario(
    app: State<'_, App>,
    username: String,
    scenario: String,
) -> Reply<ScenarioView> {
    app.apply_scenario(&username, &scenario).await
}

#[tauri::command]
async fn end_server_identity_scenario(app: State<'_, App>) -> Reply<TrainerView> {
    app.end_server_identity_scenario().await
}

/// Asks where to save the class kit (a native dialog), then saves it.
#[tauri::command]
async fn save_class_kit(
    app: State<'_, App>,
    window: WebviewWindow,
    large: bool,
) -> Reply<Option<SavedView>> {
    let pdf = app.class_kit(large).await?;
    in_picked(
        dialogs::save_pdf(&window, App::class_kit_file_name(large)).await,
        async |p| app.save_class_kit(p, &pdf).await,
    )
    .await
}

/// Runs `action` on the picked path, if the citizen picked one.
async fn in_picked<T>(
    picked: Option<PathBuf>,
    action: impl AsyncFnOnce(&std::path::Path) -> Reply<T>,
) -> Reply<Option<T>> {
    match picked {
        Some(path) => action(&path).await.map(Some),
        None => Ok(None),
    }
}

/// "Kodekort", or "Kodekort — DEMO" while the demo runs.
fn set_title(window: &WebviewWindow, state: &StateView) {
    let title = if state.demo {
        format!("{PRODUCT_NAME} — DEMO")
    } else {
        PRODUCT_NAME.to_owned()
    };
    let _ = window.set_title(&title);
}

/// Whether a command-line argument is a `kodekort:` link (the scheme the
/// app registers), rather than an option.
pub fn is_link(arg: &str) -> bool {
    arg.get(..9)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("kodekort:"))
}

/// How the app was asked to start.
#[derive(Debug, Default)]
pub struct Launch {
    /// Start the embedded demo (behind the window, which says so).
    pub demo: bool,
}

/// Registers every command of the one list (`commands.rs`).
macro_rules! handlers {
    ($($command:ident),* $(,)?) => {
        tauri::generate_handler![$($command),*]
    };
}

/// A DOM event on the UI's window: a login link reached the running app.
/// Sent by the shell itself, so the webview needs no event permission;
/// the UI then asks for the link's screen like any other.
const LOGIN_LINK_EVENT: &str = "window.dispatchEvent(new Event('kodekort-login-link'));";

/// A `kodekort:` link for the running app: kept for the UI, which is then
/// told, and the window comes forward. The app checks that it is a login
/// link. Not on the calling thread (on macOS, the main one): the app's
/// state may be busy with a request.
fn receive_links(handle: &AppHandle, urls: impl IntoIterator<Item = String>) {
    let Some(url) = urls.into_iter().last() else {
        return;
    };
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        handle.state::<App>().receive_login_link(&url).await;
        if let Some(window) = handle.get_webview_window("main") {
            let _ = window.eval(LOGIN_LINK_EVENT);
            let _ = window.unminimize();
            let _ = window.set_focus();
        }
    });
}

/// `--demo`: prepares the demo while the window shows. A failure is left
/// for the UI's own `start_demo`, which tries again and says why.
fn start_demo_behind_window(handle: &AppHandle) {
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        if let Ok(state) = handle.state::<App>().start_demo().await {
            if let Some(window) = handle.get_webview_window("main") {
                set_title(&window, &state);
            }
        }
    });
}

/// Builds and runs the app until its window closes.
pub fn run(launch: Launch) -> Result<(), tauri::Error> {
    let app = App::new(Options {
        config_path: default_config_path(),
        demo_accounts: 10,
        ..Default::default()
    });
    tauri::Builder::default()
        // First, as the deep-link plugin asks: a second start (a link
        // clicked while the app runs) hands its arguments to this one and
        // exits; with the `deep-link` feature, a link among them reaches
        // `on_open_url` below, so here the window only comes forward.
        // Without a session bus (D-Bus), each start runs on its own.
        .plugin(tauri_plugin_single_instance::init(|handle, _argv, _cwd| {
            if let Some(window) = handle.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_dialog::init())
        // Its key and manifest address are tauri.conf.json's; the webview
        // has no permission for its commands, only for updates.rs's.
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(Updates::default())
        .setup(move |tauri_app| {
            // The window first: the demo is prepared behind it, and its
            // first screen says so (the UI waits on `start_demo` too).
            if launch.demo {
                tauri::async_runtime::block_on(app.expect_demo());
            }
            // Started with a link (Linux and Windows: the one argument):
            // the UI finds it in the app's state when it loads.
            if let Some(url) = tauri_app
                .deep_link()
                .get_current()?
                .and_then(|mut u| u.pop())
            {
                tauri::async_runtime::block_on(app.receive_login_link(url.as_str()));
            }
            tauri_app.manage(app);
            let handle = tauri_app.handle().clone();
            // A link while running (macOS sends them as events).
            tauri_app.deep_link().on_open_url(move |event| {
                receive_links(&handle, event.urls().into_iter().map(String::from));
            });
            if launch.demo {
                start_demo_behind_window(tauri_app.handle());
            }
            updates::check_at_start(tauri_app.handle());
            Ok(())
        })
        .invoke_handler(app_commands!(handlers))
        .run(tauri::generate_context!())
}

/// Where no session bus is offered (no `DBUS_SESSION_BUS_ADDRESS`, no
/// `$XDG_RUNTIME_DIR/bus`), GLib and libdbus would "autolaunch" one with
/// `dbus-launch`: a daemon that lives as long as the X display, long after
/// the app. A bus that only this app knows holds no keyring and no screen
/// reader, so the app says instead that there is no bus: the session is
/// then kept in memory, as the app tells the citizen. Call it first in
/// `main`, before any thread starts (it sets an environment variable).
pub fn no_session_bus_autolaunch() {
    if !cfg!(target_os = "linux") {
        return;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()) {
        return;
    }
    let user_bus = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| std::path::Path::new(&d).join("bus"));
    if user_bus.is_some_and(|bus| bus.exists()) {
        return;
    }
    // An address that fails at once, with a name that says why.
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/kodekort-no-session-bus",
    );
}

/// On Linux, a window needs an X11 or Wayland display. Without one GTK
/// would abort with a cryptic message; say what to do instead.
pub fn display_problem() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let set = |v| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return None;
    }
    Some(
        "kodekort-desktop: no display (neither DISPLAY nor WAYLAND_DISPLAY is set).\n\
         Run it on a desktop, or under a virtual display: \
         `Xvfb :99 & DISPLAY=:99 kodekort-desktop --demo`.\n\
         Without a display, the demo also runs in a terminal: `kodekort demo`."
            .to_owned(),
    )
}
