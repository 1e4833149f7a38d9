"""The process mode's options and state for the services beyond STS (see ``services``).

Extra admin paths (loopback only, unsigned, under ``/_double/``):

    GET  /_double/sso_pending | sso_grants | logins
    POST /_double/sso_approve[?user_code=C] | sso_deny[?user_code=C]
    POST /_double/sso_revoke[?what=refresh|all]
    POST /_double/sso_config?access_token_lifetime=N&browser=approve|deny|ignore&...
    POST /_double/sso_account?account=ID[&name=N][&roles=A,B]
    POST /_double/iam_config?consistency_delay=S&consistency_calls=N
    POST /_double/signin_config?token_lifetime=N
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .ssotokens import BROWSER_MODES

if TYPE_CHECKING:
    from .double import StsDouble


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("IAM Identity Center, console sign-in and IAM")
    group.add_argument("--sso-role", action="append", default=[], metavar="ACCOUNT:NAME",
                       help="a permission set assigned in an account (repeatable)")
    group.add_argument("--sso-account", action="append", default=[], metavar="ACCOUNT=NAME",
                       help="an account's display name (repeatable)")
    group.add_argument("--sso-user", default="member", help="the signed-in person's name")
    group.add_argument("--access-token-lifetime", type=int, default=3600, metavar="SECONDS")
    group.add_argument("--sso-role-lifetime", type=int, default=3600, metavar="SECONDS")
    group.add_argument("--device-interval", type=int, default=1, metavar="SECONDS")
    group.add_argument("--browser", choices=BROWSER_MODES, default="approve",
                       help="what /authorize and the device page do (default: approve)")
    group.add_argument("--iam-consistency-delay", type=float, default=0.0, metavar="SECONDS",
                       help="a new access key signs nothing for this long")


def configure(double: StsDouble, args: argparse.Namespace) -> None:
    """Apply the options; ValueError names a bad one."""
    services, settings = double.services, double.services.sso
    settings.user_name = args.sso_user
    settings.access_token_lifetime = args.access_token_lifetime
    settings.role_lifetime = args.sso_role_lifetime
    settings.device_interval = args.device_interval
    settings.browser = args.browser
    services.iam.consistency_delay = args.iam_consistency_delay
    for item in args.sso_account:
        account, sep, name = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--sso-account wants ACCOUNT=NAME, not {item!r}")
        services.add_sso_account(account, name)
    for item in args.sso_role:
        account, sep, role = item.partition(":")
        if not sep:
            raise ValueError(f"--sso-role wants ACCOUNT:NAME, not {item!r}")
        services.add_sso_account(account, roles=(role,))


def state(double: StsDouble) -> dict[str, Any]:
    """What a client needs to find the services: endpoints and the SSO directory."""
    endpoint, services = double.endpoint, double.services
    accounts = [{"id": a.account_id, "name": a.name, "roles": sorted(a.roles)}
                for a in services.portal.accounts.values()]
    return {
        "endpoints": {name: endpoint for name in ("sts", "sso", "sso_oidc", "iam", "signin")},
        "sso": {**asdict(services.sso), "region": "us-east-1", "accounts": accounts},
    }
