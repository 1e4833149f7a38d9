"""IAM Identity Center (SSO), the client side: settings, the AWS CLI's token cache, access
tokens renewed with the refresh token, role credentials from the portal, sign-in and
sign-out (DESIGN.md section 5a).

    session = SsoConfig.load().for_profile("sso-dev")        # or .session("corp")
    login(session, SignInOptions(say=print_to_stderr))       # `rolebar login`
    bearer = token(session)                                  # renewed as needed
    creds = role_credentials(session, "111111111111", "Developer", profile="sso-dev")

Modules: ``config`` (SsoSession, SsoRole), ``tokencache`` (the CLI's files), ``tokens``
(renewal under one lock), ``portal`` (GetRoleCredentials, Logout), ``registration``
(RegisterClient, reused), ``signin`` with ``loopback`` and ``device`` (the two sign-in
flows), ``signout``, ``clients`` (unsigned botocore clients), ``errors``. botocore is
imported only when a call is made.
"""

from __future__ import annotations

import importlib
from typing import Any

from rolebar.core.sso.config import SsoConfig, SsoRole, SsoSession
from rolebar.core.sso.errors import SignInFailed, SignInNeeded, SsoError
from rolebar.core.sso.portal import role_credentials
from rolebar.core.sso.tokencache import CachedToken, TokenCache
from rolebar.core.sso.tokens import AccessToken, Tokens, token

# Sign-in and sign-out load http.server and friends: only for whoever signs in, not for
# every engine that merely renews tokens (PEP 562).
_LAZY = {"SignInOptions": "signin", "login": "signin", "logout": "signout"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["AccessToken", "CachedToken", "SignInFailed", "SignInNeeded", "SignInOptions",
           "SsoConfig", "SsoError", "SsoRole", "SsoSession", "TokenCache", "Tokens", "login",
           "logout", "role_credentials", "token"]
