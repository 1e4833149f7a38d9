"""Hostile `generate_token` commands and odd inputs, through the real `rolebar` (issue 9
items 1, 2 and 7): bounded memory, an inescapable timeout, and one `rolebar:` line with
exit 2 for a configuration error found before any code is claimed or sent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolebar.core import paths
from rolebar.core.cache import Cache, entry_name
from tests.faults.helpers import answer, assert_one_line
from tests.loopback.clients.harness import Keep, fresh_keys, identity, wait_for
from tests.loopback.conftest import DEV_ROLE, OPS_ROLE, ROLEBAR, Aws

MB = 1024  # ru_maxrss is in KiB on Linux

# Runs rolebar and prints its exit status, stderr and peak RSS (its own and its waited-for
# children's). The address-space limit only keeps a regression from taking the machine down.
PEAK = """\
import json, resource, subprocess, sys
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, preexec_fn=limit,
                      stdin=subprocess.DEVNULL, timeout=120)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps([done.returncode, done.stdout, done.stderr, peak]))
"""


def use_token_command(aws: Aws, command: str) -> None:
    aws.config.write_text(aws.config.read_text().replace(aws.token_command, command))


def with_peak(aws: Aws, *args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str],
                                                                   int]:
    probe = subprocess.run([sys.executable, "-c", PEAK, ROLEBAR, *args],
                           env={**aws.env, **env}, capture_output=True, text=True, timeout=180,
                           check=True)
    code, out, err, peak = json.loads(probe.stdout)
    return subprocess.CompletedProcess(args, code, out, err), peak


FLOODS = {
    "stdout": "import sys\nwhile True: sys.stdout.write('123456\\n')\n",
    "stderr": "import sys\nwhile True: sys.stderr.write('Enter password:\\n')\n",
}


@pytest.mark.parametrize("flood", ["yes", *FLOODS])
def test_a_flooding_generate_token_costs_no_memory(aws: Aws, flood: str) -> None:
    """It reached 2.3 GB at a 2 s timeout and 6 GB at 5 s; now a few KiB are read."""
    script = aws.home / "flood.py"
    script.write_text(FLOODS.get(flood, ""))
    use_token_command(aws, "yes 123456" if flood == "yes" else f"{sys.executable} {script}")
    done, peak = with_peak(aws, "process", "project-dev", env={"ROLEBAR_TOKEN_TIMEOUT": "3"})
    assert_one_line(done, 1, "no one-time code for")
    assert "123456" not in done.stderr and "password" not in done.stderr
    assert peak < 150 * MB, f"peak RSS {peak // MB} MB"
    assert aws.double.calls == []


@pytest.fixture
def detached(aws: Aws) -> Iterator[Path]:
    """The pid file of the child a hostile command detaches; that child is ended after."""
    pid_file = aws.home / "detached.pid"
    yield pid_file
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


def detaching_command(aws: Aws, pid_file: Path, then: str) -> str:
    script = aws.home / "detaching.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n" + then)
    return f"{sys.executable} {script}"


def test_a_hung_generate_token_with_a_detached_child_keeps_to_the_timeout(
        aws: Aws, detached: Path) -> None:
    """Seen: back after 45 s with a 3 s timeout. Now the run ends well before the test's
    own deadline (the detached child lives 300 s)."""
    use_token_command(aws, detaching_command(aws, detached, "time.sleep(300)"))
    done = aws.run("process", "project-dev", env={"ROLEBAR_TOKEN_TIMEOUT": "3"}, timeout=60)
    assert_one_line(done, 1, f"no one-time code for {aws.user.mfa_serial} (tried generate_token)")
    assert detached.exists()


def test_a_generate_token_that_leaves_a_detached_agent_gives_its_code(
        aws: Aws, detached: Path) -> None:
    """Password managers start an agent that outlives them: their exit ends the wait."""
    script = aws.home / ".totp-secret"
    then = ("from rolebar.core.stsdouble import totp\n"
            f"print(totp(open({str(script)!r}).read().strip()))\n")
    use_token_command(aws, detaching_command(aws, detached, then))
    answer(aws.run("process", "project-dev", timeout=60))
    assert aws.double.counts["GetSessionToken"] == 1


@pytest.mark.parametrize("raw", ["nan", "inf", "-5", "0"])
def test_a_token_timeout_that_is_no_number_of_seconds_is_one_line_exit_2(
        aws: Aws, raw: str) -> None:
    done = aws.run("process", "project-dev", env={"ROLEBAR_TOKEN_TIMEOUT": raw})
    line = assert_one_line(done, 2)
    assert line == f"rolebar: ROLEBAR_TOKEN_TIMEOUT: must be a number of seconds, not {raw!r}"
    assert aws.double.calls == []


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 345"],
                         ids=["empty", "five", "seven", "letters", "arabic-indic", "space"])
@pytest.mark.parametrize("command", [["-j"], ["assume", "-o"], ["exec"]],
                         ids=["swrole", "assume", "exec"])
def test_a_given_code_that_is_not_six_digits_never_reaches_sts(
        aws: Aws, code: str, command: list[str]) -> None:
    aws.write_config(generate_token=False)
    tail = ["--", "true"] if command == ["exec"] else []
    done = aws.run(*command, "-t", code, "project-dev", *tail)
    line = assert_one_line(done, 2)
    assert line == "rolebar: profile project-dev: a one-time code is 6 digits"
    assert aws.double.calls == [] and aws.double.codes_seen == {}


def test_a_given_code_is_checked_even_when_the_cache_would_answer(aws: Aws) -> None:
    aws.write_config(generate_token=False)
    assert aws.run("-j", "-t", aws.code(), "project-dev").returncode == 0
    assert_one_line(aws.run("-j", "-t", "12345", "project-dev"), 2, "a one-time code is 6")


def test_an_invalid_region_is_a_config_error_before_any_code(aws: Aws) -> None:
    """It was exit 1 after a code was claimed (and so spent)."""
    marker = aws.home / "token-ran"
    script = aws.home / "marking.py"
    script.write_text(f"open({str(marker)!r}, 'w').close(); print('123456')\n")
    use_token_command(aws, f"{sys.executable} {script}")
    aws.config.write_text(aws.config.read_text().replace(
        "region = ap-northeast-1\n", "region = not a region!\n"))
    done = aws.run("process", "project-dev")
    line = assert_one_line(done, 2)
    assert line == "rolebar: profile project-dev: invalid region 'not a region!'"
    assert not marker.exists(), "generate_token ran"
    assert not list(Cache().root.glob("guard-*")), "a code was claimed"
    assert aws.double.calls == []


def test_an_invalid_region_from_the_environment_is_a_config_error(aws: Aws) -> None:
    aws.config.write_text(aws.config.read_text().replace("region = ap-northeast-1\n", ""))
    done = aws.run("process", "project-ops", env={"AWS_DEFAULT_REGION": "bad/region"})
    assert_one_line(done, 2, "invalid region 'bad/region'")
    assert aws.double.calls == []


@pytest.mark.parametrize("content", ['{"used": 5}', '{"used": [["x"]]}', '[1, 2]', "garbage"],
                         ids=["number", "short-pair", "list", "not-json"])
def test_a_guard_file_of_the_wrong_shape_does_not_block_codes(aws: Aws, content: str) -> None:
    """It ended in `internal error` for every code-needing call until removed by hand."""
    cache = Cache()
    paths.private_dir(cache.root)
    guard = cache.path(entry_name("guard", device=str(aws.user.mfa_serial)))
    guard.write_text(content)
    guard.chmod(0o600)
    answer(aws.run("process", "project-dev"))
    assert len(json.loads(guard.read_text())["used"]) == 1, "the guard was not rewritten"


def test_keep_writes_other_sections_while_one_generate_token_hangs(
        aws: Aws, detached: Path) -> None:
    """Seen: `rolebar keep` wrote no section at all while one profile's generate_token
    hung, also for profiles whose command works. The hung one comes first here."""
    other = aws.double.add_user("other", account="000000000000")
    other_secret = aws.home / ".totp-other"
    other_secret.write_text(str(other.totp_secret))
    other_secret.chmod(0o600)
    hung = detaching_command(aws, detached, "time.sleep(300)")
    aws.write_config(generate_token=False, extra=f"""
[profile hung]
role_arn = {OPS_ROLE}
mfa_serial = {aws.user.mfa_serial}
source_profile = my-company
generate_token = {hung}

[profile other-dev]
role_arn = {DEV_ROLE}
mfa_serial = {other.mfa_serial}
source_profile = other-src
generate_token = {sys.executable} {aws.home / "otp_code.py"} {other_secret}
""")
    with aws.credentials.open("a") as f:
        f.write(f"\n[other-src]\naws_access_key_id = {other.access_key_id}\n"
                f"aws_secret_access_key = {other.secret_access_key}\n")
    for profile, name in [("hung", "a-hung"), ("other-dev", "b-other")]:
        assert aws.run("select", profile, "--section", name, "--style", "keys").returncode == 0
    with Keep(aws, "keep", env={"ROLEBAR_TOKEN_TIMEOUT": "100"}) as keep:
        keys = wait_for(lambda: fresh_keys(aws, "b-other"), 60, what="[b-other]")
        assert "assumed-role/developer/" in identity(keys)
        assert detached.exists(), "the hung generate_token never ran"
        status = json.loads(aws.run("status", "--json").stdout)
        health = {s["name"]: s["health"] for s in status["sections"]}
        assert health == {"a-hung": "refreshing", "b-other": "fresh"}
        assert fresh_keys(aws, "a-hung") is None
        assert keep.stop() == 0
    assert list(aws.double.codes_seen) == [str(other.mfa_serial)]  # none for the hung one
