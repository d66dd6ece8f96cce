"""Layer 3: the accessibility tree of the real app window, as Orca reads it.

Run inside a private session bus:
    dbus-run-session -- python3 tests/ui/atspi_tree.py target/debug/kodekort-desktop

Starts Xvfb and the AT-SPI bus, opens the app with the demo, and checks over
AT-SPI (pyatspi) that the welcome screen, the login form and the code step
expose the right roles and names. Drives the app through AT-SPI actions and
editable text only, as assistive technology would. Exit status 0 = pass.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pyatspi


def fail(message):
    print(f"AT-SPI FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def start_display():
    for n in range(120, 140):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(50):
                if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                    return f":{n}", xvfb
                time.sleep(0.1)
            xvfb.kill()
    fail("no free X display")


def walk(node, depth=0):
    """Every accessible under node, depth first."""
    if node is None or depth > 60:
        return
    yield node
    try:
        count = node.childCount
    except Exception:
        return  # the node went away while the view changed
    for i in range(count):
        try:
            child = node.getChildAtIndex(i)
        except Exception:
            continue
        yield from walk(child, depth + 1)


def app_root(name, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            desktop = pyatspi.Registry.getDesktop(0)
            for i in range(desktop.childCount):
                app = desktop.getChildAtIndex(i)
                if app is not None and app.name == name:
                    return app
        except Exception:
            pass
        time.sleep(0.3)
    fail(f"no application named {name!r} on the accessibility bus")


def find(app, role, name=None, prefix=None, timeout=20):
    """Waits for an accessible of `role` whose name is `name` (or starts with `prefix`)."""
    end = time.time() + timeout
    seen = []
    while time.time() < end:
        seen = []
        for node in walk(app):
            try:
                node_role, node_name = node.getRoleName(), node.name
            except Exception:
                continue
            seen.append(f"[{node_role}] {node_name!r}")
            if node_role == role and (
                (name is not None and node_name == name) or (prefix is not None and node_name.startswith(prefix))
            ):
                return node
        time.sleep(0.3)
    tree = "\n  ".join(s for s in seen if not s.endswith("''"))
    fail(f"no [{role}] {name or prefix!r}. Named nodes seen:\n  {tree}")


def press(node):
    action = node.queryAction()
    for i in range(action.nActions):
        if action.getName(i) in ("press", "click", "activate"):
            action.doAction(i)
            return
    action.doAction(0)


def type_into(node, text):
    """Focuses the field and types, as the keyboard would (WebKitGTK's
    entries have no editable-text interface over AT-SPI)."""
    node.queryComponent().grabFocus()
    time.sleep(0.2)
    pyatspi.Registry.generateKeyboardEvent(0, text, pyatspi.KEY_STRING)
    time.sleep(0.2)


def main():
    app_path = os.path.abspath(sys.argv[1])
    display, xvfb = start_display()
    home = tempfile.mkdtemp(prefix="kodekort-atspi-")
    env = dict(os.environ, DISPLAY=display, HOME=home, XDG_CONFIG_HOME=f"{home}/.config",
               XDG_DATA_HOME=f"{home}/.local/share", XDG_CACHE_HOME=f"{home}/.cache",
               KODEKORT_CONFIG=f"{home}/kodekort.toml", LANG="en_GB.UTF-8", GTK_A11Y="atspi")
    env.pop("NO_AT_BRIDGE", None)
    os.environ["DISPLAY"] = display
    launcher = subprocess.Popen(["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    app_proc = subprocess.Popen([app_path, "--demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        app = app_root("kodekort-desktop")
        find(app, "heading", "Welcome to Kodekort")
        find(app, "document web", prefix="Welcome to Kodekort")
        find(app, "table", prefix="Use any of these made-up accounts")
        print("welcome: [heading] 'Welcome to Kodekort', [document web] with the DEMO title, [table] of demo accounts")

        press(find(app, "push button", "Log in"))
        username = find(app, "entry", "Username")
        password = find(app, "password text", "Password")
        find(app, "check box", prefix="This is a public computer")
        next_button = find(app, "push button", "Next")
        print("login form: [entry] 'Username', [password text] 'Password', [check box] public computer, [push button] 'Next'")

        type_into(username, "demo1")
        type_into(password, "kodekort-demo-1")
        press(next_button)
        find(app, "heading", "Enter the code from your card")
        code = find(app, "entry", prefix="Code for key ")
        key = code.name.removeprefix("Code for key ")
        if not (len(key) == 4 and key.isdigit()):
            fail(f"the code field's name does not carry the key: {code.name!r}")
        find(app, "push button", "Show the demo card")
        print(f"code step: [heading] 'Enter the code from your card', [entry] {code.name!r}")
    finally:
        app_proc.terminate()
        try:
            app_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app_proc.kill()
        launcher.terminate()
        xvfb.terminate()
        shutil.rmtree(home, ignore_errors=True)
    print("AT-SPI: pass")


if __name__ == "__main__":
    main()
