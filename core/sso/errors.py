"""IAM Identity Center failures as rolebar errors, carrying AWS's error code.

Messages are built from names and error codes only: OIDC's messages may quote what was
sent, and what is sent here is tokens and client secrets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rolebar.core.errors import ConfigError, RolebarError

if TYPE_CHECKING:
    from rolebar.core.sso.config import SsoSession

# Why a person has to sign in again (SignInNeeded.reason) -> what they read.
REASONS = {
    "not-signed-in": "no sign-in is cached",
    "other-start-url": "the cached sign-in is for another start URL",
    "no-refresh-token": "the sign-in cannot be renewed (no refresh token)",
    "registration-expired": "the client registration has expired",
    "refresh-refused": "IAM Identity Center refused to renew the sign-in",
    "signed-out": "the sign-in has ended or was revoked",
    "expired": "the sign-in has expired",
}

# OIDC error codes (CreateToken with the refresh grant) that no retry can fix.
REFUSED_RENEWAL = {
    "InvalidGrantException": "refresh-refused",
    "ExpiredTokenException": "refresh-refused",
    "InvalidClientException": "registration-expired",
    "UnauthorizedClientException": "refresh-refused",
    "AccessDeniedException": "refresh-refused",
}


class SsoError(RolebarError):
    """IAM Identity Center refused a call or could not be reached: exit 1.

    ``code`` is AWS's error code (``Error.Code``), or None when no answer came.
    """

    def __init__(self, subject: str, cause: str, code: str | None = None) -> None:
        super().__init__(subject, cause)
        self.code = code


class SignInNeeded(RolebarError):
    """Only a person can go on: the sign-in is missing, ended, or cannot be renewed."""

    def __init__(self, session: SsoSession, reason: str) -> None:
        super().__init__(session.subject, f"sign-in needed: {REASONS.get(reason, reason)}; "
                         f"run `{session.login_command}`")
        self.session = session
        self.reason = reason


class SignInFailed(RolebarError):
    """`rolebar login` did not complete (refused, timed out, a wrong redirect)."""


@contextlib.contextmanager
def translate(subject: str, service: str) -> Iterator[None]:
    """botocore's failures -> SsoError with the code, keeping ``__cause__``."""
    import botocore.exceptions as bx

    try:
        yield
    except bx.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code") or "Unknown")
        raise SsoError(subject, f"{service} refused the call ({code})", code) from exc
    except (bx.ConnectTimeoutError, bx.ReadTimeoutError) as exc:
        raise SsoError(subject, f"{service} did not answer in time ({_endpoint(exc)})") from exc
    except (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.HTTPClientError) as exc:
        raise SsoError(subject, f"cannot reach {service} ({_endpoint(exc)})") from exc
    except bx.InvalidRegionError as exc:
        region = exc.kwargs.get("region_name", "")
        raise ConfigError(subject, f"invalid sso_region {region!r}") from exc
    except bx.BotoCoreError as exc:
        raise SsoError(subject, f"{service} call failed ({type(exc).__name__})") from exc


def _endpoint(exc: Exception) -> str:
    kwargs = getattr(exc, "kwargs", {})
    return str(kwargs.get("endpoint_url", "no endpoint"))
