"""core/sts.py: STS's answers -> rolebar errors carrying AWS's code, and what a refusal
means for the route (decided on the code and the HTTP status, never on message text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.exceptions as bx
import pytest

from rolebar.core.errors import ConfigError, StsError
from rolebar.core.sts import (
    CallFailed,
    InvalidCode,
    SessionExpired,
    SessionRouteRefused,
    refine,
    translate,
)
from rolebar.core.stsdouble.wire import MSG_BAD_CODE, MSG_NOT_VALIDATED
from tests.aging import settle

SUBJECT = "profile dev"
DENIED = ("User: arn:aws:iam::000000000000:user/member is not authorized to perform: "
          "sts:AssumeRole on resource: arn:aws:iam::111111111111:role/developer")


def client_error(code: str | None, status: int, message: str = "") -> bx.ClientError:
    response: dict[str, Any] = {"Error": {"Message": message},
                                "ResponseMetadata": {"HTTPStatusCode": status}}
    if code is not None:
        response["Error"]["Code"] = code
    return bx.ClientError(response, "AssumeRole")  # type: ignore[arg-type]


def raised(exc: Exception) -> Exception:
    with pytest.raises(Exception) as caught, translate(SUBJECT):
        raise exc
    assert caught.value.__cause__ is exc  # the SDK's error stays reachable for --debug
    return caught.value


# (AWS code, HTTP status, message) -> (class, code kept, cause the user reads)
ANSWERS = [
    ("AccessDenied", 403, DENIED, StsError, "access denied (AccessDenied)"),
    ("AccessDenied", 403, MSG_BAD_CODE, InvalidCode,
     "STS rejected the one-time code (wrong or already used)"),
    ("AccessDenied", 403, MSG_NOT_VALIDATED, InvalidCode,
     "STS rejected the one-time code (wrong or already used)"),
    ("ExpiredToken", 400, "The security token included in the request is expired", StsError,
     "the credentials used to call STS have expired (ExpiredToken)"),
    ("InvalidClientTokenId", 403, "", StsError,
     "STS does not know the access key (InvalidClientTokenId)"),
    ("SignatureDoesNotMatch", 403, "", StsError,
     "STS rejected the signature (wrong secret access key?) (SignatureDoesNotMatch)"),
    ("RequestExpired", 400, "", StsError,
     "the request expired (is the system clock right?) (RequestExpired)"),
    ("ValidationError", 400, "Value 'x' at 'roleArn'", StsError,
     "STS rejected a parameter (ValidationError)"),
    ("RegionDisabledException", 403, "", StsError,
     "STS is not enabled in this region (RegionDisabledException)"),
    ("Throttling", 400, "Rate exceeded", CallFailed,
     "STS is throttling requests; try again shortly (Throttling)"),
    ("ThrottlingException", 400, "", CallFailed,
     "STS is throttling requests; try again shortly (ThrottlingException)"),
    ("RequestTimeout", 408, "", CallFailed, "STS refused the call (RequestTimeout)"),
    ("InternalFailure", 500, "", CallFailed, "STS failed; try again shortly (InternalFailure)"),
    ("ServiceUnavailable", 503, "", CallFailed,
     "STS is unavailable; try again shortly (ServiceUnavailable)"),
    ("SomethingNew", 502, "", CallFailed, "STS refused the call (SomethingNew)"),
    ("SomethingNew", 400, "", StsError, "STS refused the call (SomethingNew)"),
    (None, 400, "", StsError, "STS refused the call (Unknown)"),
]


@pytest.mark.parametrize(("code", "status", "message", "kind", "cause"), ANSWERS)
def test_an_sts_answer_becomes_one_error_with_the_code(
        code: str | None, status: int, message: str, kind: type[StsError], cause: str) -> None:
    exc = raised(client_error(code, status, message))
    assert type(exc) is kind
    assert isinstance(exc, StsError)
    assert (exc.code, exc.status) == (code or "Unknown", status)
    assert str(exc) == f"{SUBJECT}: {cause}"
    assert "arn:aws" not in str(exc)  # AWS's message (ARNs, policies) is never quoted


NO_ANSWER = [
    (bx.ConnectTimeoutError(endpoint_url="https://sts.example"), StsError,
     "STS did not answer in time (https://sts.example)"),
    (bx.ReadTimeoutError(endpoint_url="https://sts.example"), CallFailed,
     "STS did not answer in time (https://sts.example)"),
    (bx.EndpointConnectionError(endpoint_url="https://sts.example"), StsError,
     "cannot reach STS (https://sts.example)"),
    (bx.ConnectionClosedError(endpoint_url="https://sts.example"), CallFailed,
     "the connection to STS failed (https://sts.example)"),
    (bx.NoRegionError(), StsError, "STS call failed (NoRegionError)"),
]


@pytest.mark.parametrize(("error", "kind", "cause"), NO_ANSWER)
def test_no_answer_carries_no_code(error: Exception, kind: type[StsError], cause: str) -> None:
    exc = raised(error)
    assert type(exc) is kind
    assert isinstance(exc, StsError) and (exc.code, exc.status) == (None, None)
    assert str(exc) == f"{SUBJECT}: {cause}"


@pytest.mark.parametrize(("error", "cause"), [
    (bx.InvalidRegionError(region_name="not a region"), "invalid region 'not a region'"),
    (bx.ProfileNotFound(profile="ghost"), "profile not found by botocore"),
])
def test_configuration_errors_exit_2(error: Exception, cause: str) -> None:
    exc = raised(error)
    assert isinstance(exc, ConfigError) and exc.exit_code == 2
    assert str(exc) == f"{SUBJECT}: {cause}"


def refusal(kind: type[StsError], code: str | None, status: int | None) -> StsError:
    return kind(SUBJECT, "some cause", code, status)


# (the error, AssumeRole signed by an MFA session without a code, caller from STS) -> class
ROUTES = [
    (refusal(StsError, "AccessDenied", 403), True, True, SessionRouteRefused),
    (refusal(StsError, "AccessDenied", 403), False, True, StsError),  # a code was in the call
    (refusal(StsError, "AccessDenied", 400), True, True, StsError),  # not AWS's AccessDenied
    (refusal(InvalidCode, "AccessDenied", 403), True, True, InvalidCode),
    (refusal(CallFailed, "AccessDenied", 503), True, True, CallFailed),
    (refusal(StsError, "ExpiredToken", 400), True, True, SessionExpired),
    (refusal(StsError, "InvalidClientTokenId", 403), False, True, SessionExpired),
    (refusal(StsError, "ExpiredToken", 400), False, False, StsError),  # long-term keys
    (refusal(StsError, "ValidationError", 400), True, True, StsError),
    (refusal(StsError, None, None), True, True, StsError),
]


@pytest.mark.parametrize(("exc", "via_session", "temporary", "kind"), ROUTES)
def test_what_a_refusal_means_for_the_route(exc: StsError, via_session: bool, temporary: bool,
                                            kind: type[StsError]) -> None:
    refined = refine(exc, via_session=via_session, temporary=temporary)
    assert type(refined) is kind
    assert (refined.code, refined.status, str(refined)) == (exc.code, exc.status, str(exc))


def test_the_route_never_reads_the_cause_text() -> None:
    # The old check matched "access denied" at the start of the cause; a cause worded
    # anyhow with AWS's code decides the same, and the wording alone decides nothing.
    worded = StsError(SUBJECT, "anything at all", "AccessDenied", 403)
    assert type(refine(worded, via_session=True, temporary=True)) is SessionRouteRefused
    textual = StsError(SUBJECT, "access denied (AccessDenied)")
    assert refine(textual, via_session=True, temporary=True) is textual


# -- clients: boto3 on the engine's botocore session ---------------------------------------

CONFIG = """\
[profile eu]
region = eu-west-1
[profile moved]
services = corp
[services corp]
sts =
  endpoint_url = https://sts.corp.example
"""


def test_clients_are_boto3s_on_one_session_built_on_rolebars_parse(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.configloader

    from rolebar.core.credentials import Keys
    from rolebar.core.sts import Sts

    (home / ".aws" / "config").write_text(CONFIG)
    settle(home / ".aws" / "config", ago=60)  # a file changed just now is read every time
    monkeypatch.setenv("AWS_PROFILE", "ghost")  # rolebar's clients name their own profile
    parsed: list[str] = []
    real = botocore.configloader.load_config
    monkeypatch.setattr(botocore.configloader, "load_config",
                        lambda path, *a, **k: parsed.append(path) or real(path, *a, **k))
    keys = Keys("eu", "AKIAEXAMPLEEXAMPLE01", "x" * 40)
    eu, moved = Sts("eu", None)._client(keys), Sts("moved", "us-west-2")._client(keys)
    assert eu.meta.config.user_agent.startswith("Boto3/")
    assert (eu.meta.region_name, moved.meta.region_name) == ("eu-west-1", "us-west-2")
    assert moved.meta.endpoint_url == "https://sts.corp.example"
    assert eu.meta.endpoint_url == "https://sts.eu-west-1.amazonaws.com"
    assert parsed == [str(home / ".aws" / "config")]  # one parse, for rolebar and botocore


def test_an_invalid_region_is_a_config_error_found_by_check(home: Path) -> None:
    from rolebar.core.sts import Sts

    (home / ".aws" / "config").write_text("[profile bad]\nregion = not a region!\n")
    with pytest.raises(ConfigError) as caught:
        Sts("bad", None).check()
    assert str(caught.value) == "profile bad: invalid region 'not a region!'"
