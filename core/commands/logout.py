"""`rolebar logout [--sso-session NAME]`: end IAM Identity Center sign-ins.

The portal's Logout, then the token file removed; with no session named, every cached
sign-in, as `aws sso logout` does (the AWS CLI and the SDKs share those tokens).
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("logout", help="end IAM Identity Center (SSO) sign-ins")
    parser.add_argument("--sso-session", metavar="NAME",
                        help="only this [sso-session NAME] (default: every cached sign-in)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rolebar.core.sso import SsoConfig, logout

    if args.sso_session:
        session = SsoConfig.load().session(args.sso_session)
        count = logout(session)
        print(f"{session.subject}: signed out" if count else
              f"{session.subject}: was not signed in")
        return 0
    count = logout()
    print(f"signed out of {count} sign-in{'' if count == 1 else 's'}")
    return 0
