"""The STS calls and their errors, nothing else.

Clients are boto3's, made by the engine's SDK (sdk.py) with the plan's keys, never the
SDK's default chain, so a shell with `AWS_PROFILE=tray-managed` cannot make rolebar call
itself. The endpoint is still the one the SDK resolves (`AWS_ENDPOINT_URL_STS`,
`endpoint_url`, regional endpoints). boto3 and botocore are imported only when a call is
made, and in a long-lived process only by the child that makes it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from rolebar.core.credentials import Credentials, Keys, mask
from rolebar.core.errors import ConfigError, StsError
from rolebar.core.profiles import Catalog, RoleStep
from rolebar.core.sdk import Client

if TYPE_CHECKING:
    from rolebar.core.sdk import Sdk

log = logging.getLogger(__name__)

class InvalidCode(StsError):
    """STS rejected the one-time code (wrong, or already used)."""


class SessionRouteRefused(StsError):
    """The role refused credentials from an MFA session; it wants a code in the call."""


class SessionExpired(StsError):
    """STS no longer accepts the credentials that signed the call."""


class CallFailed(StsError):
    """STS failed (5xx, throttling) or the connection broke after the request went out:
    the call may or may not have been carried out, so any code in it counts as spent."""


# Error codes after which another try may work; other refusals would only repeat.
TRANSIENT = {"InternalFailure", "InternalError", "ServiceUnavailable", "Throttling",
              "ThrottlingException", "RequestTimeout"}


# AWS error code -> what the user reads. Built from the code only: AWS messages may quote
# ARNs and policies, and some SDK messages quote the request.
CAUSES = {
    "AccessDenied": "access denied",
    "ExpiredToken": "the credentials used to call STS have expired",
    "InvalidClientTokenId": "STS does not know the access key",
    "SignatureDoesNotMatch": "STS rejected the signature (wrong secret access key?)",
    "Throttling": "STS is throttling requests; try again shortly",
    "ThrottlingException": "STS is throttling requests; try again shortly",
    "RequestExpired": "the request expired (is the system clock right?)",
    "ValidationError": "STS rejected a parameter",
    "RegionDisabledException": "STS is not enabled in this region",
    "InternalFailure": "STS failed; try again shortly",
    "ServiceUnavailable": "STS is unavailable; try again shortly",
}


class Sts:
    """One STS endpoint seen from one profile (region and endpoint settings)."""

    def __init__(self, profile: str, region: str | None,
                 sdk: Callable[[], Sdk] | None = None) -> None:
        self.profile = profile
        self.region = region
        self._sdk = sdk or _process_sdk  # the engine passes the SDK of its own files

    def check(self) -> None:
        """Configuration errors before any code is spent: a client must be buildable."""
        with translate(f"profile {self.profile}"):
            self._sdk().check(Client("sts", self.profile, self.region))

    def get_session_token(self, keys: Keys, device: str, code: str, seconds: int) -> Credentials:
        log.info("profile %s: GetSessionToken for %s with %s", self.profile, device,
                 mask(keys.access_key_id))
        with translate(f"profile {self.profile}"):
            answer = self._client(keys, with_code=True).get_session_token(
                DurationSeconds=seconds, SerialNumber=device, TokenCode=code
            )
        return _credentials(answer)

    def assume_role(self, caller: Keys | Credentials, step: RoleStep, *, device: str | None = None,
                    code: str | None = None, session: bool = False) -> Credentials:
        params: dict[str, Any] = {"RoleArn": step.role_arn, "RoleSessionName": step.session_name}
        if step.external_id:
            params["ExternalId"] = step.external_id
        duration = step.duration
        if isinstance(caller, Credentials) and duration and duration > 3600:
            duration = 3600  # STS refuses longer role chains
        if duration:
            params["DurationSeconds"] = duration
        if code is not None:
            params["SerialNumber"], params["TokenCode"] = device, code
        log.info("profile %s: AssumeRole %s%s", step.profile, step.role_arn,
                 " with a code" if code else "")
        try:
            with translate(f"profile {step.profile}"):
                answer = self._client(caller, with_code=code is not None).assume_role(**params)
        except StsError as exc:
            refined = refine(exc, via_session=session, temporary=isinstance(caller, Credentials))
            if refined is exc:
                raise
            raise refined from exc
        return _credentials(answer)

    def _client(self, caller: Keys | Credentials, with_code: bool = False) -> Any:
        """A client with the caller's keys. A call that carries a one-time code is never
        retried by the SDK: a retry would send the same code again, and if the first try
        reached STS the retry fails as a reused code (the engine asks for a new one).
        A stalled STS costs a `credential_process` caller at most two tries of 10 s; the
        keeper retries on its own schedule, with backoff."""
        spec = Client("sts", self.profile, self.region, Client.keys_of(caller),
                      attempts=1 if with_code else 2)
        with translate(f"profile {self.profile}"):
            return self._sdk().client(spec)


def _process_sdk() -> Sdk:
    """The SDK of the files this process's environment names."""
    from rolebar.core.sdk import sdk

    return sdk(Catalog.load())


@contextlib.contextmanager
def translate(subject: str) -> Iterator[None]:
    """Turn botocore's failures into one-line rolebar errors, keeping `__cause__`."""
    import botocore.exceptions as bx

    try:
        yield
    except bx.ClientError as exc:
        raise refusal(subject, exc.response) from exc
    except bx.ConnectTimeoutError as exc:
        raise StsError(subject, f"STS did not answer in time ({_endpoint(exc)})") from exc
    except bx.ReadTimeoutError as exc:  # the request went out: STS may have acted on it
        raise CallFailed(subject, f"STS did not answer in time ({_endpoint(exc)})") from exc
    except bx.EndpointConnectionError as exc:
        raise StsError(subject, f"cannot reach STS ({_endpoint(exc)})") from exc
    except (bx.ConnectionClosedError, bx.HTTPClientError) as exc:
        raise CallFailed(subject, f"the connection to STS failed ({_endpoint(exc)})") from exc
    except bx.InvalidRegionError as exc:
        region = exc.kwargs.get("region_name", "")
        raise ConfigError(subject, f"invalid region {region!r}") from exc
    except bx.ProfileNotFound as exc:
        raise ConfigError(subject, "profile not found by botocore") from exc
    except bx.BotoCoreError as exc:
        raise StsError(subject, f"STS call failed ({type(exc).__name__})") from exc


def refusal(subject: str, response: Mapping[str, Any]) -> StsError:
    """An STS error answer as a rolebar error carrying AWS's code and the HTTP status."""
    error = response.get("Error", {})
    code = str(error.get("Code") or "Unknown")
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) or None
    # AWS answers a wrong or spent code with AccessDenied and says which only in the
    # message; this is the one place that reads it.
    if code == "AccessDenied" and "MultiFactorAuthentication" in str(error.get("Message", "")):
        return InvalidCode(subject, "STS rejected the one-time code (wrong or already used)",
                           code, status)
    cause = CAUSES.get(code, "STS refused the call")
    kind = CallFailed if code in TRANSIENT or (status or 0) >= 500 else StsError
    return kind(subject, f"{cause} ({code})", code, status)


def refine(exc: StsError, *, via_session: bool, temporary: bool) -> StsError:
    """What a refused AssumeRole means for the route, from the code and status alone.

    `via_session`: the caller is an MFA session and the call carries no code, so an
    AccessDenied (403) is the role wanting the code in the call (a trust policy with a
    short aws:MultiFactorAuthAge, say). `temporary`: the caller's credentials came from
    STS, which may have ended them before their Expiration.
    """
    if type(exc) is not StsError:  # a code refused, or a failure to try again: as it is
        return exc
    if via_session and exc.code == "AccessDenied" and exc.status == 403:
        return SessionRouteRefused(exc.subject, exc.cause, exc.code, exc.status)
    if temporary and exc.code in ("ExpiredToken", "InvalidClientTokenId"):
        return SessionExpired(exc.subject, exc.cause, exc.code, exc.status)
    return exc


def _endpoint(exc: Exception) -> str:
    kwargs = getattr(exc, "kwargs", {})
    return str(kwargs.get("endpoint_url", "no endpoint"))


def _credentials(answer: dict[str, Any]) -> Credentials:
    raw = answer["Credentials"]
    expires = raw["Expiration"].timestamp()
    return Credentials(
        access_key_id=raw["AccessKeyId"],
        secret_access_key=raw["SecretAccessKey"],
        session_token=raw["SessionToken"],
        issued=min(time.time(), expires),
        expires=expires,
    )
