// The app's commands: the one list. `build.rs` includes this file to make
// an `allow-<command>` permission for each and the `app-commands` set that
// `capabilities/main-window.json` grants; `lib.rs` registers the handlers
// from it, so a listed command without a handler does not compile and a
// handler not on the list is dead code (a clippy error). `ui/js/ipc.js`
// calls exactly these (tests/it/desktop.rs).

/// Passes every command name, in order, to the macro named `$then`.
macro_rules! app_commands {
    ($then:ident) => {
        $then!(
            app_state,
            catalogue,
            set_settings,
            start_demo,
            connect,
            login,
            renew_login_prompt,
            cancel_login,
            login_code,
            home,
            document,
            begin_sign,
            sign_code,
            cancel_sign,
            decline,
            signed,
            save_signed,
            open_login_link,
            service_login_code,
            cancel_service_login,
            verify_file,
            keep_alive,
            logout,
            check_connection,
            save_diagnostics,
            trainer,
            reset_demo,
            apply_scenario,
            end_server_identity_scenario,
            save_class_kit,
            update_status,
            check_for_update,
            install_update
        )
    };
}
