"""`cargo xtask bench app`: the desktop app against a bare Tauri hello-world
built the same way (release profile), in one run under Xvfb.

For each launch: the time from process start until the first heading is
exposed over AT-SPI (the window shows something; for `--demo`, the
"Preparing the demo" screen), and until the page's "Log in" button is
(the login flow is interactive: Kodekort's welcome screen, the hello app's
form; for `--demo`, the demo is ready), then, after 2 s to settle, the PSS
of the whole process tree (the app and WebKit's processes), from
/proc/PID/smaps_rollup. Launches alternate between the apps so that
machine noise hits both alike; the figures to compare are the ratios.

Run inside a private session bus:
    dbus-run-session -- /usr/bin/python3 tests/bench/app_startup.py RUNS NAME=PATH[:ARGS] ...
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import pyatspi


def start_display():
    for n in range(140, 160):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(50):
                if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                    return f":{n}", xvfb
                time.sleep(0.1)
            xvfb.kill()
    sys.exit("no free X display")


def find_roles(node, found, depth=0):
    """Adds to `found` "heading" once a heading is exposed, and "login"
    once the "Log in" button is; stops early when both are there."""
    if node is None or depth > 40 or len(found) == 2:
        return
    try:
        role = node.getRoleName()
        if role == "heading":
            found.add("heading")
        elif role == "push button" and node.name == "Log in":
            found.add("login")
        count = node.childCount
    except Exception:
        return
    for i in range(count):
        try:
            find_roles(node.getChildAtIndex(i), found, depth + 1)
        except Exception:
            continue


def app_node(pid):
    desktop = pyatspi.Registry.getDesktop(0)
    for i in range(desktop.childCount):
        try:
            app = desktop.getChildAtIndex(i)
            if app is not None and app.get_process_id() == pid:
                return app
        except Exception:
            continue
    return None


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def launch(path, args, env):
    home = tempfile.mkdtemp(prefix="kodekort-bench-")
    env = dict(env, HOME=home, XDG_CONFIG_HOME=f"{home}/.config", XDG_DATA_HOME=f"{home}/.local/share",
               XDG_CACHE_HOME=f"{home}/.cache", KODEKORT_CONFIG=f"{home}/kodekort.toml")
    # A configured server, so Kodekort's welcome screen offers "Log in" (it
    # connects only when pressed, so no server needs to run).
    with open(f"{home}/kodekort.toml", "w") as f:
        f.write('default_server = "bench"\n[servers.bench]\nurl = "https://127.0.0.1:9"\nca = "ca.pem"\n')
    start = time.perf_counter()
    proc = subprocess.Popen([path, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shown = ready = None
    while time.perf_counter() - start < 60:
        node = app_node(proc.pid)
        found = set()
        find_roles(node, found)
        now = time.perf_counter() - start
        if shown is None and found:
            shown = now
        if "login" in found:
            ready = now
            break
        time.sleep(0.02)
    time.sleep(2.0)
    tree = descendants(proc.pid)
    pss = sum(pss_kib(p) for p in tree)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(home, ignore_errors=True)
    return shown, ready, pss / 1024, len(tree)


def main():
    runs = int(sys.argv[1])
    apps = []
    for spec in sys.argv[2:]:
        name, rest = spec.split("=", 1)
        path, _, args = rest.partition(":")
        apps.append((name, path, args.split() if args else []))
    display, xvfb = start_display()
    env = dict(os.environ, DISPLAY=display, LANG="en_GB.UTF-8")
    env.pop("NO_AT_BRIDGE", None)
    os.environ["DISPLAY"] = display
    launcher = subprocess.Popen(["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    results = {name: [] for name, _, _ in apps}
    try:
        for name, path, args in apps:  # a warm-up each: the first-ever WebKit start is slower
            launch(path, args, env)
        for i in range(runs):
            for name, path, args in apps:
                shown, ready, pss, procs = launch(path, args, env)
                if ready is None:
                    sys.exit(f"{name}: the 'Log in' button never appeared")
                results[name].append((shown, ready, pss, procs))
                print(f"run {i + 1} {name}: first heading {shown * 1000:.0f} ms, ready {ready * 1000:.0f} ms, "
                      f"PSS {pss:.0f} MiB in {procs} processes", flush=True)
    finally:
        launcher.terminate()
        xvfb.terminate()

    def median(name, column):
        return statistics.median(r[column] for r in results[name])

    base = apps[0][0]
    print()
    print("| app | first heading | ready | PSS | heading ratio | ready ratio | PSS ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, _, _ in apps:
        shown, ready, pss = (median(name, c) for c in range(3))
        print(f"| {name} | {shown * 1000:.0f} ms | {ready * 1000:.0f} ms | {pss:.0f} MiB "
              f"| {shown / median(base, 0):.2f} | {ready / median(base, 1):.2f} | {pss / median(base, 2):.2f} |")


if __name__ == "__main__":
    main()
