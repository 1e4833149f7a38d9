"""Role credentials from the IAM Identity Center portal (GetRoleCredentials, bearer token).

A token the portal refuses (UnauthorizedException: revoked, logged out, or ended early) is
renewed once with the refresh token and the call tried again; if that cannot be done the
person has to sign in (SignInNeeded). An account or role the person is not assigned
(ForbiddenException) is a configuration error naming the profile.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.sso import clients
from rolebar.core.sso.config import SsoSession
from rolebar.core.sso.errors import SignInNeeded, SsoError, translate
from rolebar.core.sso.tokens import AccessToken, Tokens

log = logging.getLogger(__name__)


def role_credentials(session: SsoSession, account: str, role: str, *,
                     profile: str | None = None, tokens: Tokens | None = None) -> Credentials:
    """Credentials for ``role`` in ``account`` through ``session``'s sign-in."""
    tokens = tokens or Tokens()
    subject = f"profile {profile}" if profile else session.subject
    bearer = tokens.token(session)
    try:
        return _get(session, bearer, account, role, subject)
    except SsoError as exc:
        if exc.code != "UnauthorizedException":
            raise
    log.info("%s: the portal refused the access token; renewing it", subject)
    bearer = tokens.token(session, rejected=bearer.value)
    try:
        return _get(session, bearer, account, role, subject)
    except SsoError as exc:
        if exc.code == "UnauthorizedException":
            raise SignInNeeded(session, "signed-out") from exc
        raise


def answers(session: SsoSession, tokens: Tokens | None = None) -> int:
    """How many accounts the portal lists for ``session``'s sign-in (one page): `doctor`'s
    proof that the portal answers and takes the token. Raises a RolebarError otherwise."""
    bearer = (tokens or Tokens()).token(session)
    portal = clients.portal(session.region, session.profile, session.subject)
    with translate(session.subject, clients.PORTAL):
        answer = portal.list_accounts(accessToken=bearer.value, maxResults=100)
    return len(answer.get("accountList", []))


def _get(session: SsoSession, bearer: AccessToken, account: str, role: str,
         subject: str) -> Credentials:
    portal = clients.portal(session.region, session.profile, subject)
    log.info("%s: GetRoleCredentials %s in %s", subject, role, account)
    try:
        with translate(subject, clients.PORTAL):
            answer = portal.get_role_credentials(accessToken=bearer.value, accountId=account,
                                                 roleName=role)
    except SsoError as exc:
        if exc.code == "ForbiddenException":
            raise ConfigError(subject, f"IAM Identity Center gives no access to role {role} "
                              f"in account {account} (ForbiddenException)") from exc
        raise
    return _credentials(answer["roleCredentials"])


def _credentials(raw: dict[str, Any]) -> Credentials:
    expires = float(raw["expiration"]) / 1000  # epoch milliseconds
    return Credentials(access_key_id=raw["accessKeyId"],
                       secret_access_key=raw["secretAccessKey"],
                       session_token=raw["sessionToken"],
                       issued=min(time.time(), expires), expires=expires)


def logout(region: str, access_token: str, subject: str, profile: str | None = None) -> bool:
    """The portal's Logout; False (logged) when the portal refused or could not be reached:
    the token file goes anyway, as the AWS CLI's logout does."""
    try:
        portal = clients.portal(region, profile, subject)
        with translate(subject, clients.PORTAL):
            portal.logout(accessToken=access_token)
    except SsoError as exc:
        log.info("%s: portal Logout failed (%s)", subject, exc.code or exc.cause)
        return False
    except RolebarError as exc:  # a region in a token file that no client takes
        log.info("%s: portal Logout not tried (%s)", subject, exc.cause)
        return False
    return True
