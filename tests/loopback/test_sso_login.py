"""`rolebar login` / `rolebar logout` end to end over loopback: the browser sign-in with a
`$BROWSER` that follows the URL, the device code approved late, the older per-profile
form, and every way a sign-in goes wrong as one `rolebar:` line."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.loopback.clients.awsdouble import DEVICE_GRANT, error_of, visit
from tests.loopback.clients.harness import finish, wait_for
from tests.loopback.clients.ssoworld import OLD_START_URL, World, one_line_error, sso_setup

CORP_AGAIN = "run `rolebar login --sso-session corp` again"


@pytest.fixture
def world(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from sso_setup(home, monkeypatch)


def grants(world: World) -> dict[str, int]:
    return dict(world.sso.double.services.oidc.grants_issued)


# -- the browser ---------------------------------------------------------------------------------


def test_browser_sign_in_end_to_end(world: World) -> None:
    done = world.run("login", "sso-dev")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sso-session corp: signed in; the access token holds until ")
    assert done.stdout.endswith(" and is renewed as needed\n")
    assert world.opened() == [f"{world.sso.endpoint}/authorize"]
    authorize = next(w for w in done.stderr.split() if w.startswith("http"))
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["scopes"] == [
        "sso:account:access"]
    assert urlsplit(query["redirect_uri"][0]).hostname == "127.0.0.1"
    assert urlsplit(query["redirect_uri"][0]).path == "/oauth/callback"
    token = world.token()
    assert set(token) == {"startUrl", "region", "accessToken", "expiresAt", "clientId",
                          "clientSecret", "registrationExpiresAt", "refreshToken"}
    assert token["expiresAt"].endswith("Z") and len(token["expiresAt"]) == 20
    assert stat.S_IMODE(world.token_file().stat().st_mode) == 0o600
    assert grants(world)["authorization_code"] == 1
    # The token works at the portal.
    assert world.sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]

    again = world.run("login", "--sso-session", "corp")  # the registration is reused
    assert again.returncode == 0, again.stderr
    assert world.sso.double.counts["RegisterClient"] == 1
    assert grants(world)["authorization_code"] == 2
    assert world.token()["clientId"] == token["clientId"]
    assert world.token()["accessToken"] != token["accessToken"]


def test_a_registration_near_its_end_is_replaced(world: World) -> None:
    world.sso.double.services.sso.registration_lifetime = 10 * 60  # < 15 min: not reused
    assert world.run("login", "sso-dev").returncode == 0
    first = world.token()["clientId"]
    world.sso.double.services.sso.registration_lifetime = 90 * 86400
    assert world.run("login", "sso-dev").returncode == 0
    assert world.sso.double.counts["RegisterClient"] == 2
    assert world.token()["clientId"] != first


def test_no_browser_prints_the_url_to_open(world: World) -> None:
    proc = world.start("login", "--sso-session", "corp", "--no-browser")
    assert proc.stderr is not None
    url = None
    while url is None:
        line = proc.stderr.readline()
        assert line, "login ended without printing a URL"
        url = line.strip() if line.startswith("http") else None
    status, _, location = visit(url)  # the person opens it; the page sends them back
    assert status == 302 and location is not None
    assert visit(location)[0] == 200
    out, err = finish(proc, 60)
    assert proc.returncode == 0, err
    assert world.opened() == []  # no browser was started
    assert "signed in" in out and world.token()["refreshToken"]


def test_no_browser_to_open_falls_back_to_the_device_code(world: World) -> None:
    proc = world.start("login", "--sso-session", "corp", env={"FAKE_BROWSER": "fail"})
    code = wait_for(lambda: world.sso.double.services.oidc.pending(), 30, what="a device code")
    assert world.sso.double.services.approve(code[0]) == 1
    out, err = finish(proc, 60)
    assert proc.returncode == 0, err
    assert "no browser could be opened; signing in with a device code instead" in err
    assert code[0] in err and f"{world.sso.endpoint}/device" in err
    assert world.opened() == [f"{world.sso.endpoint}/authorize"]  # tried once, not again
    assert grants(world)[DEVICE_GRANT] == 1 and world.token()["refreshToken"]


# -- the device code ---------------------------------------------------------------------------


@pytest.mark.slow
def test_device_code_approved_late(world: World) -> None:
    """Pending, then slow-down (the interval grows by 5 s), then approved."""
    settings = world.sso.double.services.sso
    settings.device_interval, settings.slow_down_increase = 2, 1
    proc = world.start("login", "--sso-session", "corp", "--device-code")
    code = wait_for(lambda: world.sso.double.services.oidc.pending(), 30, what="a device code")
    with world.sso.double._lock:  # OIDC asks for more time than it said: a slow-down follows
        next(a for a in world.sso.double.services.oidc.devices.values()
             if a.user_code == code[0]).interval = 4
    wait_for(lambda: "SlowDownException" in world.sso.token_calls(), 30, what="a slow-down")
    world.sso.double.services.approve(code[0])
    out, err = finish(proc, 60)
    assert proc.returncode == 0, err
    calls = world.sso.token_calls()
    assert calls[0] == "AuthorizationPendingException" and calls[-1] == "OK"
    assert set(calls[:-1]) == {"AuthorizationPendingException", "SlowDownException"}
    assert f"open {world.sso.endpoint}/device and enter the code {code[0]}" in err
    assert world.opened() == []  # --device-code: nothing opened here
    assert world.token()["refreshToken"] and "signed in" in out


def test_the_older_form_signs_in_with_a_device_code_in_the_browser(world: World) -> None:
    done = world.run("login", "old-style")
    assert done.returncode == 0, done.stderr
    assert world.opened() == [f"{world.sso.endpoint}/device"]  # verificationUriComplete
    token = world.token(OLD_START_URL)  # named after the start URL
    assert token["startUrl"] == OLD_START_URL and "refreshToken" not in token  # no scopes
    assert done.stdout.startswith("profile old-style: signed in")
    assert done.stdout.endswith("cannot be renewed (sign in again then)\n")


# -- what goes wrong ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "line"), [
    (("login", "broken"), "rolebar: profile broken: sso_session 'nope' has no "
     "[sso-session nope] section in {config}"),
    (("login", "--sso-session", "noregion"), "rolebar: sso-session noregion: sso_region "
     "missing in {config}"),
    (("login", "--sso-session", "other"), "rolebar: sso-session other: not found in {config}"),
    (("login",), "rolebar: usage: login takes a PROFILE or --sso-session NAME (configured: "
     "corp, profile old-style)"),
    (("login", "nobody"), "rolebar: profile nobody: not found in {config}"),
])
def test_configuration_mistakes(world: World, args: tuple[str, ...], line: str) -> None:
    done = world.run(*args)
    assert (done.returncode, done.stderr) == (
        2, line.format(config=world.home / ".aws" / "config") + "\n")
    assert world.sso.double.counts.get("RegisterClient", 0) == 0


@pytest.mark.parametrize(("browser", "env", "cause"), [
    ("approve", {"FAKE_BROWSER": "wrong-state"},
     "the browser came back with a wrong state (not this sign-in's)"),
    ("ignore", {"ROLEBAR_SSO_LOGIN_TIMEOUT": "2"}, "the browser did not come back within 2 s"),
    ("deny", {}, "the sign-in was not completed in the browser (access_denied)"),
])
def test_a_browser_sign_in_that_fails(world: World, browser: str, env: dict[str, str],
                                      cause: str) -> None:
    world.sso.double.services.sso.browser = browser
    done = world.run("login", "--sso-session", "corp", env=env)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == f"rolebar: sso-session corp: {cause}; {CORP_AGAIN}"
    assert not world.token_file().exists()
    assert grants(world)["authorization_code"] == 0


def test_a_registration_oidc_no_longer_accepts(world: World) -> None:
    world.sso.double.services.sso.registration_lifetime = 1  # ends while polling
    done = world.run("login", "--sso-session", "corp", "--device-code", timeout=30)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == (
        "rolebar: sso-session corp: IAM Identity Center no longer accepts rolebar's client "
        "registration (InvalidClientException); run `rolebar login --sso-session corp` again")
    world.sso.double.services.sso.registration_lifetime = 3600
    assert world.run("login", "--sso-session", "corp").returncode == 0  # registers anew
    assert world.sso.double.counts["RegisterClient"] == 2


# -- logout --------------------------------------------------------------------------------------


def test_logout_ends_every_sign_in(world: World) -> None:
    assert world.run("login", "sso-dev").returncode == 0
    assert world.run("login", "old-style").returncode == 0
    corp, old = world.token(), world.token(OLD_START_URL)
    done = world.run("logout")
    assert (done.returncode, done.stdout) == (0, "signed out of 2 sign-ins\n")
    assert world.sso.double.counts["Logout"] == 2
    assert not world.token_file().exists() and not world.token_file(OLD_START_URL).exists()
    for access in (corp["accessToken"], old["accessToken"]):
        assert error_of(partial(world.sso.portal.list_accounts, accessToken=access))[0] == (
            "UnauthorizedException")
    assert error_of(lambda: world.sso.oidc.create_token(
        clientId=corp["clientId"], clientSecret=corp["clientSecret"],
        grantType="refresh_token", refreshToken=corp["refreshToken"]))[0] == (
        "InvalidGrantException")


def test_logout_of_one_session(world: World) -> None:
    assert world.run("login", "sso-dev").returncode == 0
    assert world.run("login", "old-style").returncode == 0
    done = world.run("logout", "--sso-session", "corp")
    assert (done.returncode, done.stdout) == (0, "sso-session corp: signed out\n")
    assert not world.token_file().exists() and world.token_file(OLD_START_URL).exists()
    again = world.run("logout", "--sso-session", "corp")
    assert again.stdout == "sso-session corp: was not signed in\n"
    world.sso.double.stop()  # a portal that cannot be reached does not keep the file
    time.sleep(0.1)
    gone = world.run("logout")
    assert (gone.returncode, gone.stdout) == (0, "signed out of 1 sign-in\n")
    assert not world.token_file(OLD_START_URL).exists()
