"""The code dialog (tray/dialog.py): drivers, escaping, validation and the child's stdout/exit
contract."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rolebar.tray import dialog
from rolebar.tray.dialog import NoDriver, ask_code, choose, normalise

MESSAGE = "One-time code for arn:aws:iam::123456789012:mfa/alice (profile dev)"


class Scripted:
    """A driver that answers from a list; None is a cancel."""

    name = "scripted"

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.messages: list[str] = []

    def available(self) -> bool:
        return True

    def ask(self, message: str) -> str | None:
        self.messages.append(message)
        return self.answers.pop(0)


@pytest.mark.parametrize(("text", "code"), [
    ("123456", "123456"), (" 123456\n", "123456"), ("123 456", "123456"),
    ("123-456", "123456"), ("12345", None), ("1234567", None), ("12345a", None), ("", None),
    ("١٢٣٤٥٦", None),  # only ASCII digits go to STS
])
def test_normalise(text: str, code: str | None) -> None:
    assert normalise(text) == code


def test_a_bad_answer_is_asked_again_with_a_hint() -> None:
    driver = Scripted("12345", "654321")
    assert ask_code(driver, MESSAGE) == "654321"
    assert driver.messages == [MESSAGE, dialog.RETRY_HINT + MESSAGE]


def test_cancel_and_too_many_bad_answers_give_no_code() -> None:
    assert ask_code(Scripted(None), MESSAGE) is None
    assert ask_code(Scripted("1", "2", "3"), MESSAGE) is None


# -- drivers -------------------------------------------------------------------------------


def test_zenity_hides_the_input_and_keeps_underscores() -> None:
    argv = dialog.Zenity().argv("profile dev_admin")
    assert argv[:3] == ["zenity", "--entry", "--hide-text"]
    assert "--text=profile dev__admin" in argv  # a single "_" is a mnemonic marker


def test_kdialog_uses_a_password_box() -> None:
    assert dialog.Kdialog().argv(MESSAGE) == ["kdialog", "--title", "rolebar", "--password",
                                              MESSAGE]


@pytest.mark.parametrize(("text", "literal"), [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ('x" & (do shell script "rm -rf ~") & "', '"x\\" & (do shell script \\"rm -rf ~\\") & \\""'),
])
def test_applescript_escaping(text: str, literal: str) -> None:
    assert dialog.applescript_string(text) == literal


def test_osascript_argv_has_a_hidden_answer_and_escaped_text() -> None:
    argv = dialog.Osascript().argv('profile "q"')
    assert argv[:2] == ["osascript", "-e"]
    assert 'display dialog "profile \\"q\\""' in argv[2]
    assert "with hidden answer" in argv[2]


@pytest.mark.parametrize(("text", "literal"), [
    ("plain", "'plain'"),
    ("it's", "'it''s'"),
    ("$(Remove-Item C:\\)", "'$(Remove-Item C:\\)'"),  # single quotes: no expansion
    ("a\u2019b", "'a\u2019\u2019b'"),
])
def test_powershell_escaping(text: str, literal: str) -> None:
    assert dialog.powershell_string(text) == literal


def test_powershell_dialog_uses_a_password_box() -> None:
    script = dialog.PowerShell().argv(MESSAGE)[-1]
    assert "UseSystemPasswordChar = $true" in script
    assert f"$l.Text = '{MESSAGE}'" in script


@pytest.mark.parametrize(("platform", "desktop", "order"), [
    ("linux", "GNOME", ["zenity", "kdialog", "tk"]),
    ("linux", "KDE", ["kdialog", "zenity", "tk"]),
    ("darwin", "", ["osascript", "tk"]),
    ("win32", "", ["powershell", "tk"]),
])
def test_preference(platform: str, desktop: str, order: list[str]) -> None:
    assert dialog.preference(platform, desktop) == order


def test_override_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dialog.Tk, "available", lambda self: True)
    assert choose({"ROLEBAR_PROMPT": "tk"}).name == "tk"
    with pytest.raises(NoDriver, match="not one of zenity, kdialog, tk, osascript"):
        choose({"ROLEBAR_PROMPT": "gtkdialog"})
    monkeypatch.setattr(dialog.Kdialog, "available", lambda self: False)
    with pytest.raises(NoDriver, match="kdialog: that dialog cannot be shown here"):
        choose({"ROLEBAR_PROMPT": "kdialog"})


def test_no_display_no_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(NoDriver, match="no display"):
        choose({}, platform="linux")


# -- the child process, with a stand-in dialog tool on PATH -----------------------------------


def fake_zenity(folder: Path, script: str) -> dict[str, str]:
    """A `zenity` that runs `script` (sh); the prompt runs it as its dialog."""
    folder.mkdir(exist_ok=True)
    tool = folder / "zenity"
    tool.write_text("#!/bin/sh\n" + script + "\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
            "DISPLAY": ":99", "ROLEBAR_PROMPT": "zenity"}


def run_prompt(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rolebar.tray.dialog", "--message", MESSAGE],
                          capture_output=True, text=True, env=env, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_child_prints_the_code_and_exits_0(tmp_path: Path) -> None:
    env = fake_zenity(tmp_path / "bin", f'echo "$@" > {tmp_path}/argv; echo "987 654"')
    done = run_prompt(env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "987654\n", "")
    argv = (tmp_path / "argv").read_text()
    assert "987" not in argv and "--hide-text" in argv


def test_child_cancel_exits_1_with_nothing_on_stdout(tmp_path: Path) -> None:
    done = run_prompt(fake_zenity(tmp_path / "bin", "exit 1"))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "rolebar: prompt: no code entered\n"


def test_child_asks_again_after_a_bad_answer(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    script = (f'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; '
              'if [ "$n" = 0 ]; then echo 12; else echo 999000; fi')
    done = run_prompt(fake_zenity(tmp_path / "bin", script))
    assert (done.returncode, done.stdout) == (0, "999000\n")
    assert counter.read_text().strip() == "2"


def test_child_without_any_dialog_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "ROLEBAR_PROMPT": "nosuch"}
    done = run_prompt(env)
    assert done.returncode == 2
    assert done.stderr.startswith("rolebar: prompt: ROLEBAR_PROMPT='nosuch' is not one of")

