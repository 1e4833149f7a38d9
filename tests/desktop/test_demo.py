"""`rolebar demo`, the real tray against the built-in STS double, driven like a person would.

One test walks the whole product under Xvfb + trayer + dunst: the icon docks, the menu
shows the demo banner, project-dev (generate_token) writes [tray-managed] with no code
typed, project-prd (no generate_token) notifies, prompts and takes the code that
`rolebar demo --code` prints, and Quit exits 0. The user's own ~/.aws (the test's HOME)
stays byte-identical throughout. There is no OCR here: the banner is checked as the
screen shows it (two greyed-out rows on top, far wider than the others; GTK draws
insensitive labels mid grey) and through the tooltip tray/demo.py sets; what the tray did
is checked in the demo home's credentials file and rolebar log, and on the bus.

The same run takes the README's pictures. It always saves whole-screen shots to its
artifacts folder; with ``ROLEBAR_UPDATE_DOCS=1`` it also crops them into
docs/tray-menu.png and docs/tray-code-prompt.png (off by default, so that CI and
everyday runs never dirty the tree):

    ROLEBAR_UPDATE_DOCS=1 .venv/bin/pytest tests/desktop/test_demo.py

Menu of the demo at the start (tray/demo.py puts two insensitive banner lines and a
separator on top of tray/menu.py `build()`):
    banner 1, banner 2 | status | [Enter MFA code...] | None, project-dev, project-prd,
    sso-dev (IAM Identity Center, signed in by the demo) |
    Refresh now, [Open console for P], Style >, Keep fresh > |
    Start at login (insensitive), Open log, Quit
Down skips insensitive items and separators, so Down x2 is project-dev, Down x3
project-prd, Down x6 "Open console" once a role is chosen, and Up from nothing selected
is Quit. "Open console" hands the browser (a $BROWSER that records) the double's login
URL, whose page says where a real console would open.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest

from rolebar.core import demo
from rolebar.core.credfile import read_section, section_status
from rolebar.core.stsdouble.totp import STEP, step_at
from tests.loopback.clients.awsdouble import visit
from tests.loopback.test_console import forgive_browser_argv

from . import harness
from .harness import NotificationCapture, Started, Window

if TYPE_CHECKING:
    from PIL import Image

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(120)]

ROLEBAR = str(Path(sys.executable).with_name("rolebar"))
DOCS = harness.REPO_ROOT / "docs"
# ROLEBAR_UPDATE_DOCS=1 writes this run's pictures over docs/*.png (the README's); unset, as
# in CI, they only go to the artifacts folder, so test runs never dirty the tree.
UPDATE_DOCS = os.environ.get("ROLEBAR_UPDATE_DOCS") == "1"
PAD = 4  # pixels kept around a window cut out of a screenshot
GAP = 16  # between the notification and the prompt in docs/tray-code-prompt.png
RECORDER = """\
#!/bin/sh
# A browser that records the URL it was asked to open, in a file only its owner reads.
umask 077
cd "$(dirname "$0")" && printf '%s' "$1" > opening && mv opening opened
"""


# -- the demo and its home ---------------------------------------------------------------------


class DemoRun:
    """One `rolebar demo --home DIR` process and what it keeps in DIR."""

    def __init__(self, proc: Started, root: Path) -> None:
        self.proc = proc
        self.root = root

    @property
    def credentials(self) -> Path:
        return self.root / ".aws" / "credentials"

    @property
    def log_file(self) -> Path:
        return self.root / ".local" / "state" / "rolebar" / "log" / "rolebar.log"

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.root / "double.json").read_text()))

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""

    def alive(self) -> bool:
        assert self.proc.popen is not None
        if self.proc.popen.poll() is not None:
            raise AssertionError(f"the demo exited {self.proc.popen.returncode}:\n"
                                 f"{self.proc.tail()}")
        return True

    def identity(self) -> str:
        """The ARN that the demo's own "try it from another terminal" line prints (the real
        AWS CLI through [tray-managed]); empty when it fails."""
        assert self.proc.log is not None
        said = "try it from another terminal: "
        line = next(x for x in self.proc.log.read_text().splitlines() if said in x)
        done = subprocess.run(["bash", "-c", line.split(said, 1)[1]], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(self.root)})
        return str(json.loads(done.stdout)["Arn"]) if done.returncode == 0 else ""

    def section(self, name: str = "tray-managed") -> dict[str, str]:
        """The keys of a section rolebar manages; empty while it is missing."""
        if section_status(self.credentials, name) != "managed":
            return {}
        return read_section(self.credentials, name) or {}

    def wait_docked(self, timeout: float = 20.0) -> Window:
        def docked() -> Window | None:
            self.alive()
            try:
                icon = harness.find_docked_icon()
            except RuntimeError:  # a window went away while xwininfo walked the tree
                return None
            return icon if icon is not None and (icon.name or "").startswith("rolebar") else None

        harness.wait_until(docked, timeout, what="the rolebar icon docked in trayer")
        return harness.wait_for_docked_icon(timeout)


def user_files(home: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted((home / ".aws").rglob("*")) if p.is_file()}


def rolebar(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ROLEBAR, *args], env=env, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


# -- the menu, seen on the screen ---------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One item row of an open menu, as the screenshot shows it."""

    ink: int  # the darkest grey value: about 50 for a label, about 150 for a greyed-out one
    width: int  # from the leftmost to the rightmost dark pixel

    @property
    def grey(self) -> bool:
        """An insensitive row (the banner, the status line, "Start at login" here)."""
        return self.ink >= 100


def menu_rows(menu: Window, shot: Path) -> list[Row]:
    """The item rows of `menu` on `shot`, found as harness.menu_item_centers finds them."""
    from PIL import Image

    rows = []
    with Image.open(shot) as img:
        grey = img.convert("L")
        for _, y in harness.menu_item_centers(menu, shot):
            band = grey.crop((menu.x + 1, y - 6, menu.x + menu.width - 1, y + 7))
            darkest, _ = cast("tuple[int, int]", band.getextrema())
            ink = band.point(lambda v: 255 if v < 160 else 0).getbbox() or (0, 0, 0, 0)
            rows.append(Row(darkest, ink[2] - ink[0]))
    return rows


def open_menu(icon: Window, shot: Path, rows: int) -> tuple[Window, list[Row]]:
    """Left click the icon (AppIndicator's XEmbed fallback opens the menu) and screenshot it
    once all `rows` item rows are drawn (GTK maps the window before it paints it).

    A menu that pops up while the tray swaps in a rebuilt one closes at once; the tooltip
    changes in the same step as the menu (tray/app.py `_apply`), so callers wait for it
    first, and a click that opened nothing within two seconds is made again."""
    for attempt in range(3):
        harness.click(*icon.center, button=1)
        try:
            menu = harness.wait_for_menu(2.0 if attempt < 2 else 5.0)
            break
        except TimeoutError:
            if attempt == 2:
                raise

    def drawn() -> list[Row]:
        harness.screenshot(shot)
        found = menu_rows(menu, shot)
        return found if len(found) == rows else []

    return menu, harness.wait_until(drawn, 5, interval=0.2, what=f"a menu of {rows} rows")


def wait_for_tooltip(pattern: str) -> Window:
    """The docked icon once its tooltip (the window's name) matches `pattern` in full."""

    def matching() -> list[Window]:
        try:
            icons = harness.docked_icons()
        except RuntimeError:
            return []
        return [i for i in icons if re.fullmatch(pattern, i.name or "")]

    return harness.wait_until(matching, 10, what=f"the tooltip /{pattern}/")[0]


def choose(*keys: str) -> None:
    """With the menu open: press `keys`, then Return; wait until the menu is gone."""
    for name in keys:
        harness.key(name)
    harness.key("Return")
    harness.wait_until(lambda: not harness.popup_menus(), 5, what="the menu to close")


# -- the prompt and the notification popup -------------------------------------------------------


def visible(cls: str, min_width: int = 100) -> list[Window]:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", cls],
                           capture_output=True, text=True, timeout=10).stdout.split()
    windows = [harness.window_geometry(int(w)) for w in found]
    return [w for w in windows if w is not None and w.width > min_width]


def wait_for_prompt(timeout: float = 15.0) -> Window:
    return harness.wait_until(lambda: visible("zenity"), timeout, what="the code prompt")[0]


def type_into(prompt: Window, text: str) -> None:
    """No window manager: focus follows the pointer, so point at the dialog first."""
    harness.move(*prompt.center)
    time.sleep(0.2)
    harness.xdotool_type(text)
    harness.key("Return")


# -- the README's pictures -----------------------------------------------------------------------


def painted(shot: Path, window: Window) -> bool:
    """Whether `window` shows on `shot` with its text drawn: both dark and light pixels."""
    from PIL import Image

    with Image.open(shot) as img:
        box = (window.x, window.y, window.x + window.width, window.y + window.height)
        low, high = cast("tuple[int, int]", img.convert("L").crop(box).getextrema())
    return bool(low < 100 and high > 180)


def cut(shot: Path, window: Window) -> Image.Image:
    """`window` (plus PAD around it) out of the screenshot `shot`."""
    from PIL import Image

    with Image.open(shot) as img:
        return img.convert("RGB").crop((
            max(0, window.x - PAD), max(0, window.y - PAD),
            min(img.width, window.x + window.width + PAD),
            min(img.height, window.y + window.height + PAD)))


def union(windows: list[Window]) -> Window:
    left, top = min(w.x for w in windows), min(w.y for w in windows)
    right = max(w.x + w.width for w in windows)
    bottom = max(w.y + w.height for w in windows)
    return Window(0, None, (), left, top, right - left, bottom - top)


def menu_picture(shot: Path, menu: Window, icon: Window, target: Path) -> Path:
    """The open menu with the icon above it, as they sit on the screen."""
    cut(shot, union([menu, icon])).save(target, optimize=True)
    return target


def prompt_picture(shot: Path, popup: Window, prompt: Window, target: Path) -> Path:
    """The notification popup above the prompt. Both are cut from the same screenshot; only
    the black screen between them (dunst sits bottom left here, zenity in the middle) is
    left out, the popup going to the right like a notification near the tray."""
    from PIL import Image

    top, bottom = cut(shot, popup), cut(shot, prompt)
    width = max(top.width, bottom.width)
    picture = Image.new("RGB", (width, top.height + GAP + bottom.height))
    picture.paste(top, (width - top.width, 0))
    picture.paste(bottom, (0, top.height + GAP))
    picture.save(target, optimize=True)
    return target


def publish(picture: Path, name: str) -> None:
    """Copy a picture over docs/NAME, only when asked to: ROLEBAR_UPDATE_DOCS=1."""
    if UPDATE_DOCS:
        (DOCS / name).write_bytes(picture.read_bytes())


# -- the test ----------------------------------------------------------------------------------


def test_demo_end_to_end_takes_the_readme_pictures(
        launch: Callable[..., Started], tray_host: Started, notifications: NotificationCapture,
        desktop_env: dict[str, str], artifacts: Path, home: Path, tmp_path: Path) -> None:
    # The user's own AWS files (the test's HOME): the demo must neither read nor write them.
    (home / ".aws" / "config").write_text("[profile mine]\nregion = eu-west-1\n")
    (home / ".aws" / "credentials").write_text("[mine]\naws_access_key_id = AKIAMINEMINEMINE\n")
    before = user_files(home)

    browser = tmp_path / "browser"
    browser.mkdir(mode=0o700)
    (browser / "record").write_text(RECORDER)
    (browser / "record").chmod(0o700)
    run = DemoRun(launch([ROLEBAR, "demo", "--home", str(tmp_path / "demo-home")],
                         env={"ROLEBAR_PROMPT": "zenity", "BROWSER": str(browser / "record")},
                         name="demo"),
                  tmp_path / "demo-home")
    icon = run.wait_docked()
    assert icon.name == "rolebar demo: No role selected"  # the tooltip of tray/demo.py
    assert "demo: STS double at http://127.0.0.1:" in run.log()

    # The banner: two long grey lines on top, then the grey status line, the radio group
    # (None, project-dev, project-prd, sso-dev), a grey "Refresh now" (nothing kept yet),
    # Style >, Keep fresh >, a grey "Start at login" (a demo does not install itself),
    # Open log, Quit.
    _, rows = open_menu(icon, artifacts / "menu-start.png", rows=13)
    assert [r.grey for r in rows] == [True, True, True, False, False, False, False,
                                      True, False, False, True, False, False], rows
    assert min(rows[0].width, rows[1].width) > 2 * max(r.width for r in rows[2:8]), rows

    # project-dev has a generate_token: [tray-managed] is written with no code typed.
    chosen = time.monotonic()
    choose("Down", "Down")  # None, project-dev (the grey lines are skipped)
    dev = harness.wait_until(run.section, 10, what="[tray-managed] for project-dev")
    spent = step_at(time.time())  # generate_token's code was this step's or an earlier one
    assert time.monotonic() - chosen < 10
    # The default style: the AWS CLI asks rolebar, which answers from the demo's engine.
    assert dev["credential_process"].endswith(" process --section tray-managed")
    assert dev["region"] == demo.REGION
    assert "assumed-role/developer/" in harness.wait_until(run.identity, 30,
                                                           what="project-dev's identity")
    assert "tray: select project-dev" in run.log()

    wait_for_tooltip(r"rolebar demo: project-dev: \d+ min left")
    menu, rows = open_menu(icon, artifacts / "menu.png", rows=14)
    assert not rows[7].grey and not rows[8].grey  # Refresh now, Open console for project-dev
    publish(menu_picture(artifacts / "menu.png", menu, icon, artifacts / "tray-menu.png"),
            "tray-menu.png")

    # Open console: the browser gets the double's login URL for project-dev's role, in the
    # demo's region; its page says where a real console would open.
    choose("Down", "Down", "Down", "Down", "Down", "Down")  # None, dev, prd, sso-dev,
    # Refresh now, Open console
    opened = browser / "opened"
    url = harness.wait_until(lambda: opened.exists() and opened.read_text(), 30,
                             what="the browser asked to open the console")
    assert url.startswith(f"{run.state()['endpoint']}/federation?Action=login&")
    forgive_browser_argv(browser / "record")  # the browser's argv holds the URL by design
    status, page, _ = visit(url)
    real = f"https://{demo.REGION}.console.aws.amazon.com/console/home?region={demo.REGION}"
    assert status == 200, page
    assert (f"Console for developer (111111111111) in {demo.REGION} would open at {real}."
            in page), page
    token = parse_qs(urlsplit(url).query)["SigninToken"][0]
    assert token not in run.log() and token not in run.proc.tail(200)
    harness.wait_until(lambda: "console opened for profile project-dev" in run.log(), 10,
                       what="the console's log line")
    open_menu(icon, artifacts / "menu-after-console.png", rows=14)

    # project-prd has no generate_token: a notification and the prompt.
    choose("Down", "Down", "Down")  # None, project-dev, project-prd
    note = notifications.wait_for_notification("MFA code needed", 15)
    assert "project-prd" in note and run.state()["user"]["mfa_serial"] in note
    prompt = wait_for_prompt()
    popup = harness.wait_until(lambda: visible("Dunst", 50), 5, what="the notification popup")[0]
    shot = artifacts / "prompt.png"
    harness.wait_until(lambda: harness.screenshot(shot) and painted(shot, prompt)
                       and painted(shot, popup), 5, interval=0.2, what="the prompt drawn")
    publish(prompt_picture(shot, popup, prompt, artifacts / "tray-code-prompt.png"),
            "tray-code-prompt.png")

    # Cancelled, the need stays, and so does "Enter MFA code..." on top of the menu.
    harness.move(*prompt.center)
    time.sleep(0.2)
    harness.key("Escape")
    harness.wait_until(lambda: not visible("zenity"), 10, what="the prompt to close")
    assert run.alive() and run.section() == dev  # the same line: it asks for project-prd now
    wait_for_tooltip("rolebar demo: Switching to project-prd: waiting for a one-time code")
    _, rows = open_menu(icon, artifacts / "menu-code-needed.png", rows=15)
    assert [r.grey for r in rows[:4]] == [True, True, True, False], rows
    choose("Down")  # Enter MFA code...
    prompt = wait_for_prompt()

    # STS takes a code once: the one to type comes from a later step than generate_token's.
    while step_at(time.time()) <= spent:
        time.sleep(STEP - time.time() % STEP + 0.2)
    code = rolebar(desktop_env, "demo", "--code", "--home", str(run.root))
    assert code.returncode == 0, code.stderr
    assert re.fullmatch(r"\d{6}\n", code.stdout)
    type_into(prompt, code.stdout.strip())
    wait_for_tooltip(r"rolebar demo: project-prd: \d+ min left")
    prd = run.section()
    assert prd == dev  # the section points at rolebar; rolebar now answers for project-prd
    assert run.identity().startswith("arn:aws:sts::222222222222:assumed-role/operator/")
    assert not visible("zenity")
    assert "asking for a code for profile project-prd" in run.log()

    # Quit: exit 0. The double's port is closed and the pointer that `--code` reads is gone;
    # the folder given as --home is kept, as `rolebar demo --help` says.
    endpoint = str(run.state()["endpoint"])
    wait_for_tooltip(r"rolebar demo: project-prd: \d+ min left")
    open_menu(icon, artifacts / "menu-quit.png", rows=14)
    choose("Up")  # from nothing selected, Up wraps to the last item: Quit
    assert run.proc.popen is not None
    assert run.proc.popen.wait(timeout=15) == 0, run.proc.tail()
    assert "(kept afterwards)" in run.proc.tail(50)
    assert run.section() == prd
    gone = rolebar(desktop_env, "demo", "--code")
    assert gone.returncode == 2 and "no demo is running" in gone.stderr
    host, port = endpoint.removeprefix("http://").split(":")
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=2):
        pass
    harness.wait_until(lambda: not harness.docked_icons(), 5, what="the icon to leave the tray")

    # The user's own files: byte for byte what they were, and no rolebar settings beside them.
    assert user_files(home) == before
    assert not (home / ".config" / "rolebar").exists()
