"""Hostile code commands and odd inputs: bounded output, an inescapable timeout, one-line
configuration errors (issue 9 items 1, 2 and 7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from rolebar.core.bounded import MAX_OUTPUT, run_bounded
from rolebar.core.cache import Cache, entry_name
from rolebar.core.codes import CodeRequest, CommandCode, Guard, command_timeout, given_code
from rolebar.core.errors import ConfigError

T = TypeVar("T")
REQUEST = CodeRequest("arn:aws:iam::000000000000:mfa/member", "project-dev")
MB = 1024  # VmHWM is in KiB


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "token.py"
    path.write_text(body)
    return [sys.executable, str(path)]


# Each runs CommandCode in a fresh interpreter and prints its result and peak RSS. The
# address-space limit only keeps a regression from taking the test machine down with it.
PROBE = """\
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from rolebar.core.codes import CommandCode
result = CommandCode(json.loads(sys.argv[1]), timeout=float(sys.argv[2])).attempt()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so it would report the
# pytest worker's own peak; VmHWM belongs to this process's memory map alone.
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0])
print(json.dumps([result.code, result.failure, peak]))
"""

FLOODS = {
    "stdout": ["yes", "123456"],
    "stderr": [sys.executable, "-c",
               "import sys\nwhile True: sys.stderr.write('Enter password:\\n')"],
    "stdout-no-newline": [sys.executable, "-c",
                          "import sys\nwhile True: sys.stdout.write('1' * 65536)"],
}


@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_a_flooding_command_keeps_memory_small(flood: str) -> None:
    """`yes 123456` reached 2.3 GB at a 2 s timeout; now a few KiB are read at most."""
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(FLOODS[flood]), "3"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    code, failure, peak = json.loads(done.stdout)
    assert code is None
    assert failure == ("timeout" if flood == "stderr" else "garbage")
    assert peak < 100 * MB, f"peak RSS {peak // MB} MB"


def test_output_beyond_the_limit_is_not_kept(tmp_path: Path) -> None:
    done = run_bounded(script(tmp_path, f"print('7' * {MAX_OUTPUT * 4})"), 30)
    assert done.overflow and len(done.stdout) == MAX_OUTPUT


def test_a_code_after_a_little_noise_on_stderr_still_counts(tmp_path: Path) -> None:
    body = "import sys; sys.stderr.write('unlocking...\\n' * 1000); print('123456')"
    assert CommandCode(script(tmp_path, body), timeout=30).get(REQUEST) == "123456"


@pytest.fixture
def detached(tmp_path: Path) -> Iterator[Path]:
    """Where a command writes the pid of the child it detached; that child is ended after."""
    pid_file = tmp_path / "detached.pid"
    yield pid_file
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


def detaching(pid_file: Path, then: str) -> str:
    """A command whose child leaves its session (`setsid`) holding stdout, then `then`."""
    return ("import subprocess, sys, time\n"
            "child = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n" + then)


def within(seconds: float, call: Callable[[], T]) -> T:
    """Run `call` on a thread; fail if it has not returned by the deadline."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return result[0]


def test_a_hung_command_whose_child_detached_times_out(tmp_path: Path, detached: Path) -> None:
    """Before: after the timeout the pipe was read again with no limit, for as long as the
    detached child lived (45 s with a 3 s timeout)."""
    command = CommandCode(script(tmp_path, detaching(detached, "time.sleep(300)")), timeout=2)
    assert within(60, lambda: command.get(REQUEST)) is None
    assert detached.exists()


def test_a_command_that_prints_and_exits_past_a_detached_child_gives_its_code(
        tmp_path: Path, detached: Path) -> None:
    """Its own exit ends the wait: the detached agent may hold stdout for hours."""
    command = CommandCode(script(tmp_path, detaching(detached, "print('123456')")),
                          timeout=120)
    assert within(60, lambda: command.get(REQUEST)) == "123456"


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "-1", "0", "abc", "1e400"])
def test_a_token_timeout_that_is_not_a_positive_number_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        command_timeout({"ROLEBAR_TOKEN_TIMEOUT": raw})
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"ROLEBAR_TOKEN_TIMEOUT: must be a number of seconds, not {raw!r}"


def test_a_token_timeout_in_seconds_is_taken() -> None:
    assert command_timeout({"ROLEBAR_TOKEN_TIMEOUT": "2.5"}) == 2.5
    assert command_timeout({}) == 120


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12345a", "١٢٣٤٥٦",
                                  "１２３４５６", "123 456", "123456\n999999"])
def test_a_given_code_must_be_six_ascii_digits(code: str) -> None:
    with pytest.raises(ConfigError) as caught:
        given_code("project-dev", code)
    assert str(caught.value) == "profile project-dev: a one-time code is 6 digits"
    assert code.strip() == "" or code not in str(caught.value)


def test_a_given_code_is_trimmed() -> None:
    assert given_code("p", " 123456\n") == "123456"
    assert given_code("p", None) is None


@pytest.mark.parametrize("entry", [
    [], "used", {"used": 5}, {"used": [1, 2]}, {"used": [["a", "b"]]}, {"used": [["a"]]},
    {"used": [[1, 2]]}, {"used": [["a", True]]}, {"used": None}, {"used": {"a": 1}},
], ids=repr)
def test_a_guard_file_of_another_shape_counts_as_empty_and_is_rewritten(
        home: Path, entry: object, caplog: pytest.LogCaptureFixture) -> None:
    cache = Cache()
    name = entry_name("guard", device=REQUEST.device)
    cache.path(name).parent.mkdir(parents=True, exist_ok=True)
    cache.path(name).write_text(json.dumps(entry))
    guard = Guard(cache)
    assert guard.claim(REQUEST.device, "123456")
    assert not guard.claim(REQUEST.device, "123456")  # rewritten: it remembers again
    assert guard.claim(REQUEST.device, "654321")
    assert caplog.text.count("unexpected shape") == (1 if isinstance(entry, dict) else 0)
    used = json.loads(cache.path(name).read_text())["used"]
    assert len(used) == 2


def test_a_guard_file_that_is_not_json_counts_as_empty(home: Path) -> None:
    cache = Cache()
    name = entry_name("guard", device=REQUEST.device)
    cache.path(name).parent.mkdir(parents=True, exist_ok=True)
    cache.path(name).write_text("{not json")
    assert Guard(cache).claim(REQUEST.device, "123456")
    assert not Guard(cache).claim(REQUEST.device, "123456")
