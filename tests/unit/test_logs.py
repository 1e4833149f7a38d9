"""The log never breaks the output contract, and its files are private (issue 9, items 5
and 7): a full disk, an unusable folder, a planted symlink, rotation, control characters."""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolebar.core import logs, paths
from rolebar.core.cli import main
from rolebar.core.commands import profiles as profiles_command
from rolebar.core.errors import ConfigError, RolebarError, printable


@pytest.fixture(autouse=True)
def fresh_logger() -> Iterator[logging.Logger]:
    """`logs.setup` configures once per process: give each test a bare `rolebar` logger
    (propagating, so that pytest does not attach its capture handlers to it)."""
    root = logging.getLogger("rolebar")
    saved = root.handlers[:], root.propagate, root.level
    root.handlers.clear()
    root.propagate = True
    yield root
    for handler in root.handlers:
        handler.close()
    root.handlers[:], root.propagate, root.level = saved


def log_path() -> Path:
    return paths.log_dir() / "rolebar.log"


def file_handler(root: logging.Logger) -> logs.PrivateLog:
    [handler] = [h for h in root.handlers if isinstance(h, logs.PrivateLog)]
    return handler


class FullDisk:
    """A stream on a file system with no space left."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self) -> None:
        pass


def test_a_full_disk_prints_nothing_and_the_handler_goes_quiet(
        fresh_logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup()
    handler = file_handler(fresh_logger)
    handler.stream.close()
    handler.stream = FullDisk()  # type: ignore[assignment]
    log = logging.getLogger("rolebar.core.engine")
    for i in range(20):
        log.info("profile dev: refreshed %d", i)
    log.exception("internal error")
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")
    assert handler.broken


def test_a_planted_symlink_at_the_log_is_not_followed(
        fresh_logger: logging.Logger, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious\n")
    log_path().parent.mkdir(parents=True)
    log_path().symlink_to(target)
    logs.setup()
    logging.getLogger("rolebar").warning("profile dev: something")
    assert target.read_text() == "precious\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not chmod-ed through the link
    assert log_path().is_symlink()
    assert capsys.readouterr().err == ""


def test_a_fifo_at_the_log_does_not_hang(fresh_logger: logging.Logger) -> None:
    log_path().parent.mkdir(parents=True)
    os.mkfifo(log_path())
    logs.setup()  # returns at once: opening a FIFO with no reader would block forever
    assert not [h for h in fresh_logger.handlers if isinstance(h, logs.PrivateLog)]


def test_every_log_file_is_0600_also_after_rotation(fresh_logger: logging.Logger) -> None:
    assert os.umask(0o022) == 0o022  # conftest's umask: new files would be 0644
    log_path().parent.mkdir(parents=True)
    log_path().write_bytes(b"x" * 999_990 + b"\n")
    log_path().chmod(0o644)  # as an older rolebar left it
    logs.setup()
    assert stat.S_IMODE(log_path().stat().st_mode) == 0o600
    logging.getLogger("rolebar").info("profile dev: %s", "y" * 100)  # past 1 MB: rotates
    rotated = log_path().with_name("rolebar.log.1")
    assert rotated.stat().st_size >= 999_990
    assert "profile dev" in log_path().read_text()
    for path in (log_path(), rotated):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


@pytest.mark.parametrize("blocker", ["folder is a file", "state home is a file"])
def test_an_unusable_log_folder_keeps_stderr_to_the_one_line(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        blocker: str) -> None:
    if blocker == "folder is a file":
        paths.log_dir().parent.mkdir(parents=True)
        paths.log_dir().write_text("in the way\n")
    else:
        monkeypatch.setenv("XDG_STATE_HOME", str(home / "state-file"))
        (home / "state-file").write_text("in the way\n")

    def broken(args: object) -> int:
        logging.getLogger("rolebar.core.commands.profiles").warning("about to fail")
        raise RuntimeError("a bug")

    monkeypatch.setattr(profiles_command, "run", broken)
    assert main(["profiles"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("rolebar: internal error (RuntimeError); run with --debug for details\n")


def test_control_characters_from_input_are_escaped_in_the_error_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    name = "dev\x1b]0;pwned\x07\x1b[2J\x9b\x7f\u2028x"
    assert main(["-j", "-t", "123456", name]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rolebar: profile ")
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in err[:-1]), repr(err)
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b\\x7f\\u2028x" in err


@pytest.mark.parametrize("error", [RolebarError, ConfigError])
def test_every_error_subject_and_cause_is_printable(error: type[RolebarError]) -> None:
    exc = error("profile a\nb\x1b", "cause\r\tc\x00")
    assert str(exc) == "profile a\\nb\\x1b: cause\\r\\tc\\x00"
    assert printable("plain, ünïcode ✓") == "plain, ünïcode ✓"
