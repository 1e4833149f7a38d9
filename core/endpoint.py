"""The running engine's credentials endpoint: the SDKs' container-credentials protocol.

While `rolebar keep` or `rolebar tray` runs, SDK clients with
`AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/section/NAME` (or
`/profile/NAME`) and `AWS_CONTAINER_AUTHORIZATION_TOKEN` (or `..._TOKEN_FILE`) refresh
in-process from here, with no process spawned per refresh (botocore's
ContainerMetadataFetcher, the JS SDK's fromHttp): `GET` with `Authorization: <token>`
answers `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`; an error answers
`{"Code", "Message"}` with a 4xx/5xx status.

Who may ask: the server listens on 127.0.0.1 only; each request must carry the engine's
random token (compared in constant time) and a loopback `Host` (a web page that rebinds
its own name to 127.0.0.1 still sends its own name: 403). Requests are small and bounded:
the request line and headers fit in MAX_HEAD bytes and arrive within READ_TIMEOUT
seconds, no body; at most MAX_CLIENTS are answered at once (the rest wait in the listen
queue). Answers come from a lookup callback; `engine_lookup` answers from the engine's
cache with the freshness promise of `rolebar process` (DESIGN.md section 4) and reads the
section's profile afresh on every request, so a role switch reaches the next refresh.

The port and pid go to `paths.endpoint_file()` and the token alone to the 0600
`paths.endpoint_token_file()` while the server runs. Nothing secret is logged.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from rolebar.core import paths
from rolebar.core.atomic import write_private
from rolebar.core.credentials import Credentials
from rolebar.core.errors import ConfigError, ProfileNotFound, RolebarError
from rolebar.core.fastpath import aws_files, role_entry_name, section_profile, stamps

if TYPE_CHECKING:
    from rolebar.core.engine import Engine

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MAX_HEAD = 8 * 1024  # request line and headers; the SDKs send a few hundred bytes
READ_TIMEOUT = 5.0  # for the whole head, not per byte: a slow client cannot hold a slot
MAX_CLIENTS = 128
KINDS = ("section", "profile")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")

Lookup = Callable[[str, str], Credentials]  # (kind, name) -> fresh credentials


class NotServed(ConfigError):
    """Nothing is served under that name (a section nobody keeps)."""


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, list[str]]  # lower-cased names

    def header(self, name: str) -> str | None:
        values = self.headers.get(name, [])
        return values[0] if len(values) == 1 else None


Answer = tuple[int, dict[str, str]]


class Endpoint:
    """The HTTP server; `start()` binds and records it, `stop()` undoes both."""

    def __init__(self, lookup: Lookup, token: str | None = None) -> None:
        self._lookup = lookup
        self.token = token or secrets.token_urlsafe(32)
        self._token = self.token.encode()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def start(self) -> None:
        server = _Server(self)
        self._server = server
        # No poll interval: the idle engine never wakes for the endpoint; `stop` wakes it.
        self._thread = threading.Thread(target=server.serve_forever, args=(None,),
                                        name="rolebar-endpoint", daemon=True)
        self._thread.start()
        try:
            self._record()
        except OSError:
            self.stop()
            raise
        log.info("endpoint: serving on %s:%d", HOST, self.port)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        for path in (paths.endpoint_file(), paths.endpoint_token_file()):
            with contextlib.suppress(OSError):
                os.unlink(path)
        _shutdown(server)
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        log.info("endpoint: stopped")

    def _record(self) -> None:
        paths.private_dir(paths.runtime_dir())
        # The token first: whoever finds the port file finds the token too.
        write_private(paths.endpoint_token_file(), self.token)
        write_private(paths.endpoint_file(), json.dumps({"port": self.port, "pid": os.getpid(),
                                                          "host": HOST}))

    # -- one request -----------------------------------------------------------------------

    def serve(self, conn: socket.socket) -> None:
        try:
            head = read_head(conn, time.monotonic() + READ_TIMEOUT)
        except HeadTooLarge:
            _send(conn, _error(431, "RequestTooLarge", "the request line and headers "
                               f"must fit in {MAX_HEAD} bytes"))
            _drain(conn)
            return
        except (OSError, ValueError) as exc:  # a timeout, a reset, a client gone
            log.debug("endpoint: dropped a connection (%s)", type(exc).__name__)
            return
        _send(conn, self.answer(head))

    def answer(self, head: bytes) -> Answer:
        request = parse(head)
        if request is None:
            return _error(400, "BadRequest", "a malformed HTTP request")
        if not loopback_host(request.header("host"), self.port):
            log.info("endpoint: refused a request for another host (DNS rebinding?)")
            return _error(403, "Forbidden", "the Host header must name a loopback address")
        token = request.header("authorization")
        if token is None:
            log.info("endpoint: refused a request without the token")
            return _error(401, "Unauthorized", "no Authorization header: set "
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN (see `rolebar env`)")
        if not hmac.compare_digest(token.encode("latin-1"), self._token):
            log.info("endpoint: refused a request with a wrong token")
            return _error(401, "Unauthorized", "wrong authorization token; the engine "
                          "makes a new one each time it starts (see `rolebar env`)")
        if request.method != "GET":
            return _error(405, "MethodNotAllowed", "only GET is served")
        if request.header("content-length") not in (None, "0") or \
                "transfer-encoding" in request.headers:
            return _error(400, "BadRequest", "a request has no body")
        route = parse_target(request.target)
        if route is None:
            return _error(404, "NotFound", "the path is /section/NAME or /profile/NAME")
        return self._credentials(*route)

    def _credentials(self, kind: str, name: str) -> Answer:
        try:
            creds = self._lookup(kind, name)
        except (NotServed, ProfileNotFound) as exc:
            return _error(404, "NotFound", str(exc))
        except ConfigError as exc:
            return _error(500, "ConfigurationError", str(exc))
        except RolebarError as exc:
            log.info("endpoint: %s %r: no credentials (%s)", kind, name, exc.cause)
            return _error(503, "CredentialsUnavailable", str(exc))
        except Exception:  # the lookup's bugs must not kill the endpoint
            log.exception("endpoint: %s %r: the lookup failed", kind, name)
            return _error(500, "InternalError", "internal error; see rolebar's log")
        log.debug("endpoint: %s %r: answered", kind, name)
        return 200, {"AccessKeyId": creds.access_key_id,
                     "SecretAccessKey": creds.secret_access_key,
                     "Token": creds.session_token, "Expiration": creds.expiration}


# -- the engine's side ------------------------------------------------------------------------


def engine_lookup(engine: Engine) -> Lookup:
    """Answers from `engine`'s cache while it holds fresh credentials, else through it.

    A section's profile is read from the index `select` writes, as `rolebar process
    --section` reads it: a switch is seen by the very next request. The keeper refreshes
    the cache ahead of time, so the slow path is for profiles nobody keeps.
    """

    def lookup(kind: str, name: str) -> Credentials:
        profile = name
        if kind == "section":
            found = section_profile(name, engine.env) or _selected(name)
            if not found:
                raise NotServed(f"section {name}", "is not kept; run `rolebar select PROFILE "
                                f"--section {name}`")
            profile = found
        return cached(engine, profile) or engine.credentials(profile)

    return lookup


def _selected(section: str) -> str | None:
    """From settings.json itself, when the index is not its current one."""
    from rolebar.core.settings import Settings

    setting = Settings().get(section)
    return setting.profile if setting else None


def cached(engine: Engine, profile: str) -> Credentials | None:
    """The cache's fresh credentials for `profile` while the AWS files are unchanged.

    The same trust as `fastpath.cached_answer`, without parsing the AWS files per request.
    """
    files = aws_files(engine.env)
    entry = engine.cache.load(role_entry_name(profile, files))
    if not entry or entry.get("stamps") != stamps(files):
        return None
    try:
        creds = Credentials.from_dict(entry)
    except (KeyError, TypeError, ValueError):
        return None
    return creds if creds.fresh(engine.clock()) else None


# -- HTTP, kept small ---------------------------------------------------------------------------


class HeadTooLarge(ValueError):
    pass


def read_head(conn: socket.socket, deadline: float) -> bytes:
    """The request line and headers, up to the blank line; bounded in size and time."""
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        if len(data) > MAX_HEAD:
            raise HeadTooLarge
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        conn.settimeout(left)
        chunk = conn.recv(4096)
        if not chunk:
            raise ValueError("closed before the end of the headers")
        data += chunk
    head = data.split(b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n", 1)[0]
    if len(head) > MAX_HEAD:
        raise HeadTooLarge
    return head


def parse(head: bytes) -> Request | None:
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[0] in " \t":
            return None
        headers.setdefault(name.lower(), []).append(value.strip())
    return Request(parts[0], parts[1], headers)


def loopback_host(value: str | None, port: int) -> bool:
    """`127.0.0.1`, `localhost` or `[::1]`, with no port or ours (the DNS-rebinding check)."""
    if value is None:
        return False
    value = value.strip().lower()
    found: str | None
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        found = rest[1:] if rest.startswith(":") else (None if rest else "")
    else:
        host, _, found = value.partition(":")
    return host in _LOOPBACK and found in ("", str(port))


def parse_target(target: str) -> tuple[str, str] | None:
    """`/section/NAME` or `/profile/NAME` (NAME percent-encoded) -> (kind, name)."""
    path = target.split("?", 1)[0]
    _, kind, raw = (path.split("/", 2) + ["", ""])[:3]
    name = unquote(raw, errors="strict") if "%" in raw else raw
    if kind not in KINDS or not name or len(name) > 256 or \
            any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return None
    return kind, name


def url(port: int, kind: str, name: str) -> str:
    return f"http://{HOST}:{port}/{kind}/{quote(name, safe='')}"


def _error(status: int, code: str, message: str) -> Answer:
    return status, {"Code": code, "Message": message}


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _send(conn: socket.socket, answer: Answer) -> None:
    status, body = answer
    data = json.dumps(body).encode()
    allow = "Allow: GET\r\n" if status == 405 else ""
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            "Content-Type: application/json\r\nCache-Control: no-store\r\n"
            f"{allow}Content-Length: {len(data)}\r\nConnection: close\r\n\r\n")
    with contextlib.suppress(OSError):
        conn.settimeout(READ_TIMEOUT)
        conn.sendall(head.encode() + data)


def _drain(conn: socket.socket, limit: int = 64 * 1024) -> None:
    """Read what an oversized request still sends, so closing does not reset our answer."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(0.5)
        while limit > 0 and (chunk := conn.recv(4096)):
            limit -= len(chunk)


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        super().__init__((HOST, 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()  # at most MAX_CLIENTS threads; the rest wait in the backlog
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver's own prints a traceback to stderr, which carries rolebar's one line.
        log.warning("endpoint: a request failed", exc_info=True)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.endpoint.serve(self.request)


def _shutdown(server: socketserver.BaseServer) -> None:
    """`server.shutdown()` for a loop that waits with no timeout: connect until it sees it."""
    stopping = threading.Thread(target=server.shutdown, name="rolebar-endpoint-stop",
                                daemon=True)
    stopping.start()
    host, port = server.server_address[:2]  # type: ignore[index,str-unpack]
    for _ in range(100):
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=0.5).close()
        stopping.join(0.05)
        if not stopping.is_alive():
            return
