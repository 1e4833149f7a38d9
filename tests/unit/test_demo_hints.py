"""What `rolebar demo` tells a person: a code its prompt will take, and commands that run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rolebar.core import demo
from rolebar.core.cache import Cache
from rolebar.core.codes import Guard
from rolebar.core.commands import demo as demo_command
from rolebar.core.stsdouble import totp

SECRET = "JBSWY3DPEHPK3PXP"
DEVICE = "arn:aws:iam::000000000000:mfa/member"
NOW = 1_800_000_010.0  # 10 s into a step


@pytest.fixture
def pointer(tmp_path: Path) -> Path:
    """A running demo as `--code` finds it: the pointer, the double's state, its cache."""
    state = tmp_path / "double.json"
    state.write_text(json.dumps({"user": {"totp_secret": SECRET, "mfa_serial": DEVICE}}))
    folder = tmp_path / "demo-run"
    folder.mkdir()
    (folder / demo.POINTER).write_text(json.dumps(
        {"state": str(state), "cache": str(tmp_path / "cache"), "pid": 1}))
    return folder


def used(tmp_path: Path, *codes: str) -> None:
    guard = Guard(Cache(tmp_path / "cache"), clock=lambda: NOW)
    for code in codes:
        assert guard.claim(DEVICE, code)


def test_the_current_code_while_the_demo_has_not_used_it(pointer: Path) -> None:
    assert demo.current_code(pointer, clock=lambda: NOW) == (totp(SECRET, NOW), 0)


def test_the_next_code_once_the_demo_used_the_current_one(pointer: Path, tmp_path: Path
                                                          ) -> None:
    used(tmp_path, totp(SECRET, NOW))
    assert demo.current_code(pointer, clock=lambda: NOW) == (totp(SECRET, NOW + 30), 20)


def test_none_while_the_current_and_the_next_were_both_used(pointer: Path, tmp_path: Path
                                                            ) -> None:
    used(tmp_path, totp(SECRET, NOW), totp(SECRET, NOW + 30))
    assert demo.current_code(pointer, clock=lambda: NOW) is None


def test_code_waits_for_the_next_step_when_both_were_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    answers: list[tuple[str, int] | None] = [None, ("123456", 0)]
    slept: list[float] = []
    monkeypatch.setattr(demo, "current_code", lambda: answers.pop(0))
    monkeypatch.setattr(demo_command.time, "sleep", slept.append)
    assert demo_command.print_code() == 0
    out, err = capsys.readouterr()
    assert out == "123456\n" and len(slept) == 1 and 0 < slept[0] <= 30.5
    assert err.startswith("rolebar: demo: the current and the next code were already used; "
                          "waiting ")


def test_a_program_off_path_is_named_by_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """`bash scripts/setup` leaves .venv/bin off PATH: a bare `rolebar` would not run."""
    venv_bin = Path(sys.executable).parent
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert demo.how_to_run("rolebar") == str((venv_bin / "rolebar").absolute())
    monkeypatch.setenv("PATH", f"{venv_bin}:/usr/bin:/bin")
    assert demo.how_to_run("rolebar") == "rolebar"
    assert demo.how_to_run("no-such-program-anywhere") is None


def test_without_the_aws_cli_the_try_line_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setattr(demo, "how_to_run", lambda name: "/v/bin/pip" if name == "pip" else None)
    running = demo.Demo(demo.DemoHome(tmp_path), temporary=False)
    assert running.try_line() == ("install the AWS CLI first (/v/bin/pip install awscli), "
                                  "then run it again")
