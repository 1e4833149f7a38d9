"""The tray's "Open console": sign in as a role and open the browser, off the icon's threads.

getSigninToken (and STS, when the cache holds no fresh credentials) take seconds, and a
browser started through `$BROWSER` may not return until it closes, so each sign-in runs
on a thread of its own; the dispatcher and the GTK loop never wait for one. The login URL
is a secret (core/console.py): it goes to the browser and nowhere else. A failure becomes
one log line and a notification (through `report`, which the tray points at its
dispatcher's queue); an unexpected exception is named by its type only, since its
message might quote the URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rolebar.core.errors import RolebarError
from rolebar.tray.underway import UnderWay

log = logging.getLogger(__name__)

TITLE = "rolebar: console"
SignIn = Callable[[str], str]  # profile -> login URL
OpenUrl = Callable[[str, str], None]  # (url, profile): the browser
Report = Callable[[str, str, str], None]  # (notification key, title, body)


class Consoles:
    def __init__(self, sign_in: SignIn, open_url: OpenUrl, report: Report) -> None:
        self._sign_in = sign_in
        self._open_url = open_url
        self._report = report
        self.report = report  # shared with the tray's other threads (keymenu)
        self._under_way = UnderWay("console")  # until the sign-in returns

    def open(self, profile: str) -> threading.Thread | None:
        """Start signing in as `profile`; None if a sign-in for it is already under way."""
        return self._under_way.start(profile, self._run)

    def _run(self, profile: str) -> None:
        try:
            try:
                url = self._sign_in(profile)
            finally:
                self._under_way.done(profile)
            self._open_url(url, profile)
            log.info("tray: console opened for profile %s", profile)
        except RolebarError as exc:  # names the profile and the cause, never the URL
            log.warning("tray: console: %s", exc)
            self._report(f"console {exc}", TITLE, str(exc))
        except Exception as exc:  # noqa: BLE001 - a thread's last stop; the type alone
            log.error("tray: console for profile %s failed (%s)", profile, type(exc).__name__)
            self._report(f"console {profile} failed", TITLE, f"profile {profile}: the console "
                         "could not be opened; see rolebar's log")
