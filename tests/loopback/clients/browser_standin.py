"""A `$BROWSER` for the sign-in tests: opens the URL it is given as a signed-in person's
browser would, following the sign-in page's redirect back to the loopback address.

Python's webbrowser runs `$BROWSER URL` and waits for it; a non-zero exit means "could not
open". `FAKE_BROWSER` picks the behaviour: `follow` (default), `wrong-state` (the redirect
comes back with another state), `fail` (exit 1 at once: no browser). Each run appends
`opened SCHEME://HOST/PATH` (never the query: it may hold codes) to `FAKE_BROWSER_LOG`.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def visit(url: str) -> str | None:
    """GET ``url``; the Location of a redirect, if any."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as answer:
            answer.read()
            return None
    except urllib.error.HTTPError as error:
        with error:
            return error.headers.get("Location")


def main() -> int:
    url, mode = sys.argv[1], os.environ.get("FAKE_BROWSER", "follow")
    log = os.environ.get("FAKE_BROWSER_LOG")
    if log:
        parts = urlsplit(url)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"opened {parts.scheme}://{parts.netloc}{parts.path}\n")
    if mode == "fail":
        return 1
    location = visit(url)
    if location is None:
        return 0
    if mode == "wrong-state":
        parts = urlsplit(location)
        query = [(k, "forged" if k == "state" else v) for k, v in parse_qsl(parts.query)]
        location = urlunsplit(parts._replace(query=urlencode(query)))
    visit(location)
    return 0


if __name__ == "__main__":
    sys.exit(main())
