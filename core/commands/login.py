"""`rolebar login [PROFILE | --sso-session NAME] [--device-code] [--no-browser]`: sign in
to IAM Identity Center as the AWS CLI v2 does; the token serves rolebar, the AWS CLI and
the SDKs alike, and a running engine (the tray, `rolebar keep`) uses it at once.

With neither a profile nor a session, the one sign-in the config names is used. What to
open goes to stderr; one line on stdout says until when the sign-in holds.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from rolebar.core.errors import ConfigError
from rolebar.core.timing import seconds_setting

if TYPE_CHECKING:  # rolebar.core.sso loads on use, not when the parser is built
    from rolebar.core.sso import SsoSession


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("login", help="sign in to IAM Identity Center (SSO)")
    parser.add_argument("profile", nargs="?", help="a profile with sso_session or "
                        "sso_start_url")
    parser.add_argument("--sso-session", metavar="NAME", help="an [sso-session NAME] block")
    parser.add_argument("--device-code", action="store_true",
                        help="sign in with a code on any device, not a browser here")
    parser.add_argument("--no-browser", action="store_true",
                        help="print the URL to open instead of opening a browser")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rolebar.core.sso import SignInOptions, login

    session = chosen_session(args.profile, args.sso_session)
    options = SignInOptions(browser=not args.no_browser, device_code=args.device_code,
                            timeout=login_timeout(os.environ), say=_say)
    token = login(session, options)
    until = datetime.fromtimestamp(token.expires).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    then = "is renewed as needed" if token.renewable else "cannot be renewed (sign in again then)"
    print(f"{session.subject}: signed in; the access token holds until {until} and {then}")
    wake_the_running_engine()
    return 0


def wake_the_running_engine() -> None:
    """A tray or `rolebar keep` that waits for this sign-in tries again now, as after the
    tray's own "Sign in to ...", not at its next try (minutes away after a backoff)."""
    from rolebar.core import ipc

    if ipc.call("refresh") is not None:
        _say("the running engine refreshes its sections with the new sign-in")


def chosen_session(profile: str | None, name: str | None) -> SsoSession:
    from rolebar.core.sso import SsoConfig

    if profile and name:
        raise ConfigError("usage", "login takes a PROFILE or --sso-session NAME, not both")
    config = SsoConfig.load()
    if name:
        return config.session(name)
    if profile:
        return config.for_profile(profile)
    found = config.sessions()
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError(str(config.file), "names no IAM Identity Center sign-in (no "
                          "[sso-session] block, no profile with sso_start_url)")
    names = ", ".join(s.name or f"profile {s.profile}" for s in found)
    raise ConfigError("usage", f"login takes a PROFILE or --sso-session NAME (configured: "
                      f"{names})")


def login_timeout(env: Mapping[str, str]) -> float:
    """`ROLEBAR_SSO_LOGIN_TIMEOUT`: seconds the browser has to come back (default 600)."""
    from rolebar.core.sso.signin import DEFAULT_TIMEOUT

    return seconds_setting(env, "ROLEBAR_SSO_LOGIN_TIMEOUT", DEFAULT_TIMEOUT)


def _say(text: str) -> None:
    print(f"rolebar: {text}", file=sys.stderr, flush=True)
