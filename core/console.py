"""The AWS console, signed in as a profile's role (`rolebar console`).

Role credentials go to the federation endpoint's `getSigninToken`; the answer becomes a
login URL (`Action=login`, `Issuer`, `Destination`, `SigninToken`) that anyone holding it
can use to open a console session for 15 minutes. So the URL and the token are secrets:
they never reach a log line, a notification, stderr or an exception message. The endpoint
refuses long-term keys and GetSessionToken credentials, so a profile that is not a role is
refused here, before anything is fetched.

The endpoint is `https://signin.aws.amazon.com/federation` (per partition), moved by
`AWS_ENDPOINT_URL_SIGNIN` (a base URL, `/federation` appended), as the SDKs move others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError, RolebarError, printable
from rolebar.core.profiles import Plan

if TYPE_CHECKING:
    from rolebar.core.engine import Engine

log = logging.getLogger(__name__)

TIMEOUT = 15.0  # seconds for getSigninToken
ISSUER = "rolebar"
MIN_DURATION, MAX_DURATION = 900, 43200  # what getSigninToken accepts as SessionDuration
_SIGNIN = {"aws": "signin.aws.amazon.com", "aws-cn": "signin.amazonaws.cn",
           "aws-us-gov": "signin.amazonaws-us-gov.com"}
_CONSOLE = {"aws": "console.aws.amazon.com", "aws-cn": "console.amazonaws.cn",
            "aws-us-gov": "console.amazonaws-us-gov.com"}

Opener = Callable[..., Any]  # urllib.request.urlopen's shape


@dataclass(frozen=True)
class Target:
    """Where the console opens and who signs it in (no secrets)."""

    profile: str
    partition: str
    region: str | None
    destination: str
    federation: str
    chained: bool


def sign_in(engine: Engine, profile: str, *, code: str | None = None,
            region: str | None = None, destination: str | None = None,
            opener: Opener | None = None) -> str:
    """The login URL for `profile`'s role (a secret: see the module's docstring)."""
    catalog = engine.catalog()
    values = catalog.values(profile)  # ProfileNotFound names the files
    if "role_arn" not in values and "sso_role_name" not in values:
        raise not_a_role(profile)  # before a code is spent on an MFA session
    to = target(catalog.plan(profile), engine.env, region, destination)
    creds = engine.credentials(profile, code=code)
    token = signin_token(to, creds, session_duration(creds, engine.clock(), to.chained),
                         opener)
    log.info("profile %s: console sign-in token issued for %s", profile,
             to.region or "the default region")
    return login_url(to, token)


def check_role(plan: Plan) -> None:
    """Refuse a profile whose credentials the federation endpoint would refuse."""
    if not plan.roles and plan.sso is None:  # an SSO role's credentials are a role's
        raise not_a_role(plan.profile)


def not_a_role(profile: str) -> ConfigError:
    return ConfigError(f"profile {profile}", "is not a role: the console takes role "
                       "credentials only, never MFA session (GetSessionToken) credentials "
                       "or long-term keys")


def partition_of(role_arn: str | None, region: str | None) -> str:
    """`aws`, `aws-cn` or `aws-us-gov`: from the role's ARN, else from the region."""
    if role_arn and role_arn.startswith("arn:"):
        found = role_arn.split(":")[1]
        if found in _SIGNIN:
            return found
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def destination_for(partition: str, region: str | None) -> str:
    """The console's home page in `region` (the aws partition has regional hosts)."""
    host = _CONSOLE.get(partition, _CONSOLE["aws"])
    if not region:
        return f"https://{host}/console/home"
    if partition == "aws":
        host = f"{region}.{host}"
    return f"https://{host}/console/home?region={quote(region, safe='')}"


def federation_url(partition: str, env: Mapping[str, str]) -> str:
    base = (env.get("AWS_ENDPOINT_URL_SIGNIN") or "").strip()
    if not base:
        base = f"https://{_SIGNIN.get(partition, _SIGNIN['aws'])}"
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError("AWS_ENDPOINT_URL_SIGNIN", "must be an http(s) base URL")
    return base.rstrip("/") + "/federation"


def target(plan: Plan, env: Mapping[str, str], region: str | None = None,
           destination: str | None = None) -> Target:
    check_role(plan)
    region = region or plan.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    partition = partition_of(plan.roles[-1].role_arn if plan.roles else None, region)
    if destination is not None and urlsplit(destination).scheme != "https":
        raise ConfigError("usage", "--destination must be an https URL")
    # Role chaining (a role assumed with role credentials): getSigninToken refuses a
    # SessionDuration over one hour, and AWS advises leaving it out. Keys from the file
    # that carry a session token may be role credentials too.
    chained = len(plan.roles) > 1 or plan.source.session_token is not None
    return Target(plan.profile, partition, region,
                  destination or destination_for(partition, region),
                  federation_url(partition, env), chained)


def session_duration(creds: Credentials, now: float, chained: bool) -> int | None:
    """The console session: as long as the credentials last, within what AWS accepts."""
    if chained:
        return None
    return max(MIN_DURATION, min(MAX_DURATION, int(creds.expires - now)))


def signin_token(to: Target, creds: Credentials, duration: int | None,
                 opener: Opener | None = None) -> str:
    """`getSigninToken`, as a form POST: the credentials never travel in a URL."""
    session = json.dumps({"sessionId": creds.access_key_id,
                          "sessionKey": creds.secret_access_key,
                          "sessionToken": creds.session_token})
    import urllib.error  # here: http.client, email and ssl are no load for the tray
    import urllib.request

    fields = {"Action": "getSigninToken", "Session": session}
    if duration is not None:
        fields["SessionDuration"] = str(duration)
    request = urllib.request.Request(  # noqa: S310 - federation_url allows http(s) only
        to.federation, data=urlencode(fields).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    subject = f"profile {to.profile}"
    try:
        with (opener or urllib.request.urlopen)(request, timeout=TIMEOUT) as answer:
            body = answer.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        raise RolebarError(subject, f"the console sign-in endpoint answered HTTP {exc.code}"
                           f"{_said(exc, creds)}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise RolebarError(subject, f"cannot reach the console sign-in endpoint "
                           f"{to.federation} ({reason})") from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not token:
        raise RolebarError(subject, "the console sign-in endpoint gave no sign-in token")
    return token


def _said(exc: Any, creds: Credentials) -> str:  # a urllib.error.HTTPError
    """What the endpoint said, unless it echoes anything we sent."""
    try:
        text = exc.read(600).decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    sent = (creds.access_key_id, creds.secret_access_key, creds.session_token)
    if not text or any(value in text for value in sent) or text.startswith("<"):
        return ""
    return f": {printable(text.splitlines()[0][:200])}"


def login_url(to: Target, token: str) -> str:
    """The URL that opens the console: a secret for as long as the token is good."""
    query = urlencode({"Action": "login", "Issuer": ISSUER, "Destination": to.destination,
                       "SigninToken": token})
    return f"{to.federation}?{query}"


def open_in_browser(url: str, profile: str) -> None:
    """Open `url` with `webbrowser` (which honours $BROWSER).

    A browser takes the URL it opens as an argument, so with $BROWSER (or xdg-open) the
    URL is in that process's argv: that is how browsers are started and there is no other
    way to hand them a page. rolebar itself never logs, prints to stderr or raises it.
    """
    import webbrowser

    try:
        opened = webbrowser.open(url, new=2)
    except webbrowser.Error:
        opened = False
    if not opened:
        raise ConfigError(f"profile {profile}", "no web browser could be opened; set "
                          "$BROWSER, or use --print and open the URL yourself")

