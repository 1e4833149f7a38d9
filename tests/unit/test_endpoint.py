"""The credentials endpoint without sockets: request parsing, the loopback-Host check, the
paths, and the engine's lookup (freshness, role switches, changed AWS files) with a real
Engine, a fake STS and a fake clock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rolebar.core import endpoint
from rolebar.core.credentials import Credentials
from rolebar.core.engine import Engine
from rolebar.core.errors import ProfileNotFound
from rolebar.core.settings import Settings

PORT = 43210


@pytest.mark.parametrize(("host", "ok"), [
    (f"127.0.0.1:{PORT}", True), (f"localhost:{PORT}", True), (f"LOCALHOST:{PORT}", True),
    (f"[::1]:{PORT}", True), ("127.0.0.1", True), ("[::1]", True),
    (None, False), ("", False), ("127.0.0.1:1", False), (f"evil.example:{PORT}", False),
    (f"127.0.0.1.evil.example:{PORT}", False), (f"localhost.:{PORT}", False),
    (f"[::1]x:{PORT}", False), (f"127.0.0.1:{PORT}:{PORT}", False), ("[::2]", False),
    (f"0.0.0.0:{PORT}", False),
])
def test_loopback_host(host: str | None, ok: bool) -> None:
    assert endpoint.loopback_host(host, PORT) is ok


def test_parse_keeps_repeated_headers_apart() -> None:
    request = endpoint.parse(b"GET /section/x HTTP/1.1\r\nHost: a\r\nauthorization: t\r\n"
                             b"Authorization: u")
    assert request is not None
    assert (request.method, request.target) == ("GET", "/section/x")
    assert request.header("host") == "a"
    assert request.header("authorization") is None  # two tokens: neither is taken


@pytest.mark.parametrize("head", [
    b"GET /section/x\r\n", b"GET /section/x HTTP/2\r\n", b"GET  /x HTTP/1.1",
    b"GET /x HTTP/1.1\r\nno colon", b"GET /x HTTP/1.1\r\n folded: header",
    b"GET /x HTTP/1.1\r\n: empty name", b"GET /x HTTP/1.1\r\nName : spaced",
])
def test_parse_refuses_malformed_heads(head: bytes) -> None:
    assert endpoint.parse(head) is None


@pytest.mark.parametrize(("target", "route"), [
    ("/section/tray-managed", ("section", "tray-managed")),
    ("/profile/project-dev", ("profile", "project-dev")),
    ("/section/team%2Fdev%3Aa", ("section", "team/dev:a")),
    ("/profile/with/slash", ("profile", "with/slash")),
    ("/profile/p?x=1", ("profile", "p")),
    ("/profile/", None), ("/role/p", None), ("/", None), ("profile/p", None),
    ("/profile/a%0Ab", None), ("/profile/" + "a" * 257, None),
])
def test_parse_target(target: str, route: tuple[str, str] | None) -> None:
    assert endpoint.parse_target(target) == route


def test_url_quotes_the_name_and_round_trips() -> None:
    url = endpoint.url(PORT, "section", "team/dev:a b")
    assert url == f"http://127.0.0.1:{PORT}/section/team%2Fdev%3Aa%20b"
    assert endpoint.parse_target(url.split(str(PORT), 1)[1]) == ("section", "team/dev:a b")


# -- the engine's lookup --------------------------------------------------------------------

CONFIG = """\
[profile base]
region = eu-west-1

[profile dev]
role_arn = arn:aws:iam::111111111111:role/dev
source_profile = base

[profile ops]
role_arn = arn:aws:iam::111111111111:role/ops
source_profile = base
"""


class FakeSts:
    """STS for roles with no MFA: each AssumeRole issues new keys for an hour."""

    calls: list[str] = []

    def __init__(self, profile: str, region: str | None) -> None:
        self.profile = profile

    def check(self) -> None:
        pass

    def assume_role(self, caller: object, step: object, **kwargs: object) -> Credentials:
        FakeSts.calls.append(self.profile)
        now = CLOCK[0]
        return Credentials(f"ASIA{self.profile.upper():0>8}{len(FakeSts.calls):08d}",
                           "s" * 40, "t" * 100, now, now + 3600)


CLOCK = [1_700_000_000.0]


@pytest.fixture
def engine(home: Path) -> Engine:
    (home / ".aws" / "config").write_text(CONFIG)
    (home / ".aws" / "credentials").write_text(
        "[base]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\naws_secret_access_key = x\n")
    FakeSts.calls = []
    CLOCK[0] = 1_700_000_000.0
    return Engine(dict(os.environ), clock=lambda: CLOCK[0], interactive=False,
                  extra_sources=(), sts=FakeSts)  # type: ignore[arg-type]


def test_answers_from_the_cache_while_fresh_and_never_less_than_the_margin(
        engine: Engine) -> None:
    lookup = endpoint.engine_lookup(engine)
    first = lookup("profile", "dev")
    assert FakeSts.calls == ["dev"]
    CLOCK[0] += 3600 - 15 * 60 - 1  # one second before the margin: still the cached keys
    assert lookup("profile", "dev") == first and FakeSts.calls == ["dev"]
    CLOCK[0] += 1  # 15 minutes left: a reader never gets less, so new keys
    again = lookup("profile", "dev")
    assert again.access_key_id != first.access_key_id and FakeSts.calls == ["dev", "dev"]


def test_a_section_follows_its_profile_at_once(engine: Engine) -> None:
    settings = Settings()
    settings.select("dev", "live", "process")
    lookup = endpoint.engine_lookup(engine)
    assert lookup("section", "live").access_key_id.startswith("ASIA00000DEV")
    settings.select("ops", "live", "process")
    assert lookup("section", "live").access_key_id.startswith("ASIA00000OPS")
    with pytest.raises(endpoint.NotServed, match="section other: is not kept"):
        lookup("section", "other")
    with pytest.raises(ProfileNotFound):
        lookup("profile", "nope")


def test_changed_aws_files_are_checked_before_the_cache_is_trusted(engine: Engine,
                                                                   home: Path) -> None:
    lookup = endpoint.engine_lookup(engine)
    first = lookup("profile", "dev")
    config = home / ".aws" / "config"
    config.write_text(CONFIG.replace("role/dev", "role/dev2"))
    assert endpoint.cached(engine, "dev") is None
    assert lookup("profile", "dev") != first and len(FakeSts.calls) == 2
    config.write_text(CONFIG.replace("role/dev", "role/dev2") + "\n# a comment\n")
    assert endpoint.cached(engine, "dev") is None  # the files changed: not trusted as is
    assert lookup("profile", "dev").access_key_id.endswith("00000002")  # same plan: re-stamped
    assert endpoint.cached(engine, "dev") is not None and len(FakeSts.calls) == 2
