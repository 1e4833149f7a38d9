"""The tray: time to a docked icon, idle cost with one kept section, a 2,000-profile menu.

Runs under its own Xvfb + private session bus (dunst activatable) + trayer, brought up with
the desktop test harness (tests/desktop/harness.py), against the STS double.

- `rolebar tray` -> icon docked: wall time from the exec to the icon window sitting in
  trayer's panel at its final size (median of a few starts);
- idle CPU and RSS of the tray process over 60 s with one kept section (generate_token,
  1 h credentials: no refresh falls in the window);
- the menu for 2,000 profiles: tray/menu.py `build()`, the pystray descriptors, and the GTK
  widgets pystray makes from them (what the icon thread pays on a full rebuild), and the
  in-place relabel of the status line that replaces most rebuilds.

Runs alone too: `python bench/b_tray.py` prints its rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROLE_ARNS,
    VENV_BIN,
    Row,
    Setup,
    aws_setup,
    log,
    row,
    sts_double,
)
from tests.desktop import harness  # noqa: E402

ROLEBAR = str(VENV_BIN / "rolebar")
PYTHON = str(VENV_BIN / "python")

DOCK_ROUNDS = 5
IDLE_SECONDS = 60.0
MENU_PROFILES = 2000


@contextlib.contextmanager
def desktop() -> Iterator[tuple[dict[str, str], Path]]:
    """Xvfb, a bus with dunst activatable, trayer; yields the env additions and a log dir."""
    logs = Path(tempfile.mkdtemp(prefix="rolebar-bench-tray-"))
    display, xvfb = harness.start_xvfb(logs)
    base = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    bus = harness.start_session_bus(logs / "bus", {**base, "DISPLAY": display, "NO_AT_BRIDGE": "1"})
    env = harness.desktop_environment(base, display, bus)
    trayer = harness.start_trayer(env, logs / "trayer.log")
    try:
        yield env, logs
    finally:
        trayer.end()
        bus.stop()
        xvfb.end()


def tray_env(setup: Setup, desk: dict[str, str]) -> dict[str, str]:
    runtime = setup.home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**desk, **setup.env, "XDG_RUNTIME_DIR": str(runtime)}
    env["DISPLAY"] = desk["DISPLAY"]
    return env


def _proc(pid: int) -> tuple[float, int]:
    """(CPU seconds of all threads, RSS bytes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return cpu, rss


def start_tray(env: dict[str, str], logs: Path) -> harness.Started:
    return harness.spawn([ROLEBAR, "tray"], env, logs / "tray.log", "tray")


def docked(display: str) -> harness.Window | None:
    """The docked icon; None also when a window vanished while xwininfo walked the tree."""
    try:
        return harness.find_docked_icon(display)
    except RuntimeError:
        return None


def dock_times(env: dict[str, str], logs: Path) -> list[float]:
    times = []
    for _ in range(DOCK_ROUNDS):
        started = time.monotonic()
        tray = start_tray(env, logs)
        try:
            harness.wait_until(lambda: docked(env["DISPLAY"]), 30, 0.01, "the icon docked")
            harness.wait_for_docked_icon(30, env["DISPLAY"], settle=0.0)
            times.append(time.monotonic() - started)
        finally:
            tray.end(10)
        harness.wait_until(lambda: not docked(env["DISPLAY"]), 10, what="the icon gone")
    return times


def idle(env: dict[str, str], logs: Path, setup: Setup) -> tuple[float, int]:
    subprocess.run([ROLEBAR, "select", "member-0"], env=env, check=True, capture_output=True)
    tray = start_tray(env, logs)
    try:
        harness.wait_for_docked_icon(30, env["DISPLAY"])
        credentials = setup.home / ".aws" / "credentials"
        harness.wait_until(lambda: "[tray-managed]" in credentials.read_text(), 60,
                           what="the kept section")
        time.sleep(5)  # let the first write and its re-check settle
        log(f"tray: idle for {IDLE_SECONDS:.0f} s")
        cpu0, _ = _proc(tray.pid)
        time.sleep(IDLE_SECONDS)
        cpu1, rss = _proc(tray.pid)
    finally:
        tray.end(10)
    return cpu1 - cpu0, rss


MENU_PROBE = f"""
import json, time
from pathlib import Path
from rolebar.core.profiles import Catalog
from rolebar.core.state import KeeperState, SectionState
from rolebar.tray import backend, menu
from rolebar.tray.picker import Choices, group
from rolebar.tray.widgets import relabel_first_item, to_pystray
pystray = backend.import_pystray()
profiles = tuple(f"profile-{{i:04d}}" for i in range({MENU_PROFILES}))
catalog = Catalog({{p: {{"role_arn": f"arn:aws:iam::{{100000000000 + i // 5}}:role/r{{i}}",
                        "source_profile": "base"}} for i, p in enumerate(profiles)}},
                  (Path("config"), Path("credentials")), stamp=())
now = time.time()
sections = (SectionState("tray-managed", "profile-0007", "keys", "fresh", now + 3000, None),)
state = KeeperState(sections, profiles, (), ())
out = {{}}
t0 = time.perf_counter(); groups = group(profiles, catalog)
t1 = time.perf_counter()
choices = Choices(recent=profiles[:8], pinned=profiles[10:13], groups=groups)
items = menu.build(state, now, False, choices=choices)
t2 = time.perf_counter(); descriptor = to_pystray(items, lambda a: None, lambda: "x")
t3 = time.perf_counter()
icon = backend.icon_class()("bench", icon=None, menu=descriptor)
gtk = []
for _ in range(3):
    t4 = time.perf_counter(); icon._menu_handle = icon._create_menu(descriptor)
    gtk.append(time.perf_counter() - t4)
top = icon._menu_handle.get_children()
accounts = next(w for w in top if w.get_label() == "Accounts")
t5 = time.perf_counter(); accounts.emit("select")
t6 = time.perf_counter()
account = accounts.get_submenu().get_children()[0]
account.emit("select")
t7 = time.perf_counter(); relabel_first_item(icon, "profile-0007: 49 min left")
t8 = time.perf_counter()
out.update(group=t1 - t0, build=t2 - t1, pystray=t3 - t2, gtk=min(gtk), relabel=t8 - t7,
           accounts=t6 - t5, account=t7 - t6,
           backend=next(c.__module__ for c in type(icon).__mro__
                        if c.__name__ == "Icon" and c.__module__.startswith("pystray.")),
           widgets=len(top), opened=len(accounts.get_submenu().get_children()))
print(json.dumps(out))
"""


# The floor under the tray's memory: pystray on the same backend, one icon from the
# assets and a 12-item menu, nothing of rolebar's engine; its own VmRSS after a while.
FLOOR_PROBE = """
import threading, time
from PIL import Image
from rolebar.tray import backend, icons
pystray = backend.import_pystray()
menu = pystray.Menu(*(pystray.MenuItem(f"item {i}", lambda: None) for i in range(12)))
icon = pystray.Icon("floor", icons.load("fresh"), "floor", menu)
def measure():
    time.sleep(20)
    rss = next(l for l in open("/proc/self/status") if l.startswith("VmRSS:"))
    print(int(rss.split()[1]) * 1024, flush=True)
    icon.stop()
threading.Thread(target=measure, daemon=True).start()
icon.run(setup=lambda i: setattr(i, "visible", True))
"""


def floor_rss(env: dict[str, str]) -> int:
    done = subprocess.run([PYTHON, "-c", FLOOR_PROBE], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def add_profiles(config: Path, count: int) -> None:
    """`count` role profiles in 400 accounts, after the bench's own (none of them kept)."""
    lines = []
    for i in range(count):
        lines += [f"[profile org-{i:04d}]",
                  f"role_arn = arn:aws:iam::{100000000000 + i % 400}:role/r{i}",
                  "source_profile = src-member", ""]
    with config.open("a") as f:
        f.write("\n" + "\n".join(lines))


def menu_cost(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([PYTHON, "-c", MENU_PROBE], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure() -> list[Row]:
    if not sys.platform.startswith("linux") or harness.missing_tools():
        return [row("tray dock time", float("nan"), "s",
                    f"needs Linux with {', '.join(harness.missing_tools()) or 'Xvfb and trayer'}")]
    rows: list[Row] = []
    with desktop() as (desk, logs), \
            sts_double(ROLE_ARNS, role_lifetime=3600, session_lifetime=43200) as double, \
            aws_setup(double, ["member"], token_python=PYTHON) as setup:
        env = tray_env(setup, desk)
        times = dock_times(env, logs)
        rows.append(row("tray: `rolebar tray` to icon docked", statistics.median(times), "s",
                        f"median of {len(times)} (min {min(times):.2f}, max {max(times):.2f});"
                        " Xvfb + trayer, AppIndicator backend's XEmbed fallback"))
        cpu, rss = idle(env, logs, setup)
        rows.append(row("tray idle CPU", cpu / IDLE_SECONDS * 100, "%",
                        f"{cpu * 1000:.0f} ms CPU in {IDLE_SECONDS:.0f} s, one kept section "
                        "(generate_token, 1 h credentials), icon and keeper in one process"))
        rows.append(row("tray RSS", rss / 1024 / 1024, "MiB",
                        "`rolebar tray` after a minute idle, 3 profiles (GTK without OpenGL "
                        "and PIL loaded; botocore only in each call's child; goal <= 50 MiB)"))
        floor = floor_rss(env)
        rows.append(row("tray RSS floor: a bare pystray icon", floor / 1024 / 1024, "MiB",
                        "the same backend, Python, GTK and PIL with a 12-item menu and none of "
                        "rolebar's engine: what any pystray tray costs here"))
        cost = menu_cost(env)
        rows += [
            row(f"picker grouping, {MENU_PROFILES} profiles", cost["group"] * 1000, "ms",
                "tray/picker.py group(): 400 accounts from role_arn (once per change of the "
                "AWS files)"),
            row(f"menu model, {MENU_PROFILES} profiles", cost["build"] * 1000, "ms",
                "tray/menu.py build(): None, 11 roles on top, Accounts (lazy), Choose role..., "
                "Pin; Keep fresh the same"),
            row(f"menu descriptors, {MENU_PROFILES} profiles", cost["pystray"] * 1000, "ms",
                "pystray.Menu/MenuItem objects, built on the dispatcher thread"),
            row(f"menu widgets, {MENU_PROFILES} profiles", cost["gtk"] * 1000, "ms",
                f"{cost['widgets']} top-level widgets, pystray "
                f"{cost['backend'].rsplit('.', 1)[-1].lstrip('_')} backend + LazyMenus "
                "(icon thread; only when the menu's content changed), best of 3"),
            row("menu: opening Accounts (400 accounts)", cost["accounts"] * 1000, "ms",
                f"{cost['opened']} submenu widgets made when Accounts is first highlighted"),
            row("menu: opening one account (5 roles)", cost["account"] * 1000, "ms",
                "its radio items made when first highlighted"),
            row("status line relabel", cost["relabel"] * 1000, "ms",
                "the minutes ticking down: one label set in place instead of a rebuild"),
        ]
        add_profiles(setup.home / ".aws" / "config", MENU_PROFILES)
        _, rss_big = idle(env, logs, setup)
        rows.append(row(f"tray RSS, {MENU_PROFILES} more profiles", rss_big / 1024 / 1024, "MiB",
                        f"as above with {MENU_PROFILES} role profiles in 400 accounts added "
                        "(goal <= 60 MiB)"))
    return rows


if __name__ == "__main__":
    for r in measure():
        print(f"{r['name']}: {r['value']} {r['unit']}  ({r['note']})")
