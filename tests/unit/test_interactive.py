"""Whether a person can be asked here (core/interactive.py): the one display check and the
one terminal probe that the code sources, the dialog, `keep`, the tray and doctor share."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rolebar.core.interactive import has_display


@pytest.mark.parametrize(("platform", "env", "expected"), [
    ("linux", {}, False),
    ("linux", {"DISPLAY": ":0"}, True),
    ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, True),
    ("linux", {"DISPLAY": ""}, False),
    ("freebsd14", {}, False),
    ("openbsd7", {"DISPLAY": ":0"}, True),
    ("darwin", {}, True),  # the window server needs no variable
    ("win32", {}, True),
])
def test_a_display_is_named_where_windows_need_one(platform: str, env: dict[str, str],
                                                   expected: bool) -> None:
    assert has_display(env, platform) is expected


@pytest.mark.skipif(os.name != "posix", reason="/dev/tty is POSIX")
def test_a_process_without_a_controlling_terminal_has_none() -> None:
    # A new session has no controlling terminal, whatever ran the tests.
    probe = "from rolebar.core.interactive import has_terminal; print(has_terminal())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, start_new_session=True, stdin=subprocess.DEVNULL)
    assert done.stdout == "False\n"

