// The only module that talks to the Rust side. Every command answers a
// view or rejects with {code, message}; anything else (a refused IPC, a
// serialisation fault) is normalised to that shape so views have one case.
import { invoke } from '../vendor/tauri-api/core.js';

let onCall = () => {};
let onSessionEnded = () => {};
let onUntrusted = () => {};

/** Called after every command that reached the app (resets the idle clock). */
export function setOnCall(callback) {
  onCall = callback;
}

/** Called when a command finds the session over (expired, or logged out elsewhere). */
export function setOnSessionEnded(callback) {
  onSessionEnded = callback;
}

/** Called when the server's identity could not be verified (the app then shows its advice). */
export function setOnUntrusted(callback) {
  onUntrusted = callback;
}

const SESSION_OVER = new Set(['session_expired', 'unauthenticated']);
const UNTRUSTED = 'server_identity_not_verified';

async function call(command, args = {}) {
  try {
    const answer = await invoke(command, args);
    onCall(command);
    return answer;
  } catch (err) {
    if (err && typeof err === 'object' && typeof err.code === 'string') {
      onCall(command);
      if (SESSION_OVER.has(err.code)) onSessionEnded(err);
      if (err.code === UNTRUSTED) onUntrusted(err, command);
      throw err;
    }
    throw { code: 'ipc_failed', message: String(err ?? '') };
  }
}

// Arguments are camelCase here; Tauri maps them to the Rust snake_case names.
export const appState = () => call('app_state');
export const catalogue = (lang) => call('catalogue', { lang });
export const setSettings = (settings) => call('set_settings', { settings });
export const startDemo = () => call('start_demo');
export const connect = () => call('connect');
export const login = (username, password, publicComputer) =>
  call('login', { username, password, publicComputer });
export const renewLoginPrompt = () => call('renew_login_prompt');
export const cancelLogin = () => call('cancel_login');
export const loginCode = (code) => call('login_code', { code });
export const home = () => call('home');
export const documentView = (id) => call('document', { id });
export const beginSign = (id) => call('begin_sign', { id });
export const signCode = (code) => call('sign_code', { code });
export const cancelSign = () => call('cancel_sign');
export const decline = (id) => call('decline', { id });
export const signed = (id) => call('signed', { id });
export const saveSigned = (id) => call('save_signed', { id });
export const verifyFile = () => call('verify_file');
export const openLoginLink = () => call('open_login_link');
export const serviceLoginCode = (code) => call('service_login_code', { code });
export const cancelServiceLogin = () => call('cancel_service_login');
export const keepAlive = () => call('keep_alive');
export const logout = () => call('logout');
export const checkConnection = () => call('check_connection');
export const saveDiagnostics = () => call('save_diagnostics');
export const trainer = () => call('trainer');
export const resetDemo = () => call('reset_demo');
export const applyScenario = (username, scenario) => call('apply_scenario', { username, scenario });
export const endServerIdentityScenario = () => call('end_server_identity_scenario');
export const saveClassKit = (large) => call('save_class_kit', { large });
export const updateStatus = () => call('update_status');
export const checkForUpdate = () => call('check_for_update');
export const installUpdate = () => call('install_update');
