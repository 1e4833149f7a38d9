"""Sign-out: the portal's Logout (ending the sign-in and its refresh token at IAM Identity
Center), then the token file removed.

With no session named, every cached token goes, as `aws sso logout` does (it sweeps every
file of the cache that holds an `accessToken`); a Logout the portal refuses (the token has
already ended) does not keep the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rolebar.core.errors import RolebarError
from rolebar.core.sso import portal
from rolebar.core.sso.config import SsoSession
from rolebar.core.sso.tokencache import TokenCache, read_json

log = logging.getLogger(__name__)


def logout(session: SsoSession | None = None, cache: TokenCache | None = None) -> int:
    """End ``session``'s sign-in (every cached one if None); how many token files went."""
    cache = cache or TokenCache()
    if session is not None:
        files = [cache.path(session)] if cache.path(session).exists() else []
    else:
        files = cache.files()
    count = 0
    for path in files:
        subject = session.subject if session is not None else f"token {path.name}"
        count += _sign_out(cache, path, subject, session.profile if session else None)
    return count


def _sign_out(cache: TokenCache, path: Path, subject: str, profile: str | None) -> bool:
    data = read_json(path) or {}
    access, region = data.get("accessToken"), data.get("region")
    if isinstance(access, str) and access and isinstance(region, str) and region:
        portal.logout(region, access, subject, profile)
    try:
        removed = cache.delete(path)
    except OSError as exc:
        raise RolebarError(subject, f"cannot remove {path} ({exc.strerror})") from exc
    log.info("%s: signed out", subject)
    return removed
