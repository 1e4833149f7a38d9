"""The tray's "Sign in to NAME...": the IAM Identity Center browser sign-in (core/sso),
off the icon's threads, only when the person chose the item.

The sign-in waits for the browser to come back (up to ROLEBAR_SSO_LOGIN_TIMEOUT), so it
runs on a thread of its own, one per sign-in at a time; its outcome is one notification
through `report`, and on success `done` (the tray queues "Refresh now", so the keeper
fetches with the new sign-in at once). Nothing here writes a code or token anywhere: the
sign-in's own instructions (a device code for the older form) are not passed on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from rolebar.core.errors import RolebarError
from rolebar.tray.underway import UnderWay

log = logging.getLogger(__name__)

TITLE = "rolebar: sign-in"
SignIn = Callable[[str], str]  # profile -> the sign-in's subject, once signed in
Report = Callable[[str, str, str], None]  # (notification key, title, body)


def browser_sign_in(profile: str) -> str:
    """`rolebar login PROFILE`, as the tray runs it: the browser, no terminal."""
    from rolebar.core.commands.login import login_timeout
    from rolebar.core.sso import SignInOptions, SsoConfig, login

    session = SsoConfig.load().for_profile(profile)
    login(session, SignInOptions(timeout=login_timeout(os.environ)))
    return session.subject


class SignIns:
    def __init__(self, report: Report, done: Callable[[], None],
                 sign_in: SignIn = browser_sign_in) -> None:
        self._sign_in = sign_in
        self._report = report
        self._done = done
        self._under_way = UnderWay("sign-in")

    def start(self, profile: str) -> threading.Thread | None:
        """Sign in for `profile`'s session; None if one is already under way for it."""
        return self._under_way.start(profile, self._run)

    def _run(self, profile: str) -> None:
        try:
            subject = self._sign_in(profile)
            log.info("tray: signed in to %s", subject)
            self._report(f"signin {subject}", TITLE, f"{subject}: signed in")
            self._done()
        except RolebarError as exc:  # names the session and the cause, never a token
            log.warning("tray: sign-in: %s", exc)
            self._report(f"signin {exc}", TITLE, str(exc))
        except Exception as exc:  # noqa: BLE001 - a thread's last stop; the type alone
            log.error("tray: sign-in for profile %s failed (%s)", profile, type(exc).__name__)
            self._report(f"signin {profile} failed", TITLE, f"profile {profile}: the sign-in "
                         "did not complete; see rolebar's log")
        finally:
            self._under_way.done(profile)
