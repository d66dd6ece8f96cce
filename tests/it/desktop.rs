//! The desktop shell's security configuration, read from the files the
//! build uses: the commands, their permissions and the capability agree;
//! the CSP is strict; only `ui/js/ipc.js` reaches the IPC.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The one list: the names in `src-tauri/commands.rs`'s macro.
fn listed_commands() -> BTreeSet<String> {
    let file = read("src-tauri/commands.rs");
    let list = file
        .split("$then!(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the command list in commands.rs");
    list.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn permission(command: &str) -> String {
    format!("allow-{}", command.replace('_', "-"))
}

#[test]
fn one_command_list_feeds_the_handlers_the_permissions_the_capability_and_ipc_js() {
    let commands = listed_commands();
    assert!(commands.len() >= 20, "{commands:?}");

    // The handlers: every #[tauri::command] (in lib.rs and the modules
    // beside it) is on the list, and lib.rs registers them from the list
    // (the compiler then holds the rest).
    let lib = read("src-tauri/lib.rs");
    let mut sources = String::new();
    for entry in std::fs::read_dir(root().join("src-tauri")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources += &std::fs::read_to_string(path).unwrap();
        }
    }
    let defined: BTreeSet<String> = sources
        .split("#[tauri::command]")
        .skip(1)
        .filter_map(|chunk| {
            let after = chunk.split("fn ").nth(1)?;
            Some(after.split('(').next()?.trim().to_owned())
        })
        .collect();
    assert_eq!(defined, commands, "#[tauri::command] fns vs commands.rs");
    assert!(lib.contains(".invoke_handler(app_commands!(handlers))"));
    assert!(
        !lib.contains("generate_handler![app_state"),
        "a second list"
    );
    let build = read("src-tauri/build.rs");
    assert!(build.contains("include!(\"commands.rs\")") && build.contains("app_commands!(names)"));

    // The capability grants the generated set and nothing else.
    let capability: Value = serde_json::from_str(&read("capabilities/main-window.json")).unwrap();
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    assert!(capability.get("remote").is_none(), "no remote URLs");
    assert_eq!(
        capability["permissions"],
        serde_json::json!(["app-commands"])
    );

    // The set as tauri-build resolved it, when the desktop app has been
    // built here (`cargo xtask test` builds it before the tests).
    let acl = root().join("gen/schemas/acl-manifests.json");
    if let Ok(text) = std::fs::read_to_string(&acl) {
        let acl: Value = serde_json::from_str(&text).unwrap();
        let set: BTreeSet<String> = acl["__app-acl__"]["permission_sets"]["app-commands"]
            ["permissions"]
            .as_array()
            .expect("the app-commands set in the generated ACL")
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        let expected: BTreeSet<String> = commands.iter().map(|c| permission(c)).collect();
        assert_eq!(set, expected, "exactly the app's own commands");
    } else {
        eprintln!(
            "note: {} is not built yet; the set is checked after a desktop build",
            acl.display()
        );
    }

    // ipc.js calls exactly the listed commands.
    let ipc = read("ui/js/ipc.js");
    let called: BTreeSet<String> = ipc
        .split("call('")
        .skip(1)
        .filter_map(|rest| Some(rest.split('\'').next()?.to_owned()))
        .collect();
    assert_eq!(called, commands, "ui/js/ipc.js vs commands.rs");
}

#[test]
fn the_webview_is_locked_down() {
    let conf: Value = serde_json::from_str(&read("tauri.conf.json")).unwrap();
    let app = &conf["app"];
    assert_eq!(app["withGlobalTauri"], false);
    assert_eq!(app["security"]["freezePrototype"], true);
    assert_eq!(
        app["security"]["capabilities"],
        serde_json::json!(["main-window"])
    );
    let csp = app["security"]["csp"]
        .as_object()
        .expect("CSP as directives");
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self'");
    assert_eq!(csp["connect-src"], "ipc: http://ipc.localhost");
    for (directive, value) in csp {
        let value = value.as_str().unwrap();
        assert!(!value.contains("unsafe"), "{directive}: {value}");
        assert!(
            !value.contains("https:") && !value.contains('*'),
            "{directive}: {value}"
        );
    }
    assert_eq!(conf["build"]["frontendDist"], "ui");
}

/// Files under `ui/js`, recursively.
fn ui_scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            ui_scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "js") {
            out.push(path);
        }
    }
}

#[test]
fn only_ipc_js_reaches_the_ipc_and_no_script_is_inline() {
    let mut scripts = Vec::new();
    ui_scripts(&root().join("ui/js"), &mut scripts);
    assert!(scripts.len() >= 10, "{scripts:?}");
    for script in scripts {
        let text = std::fs::read_to_string(&script).unwrap();
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        let touches_ipc = text.contains("invoke(")
            || text.contains("__TAURI")
            || text.contains("vendor/tauri-api");
        assert_eq!(touches_ipc, name == "ipc.js", "{}", script.display());
        for sink in [
            ".innerHTML",
            ".outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(!text.contains(sink), "{}: {sink}", script.display());
        }
    }
    let html = read("ui/index.html");
    // Every module is preloaded, so the graph is fetched at once (start-up time).
    let mut modules = Vec::new();
    ui_scripts(&root().join("ui/js"), &mut modules);
    for module in modules {
        let rel = module.strip_prefix(root().join("ui")).unwrap();
        let rel = rel.to_string_lossy();
        if rel != "js/main.js" {
            let link = format!("<link rel=\"modulepreload\" href=\"{rel}\">");
            assert!(html.contains(&link), "index.html lacks {link}");
        }
    }
    for tag in html.split("<script").skip(1) {
        let head = tag.split('>').next().unwrap();
        assert!(
            head.contains("src="),
            "inline script in index.html: <script{head}>"
        );
    }
    assert!(!html.contains("style=\""), "inline style in index.html");
}
