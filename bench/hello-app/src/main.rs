//! The baseline for `cargo xtask bench app`: Tauri with one static page
//! holding a labelled field and a button, and nothing else.

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the hello app runs");
}
