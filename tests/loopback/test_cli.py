"""swrole parity and the engine's promises, through the real `rolebar` command and real
clients (boto3 as a credential_process client, the AWS CLI) against the strict STS double."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from rolebar.core.stsdouble import totp

from .conftest import PLAIN_ROLE, ROLEBAR, VENV_BIN, Aws, assert_no_secret


def caller_arn(creds: dict[str, str], endpoint: str) -> str:
    sts = boto3.client(
        "sts", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    return str(sts.get_caller_identity()["Arn"])


def test_swrole_form_with_a_code_prints_credential_process_json(aws: Aws) -> None:
    aws.write_config(generate_token=False)
    done = aws.run("-t", aws.code(), "-j", "project-dev")
    assert (done.returncode, done.stderr) == (0, "")
    answer = json.loads(done.stdout)
    assert sorted(answer) == ["AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken",
                              "Version"]
    assert answer["Version"] == 1 and answer["Expiration"].endswith("Z")
    assert caller_arn(answer, aws.double.endpoint).startswith(
        "arn:aws:sts::111111111111:assumed-role/developer/")
    assert aws.double.counts["GetSessionToken"] == 1
    assert aws.double.counts["AssumeRole"] == 1


def test_generate_token_supplies_the_code_and_the_cache_answers_next(aws: Aws) -> None:
    first = aws.run("-j", "project-dev")
    assert first.returncode == 0, first.stderr
    second = aws.run("process", "project-dev")
    assert json.loads(second.stdout) == json.loads(first.stdout)
    # A second role behind the same device needs no new code: the MFA session serves it.
    third = aws.run("assume", "-j", "project-ops")
    assert third.returncode == 0, third.stderr
    assert aws.double.counts["GetSessionToken"] == 1
    assert aws.double.counts["AssumeRole"] == 2
    assert len(aws.double.codes_seen[str(aws.user.mfa_serial)]) == 1


def test_export_lines_work_in_a_shell_with_the_aws_cli(aws: Aws) -> None:
    done = aws.run("-o", "project-dev")
    assert done.returncode == 0, done.stderr
    keys = [line.split("=", 1)[0] for line in done.stdout.splitlines()]
    assert keys == ["export AWS_ACCESS_KEY_ID", "export AWS_SECRET_ACCESS_KEY",
                    "export AWS_SESSION_TOKEN", "export AWS_CREDENTIAL_EXPIRATION",
                    "export AWS_REGION", "export AWS_DEFAULT_REGION"]
    script = done.stdout + f"\n{VENV_BIN}/aws sts get-caller-identity --output json\n"
    # The script goes in on stdin: in argv the secrets would show in /proc/*/cmdline.
    shell = subprocess.run(["bash", "-s"], input=script, env=aws.env,
                           capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0, shell.stderr
    assert "assumed-role/developer" in json.loads(shell.stdout)["Arn"]


def test_shell_form_starts_shell_with_credentials_and_without_stale_profile(aws: Aws) -> None:
    script = ('echo "profile=${AWS_PROFILE:-unset} key=$(echo $AWS_ACCESS_KEY_ID | cut -c1-4)'
              ' region=$AWS_REGION"\nexit 7\n')
    done = aws.run("project-dev", env={"SHELL": "/bin/sh", "AWS_PROFILE": "stale"}, input=script)
    assert done.returncode == 7
    assert done.stdout.strip() == "profile=unset key=ASIA region=ap-northeast-1"


def test_exec_runs_a_command_with_credentials(aws: Aws) -> None:
    probe = "import os; print(os.environ['AWS_ACCESS_KEY_ID'][:4], 'AWS_PROFILE' in os.environ)"
    done = aws.run("exec", "project-dev", "--", sys.executable, "-c", probe,
                   env={"AWS_PROFILE": "stale"})
    assert (done.returncode, done.stdout) == (0, "ASIA False\n")


def test_credential_process_with_botocore_and_the_aws_cli(aws: Aws) -> None:
    aws.config.write_text(aws.config.read_text() + (
        f"\n[profile via-rolebar]\ncredential_process = {ROLEBAR} process project-dev\n"))
    session = boto3.Session(profile_name="via-rolebar")
    identity = session.client("sts", endpoint_url=aws.double.endpoint).get_caller_identity()
    assert "assumed-role/developer" in identity["Arn"]
    cli = subprocess.run([str(VENV_BIN / "aws"), "sts", "get-caller-identity", "--profile",
                          "via-rolebar", "--output", "json"], env=aws.env, capture_output=True,
                         text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert "assumed-role/developer" in json.loads(cli.stdout)["Arn"]
    assert aws.double.counts["AssumeRole"] == 1  # the CLI's call was a cache hit


def test_rolebar_ignores_aws_profile_and_env_keys_for_its_own_calls(aws: Aws) -> None:
    done = aws.run("-j", "project-dev", env={
        "AWS_PROFILE": "tray-managed", "AWS_ACCESS_KEY_ID": "AKIABOGUSBOGUSBOGUS1",
        "AWS_SECRET_ACCESS_KEY": "bogus", "AWS_SESSION_TOKEN": "bogus"})
    assert done.returncode == 0, done.stderr


def test_roles_without_mfa_need_no_code(aws: Aws) -> None:
    aws.write_config(generate_token=False)
    done = aws.run("-j", "readonly")
    assert done.returncode == 0, done.stderr
    assert aws.double.counts["GetSessionToken"] == 0


def test_fifty_simultaneous_cold_calls_make_one_session_and_one_role_call(aws: Aws) -> None:
    def call(_: int) -> subprocess.CompletedProcess[str]:
        return aws.run("process", "project-dev", timeout=240)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(call, range(50)))
    assert [r.returncode for r in results] == [0] * 50, [r.stderr for r in results if r.stderr]
    assert len({json.loads(r.stdout)["AccessKeyId"] for r in results}) == 1
    assert aws.double.counts["GetSessionToken"] == 1
    assert aws.double.counts["AssumeRole"] == 1


def test_wrong_code_is_one_line_and_writes_nothing(aws: Aws) -> None:
    aws.write_config(generate_token=False)
    wrong = f"{(int(aws.code()) + 500000) % 1000000:06d}"
    done = aws.run("-t", wrong, "-j", "project-dev")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == ("rolebar: profile project-dev: STS rejected the one-time code "
                           "(wrong or already used)\n")
    assert not list((aws.home / ".cache" / "rolebar").glob("role-*"))


def test_reused_given_code_is_refused_before_sts(aws: Aws) -> None:
    aws.write_config(generate_token=False)
    code = aws.code()
    assert aws.run("-t", code, "-j", "project-dev").returncode == 0
    assert aws.run("forget").returncode == 0
    done = aws.run("-t", code, "-j", "project-ops")
    assert done.returncode == 1
    assert done.stderr == ("rolebar: profile project-ops: that one-time code was already used;"
                           " wait for the next one\n")
    assert aws.double.codes_seen[str(aws.user.mfa_serial)] == [code]


def test_a_wrong_generated_code_is_retried_once_with_the_next(aws: Aws, home: Path) -> None:
    script = home / "flaky.py"
    marker = home / "flaky-ran"
    script.write_text(
        "import os, sys\nfrom rolebar.core.stsdouble import totp\n"
        f"if not os.path.exists({str(marker)!r}):\n"
        f"    open({str(marker)!r}, 'w').close(); print('000000')\n"
        f"else:\n    print(totp(open({str(home / '.totp-secret')!r}).read().strip()))\n")
    aws.config.write_text(aws.config.read_text().replace(aws.token_command,
                                                         f"{sys.executable} {script}"))
    done = aws.run("-j", "project-dev")
    assert done.returncode == 0, done.stderr
    assert aws.double.codes_seen[str(aws.user.mfa_serial)][0] == "000000"


@pytest.mark.slow
def test_same_code_twice_in_one_step_waits_for_the_next_step(aws: Aws) -> None:
    # Make sure both calls fall in one 30-second step, with room for the first to finish.
    while time.time() % 30 > 15:
        time.sleep(0.5)
    assert aws.run("-j", "project-dev").returncode == 0
    assert aws.run("forget").returncode == 0
    started = time.time()
    done = aws.run("-j", "project-ops", timeout=120)
    assert done.returncode == 0, done.stderr
    assert time.time() - started > 5  # it waited for the next step
    seen = aws.double.codes_seen[str(aws.user.mfa_serial)]
    assert len(seen) == 2 and seen[0] != seen[1]


@pytest.mark.parametrize(("body", "timeout"), [
    ("import sys; sys.exit(1)", "30"),
    ("import time; time.sleep(60)", "2"),
    ("print('Enter the password for my.1password.com:')", "30"),
], ids=["fails", "hangs", "garbage"])
def test_generate_token_failures_end_in_one_line(aws: Aws, home: Path, body: str,
                                                 timeout: str) -> None:
    script = home / "bad.py"
    script.write_text(body)
    aws.config.write_text(aws.config.read_text().replace(aws.token_command,
                                                         f"{sys.executable} {script}"))
    done = aws.run("process", "project-dev", env={"ROLEBAR_TOKEN_TIMEOUT": timeout})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (f"rolebar: profile project-dev: no one-time code for "
                           f"{aws.user.mfa_serial} (tried generate_token)\n")
    assert aws.double.counts["GetSessionToken"] == 0


def test_unreachable_sts_is_one_line(aws: Aws) -> None:
    aws.double.stop()
    done = aws.run("process", "project-dev")
    assert done.returncode == 1
    assert done.stderr.startswith("rolebar: profile project-dev: cannot reach STS (http://127.")
    assert done.stderr.count("\n") == 1


def test_terminal_prompt_reads_and_writes_the_tty_never_stdout(aws: Aws) -> None:
    import fcntl
    import pty
    import termios

    aws.write_config(generate_token=False)
    master, slave = pty.openpty()

    def controlling_tty() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([ROLEBAR, "-j", "project-dev"], env=aws.env, stdin=slave,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=controlling_tty, pass_fds=(slave,))
    os.close(slave)
    seen = b""
    deadline = time.time() + 30
    while b"One-time code for" not in seen and time.time() < deadline:
        seen += os.read(master, 1024)
    assert b"(profile project-dev)" in seen
    os.write(master, (totp(str(aws.user.totp_secret)) + "\n").encode())
    out, err = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, err
    assert json.loads(out)["Version"] == 1  # stdout holds the JSON and nothing else
    assert_no_secret(err.decode(), aws.secrets())


@pytest.mark.parametrize(("extra", "args", "line"), [
    ("", ["process", "ghost"], "rolebar: profile ghost: not found in "),
    ("[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\nsource_profile = b\n"
     "[profile b]\nrole_arn = arn:aws:iam::111111111111:role/b\nsource_profile = a\n",
     ["-j", "a"], "rolebar: profile a: source_profile cycle: a -> b -> a"),
    ("[profile x]\nrole_arn = nope\nsource_profile = my-company\n", ["-j", "x"],
     "rolebar: profile x: malformed role_arn 'nope'"),
    ("[profile y\n", ["-j", "y"], "rolebar: "),
    ("", ["assume", "-j", "-o", "project-dev"], "rolebar: usage: argument -o/--export: not "),
], ids=["missing", "cycle", "arn", "malformed", "usage"])
def test_configuration_and_usage_errors_exit_2_with_one_line(aws: Aws, extra: str,
                                                             args: list[str], line: str) -> None:
    aws.write_config(extra=extra)
    done = aws.run(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert aws.double.counts["AssumeRole"] == 0


def test_subcommands_win_but_assume_reaches_a_profile_named_like_one(aws: Aws) -> None:
    aws.write_config(extra=f"\n[profile status]\nrole_arn = {PLAIN_ROLE}\n"
                           "source_profile = my-company\n")
    assert aws.run("status").stdout.startswith("engine: none running")
    done = aws.run("assume", "-j", "status")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Version"] == 1


def test_profiles_status_forget_version(aws: Aws) -> None:
    listed = json.loads(aws.run("profiles", "--json").stdout)
    assert [p["name"] for p in listed] == ["project-dev", "project-ops", "readonly"]
    assert aws.run("process", "project-dev").returncode == 0
    status = json.loads(aws.run("status", "--json").stdout)
    dev = next(p for p in status["profiles"] if p["profile"] == "project-dev")
    assert dev["expires"] > time.time() and dev["session_expires"] > time.time()
    assert aws.run("forget", "project-dev").stdout == "forgot 2 cached entries\n"
    assert aws.run("--version").stdout.startswith("rolebar ")
    assert "assume" in aws.run("--help").stdout


def test_a_session_sts_no_longer_accepts_is_renewed_once(aws: Aws) -> None:
    aws.double.session_lifetime = 2
    assert aws.run("process", "project-dev").returncode == 0
    # STS ends the session before the cache expects it to (revoked, or a clock that was off).
    cache = aws.home / ".cache" / "rolebar"
    for entry in cache.glob("session-*.json"):
        data = json.loads(entry.read_text())
        entry.write_text(json.dumps({**data, "expires": time.time() + 3600}))
    for entry in cache.glob("role-*"):
        entry.unlink()
    time.sleep(3)
    done = aws.run("process", "project-dev")
    assert done.returncode == 0, done.stderr
    assert aws.double.counts["GetSessionToken"] == 2
