"""`rolebar console` against the double's federation endpoint: an MFA role's console URL
printed (`--print`) or handed to `$BROWSER`, checked by signing in with it; GetSessionToken
credentials and long-term keys never sent there."""

from __future__ import annotations

import os
import socket
import stat
import textwrap
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.leaks.plugin import FINDINGS
from tests.loopback.clients.awsdouble import visit
from tests.loopback.conftest import DEV_ROLE, PLAIN_ROLE, Aws

REGIONAL = "https://ap-northeast-1.console.aws.amazon.com/console/home?region=ap-northeast-1"

RECORDER = """\
#!/bin/sh
# A browser that records the URL it was asked to open.
printf '%s' "$1" > "$(dirname "$0")/opened"
"""


@pytest.fixture
def signin(aws: Aws) -> Aws:
    aws.env["AWS_ENDPOINT_URL_SIGNIN"] = aws.double.endpoint
    return aws


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sign_in_with(url: str) -> str:
    status, page, _ = visit(url)
    assert status == 200, page
    return page


def federation_calls(aws: Aws) -> list[str]:
    return [c.code for c in aws.double.calls if c.action == "getSigninToken"]


def test_print_gives_a_login_url_for_the_mfa_role(signin: Aws) -> None:
    done = signin.run("console", "project-dev", "--print")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    [url] = done.stdout.splitlines()
    assert url.startswith(f"{signin.double.endpoint}/federation?")
    fields = query(url)
    assert (fields["Action"], fields["Issuer"], fields["Destination"]) == (
        "login", "rolebar", REGIONAL)
    assert "would open" in sign_in_with(url)
    [login] = signin.double.services.federation.logins
    assert (login.role_arn, login.region, login.destination) == (
        DEV_ROLE, "ap-northeast-1", REGIONAL)
    assert 900 <= login.session_duration <= 3600
    # One MFA session, one role, one sign-in token: the session's credentials never went
    # to the federation endpoint (it would have refused them, and said so in its record).
    counts = signin.double.counts
    assert (counts["GetSessionToken"], counts["AssumeRole"], counts["getSigninToken"]) == (
        1, 1, 1)
    assert federation_calls(signin) == ["OK"]
    # A second console reuses the cached role credentials: no new code, no new session.
    again = signin.run("console", "project-dev", "--print", "--region", "eu-west-1")
    assert again.returncode == 0, again.stderr
    assert query(again.stdout.strip())["Destination"] == (
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1")
    assert signin.double.counts["GetSessionToken"] == 1
    assert len(signin.double.codes_seen[str(signin.user.mfa_serial)]) == 1


def test_the_browser_gets_the_url_and_nothing_is_printed(signin: Aws) -> None:
    browser = signin.home / "browser" / "record"
    browser.parent.mkdir()
    browser.write_text(RECORDER)
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    page = "https://ap-northeast-1.console.aws.amazon.com/ec2/home"
    done = signin.run("console", "project-dev", "--destination", page,
                      env={"BROWSER": str(browser)})
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    url = (browser.parent / "opened").read_text()
    assert query(url)["Destination"] == page
    assert "would open" in sign_in_with(url)
    assert signin.double.services.federation.logins[0].destination == page
    forgive_browser_argv(browser)


def forgive_browser_argv(browser: Path) -> None:
    """A browser is started with the URL it opens in its argv: that one is by design.

    Every other process's argv is still checked by the leak hunt at teardown."""
    time.sleep(0.3)  # the browser has exited (webbrowser waits); let a sweep finish
    cmdlines, stderr = FINDINGS.take()
    for raw in cmdlines:
        if os.fsencode(browser) not in raw:
            FINDINGS.add_cmdline(raw)
    for who, data in stderr:
        FINDINGS.add_stderr(who, data)


def test_no_browser_is_one_line_and_no_url_anywhere(signin: Aws) -> None:
    missing = signin.home / "no-such-browser"
    done = signin.run("console", "project-dev",
                      env={"BROWSER": str(missing), "PATH": "/nonexistent"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("rolebar: profile project-dev: no web browser")
    assert "SigninToken" not in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("profile", ["my-company", "mfa-only"])
def test_a_profile_that_is_not_a_role_is_refused_before_any_call(signin: Aws,
                                                                  profile: str) -> None:
    signin.write_config(extra=textwrap.dedent(f"""
        [profile mfa-only]
        mfa_serial = {signin.user.mfa_serial}
        source_profile = my-company
        """))
    done = signin.run("console", profile, "--print")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (f"rolebar: profile {profile}: is not a role: the console takes "
                           "role credentials only, never MFA session (GetSessionToken) "
                           "credentials or long-term keys\n")
    assert signin.double.calls == []


def test_a_chained_role_signs_in(signin: Aws) -> None:
    signin.write_config(extra=textwrap.dedent("""
        [profile chained]
        role_arn = arn:aws:iam::222222222222:role/readonly
        source_profile = project-dev
        """))
    done = signin.run("console", "chained", "--print")
    assert done.returncode == 0, done.stderr
    sign_in_with(done.stdout.strip())
    [login] = signin.double.services.federation.logins
    assert login.role_arn == PLAIN_ROLE and login.region == "ap-northeast-1"


def test_a_failed_or_unreachable_sign_in_is_one_line_exit_1(signin: Aws) -> None:
    assert signin.run("assume", "-j", "readonly").returncode == 0  # the role is cached
    signin.double.inject("500", count=1)
    done = signin.run("console", "readonly", "--print")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == ("rolebar: profile readonly: the console sign-in endpoint answered "
                           "HTTP 500: An internal error has occurred\n")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    with closed:
        port = closed.getsockname()[1]
        done = signin.run("console", "readonly", "--print",
                          env={"AWS_ENDPOINT_URL_SIGNIN": f"http://127.0.0.1:{port}"})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("rolebar: profile readonly: cannot reach the console "
                                  f"sign-in endpoint http://127.0.0.1:{port}/federation (")
    assert len(done.stderr.splitlines()) == 1
    assert signin.double.services.federation.logins == []
