"""The AWS CLI's SSO token cache as rolebar reads and writes it: names, fields, time format,
modes; botocore's own loader reading what rolebar wrote."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.tokens import _sso_json_dumps
from botocore.utils import JSONFileCache, SSOTokenLoader

from rolebar.core.sso import CachedToken, SignInNeeded, SsoSession, TokenCache
from rolebar.core.sso.tokencache import parse_time

START = "https://d-0000000000.awsapps.com/start"
CORP = SsoSession("corp", START, "us-east-1", ("sso:account:access",))
LEGACY = SsoSession(None, START, "eu-west-1", (), profile="old-style")
NOON = datetime(2030, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()


def token(**changes: object) -> CachedToken:
    values: dict[str, object] = {
        "start_url": START, "region": "us-east-1", "access_token": "aoa-access",
        "expires": NOON, "client_id": "client-1", "client_secret": "secret-1",
        "registration_expires": NOON + 86400, "refresh_token": "aor-refresh"}
    values.update(changes)
    return CachedToken(**values)  # type: ignore[arg-type]


def test_file_names_are_the_clis(home: Path) -> None:
    cache = TokenCache()
    folder = home / ".aws" / "sso" / "cache"
    assert cache.path(CORP) == folder / (hashlib.sha1(b"corp").hexdigest() + ".json")
    assert cache.path(LEGACY) == folder / (hashlib.sha1(START.encode()).hexdigest() + ".json")


def test_written_as_the_cli_writes_and_read_by_botocore(home: Path) -> None:
    TokenCache().store(CORP, token())
    path = TokenCache().path(CORP)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    data = json.loads(path.read_text())
    assert data == {"startUrl": START, "region": "us-east-1", "accessToken": "aoa-access",
                    "expiresAt": "2030-05-01T12:00:00Z", "clientId": "client-1",
                    "clientSecret": "secret-1", "registrationExpiresAt": "2030-05-02T12:00:00Z",
                    "refreshToken": "aor-refresh"}
    loader = SSOTokenLoader(cache=JSONFileCache(str(path.parent), dumps_func=_sso_json_dumps))
    assert loader(START, session_name="corp")["accessToken"] == "aoa-access"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_file_the_cli_wrote_is_read_as_is(home: Path) -> None:
    path = TokenCache().path(CORP)
    path.parent.mkdir(parents=True)
    cli = JSONFileCache(str(path.parent), dumps_func=_sso_json_dumps)
    cli[path.stem] = {"startUrl": START, "region": "us-east-1", "accessToken": "from-cli",
                      "expiresAt": datetime.fromtimestamp(NOON, timezone.utc),
                      "clientId": "c", "clientSecret": "s", "refreshToken": "r",
                      "registrationExpiresAt": "2030-05-02T12:00:00UTC"}
    found = TokenCache().load(CORP)
    assert found == token(access_token="from-cli", client_id="c", client_secret="s",
                          refresh_token="r")
    assert found is not None and found.renewable


@pytest.mark.parametrize(("text", "expected"), [
    ("2030-05-01T12:00:00Z", NOON),
    ("2030-05-01T12:00:00UTC", NOON),  # botocore's JSONFileCache default, older CLIs
    ("2030-05-01T12:00:00.000Z", NOON),  # the JS SDK's toISOString
    ("2030-05-01T14:00:00+02:00", NOON),
    ("2030-05-01T07:30:00-0430", NOON),
    ("2030-05-01T12:00:00", NOON),  # no zone: UTC, as the SDKs take it
    ("2030-13-01T12:00:00Z", None), ("tomorrow", None), (1893499200, None), (None, None),
])
def test_times_in_every_shape_the_sdks_write(text: object, expected: float | None) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("data", [
    {}, {"accessToken": "a"}, {"expiresAt": "2030-05-01T12:00:00Z"},
    {"accessToken": "", "expiresAt": "2030-05-01T12:00:00Z"},
    {"accessToken": "a", "expiresAt": "soon"},
])
def test_unusable_files_count_as_missing(home: Path, data: dict[str, object]) -> None:
    path = TokenCache().path(CORP)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    assert TokenCache().load(CORP) is None
    path.write_text("{not json")
    assert TokenCache().load(CORP) is None


def test_no_secret_in_reprs_or_sign_in_messages() -> None:
    shown = repr(token())
    assert "aoa-access" not in shown and "secret-1" not in shown and "aor-refresh" not in shown
    message = str(SignInNeeded(CORP, "refresh-refused"))
    assert message == ("sso-session corp: sign-in needed: IAM Identity Center refused to renew "
                       "the sign-in; run `rolebar login --sso-session corp`")
    assert str(SignInNeeded(LEGACY, "expired")) == (
        "profile old-style: sign-in needed: the sign-in has expired; "
        "run `rolebar login old-style`")


def test_files_lists_token_files_only(home: Path) -> None:
    cache = TokenCache()
    cache.store(CORP, token())
    cache.store(LEGACY, token(region="eu-west-1", refresh_token=None))
    (cache.root / "botocore-client-id-us-east-1.json").write_text('{"clientId": "x"}')
    (cache.root / "junk.json").write_text("[")
    assert sorted(cache.files()) == sorted([cache.path(CORP), cache.path(LEGACY)])
    assert cache.delete(cache.path(CORP)) and not cache.delete(cache.path(CORP))
    assert os.listdir(cache.root) and cache.load(CORP) is None
