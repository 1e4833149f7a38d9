"""The loopback redirect of the browser sign-in (RFC 8252): an HTTP server on 127.0.0.1,
any free port, path `/oauth/callback` as the AWS CLI's, serving on its own thread so that
a `$BROWSER` command that waits for the page (webbrowser runs it and waits) still reaches it.

The first request to the callback path ends the wait: the authorization code if its
`state` is the one sent, else a one-line error. Nothing of the request is logged: its
query holds the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rolebar.core.sso.errors import SignInFailed

CALLBACK_PATH = "/oauth/callback"
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
_DONE = b"<!doctype html><title>rolebar</title><p>Signed in. You may close this tab.</p>\n"
_FAILED = b"<!doctype html><title>rolebar</title><p>Sign-in failed; see rolebar.</p>\n"


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): RFC 7636, BASE64URL with no padding."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class Receiver:
    """Use as a context manager: the server runs inside it and is closed on leaving."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.state = secrets.token_urlsafe(32)
        self._answer: dict[str, str] | None = None
        self._done = threading.Event()
        self._server = HTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="rolebar-sso-redirect", daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{CALLBACK_PATH}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self, timeout: float, again: str) -> str:
        """The authorization code; SignInFailed if the browser says no, comes back with
        another state, or does not come back within ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise SignInFailed(self.subject, f"the browser did not come back within "
                               f"{timeout:g} s; {again}")
        answer = self._answer or {}
        if "error" in answer:
            error = answer["error"]
            code = error if _ERROR_CODE.fullmatch(error) else "unknown error"
            raise SignInFailed(self.subject, f"the sign-in was not completed in the browser "
                               f"({code}); {again}")
        state, code = answer.get("state", ""), answer.get("code", "")
        if not hmac.compare_digest(state.encode(), self.state.encode()):
            raise SignInFailed(self.subject, "the browser came back with a wrong state "
                               f"(not this sign-in's); {again}")
        if not code:
            raise SignInFailed(self.subject, f"the browser came back with no code; {again}")
        return code

    def _take(self, query: dict[str, str]) -> bool:
        """The first answer wins; later requests change nothing."""
        if self._done.is_set():
            return False
        self._answer = query
        self._done.set()
        return True


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            if parts.path != CALLBACK_PATH:
                self._reply(404, b"not found\n")
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if "error" not in query and "code" not in query and "state" not in query:
                self._reply(400, b"not a sign-in answer\n")
                return
            receiver._take(query)
            ok = "code" in query and hmac.compare_digest(
                query.get("state", "").encode(), receiver.state.encode())
            self._reply(200, _DONE if ok else _FAILED)

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the request line holds the code: never logged, never on stderr

    return Callback
