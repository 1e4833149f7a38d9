"""`rolebar console`: the federation endpoint, the destination, the session duration and the
login URL, built from plans and credentials with no network (a recording opener)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rolebar.core import console
from rolebar.core.credentials import Credentials, Keys
from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.profiles import Plan, RoleStep

ROLE = "arn:aws:iam::111111111111:role/developer"
NOW = 1_700_000_000.0


def plan(*arns: str, region: str | None = "ap-northeast-1", token: str | None = None,
         device: str | None = "arn:aws:iam::000000000000:mfa/me") -> Plan:
    roles = tuple(RoleStep("p", arn, "rolebar-me") for arn in arns)
    return Plan("p", Keys("base", "AKIAEXAMPLEEXAMPLE12", "k" * 40, token), roles,
                "session" if device else "none", "why", device=device, region=region)


def creds(lifetime: float = 3600.0) -> Credentials:
    return Credentials("ASIAEXAMPLEEXAMPLE12", "s" * 40, "t" * 200, NOW - 10, NOW + lifetime)


@pytest.mark.parametrize(("arn", "region", "partition", "destination", "federation"), [
    (ROLE, "ap-northeast-1", "aws",
     "https://ap-northeast-1.console.aws.amazon.com/console/home?region=ap-northeast-1",
     "https://signin.aws.amazon.com/federation"),
    (ROLE, None, "aws", "https://console.aws.amazon.com/console/home",
     "https://signin.aws.amazon.com/federation"),
    ("arn:aws-cn:iam::111111111111:role/r", "cn-north-1", "aws-cn",
     "https://console.amazonaws.cn/console/home?region=cn-north-1",
     "https://signin.amazonaws.cn/federation"),
    ("arn:aws-us-gov:iam::111111111111:role/r", "us-gov-west-1", "aws-us-gov",
     "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
     "https://signin.amazonaws-us-gov.com/federation"),
])
def test_partition_destination_and_endpoint(arn: str, region: str | None, partition: str,
                                            destination: str, federation: str) -> None:
    to = console.target(plan(arn, region=region), {})
    assert (to.partition, to.destination, to.federation) == (partition, destination, federation)


def test_the_region_comes_from_the_flag_then_the_profile_then_the_environment() -> None:
    env = {"AWS_REGION": "eu-west-1"}
    assert console.target(plan(ROLE), env, region="us-west-2").region == "us-west-2"
    assert console.target(plan(ROLE), env).region == "ap-northeast-1"
    assert console.target(plan(ROLE, region=None), env).region == "eu-west-1"
    assert console.partition_of(None, "cn-northwest-1") == "aws-cn"


def test_aws_endpoint_url_signin_moves_the_endpoint() -> None:
    env = {"AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:8080/"}
    assert console.target(plan(ROLE), env).federation == "http://127.0.0.1:8080/federation"
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL_SIGNIN"):
        console.target(plan(ROLE), {"AWS_ENDPOINT_URL_SIGNIN": "file:///etc/passwd"})


def test_a_destination_must_be_https() -> None:
    page = "https://eu-west-1.console.aws.amazon.com/ec2/home"
    assert console.target(plan(ROLE), {}, destination=page).destination == page
    with pytest.raises(ConfigError, match="https"):
        console.target(plan(ROLE), {}, destination="http://console.aws.amazon.com/")


def test_a_profile_that_is_not_a_role_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not a role") as caught:
        console.target(plan(), {})
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("lifetime", "wanted"), [
    (3600, 3600), (60, 900), (100_000, 43200), (7200, 7200)])
def test_the_session_lasts_as_long_as_the_credentials(lifetime: float, wanted: int) -> None:
    assert console.session_duration(creds(lifetime), NOW, chained=False) == wanted


def test_role_chaining_leaves_the_session_duration_out() -> None:
    assert console.target(plan(ROLE, "arn:aws:iam::2:role/next"), {}).chained
    assert console.target(plan(ROLE, token="FwoG" * 20, device=None), {}).chained
    assert not console.target(plan(ROLE), {}).chained
    assert console.session_duration(creds(), NOW, chained=True) is None


class Opener:
    """urlopen's stand-in: records the request, answers `status` with `body`."""

    def __init__(self, status: int = 200, body: bytes = b'{"SigninToken": "TOKEN123"}'
                 ) -> None:
        self.status, self.body = status, body
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request, timeout: float) -> Any:
        assert timeout == console.TIMEOUT
        self.requests.append(request)
        if self.status != 200:
            raise urllib.error.HTTPError(request.full_url, self.status, "no", {},  # type: ignore[arg-type]
                                         io.BytesIO(self.body))
        return io.BytesIO(self.body)


def test_get_signin_token_is_a_form_post_with_the_session() -> None:
    opener, to = Opener(), console.target(plan(ROLE), {})
    assert console.signin_token(to, creds(), 3600, opener) == "TOKEN123"
    [request] = opener.requests
    assert request.get_method() == "POST" and request.full_url == to.federation
    assert request.data is not None
    fields = {k: v[0] for k, v in parse_qs(request.data.decode()).items()}
    assert fields["Action"] == "getSigninToken" and fields["SessionDuration"] == "3600"
    assert json.loads(fields["Session"]) == {"sessionId": "ASIAEXAMPLEEXAMPLE12",
                                             "sessionKey": "s" * 40, "sessionToken": "t" * 200}
    console.signin_token(to, creds(), None, opener)
    assert "SessionDuration" not in opener.requests[-1].data.decode()  # type: ignore[union-attr]


def test_a_refusal_is_one_line_that_never_repeats_what_was_sent() -> None:
    to = console.target(plan(ROLE), {})
    with pytest.raises(RolebarError) as caught:
        console.signin_token(to, creds(), 3600, Opener(403, b"Credentials have expired\nmore"))
    assert str(caught.value) == ("profile p: the console sign-in endpoint answered HTTP 403: "
                                 "Credentials have expired")
    assert caught.value.exit_code == 1
    with pytest.raises(RolebarError) as caught:
        console.signin_token(to, creds(), 3600, Opener(400, b"bad session " + b"s" * 40))
    assert str(caught.value).endswith("answered HTTP 400")
    with pytest.raises(RolebarError, match="gave no sign-in token"):
        console.signin_token(to, creds(), 3600, Opener(200, b"<html>"))


def test_the_login_url() -> None:
    to = console.target(plan(ROLE), {})
    url = console.login_url(to, "TOKEN123")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == to.federation
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "Action": "login", "Issuer": "rolebar", "Destination": to.destination,
        "SigninToken": "TOKEN123"}


def test_no_browser_is_one_line_without_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    monkeypatch.setattr(webbrowser, "open", lambda url, new=0: False)
    with pytest.raises(ConfigError) as caught:
        console.open_in_browser("https://secret.example/?SigninToken=SECRET", "p")
    assert "SECRET" not in str(caught.value) and "--print" in str(caught.value)
