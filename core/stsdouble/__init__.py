"""A strict STS double: the AWS STS Query API on 127.0.0.1, for tests and ``rolebar demo``.

A double that only echoes proves nothing, so this one checks what STS checks: SigV4
signatures recomputed with the secret it issued, session tokens, expiry, TOTP codes (RFC
6238, each accepted once per device), role rules and durations. Errors come back as AWS's
``ErrorResponse`` XML with AWS's codes, messages and HTTP status.

    double = StsDouble(role_lifetime=20, session_lifetime=180)
    user = double.add_user("member", account="000000000000")
    double.add_role("arn:aws:iam::111111111111:role/developer", require_mfa=True)
    endpoint = double.start()   # "http://127.0.0.1:PORT", for AWS_ENDPOINT_URL_STS
    ...  totp(user.totp_secret) makes a code
    double.stop()

Stdlib only and nothing from the rest of rolebar, so ``python -m rolebar.core.stsdouble``
runs anywhere (see ``process.main``).

Modules: ``totp`` (codes), ``sigv4`` (signature checks), ``wire`` (errors, validation,
XML), ``model`` (users, roles, keys), ``double`` (the rules), ``faults`` (the fault switch),
``server`` (HTTP), ``process`` (the command line) and ``admin`` (its ``/_double/`` paths).

The same port also serves IAM Identity Center, console federation and IAM access keys,
reached as ``double.services`` (see ``services``): ``oidc`` and ``browser`` (sign-in),
``portal`` (role credentials), ``ssotokens`` (their shared tokens), ``federation``, ``iam``,
``jsonwire`` (rest-json replies) and ``serviceopts`` (their process-mode options).
"""

from __future__ import annotations

from .double import ACTIONS, StsDouble
from .faults import FAULTS
from .model import Call, Role, User
from .process import main
from .services import Services
from .totp import totp
from .wire import StsError

__all__ = ["ACTIONS", "FAULTS", "Call", "Role", "Services", "StsDouble", "StsError", "User", "main",
           "totp"]
