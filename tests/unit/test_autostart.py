"""Start at login: the adapters, the shipped templates and `rolebar autostart`."""

from __future__ import annotations

import argparse
import logging
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from rolebar.core.autostart import (
    APPROVED_ENABLED,
    APPROVED_KEY,
    RUN_KEY,
    LaunchAgent,
    Unsupported,
    WindowsRun,
    XdgAutostart,
    desktop_exec,
    pick,
    tray_command,
    windows_command_line,
)
from rolebar.core.commands import autostart as command
from rolebar.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
TRAY = ["/opt/rolebar/bin/rolebar-tray"]

needs_validator = pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed"
)


def validate(path: Path) -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def exec_argv(value: str) -> list[str]:
    """Decode an Exec value the way the Desktop Entry spec reads it (no field codes used)."""
    # Layer 1: the string-value escapes of the key file.
    text, rest = "", value
    while rest:
        ch, rest = rest[0], rest[1:]
        if ch == "\\":
            ch, rest = {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(rest[0], rest[0]), rest[1:]
        text += ch
    # Layer 2: words split on spaces; double quotes group, and a backslash inside them
    # takes the next character literally.
    argv: list[str] = []
    word: str | None = None
    quoted = False
    chars = iter(text)
    for ch in chars:
        if quoted and ch == "\\":
            word = (word or "") + next(chars)
        elif ch == '"':
            quoted, word = not quoted, word or ""
        elif ch == " " and not quoted:
            if word is not None:
                argv.append(word)
            word = None
        else:
            word = (word or "") + ch
    if word is not None:
        argv.append(word)
    # Layer 3: field codes; only the literal percent sign is used here.
    return [arg.replace("%%", "%") for arg in argv]


def exec_line(path: Path) -> str:
    (line,) = [x for x in path.read_text().splitlines() if x.startswith("Exec=")]
    return line.removeprefix("Exec=")


# -- XDG autostart --------------------------------------------------------------------------


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A moved XDG_CONFIG_HOME, and no system-wide autostart folder from the test machine."""
    config = tmp_path / "elsewhere" / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc-xdg"))
    return config / "autostart" / "rolebar.desktop"


def test_xdg_enable_and_disable_write_and_remove_the_entry(xdg: Path) -> None:
    entry = XdgAutostart(command=TRAY)
    assert entry.path == xdg
    assert not entry.enabled
    entry.enable()
    entry.enable()
    assert xdg.is_file()
    assert entry.enabled
    assert exec_line(xdg) == "/opt/rolebar/bin/rolebar-tray"
    assert "X-GNOME-Autostart-enabled=true" in xdg.read_text()
    assert entry.describe() == str(xdg)
    entry.disable()
    entry.disable()
    assert not xdg.exists()
    assert not entry.enabled


def test_xdg_constructor_touches_nothing(xdg: Path) -> None:
    XdgAutostart()
    assert not xdg.parent.exists()


def test_xdg_defaults_to_dot_config(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    entry = XdgAutostart(command=TRAY)
    assert entry.path == home / ".config" / "autostart" / "rolebar.desktop"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the spec ignores it
    assert entry.path == home / ".config" / "autostart" / "rolebar.desktop"


@needs_validator
def test_xdg_entry_passes_desktop_file_validate(xdg: Path) -> None:
    XdgAutostart().enable()  # the real command of this install
    validate(xdg)
    assert exec_argv(exec_line(xdg)) == tray_command()


@needs_validator
def test_xdg_exec_is_quoted_per_spec(xdg: Path) -> None:
    awkward = ["/home/a b/it's $HOME/50%\\x\"y`z/python", "-m", "rolebar.tray.app"]
    XdgAutostart(command=awkward).enable()
    validate(xdg)
    assert exec_argv(exec_line(xdg)) == awkward


def test_desktop_exec_leaves_plain_words_alone() -> None:
    assert desktop_exec(["/usr/bin/python3", "-m", "rolebar.tray.app"]) == (
        "/usr/bin/python3 -m rolebar.tray.app"
    )
    assert desktop_exec(["/a b/c"]) == '"/a b/c"'
    assert desktop_exec(["/a\\b"]) == '"/a\\\\\\\\b"'  # four backslashes in the file


@pytest.mark.parametrize("opt_out", ["Hidden=true", "X-GNOME-Autostart-enabled=false"])
def test_xdg_respects_a_users_opt_out(xdg: Path, opt_out: str) -> None:
    entry = XdgAutostart(command=TRAY)
    entry.enable()
    xdg.write_text(xdg.read_text().replace("X-GNOME-Autostart-enabled=true", opt_out))
    assert not entry.enabled
    entry.enable()  # an explicit request: switches it back on
    assert entry.enabled
    assert opt_out not in xdg.read_text()


def test_xdg_disable_hides_a_system_wide_entry(
    xdg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "etc-xdg" / "autostart" / "rolebar.desktop"
    system.parent.mkdir(parents=True)
    shutil.copy(REPO / "assets" / "rolebar.desktop", system)
    entry = XdgAutostart(command=TRAY)
    assert entry.enabled  # the system-wide entry starts it
    entry.disable()
    assert not entry.enabled
    assert "Hidden=true" in xdg.read_text()
    assert system.exists()
    if shutil.which("desktop-file-validate"):
        validate(xdg)
    entry.enable()
    assert entry.enabled
    assert "Hidden" not in xdg.read_text()


def test_xdg_enable_follows_a_symlinked_entry(xdg: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "rolebar.desktop"
    dotfiles.parent.mkdir()
    dotfiles.write_text("[Desktop Entry]\nHidden=true\n")
    xdg.parent.mkdir(parents=True)
    xdg.symlink_to(dotfiles)
    XdgAutostart(command=TRAY).enable()
    assert xdg.is_symlink()
    assert "Exec=/opt/rolebar/bin/rolebar-tray" in dotfiles.read_text()


def test_xdg_unwritable_folder_is_a_config_error(xdg: Path) -> None:
    xdg.parent.parent.mkdir(parents=True)
    xdg.parent.write_text("a file where the folder should be")
    with pytest.raises(ConfigError) as caught:
        XdgAutostart(command=TRAY).enable()
    assert caught.value.subject == str(xdg)
    assert caught.value.exit_code == 2


@needs_validator
def test_shipped_desktop_entry_is_valid() -> None:
    shipped = REPO / "assets" / "rolebar.desktop"
    validate(shipped)
    text = shipped.read_text()
    for line in ("Name=rolebar", "Exec=rolebar-tray", "Icon=rolebar", "Type=Application"):
        assert line in text.splitlines()
    assert "Categories=Utility;" in text


# -- macOS LaunchAgent ------------------------------------------------------------------------


def test_launch_agent_enable_and_disable(home: Path) -> None:
    agent = pick("darwin")
    assert isinstance(agent, LaunchAgent)
    plist = home / "Library" / "LaunchAgents" / "com.rolebar.tray.plist"
    assert agent.describe() == str(plist)
    assert not agent.enabled
    agent.enable()
    agent.enable()
    assert agent.enabled
    job = plistlib.loads(plist.read_bytes())
    assert job["Label"] == "com.rolebar.tray"
    assert job["RunAtLoad"] is True
    assert job["KeepAlive"] is False
    assert job["ProcessType"] == "Interactive"
    assert job["ProgramArguments"] == tray_command()
    assert os.path.isabs(job["ProgramArguments"][0])
    assert Path(job["ProgramArguments"][0]).is_file()
    agent.disable()
    agent.disable()
    assert not plist.exists()
    assert not agent.enabled


def test_launch_agent_respects_disabled_and_unreadable_files(home: Path) -> None:
    agent = LaunchAgent(command=TRAY)
    agent.enable()
    plist = agent.path
    plist.write_bytes(plistlib.dumps({**plistlib.loads(plist.read_bytes()), "Disabled": True}))
    assert not agent.enabled
    plist.write_text("<plist><dict><key>Label</key>")
    assert not agent.enabled
    agent.enable()
    assert agent.enabled
    assert plistlib.loads(plist.read_bytes())["ProgramArguments"] == TRAY


def test_shipped_launch_agent_template_matches_the_written_one() -> None:
    shipped = plistlib.loads((REPO / "packaging" / "com.rolebar.tray.plist").read_bytes())
    assert shipped["RunAtLoad"] is True
    assert os.path.isabs(shipped["ProgramArguments"][0])
    written = LaunchAgent(command=TRAY).job()
    assert {k: v for k, v in shipped.items() if k != "ProgramArguments"} == {
        k: v for k, v in written.items() if k != "ProgramArguments"
    }


# -- Windows Run key --------------------------------------------------------------------------


class FakeRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str | bytes] = {}

    def get(self, key: str, name: str) -> str | bytes | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str | bytes) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


EXE = [r"C:\Users\a b\pipx\venvs\rolebar\Scripts\rolebar-tray.exe"]


def test_windows_run_enable_and_disable() -> None:
    registry = FakeRegistry()
    run = pick("win32", registry=registry, command=EXE)
    assert isinstance(run, WindowsRun)
    assert not run.enabled
    run.enable()
    run.enable()
    assert registry.values == {(RUN_KEY, "rolebar"): f'"{EXE[0]}"'}
    assert run.enabled
    assert run.describe() == r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run\rolebar"
    run.disable()
    run.disable()
    assert registry.values == {}
    assert not run.enabled


def test_windows_run_respects_and_overrides_startup_approved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = FakeRegistry()
    run = WindowsRun(registry=registry, command=EXE)
    run.enable()
    # Task Manager's "Disable": an odd first byte and a timestamp.
    registry.set(APPROVED_KEY, "rolebar", b"\x03\x00\x00\x00" + b"\x9f" * 8)
    assert not run.enabled
    with caplog.at_level(logging.WARNING, logger="rolebar.core.autostart"):
        run.enable()
    assert registry.get(APPROVED_KEY, "rolebar") == APPROVED_ENABLED == b"\x02" + bytes(11)
    assert run.enabled
    assert "Task Manager" in caplog.text
    caplog.clear()
    run.enable()  # already approved: nothing to say
    assert caplog.text == ""
    run.disable()
    assert registry.values == {}


def test_windows_command_line_quotes_the_program() -> None:
    assert windows_command_line([r"C:\Python 3\pythonw.exe", "-m", "rolebar.tray.app"]) == (
        r'"C:\Python 3\pythonw.exe" -m rolebar.tray.app'
    )
    assert windows_command_line([r"C:\x\rolebar-tray.exe"]) == r'"C:\x\rolebar-tray.exe"'


# -- finding the tray ---------------------------------------------------------------------------


def no_path(name: str) -> str | None:
    return None


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    path.chmod(0o755)
    return path


def test_tray_command_of_this_install_is_the_absolute_script() -> None:
    (script,) = tray_command()
    assert os.path.isabs(script)
    assert Path(script).name == "rolebar-tray"


def test_tray_command_prefers_the_script_next_to_the_interpreter(tmp_path: Path) -> None:
    python = touch(tmp_path / "venv" / "bin" / "python")
    script = touch(tmp_path / "venv" / "bin" / "rolebar-tray")
    found = tray_command("linux", str(python), which=lambda name: "/usr/bin/rolebar-tray")
    assert found == [str(script)]


def test_tray_command_falls_back_to_path_then_to_the_module(tmp_path: Path) -> None:
    python = touch(tmp_path / "bin" / "python3")
    assert tray_command("linux", str(python), which=lambda name: "/usr/bin/" + name) == [
        "/usr/bin/rolebar-tray"
    ]
    assert tray_command("linux", str(python), which=no_path) == [
        str(python),
        "-m",
        "rolebar.tray.app",
    ]


def test_tray_command_on_windows(tmp_path: Path) -> None:
    python = touch(tmp_path / "Python311" / "python.exe")
    assert tray_command("win32", str(python), which=no_path) == [
        str(python),
        "-m",
        "rolebar.tray.app",
    ]
    pythonw = touch(tmp_path / "Python311" / "pythonw.exe")
    assert tray_command("win32", str(python), which=no_path) == [
        str(pythonw),
        "-m",
        "rolebar.tray.app",
    ]
    script = touch(tmp_path / "Python311" / "Scripts" / "rolebar-tray.exe")
    assert tray_command("win32", str(python), which=no_path) == [str(script)]


# -- elsewhere ---------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["linux", "freebsd14"])
def test_pick_xdg(platform: str) -> None:
    assert isinstance(pick(platform), XdgAutostart)


def test_unsupported_platform_is_a_config_error() -> None:
    adapter = pick("aix")
    assert isinstance(adapter, Unsupported)
    assert not adapter.enabled
    for action in (adapter.enable, adapter.disable):
        with pytest.raises(ConfigError) as caught:
            action()
        assert caught.value.exit_code == 2
        assert str(caught.value) == "autostart: not supported on aix"


# -- rolebar autostart ---------------------------------------------------------------------------


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rolebar")
    command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_command_prints_one_line_per_action(xdg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    adapter = XdgAutostart(command=TRAY)
    outputs = []
    for action in ("status", "enable", "status", "disable", "status"):
        assert command.run(argparse.Namespace(action=action), autostart=adapter) == 0
        outputs.append(capsys.readouterr())
    assert [(out.out, out.err) for out in outputs] == [
        (f"autostart: disabled ({xdg})\n", ""),
        (f"autostart enabled: {xdg}\n", ""),
        (f"autostart: enabled ({xdg})\n", ""),
        ("autostart disabled\n", ""),
        (f"autostart: disabled ({xdg})\n", ""),
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG autostart is Linux's")
def test_command_uses_the_platforms_adapter(xdg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["autostart", "enable"])
    assert args.func is command.run
    assert args.func(args) == 0
    assert capsys.readouterr().out == f"autostart enabled: {xdg}\n"
    assert xdg.is_file()


def test_command_parser_rejects_other_actions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse(["autostart", "toggle"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_command_errors_are_raised_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError):
        command.run(argparse.Namespace(action="enable"), autostart=Unsupported("aix"))
    assert capsys.readouterr() == ("", "")
    status = command.run(argparse.Namespace(action="status"), autostart=Unsupported("aix"))
    assert status == 0
    assert capsys.readouterr().out == "autostart: disabled (not supported on aix)\n"
