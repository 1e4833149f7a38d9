"""Code sources and the never-twice guard."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from rolebar.core.cache import Cache
from rolebar.core.codes import (
    REUSED,
    WRONG,
    CodeChain,
    CodeRequest,
    CommandCode,
    GivenCode,
    Guard,
    TerminalPrompt,
    default_sources,
    six_digits,
)
from rolebar.core.errors import CodeReusedError, NoCodeError

REQUEST = CodeRequest("arn:aws:iam::000000000000:mfa/member", "project-dev")


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "token.py"
    path.write_text(body)
    return [sys.executable, str(path)]


@pytest.mark.parametrize(("text", "code"), [
    ("123456\n", "123456"), ("  654321  ", "654321"), ("12345", None), ("1234567", None),
    ("abcdef", None), ("123 456", None), ("", None), ("123456\n999999\n", None),
])
def test_six_digits(text: str, code: str | None) -> None:
    assert six_digits(text) == code


def test_command_code_trims_output(tmp_path: Path) -> None:
    assert CommandCode(script(tmp_path, "print(' 123456 ')")).get(REQUEST) == "123456"


@pytest.mark.parametrize("body", [
    "import sys; print('123456'); sys.exit(3)",  # fails
    "print('Enter your password:')",  # garbage
    "import time; time.sleep(30)",  # hangs
])
def test_failing_commands_pass_on_and_log_no_output(
        tmp_path: Path, body: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    assert CommandCode(script(tmp_path, body), timeout=1).get(REQUEST) is None
    assert "123456" not in caplog.text and "password" not in caplog.text
    assert "project-dev" in caplog.text


def test_missing_command_passes_on(tmp_path: Path) -> None:
    assert CommandCode([str(tmp_path / "nope")]).get(REQUEST) is None


def test_terminal_prompt_without_a_terminal_passes_on() -> None:
    # pytest runs us with a terminal or not; in CI there is none. Either way no stdout use.
    import os

    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
    except OSError:
        assert TerminalPrompt().get(REQUEST) is None
    else:
        pytest.skip("a controlling terminal exists; covered by the pty test in loopback")


def test_guard_refuses_a_code_twice_and_persists(home: Path) -> None:
    cache = Cache()
    assert Guard(cache).claim(REQUEST.device, "123456")
    assert not Guard(Cache()).claim(REQUEST.device, "123456")  # another process, same cache
    assert Guard(cache).claim("arn:aws:iam::000000000000:mfa/other", "123456")
    entry = next(cache.root.glob("guard-*.json"))
    assert "123456" not in entry.read_text()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.root.stat().st_mode) == 0o700


def test_guard_forgets_after_the_codes_can_no_longer_be_accepted(home: Path) -> None:
    now = [1000.0]
    guard = Guard(Cache(), clock=lambda: now[0])
    assert guard.claim(REQUEST.device, "123456")
    now[0] += 121
    assert guard.claim(REQUEST.device, "123456")


def test_given_code_reused_is_an_error(home: Path) -> None:
    chain = CodeChain([GivenCode("123456")], Guard(Cache()))
    assert chain.obtain(REQUEST)[0] == "123456"
    with pytest.raises(CodeReusedError) as caught:
        chain.obtain(REQUEST)
    assert str(caught.value).startswith("profile project-dev: that one-time code was already")


def test_command_repeating_a_code_waits_for_the_next_step(home: Path) -> None:
    now = [3000.0 + 10]  # 10 s into a 30 s step
    slept: list[float] = []

    class Repeating:
        name, on_repeat = "generate_token", "step"

        def get(self, request: CodeRequest) -> str:
            return "111111" if now[0] < 3030 else "222222"

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    chain = CodeChain([Repeating()], Guard(Cache(), lambda: now[0]), sleep, lambda: now[0])
    assert chain.obtain(REQUEST)[0] == "111111"
    assert chain.obtain(REQUEST)[0] == "222222"
    assert slept == [20.5]


def test_no_source_left_is_one_line(home: Path) -> None:
    chain = CodeChain([CommandCode([sys.executable, "-c", "pass"])], Guard(Cache()))
    with pytest.raises(NoCodeError) as caught:
        chain.obtain(REQUEST)
    assert str(caught.value) == (
        "profile project-dev: no one-time code for arn:aws:iam::000000000000:mfa/member "
        "(tried generate_token)")


def test_a_hung_command_with_a_grandchild_holding_stdout_times_out_promptly(
        tmp_path: Path) -> None:
    import time

    body = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    started = time.monotonic()
    assert CommandCode(script(tmp_path, body), timeout=1).get(REQUEST) is None
    assert time.monotonic() - started < 10


def test_only_ascii_digits_make_a_code() -> None:
    assert six_digits("١٢٣٤٥٦") is None  # Arabic-Indic digits match \d, not a code


# -- what the log and the prompts say -------------------------------------------------------


def test_a_request_asked_again_says_why() -> None:
    assert REQUEST.message == ("One-time code for arn:aws:iam::000000000000:mfa/member "
                               "(profile project-dev)")
    for reason, why in [(REUSED, "That code was already used; wait for the next one. "),
                        (WRONG, "That code was wrong. ")]:
        again = CodeRequest(REQUEST.device, REQUEST.profile, reason)
        assert again.message == why + REQUEST.message


@pytest.mark.parametrize(("given_from", "logged"), [
    ((), "code from -t"), (("the prompt",), "code from the prompt"),
])
def test_the_log_names_where_a_given_code_came_from(
    home: Path, caplog: pytest.LogCaptureFixture, given_from: tuple[str, ...], logged: str,
) -> None:
    caplog.set_level("INFO", logger="rolebar")
    sources = default_sources("123456", None, (), False, *given_from)
    code, source = CodeChain(sources, Guard(Cache())).obtain(REQUEST)
    assert code == "123456" and source.on_repeat == "never"
    assert [r.getMessage() for r in caplog.records] == [f"mfa {REQUEST.device}: {logged}"]
    assert GivenCode("123456").name == "-t"


def test_guard_tells_whether_a_code_was_used_without_claiming_it(home: Path) -> None:
    now = [1000.0]
    guard = Guard(Cache(), clock=lambda: now[0])
    assert not guard.was_used(REQUEST.device, "123456")
    assert not guard.was_used(REQUEST.device, "123456")  # asking claims nothing
    assert guard.claim(REQUEST.device, "123456")
    assert guard.was_used(REQUEST.device, "123456")
    assert not guard.was_used(REQUEST.device, "654321")
    assert not guard.was_used("arn:aws:iam::000000000000:mfa/other", "123456")
    now[0] += 121
    assert not guard.was_used(REQUEST.device, "123456")
