"""Ways to get credentials, one small provider each, composed per profile by the planner
(core/planner.py) in the manner of botocore's credential providers and aws-vault's chain.

    StaticKeys       the source profile's long-term keys                  (keys.py)
    KeyringKeys      the same, from the OS keyring                        (keys.py)
    MfaSession       GetSessionToken with a code: the session every role
                     behind one MFA device shares                          (mfa.py)
    AssumeRole       one role: plainly, or with a code in the call          (roles.py)
    SessionRole      one role signed by the MFA session, with no code       (roles.py)
    SessionOrDirect  SessionRole, or AssumeRole with a code when the role
                     refuses MFA-session credentials                       (roles.py)
    SsoRoleCredentials  an IAM Identity Center role from the portal, with the
                     sign-in's access token renewed as needed               (sso.py)
    Cached           cache lookup, the lock and single flight around any
                     of them                                               (cached.py)

Each has `retrieve()` and `describe()`; a request's STS endpoint, code chain and the
route it took travel in a `Call` (base.py). The sources of the next issues (an SSO
token and SSO role credentials on `rolebar.core.sso`, keys from the OS keyring) are one
more class each, wrapped by the same `Cached`.
"""

from rolebar.core.providers.base import Call, Provider, with_code
from rolebar.core.providers.cached import Cached, RoleEntry, SessionEntry
from rolebar.core.providers.keys import KeyringKeys, StaticKeys, source_keys
from rolebar.core.providers.mfa import MfaSession
from rolebar.core.providers.roles import AssumeRole, SessionOrDirect, SessionRole
from rolebar.core.providers.sso import SsoEntry, SsoRoleCredentials

__all__ = ["AssumeRole", "Cached", "Call", "KeyringKeys", "MfaSession", "Provider", "RoleEntry",
           "SessionEntry", "SessionOrDirect", "SessionRole", "SsoEntry", "SsoRoleCredentials",
           "StaticKeys", "source_keys",
           "with_code"]
