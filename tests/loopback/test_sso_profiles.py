"""IAM Identity Center profiles through the engine: listed, planned, answered by `-j` and
`process` (a cache hit the second time), chained to a role, kept fresh in a section over
several role lifetimes with the access token renewed, never signed in again."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from rolebar.core.engine import Engine
from rolebar.core.profiles import Catalog
from rolebar.core.service import EngineService
from rolebar.core.state import Event, SignInNeed
from tests.loopback.clients.awsdouble import CHAINED, SSO_DEV, device_sign_in, visit
from tests.loopback.clients.harness import wait_for
from tests.loopback.clients.ssoworld import CONFIG, World, one_line_error, sso_setup

CHAIN = f"""
[profile sso-chained]
role_arn = {CHAINED}
source_profile = sso-dev
"""


@pytest.fixture
def world(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for world in sso_setup(home, monkeypatch):
        (home / ".aws" / "config").write_text(CONFIG + CHAIN)
        yield world


def sign_in(world: World, lifetime: float = 3600) -> None:
    """A sign-in as the AWS CLI leaves it (device code, refresh token on file)."""
    client, signed = device_sign_in(world.sso.double, world.sso.oidc)
    world.write_cli_token(client, signed, time.time() + lifetime)


def counts(world: World) -> dict[str, int]:
    oidc = world.sso.double.services.oidc.grants_issued
    return {"portal": world.sso.double.counts.get("GetRoleCredentials", 0),
            "assume": world.sso.double.counts.get("AssumeRole", 0),
            "register": world.sso.double.counts.get("RegisterClient", 0),
            "refresh": oidc["refresh_token"],
            "signin": sum(n for grant, n in oidc.items() if grant != "refresh_token")}


def test_sso_profiles_are_listed_and_planned(world: World) -> None:
    listed = world.run("profiles")
    assert listed.returncode == 0, listed.stderr
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert names == ["old-style", "sso-chained", "sso-dev"]  # "broken" left out
    assert f"(SSO Developer in {SSO_DEV} (sso-session corp))" in listed.stdout
    catalog = Catalog.load()
    plan = catalog.plan("sso-dev")
    assert plan.sso is not None and plan.route == "sso" and not plan.roles
    assert (plan.sso.account_id, plan.sso.role_name) == (SSO_DEV, "Developer")
    assert plan.reason == f"IAM Identity Center role Developer in {SSO_DEV} (sso-session corp)"
    chained = catalog.plan("sso-chained")
    assert chained.sso == plan.sso and chained.roles[0].role_arn == CHAINED
    assert chained.route == "none" and "signed by the IAM Identity Center role" in chained.reason
    assert catalog.plan("old-style").sso.session.name is None  # type: ignore[union-attr]
    engine = Engine()
    assert engine.compose("sso-dev").describe() == (
        f"Cached(SsoRole(Developer in {SSO_DEV}, sso-session corp))")
    assert engine.compose("sso-chained").describe() == (
        f"Cached(AssumeRole({CHAINED}, Cached(SsoRole(Developer in {SSO_DEV}, "
        "sso-session corp))))")


def test_j_and_process_answer_with_one_portal_call(world: World) -> None:
    sign_in(world)
    first = world.run("-j", "sso-dev")
    assert first.returncode == 0, first.stderr
    answer = json.loads(first.stdout)
    assert answer["Version"] == 1 and answer["SessionToken"]
    for _ in range(2):
        again = world.run("process", "sso-dev")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["AccessKeyId"] == answer["AccessKeyId"]
    exported = world.run("-o", "sso-dev")
    assert f"AWS_ACCESS_KEY_ID={answer['AccessKeyId']}" in exported.stdout.replace("'", "")
    shown = world.run("exec", "sso-dev", "--", sys.executable, "-c",
                      "import os; print(os.environ['AWS_ACCESS_KEY_ID'])")
    assert shown.returncode == 0 and shown.stdout.strip() == answer["AccessKeyId"], shown.stderr
    assert counts(world)["portal"] == 1


def test_a_role_chained_from_an_sso_role(world: World) -> None:
    sign_in(world)
    done = world.run("-j", "sso-chained")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Version"] == 1
    again = world.run("process", "sso-chained")
    assert again.returncode == 0, again.stderr
    assert (counts(world)["portal"], counts(world)["assume"]) == (1, 1)
    # The SSO role's own profile is another cache entry: one more portal call, once.
    assert world.run("process", "sso-dev").returncode == 0
    assert counts(world)["portal"] == 2


def test_not_signed_in_is_one_line_naming_rolebar_login(world: World) -> None:
    for argv in (["process", "sso-dev"], ["-j", "sso-chained"]):
        done = world.run(*argv)
        assert done.returncode == 1
        line = one_line_error(done.stderr)
        assert line == ("rolebar: sso-session corp: sign-in needed: no sign-in is cached; "
                        "run `rolebar login --sso-session corp`"), line
        assert len(done.stderr.splitlines()) == 1
    assert counts(world)["portal"] == 0


def kept(world: World, profile: str, style: str) -> None:
    """`rolebar keep PROFILE --style STYLE` over three 20 s role lifetimes and 30 s access
    tokens: the section never answers with expired keys, and nobody signs in again."""
    services = world.sso.double.services.sso
    services.role_lifetime, services.access_token_lifetime = 20, 30
    world.sso.double.role_lifetime = 20
    sign_in(world, lifetime=30)
    before = counts(world)
    keep = world.start("keep", profile, "--style", style)
    read = (lambda: fresh(world)) if style == "keys" else (lambda: answered(world))
    try:
        wait_for(read, 30, what="keys")
        seen, expired, end = set(), 0, time.time() + 60
        while time.time() < end:
            values = read()
            expired += values is None
            if values:
                seen.add(values["aws_access_key_id"])
            time.sleep(0.5)
    finally:
        keep.terminate()
        keep.communicate(timeout=20)
    after = counts(world)
    assert expired == 0 and len(seen) >= 3
    assert after["signin"] == before["signin"] and after["register"] == before["register"]
    assert after["refresh"] - before["refresh"] >= 2  # the access token was renewed


def answered(world: World) -> dict[str, str] | None:
    """The section's `credential_process` answer, if it has not expired."""
    done = world.run("process", "--section", "tray-managed")
    if done.returncode != 0:
        return None
    answer = json.loads(done.stdout)
    left = datetime.fromisoformat(answer["Expiration"].replace("Z", "+00:00")).timestamp()
    return {"aws_access_key_id": answer["AccessKeyId"]} if left > time.time() else None


def fresh(world: World) -> dict[str, str] | None:
    import configparser

    from tests.loopback.clients.harness import expires

    parser = configparser.RawConfigParser()
    parser.read(world.home / ".aws" / "credentials")
    if not parser.has_section("tray-managed"):
        return None
    values = dict(parser.items("tray-managed"))
    if "aws_access_key_id" not in values:
        return None
    return values if expires(values) > time.time() else None


@pytest.mark.slow
@pytest.mark.parametrize("style", ["keys", "process"])
def test_a_kept_sso_section_stays_fresh(world: World, style: str) -> None:
    kept(world, "sso-dev", style)


@pytest.mark.slow
def test_a_kept_role_chained_from_sso_stays_fresh(world: World) -> None:
    kept(world, "sso-chained", "keys")


def test_the_keeper_announces_a_sign_in_needed_ahead_of_time(world: World) -> None:
    """The refresh token is revoked while the access token still has two minutes: the
    credentials are kept fresh meanwhile, and the person is told to sign in now (once,
    replayed to a late subscriber); a new sign-in and "Refresh now" clear it."""
    client, signed = device_sign_in(world.sso.double, world.sso.oidc)
    world.write_cli_token(client, signed, time.time() + 120)
    world.sso.double.services.revoke()
    assert world.run("select", "sso-dev", "--style", "keys").returncode == 0
    service = EngineService("tray", engine=Engine(interactive=False, extra_sources=()))
    events: list[Event] = []
    service.keeper.subscribe(lambda state, event: events.append(event))
    service.start()
    try:
        wait_for(lambda: fresh(world), 30, what="keys")
        state = wait_for(lambda: service.keeper.state().signins and service.keeper.state(),
                         30, what="the sign-in need")
        assert state.signins == (SignInNeed("sso-session corp", "corp", "sso-dev",
                                            "rolebar login --sso-session corp"),)
        assert state.sections[0].health == "fresh"  # ahead of time: the keys still serve
        needed = [e for e in events if e.kind == "signin_needed"]
        assert len(needed) == 1 and needed[0].subject == "sso-session corp"
        assert "Sign in to corp..." in needed[0].message and "rolebar login" in needed[0].message
        late: list[Event] = []
        service.keeper.subscribe(lambda state, event: late.append(event))
        assert [e.kind for e in late] == ["state", "signin_needed"]
        sign_in(world)  # as `rolebar login` leaves it
        service.keeper.refresh_now()
        wait_for(lambda: not service.keeper.state().signins, 30, what="the need cleared")
    finally:
        service.stop()
    assert len([e for e in events if e.kind == "signin_needed"]) == 1
    assert counts(world)["signin"] == 2  # the test's own two; the keeper opened nothing


def test_rolebar_login_in_a_terminal_wakes_the_running_engine(world: World) -> None:
    """The engine waits for a sign-in; the person runs `rolebar login` in a terminal, as
    the notification says: the engine tries again at once (its own next try is minutes
    away after a backoff), and the section serves the SSO role."""
    assert world.run("select", "sso-dev", "--style", "keys").returncode == 0
    service = EngineService("tray", engine=Engine(interactive=False, extra_sources=()))
    service.start()
    try:
        wait_for(lambda: service.keeper.state().signins, 30, what="the sign-in need")
        done = world.run("login", "--sso-session", "corp")
        assert done.returncode == 0, done.stderr
        assert "the running engine refreshes its sections" in done.stderr
        wait_for(lambda: not service.keeper.state().signins, 10, what="the need cleared")
        assert wait_for(lambda: fresh(world), 10, what="keys")
    finally:
        service.stop()


def test_status_and_doctor_show_the_sign_ins(world: World) -> None:
    sign_in(world)
    status = world.run("status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    corp = next(line for line in lines if line.startswith("sso-session corp: "))
    assert corp.startswith("sso-session corp: signed in, access token ")
    assert corp.endswith(f"left, renewed as needed; roles: Developer in {SSO_DEV} (sso-dev)")
    assert (f"profile old-style: not signed in (run `rolebar login old-style`); roles: "
            f"ReadOnly in {SSO_DEV} (old-style)") in lines
    assert any(line.startswith("profile sso-dev: credentials none") and
               "IAM Identity Center role Developer" in line for line in lines)
    doctor = world.run("doctor", "--no-tray", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["sso-session corp"]["status"] == "ok"
    assert checks["profile old-style"]["status"] == "warn"  # not signed in
    assert checks["profile old-style"]["hint"] == "run `rolebar login old-style`"
    assert checks["sso-session noregion"]["status"] == "fail"
    assert "sso_region missing" in checks["sso-session noregion"]["detail"]
    assert checks["profile broken"]["status"] == "fail"
    assert "[sso-session nope]" in checks["profile broken"]["detail"]
    assert checks["profile sso-chained"]["status"] == "ok"
    assert doctor.returncode == 2  # the broken entries need a fix
    # The portal answered for the signed-in session (not asked for one never signed in).
    portal = checks["portal sso-session corp"]
    assert portal["status"] == "ok" and portal["detail"].startswith("answers: ")
    assert "portal profile old-style" not in checks


def test_doctor_says_when_the_portal_refuses_the_sign_in(world: World) -> None:
    sign_in(world)
    world.sso.double.services.revoke(refresh_only=False)  # signed out elsewhere
    doctor = world.run("doctor", "--no-tray", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    portal = checks["portal sso-session corp"]
    assert portal["status"] == "warn", portal
    assert "UnauthorizedException" in portal["detail"]
    assert portal["hint"] == "run `rolebar login --sso-session corp` if it persists"


def test_the_console_opens_for_an_sso_role(world: World) -> None:
    sign_in(world)
    done = world.run("console", "--print", "sso-dev",
                     env={"AWS_ENDPOINT_URL_SIGNIN": world.sso.endpoint})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{world.sso.endpoint}/federation?Action=login&")
    status, page, _ = visit(done.stdout.strip())  # the console login, as the browser
    assert status == 200, page
    [login] = world.sso.double.services.federation.logins
    assert "AWSReservedSSO_Developer" in login.role_arn
