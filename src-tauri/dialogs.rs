//! Native file dialogs, opened from Rust so the webview needs no dialog
//! permission and never sees a path it did not get back in a view.

use std::path::PathBuf;

use tauri::WebviewWindow;
use tauri_plugin_dialog::{DialogExt, FileDialogBuilder, FilePath};

/// Waits for the dialog without blocking the async runtime.
async fn pick(dialog: FileDialogBuilder<tauri::Wry>, save: bool) -> Option<PathBuf> {
    let (tx, rx) = tokio::sync::oneshot::channel::<Option<FilePath>>();
    if save {
        dialog.save_file(move |p| {
            let _ = tx.send(p);
        });
    } else {
        dialog.pick_file(move |p| {
            let _ = tx.send(p);
        });
    }
    rx.await.ok().flatten().and_then(|p| p.into_path().ok())
}

pub async fn save_pdf(window: &WebviewWindow, file_name: &str) -> Option<PathBuf> {
    let dialog = window
        .dialog()
        .file()
        .set_parent(window)
        .set_file_name(file_name)
        .add_filter("PDF", &["pdf"]);
    pick(dialog, true).await
}

pub async fn open_signed(window: &WebviewWindow) -> Option<PathBuf> {
    let dialog = window
        .dialog()
        .file()
        .set_parent(window)
        .add_filter("PDF / envelope.json", &["pdf", "json"]);
    pick(dialog, false).await
}

pub async fn save_report(window: &WebviewWindow) -> Option<PathBuf> {
    let dialog = window
        .dialog()
        .file()
        .set_parent(window)
        .set_file_name("kodekort-diagnostics.json")
        .add_filter("JSON", &["json"]);
    pick(dialog, true).await
}
