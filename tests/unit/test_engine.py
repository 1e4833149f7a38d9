"""core/engine.py with core/planner.py and core/providers: which providers serve each
profile shape and why, and what they do against a fake STS (no sockets): the cache and
single flight, codes never sent twice and retried once with a new one, the MFA session
shared, renewed and dropped, the session route refused and the direct one taken."""

from __future__ import annotations

import logging
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rolebar.core.cache import Cache
from rolebar.core.codes import CodeRequest
from rolebar.core.credentials import Credentials, Keys
from rolebar.core.engine import Engine
from rolebar.core.errors import CodeReusedError, ConfigError, NoCodeError
from rolebar.core.fastpath import ANSWER_FORMAT, stamps
from rolebar.core.profiles import RoleStep
from rolebar.core.sts import CallFailed, InvalidCode, SessionExpired, SessionRouteRefused
from tests.aging import settle

DEVICE = "arn:aws:iam::000000000000:mfa/member"
DEV = "arn:aws:iam::111111111111:role/developer"
CREDENTIALS = """\
[my-company]
aws_access_key_id = AKIAEXAMPLEEXAMPLE01
aws_secret_access_key = seed/secret/0000000000000000000000000000
"""
CONFIG = f"""\
[profile my-company]
region = ap-northeast-1

[profile dev]
role_arn = {DEV}
mfa_serial = {DEVICE}
source_profile = my-company

[profile ops]
role_arn = arn:aws:iam::111111111111:role/operator
mfa_serial = {DEVICE}
source_profile = my-company

[profile hop]
role_arn = arn:aws:iam::222222222222:role/hop
source_profile = dev

[profile long]
role_arn = arn:aws:iam::111111111111:role/long
mfa_serial = {DEVICE}
source_profile = my-company
duration_seconds = 7200

[profile asked]
role_arn = arn:aws:iam::111111111111:role/asked
mfa_serial = {DEVICE}
source_profile = my-company
rolebar_route = direct

[profile plain]
role_arn = arn:aws:iam::333333333333:role/plain
source_profile = my-company

[profile mfa-only]
mfa_serial = {DEVICE}
source_profile = my-company
aws_access_key_id = AKIAEXAMPLEEXAMPLE02
aws_secret_access_key = seed/secret/1111111111111111111111111111
"""
NOW = 1_700_000_000.0


@dataclass
class World:
    """What the fake STS was asked, and what it is told to do next."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    refuse_session: set[str] = field(default_factory=set)  # role ARNs
    end_sessions: int = 0  # STS ends this many MFA sessions early
    reject_codes: int = 0  # and rejects this many codes
    fail_calls: int = 0  # or fails this many calls after they went out
    bad_region: bool = False
    clock: list[float] = field(default_factory=lambda: [NOW])
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, lifetime: float) -> Credentials:
        with self.lock:
            n = len(self.calls)
        now = self.clock[0]
        return Credentials(f"ASIAFAKE{n:012d}", "s" * 40, "t" * 100, now, now + lifetime)


class FakeSts:
    """Sts's shape, answering from a World."""

    def __init__(self, world: World, profile: str, region: str | None) -> None:
        self.world, self.profile = world, profile

    def check(self) -> None:
        if self.world.bad_region:
            raise ConfigError(f"profile {self.profile}", "invalid region 'not a region'")

    def get_session_token(self, keys: Keys, device: str, code: str, seconds: int) -> Credentials:
        self._record("GetSessionToken", keys.profile, code)
        self._code_rules()
        return self.world.issue(12 * 3600)

    def assume_role(self, caller: Keys | Credentials, step: RoleStep, *,
                    device: str | None = None, code: str | None = None,
                    session: bool = False) -> Credentials:
        signer = "keys" if isinstance(caller, Keys) else "session" if session else "role"
        self._record("AssumeRole", step.profile, signer, *([code] if code else []))
        subject = f"profile {step.profile}"
        if session and step.role_arn in self.world.refuse_session:
            raise SessionRouteRefused(subject, "access denied (AccessDenied)", "AccessDenied",
                                      403)
        if session and self.world.end_sessions:
            self.world.end_sessions -= 1
            raise SessionExpired(subject, "expired (ExpiredToken)", "ExpiredToken", 400)
        if code:
            self._code_rules()
        return self.world.issue(3600)

    def _record(self, *call: str) -> None:
        with self.world.lock:
            self.world.calls.append(call)

    def _code_rules(self) -> None:
        if self.world.reject_codes:
            self.world.reject_codes -= 1
            raise InvalidCode(f"profile {self.profile}", "rejected", "AccessDenied", 403)
        if self.world.fail_calls:
            self.world.fail_calls -= 1
            raise CallFailed(f"profile {self.profile}", "failed (InternalFailure)",
                             "InternalFailure", 500)


class Phone:
    """A person typing a new code each time one is asked for."""

    name = "phone"
    on_repeat = "ask"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get(self, request: CodeRequest) -> str | None:
        self.asked.append(request.profile)
        return f"{100000 + len(self.asked):06d}"


@dataclass
class Rig:
    engine: Engine
    world: World
    phone: Phone
    home: Path


@pytest.fixture
def rig(home: Path) -> Rig:
    (home / ".aws" / "config").write_text(CONFIG)
    (home / ".aws" / "credentials").write_text(CREDENTIALS)
    world, phone = World(), Phone()
    engine = Engine(cache=Cache(home / "cache"), clock=lambda: world.clock[0],
                    sleep=lambda _: None, interactive=False, extra_sources=[phone],
                    sts=lambda profile, region: FakeSts(world, profile, region))  # type: ignore[arg-type,return-value]
    return Rig(engine, world, phone, home)


# -- composition: which providers, and why --------------------------------------------------

KEYS = "StaticKeys(my-company)"
SESSION = f"Cached(MfaSession({DEVICE}, {KEYS}))"
DIRECT = f"AssumeRole({DEV}, with a code, {KEYS})"
VIA_SESSION = f"SessionOrDirect(SessionRole({DEV}, {SESSION}), {DIRECT})"
SHAPES = [
    ("plain", "no mfa_serial: AssumeRole needs no code",
     f"Cached(AssumeRole(arn:aws:iam::333333333333:role/plain, {KEYS}))"),
    ("dev", "MFA session: GetSessionToken once, then AssumeRole with no code",
     f"Cached({VIA_SESSION})"),
    ("hop", "MFA session: GetSessionToken once, then AssumeRole with no code",
     f"Cached(AssumeRole(arn:aws:iam::222222222222:role/hop, {VIA_SESSION}))"),
    ("long", "direct AssumeRole: duration_seconds 7200 > 3600",
     f"Cached(AssumeRole(arn:aws:iam::111111111111:role/long, with a code, {KEYS}))"),
    ("asked", "direct AssumeRole: rolebar_route = direct",
     f"Cached(AssumeRole(arn:aws:iam::111111111111:role/asked, with a code, {KEYS}))"),
    ("mfa-only", "no role_arn: the MFA session itself",
     f"Cached(Cached(MfaSession({DEVICE}, StaticKeys(mfa-only))))"),
]


@pytest.mark.parametrize(("profile", "reason", "tree"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_profile_shape_gets_its_providers_and_says_why(
        rig: Rig, profile: str, reason: str, tree: str) -> None:
    composed = rig.engine.compose(profile)
    assert (composed.reason, composed.describe()) == (reason, tree)
    assert rig.world.calls == [] and rig.phone.asked == []  # composing calls nothing


def test_the_reason_reaches_the_debug_log_when_the_providers_are_called(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="rolebar"):
        rig.engine.credentials("plain")
        rig.engine.credentials("plain")  # a cache hit: nothing to say
    said = [r.getMessage() for r in caplog.records if "needs no code" in r.getMessage()]
    assert said == ["profile plain: no mfa_serial: AssumeRole needs no code: "
                    "AssumeRole(arn:aws:iam::333333333333:role/plain, StaticKeys(my-company))"]


def test_code_sources_are_explicit() -> None:
    assert Engine().extra_sources == []  # no default source (the running engine) at all


# -- what the providers do ----------------------------------------------------------------


def test_one_mfa_session_serves_every_role_behind_the_device_and_roles_chain(rig: Rig) -> None:
    rig.engine.credentials("dev")
    rig.engine.credentials("ops")
    rig.engine.credentials("hop")
    assert rig.world.calls == [
        ("GetSessionToken", "my-company", "100001"),
        ("AssumeRole", "dev", "session"),
        ("AssumeRole", "ops", "session"),
        ("AssumeRole", "dev", "session"),  # hop's chain: its own dev credentials
        ("AssumeRole", "hop", "role"),
    ]
    assert rig.phone.asked == ["dev"]
    rig.engine.credentials("hop")
    assert len(rig.world.calls) == 5  # from the cache


def test_roles_without_mfa_ask_for_no_code(rig: Rig) -> None:
    rig.engine.credentials("plain")
    assert rig.world.calls == [("AssumeRole", "plain", "keys")] and rig.phone.asked == []


def test_many_cold_callers_make_one_call_of_each_kind(rig: Rig) -> None:
    threads = [threading.Thread(target=rig.engine.credentials, args=("dev",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rig.world.calls == [("GetSessionToken", "my-company", "100001"),
                               ("AssumeRole", "dev", "session")]


def test_force_fetches_anew_but_keeps_the_session(rig: Rig) -> None:
    first = rig.engine.credentials("dev")
    rig.world.clock[0] += 1
    again = rig.engine.credentials("dev", force=True)
    assert again != first
    assert [c[0] for c in rig.world.calls] == ["GetSessionToken", "AssumeRole", "AssumeRole"]


def test_the_session_route_refused_takes_the_direct_route_and_says_so(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.world.refuse_session.add(DEV)
    with caplog.at_level(logging.INFO, logger="rolebar"):
        rig.engine.credentials("dev")
    assert rig.world.calls == [
        ("GetSessionToken", "my-company", "100001"),
        ("AssumeRole", "dev", "session"),  # refused: AccessDenied, 403
        ("AssumeRole", "dev", "keys", "100002"),  # a new code: never the session's again
    ]
    reason = "the role refused the MFA session (AccessDenied): direct AssumeRole with a code"
    assert f"profile dev: {reason}" in [r.getMessage() for r in caplog.records]
    [status] = rig.engine.status(["dev"])
    assert (status.route, status.reason, status.needs_code) == ("direct", reason, True)
    [other] = rig.engine.status(["ops"])  # another role behind the device is unaffected
    assert other.route == "session"


def test_a_session_sts_ended_early_is_dropped_and_opened_again_once(rig: Rig) -> None:
    rig.engine.credentials("dev")
    rig.world.end_sessions = 1
    rig.engine.credentials("ops")
    assert [c[:2] for c in rig.world.calls] == [
        ("GetSessionToken", "my-company"), ("AssumeRole", "dev"),
        ("AssumeRole", "ops"), ("GetSessionToken", "my-company"), ("AssumeRole", "ops")]
    rig.world.end_sessions = 2  # ended twice in a row: the second refusal is final
    rig.world.clock[0] += 1
    with pytest.raises(SessionExpired):
        rig.engine.credentials("dev", force=True)


@pytest.mark.parametrize("failure", ["reject_codes", "fail_calls"])
def test_a_failed_code_call_is_made_once_more_with_a_new_code(rig: Rig, failure: str) -> None:
    setattr(rig.world, failure, 1)
    rig.engine.credentials("long")
    assert rig.world.calls == [("AssumeRole", "long", "keys", "100001"),
                               ("AssumeRole", "long", "keys", "100002")]
    setattr(rig.world, failure, 2)  # and only once
    rig.world.clock[0] += 1
    with pytest.raises((InvalidCode, CallFailed)):
        rig.engine.credentials("long", force=True)
    assert len(rig.world.calls) == 4


def test_a_given_code_is_sent_once_and_never_retried(rig: Rig) -> None:
    rig.world.reject_codes = 1
    with pytest.raises(InvalidCode):
        rig.engine.credentials("long", code="123456")
    assert rig.world.calls == [("AssumeRole", "long", "keys", "123456")]
    with pytest.raises(CodeReusedError):  # the guard: never the same code twice
        rig.engine.credentials("asked", code="123456")
    assert len(rig.world.calls) == 1 and rig.phone.asked == []


def test_a_malformed_given_code_fails_before_anything(rig: Rig) -> None:
    with pytest.raises(ConfigError) as caught:
        rig.engine.credentials("no-such-profile", code="12345")
    assert str(caught.value) == "profile no-such-profile: a one-time code is 6 digits"


def test_an_invalid_region_fails_before_any_code(rig: Rig) -> None:
    rig.world.bad_region = True
    for call in (lambda: rig.engine.credentials("dev"),
                 lambda: rig.engine.renew_session("dev")):
        with pytest.raises(ConfigError):
            call()
    assert rig.phone.asked == [] and rig.world.calls == []


def test_renew_session_opens_a_newer_one(rig: Rig) -> None:
    rig.engine.credentials("dev")
    old = rig.engine.session("dev")
    rig.world.clock[0] += 60
    new = rig.engine.renew_session("dev")
    assert old is not None and new.issued > old.issued
    assert rig.engine.session("dev") == new and rig.engine.session("ops") == new
    assert rig.engine.session("plain") is None
    with pytest.raises(ConfigError):
        rig.engine.renew_session("long")  # the direct route has no session to renew
    rig.engine.extra_sources.clear()  # nobody to ask: no code, no call
    rig.world.clock[0] += 1
    with pytest.raises(NoCodeError):
        rig.engine.renew_session("dev")
    assert len(rig.world.calls) == 3


def test_the_answer_twin_beside_the_role_entry_follows_the_files(rig: Rig) -> None:
    rig.world.refuse_session.add(DEV)
    creds = rig.engine.credentials("dev")
    plan = rig.engine.plan("dev")
    name = rig.engine.planner.role_entry(plan).name
    answer = rig.home / "cache" / f"{name}.answer"
    assert answer.read_text().split("\n")[0] == \
        f"{ANSWER_FORMAT} {creds.issued!r} {creds.expires!r} {stamps(plan.files)}"
    config = rig.home / ".aws" / "config"
    config.write_text(config.read_text() + "\n# a comment: the plan is the same\n")
    assert rig.engine.cached("dev") == creds  # re-stamped for the fast path
    assert answer.read_text().split("\n")[0].endswith(stamps(plan.files))
    assert rig.engine.status(["dev"])[0].route == "direct"  # the note stays


def test_restamp_says_so_when_nothing_is_cached_and_restamps_otherwise(rig: Rig) -> None:
    assert rig.engine.restamp("plain") is False
    rig.engine.credentials("plain")
    plan = rig.engine.plan("plain")
    answer = rig.home / "cache" / f"{rig.engine.planner.role_entry(plan).name}.answer"
    before = answer.read_text()
    credentials = rig.home / ".aws" / "credentials"
    credentials.write_text(credentials.read_text() + "\n[tray-managed]\n")  # a section write
    assert rig.engine.restamp("plain") is True
    after = answer.read_text()
    assert after != before and after.split("\n")[0].endswith(stamps(plan.files))
    assert len(rig.world.calls) == 1  # nothing fetched


def test_a_stale_restamp_never_puts_older_credentials_back(rig: Rig) -> None:
    """The keeper re-stamps an entry after each write of the credentials file while a job
    may be storing a newer fetch: the stamp read before that store must not overwrite it
    (a new engine, or the next hit, would hand the older credentials out again)."""
    old = rig.engine.credentials("plain")
    plan = rig.engine.plan("plain")
    entry = rig.engine.planner.role_entry(plan)
    read = entry.raw()  # what a re-stamp read just before the store below
    assert read is not None
    rig.world.clock[0] += 1
    new = rig.engine.credentials("plain", force=True)
    assert new.access_key_id != old.access_key_id
    credentials = rig.home / ".aws" / "credentials"
    credentials.write_text(credentials.read_text() + "\n[tray-managed]\n")  # a section write
    entry._stamp(old, read)  # the stale re-stamp lands now
    assert rig.engine.cached("plain") == new
    assert rig.engine.restamp("plain") is True  # a current one still stamps
    answer = rig.home / "cache" / f"{entry.name}.answer"
    assert answer.read_text().split("\n")[0].endswith(stamps(plan.files))


def test_forget_drops_the_role_and_its_session(rig: Rig) -> None:
    rig.engine.credentials("dev")
    assert rig.engine.forget("dev") == 2
    assert rig.engine.cached("dev") is None and rig.engine.session("dev") is None


def test_one_parse_of_the_aws_files_for_many_requests(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.configloader

    parsed: list[str] = []
    real = botocore.configloader.load_config
    monkeypatch.setattr(botocore.configloader, "load_config",
                        lambda path, *a, **k: parsed.append(path) or real(path, *a, **k))
    config = rig.home / ".aws" / "config"
    config.write_text(textwrap.dedent(config.read_text()) + "\n")  # a change: one parse due
    settle(config, ago=30)
    rig.engine.credentials("dev", force=True)
    rig.engine.status()
    rig.engine.cached("dev")
    rig.engine.session("dev")
    assert parsed == [str(config)]
