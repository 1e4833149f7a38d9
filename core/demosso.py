"""The demo's IAM Identity Center profile: an account in the double's portal, an
`[sso-session demo]` for it, and the browser step of the sign-in done by the demo itself
(it follows the double's sign-in page back to rolebar's loopback address), so the profile
works at once next to the MFA ones."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rolebar.core.stsdouble import StsDouble

PROFILE = "sso-dev"
ACCOUNT = "333333333333"
ROLE = "Developer"
SESSION = "demo"
START_URL = "https://d-0000000000.awsapps.com/start"  # the double takes any


def add_account(double: StsDouble) -> None:
    double.services.add_sso_account(ACCOUNT, "sso-demo", (ROLE,))


def config_text(region: str) -> str:
    return (
        "\n# IAM Identity Center: the demo signed in for you (`rolebar login` does it for real)\n"
        f"[profile {PROFILE}]\nsso_session = {SESSION}\nsso_account_id = {ACCOUNT}\n"
        f"sso_role_name = {ROLE}\nregion = {region}\n\n"
        f"[sso-session {SESSION}]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n"
    )


def sign_in() -> None:
    """`rolebar login --sso-session demo`, with the demo as the browser."""
    from rolebar.core.sso import SignInOptions, SsoConfig, login

    login(SsoConfig.load().session(SESSION), SignInOptions(open_url=_follow, timeout=30))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _follow(url: str) -> bool:
    """A signed-in person's browser: the sign-in page, then its redirect back to rolebar."""
    def visit() -> None:
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(url, timeout=10) as answer:
                answer.read()
                return
        except urllib.error.HTTPError as redirect:
            with redirect:
                location = redirect.headers.get("Location")
        if location:
            with urllib.request.urlopen(location, timeout=10) as back:  # noqa: S310 - loopback
                back.read()

    threading.Thread(target=visit, daemon=True, name="rolebar-demo-browser").start()
    return True
