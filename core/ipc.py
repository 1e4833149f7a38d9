"""The local channel between `rolebar process` (or `select`) and the running engine.

One request per connection: the client sends one JSON object on one line, the engine
answers one JSON object on one line and closes. Ops (answered by service.py): `ping`
(who runs: state.EngineInfo), `reload` (settings changed), `status` (EngineInfo and the
keeper's state.KeeperState, as their `to_dict`), `refresh` (a section, or all), `code` (a
one-time code for a device; blocks until a person typed one or a timeout), `submit` (a
code a person typed elsewhere). Clients go through client.py, not through this module.

Only the user can talk to the engine. On POSIX the channel is a Unix socket, mode 0600,
in a 0700 directory (`paths.runtime_dir()`, i.e. XDG_RUNTIME_DIR on Linux), and on Linux
the engine also checks the peer's uid (SO_PEERCRED). Windows has no such sockets in
Python's stdlib: there the engine listens on a random loopback port and writes the port
and a random token into a 0600 file in the user's directory; a client must send the token.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rolebar.core import paths
from rolebar.core.atomic import write_private
from rolebar.core.codes import PROMPT_TIMEOUT, CodeRequest, six_digits

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]

SOCKET = "engine.sock"
PORT_FILE = "engine-port.json"  # Windows: {"port": N, "token": "..."}
MAX_LINE = 64 * 1024
# A whole request line must arrive within this (a client that drips bytes or sends
# nothing is dropped), and at most this many connections are served at once.
REQUEST_TIMEOUT = 5.0
MAX_CONNECTIONS = 64
# sockaddr_un holds 108 bytes on Linux, 104 on macOS; longer paths go through a dir fd.
_SUN_PATH = 100
USE_UNIX = hasattr(socket, "AF_UNIX") and os.name == "posix"


class Server:
    """Serves `handler` on the channel; one daemon thread per connection, at most
    `max_connections` of them, each reading its request within `request_timeout`."""

    def __init__(self, handler: Handler, root: Path | None = None, *,
                 request_timeout: float = REQUEST_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self._handler = handler
        self._root = root
        self._request_timeout = request_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._token = ""
        self._dirfd: int | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = paths.runtime_dir()
        return self._root

    def start(self) -> None:
        folder = paths.private_dir(self.root)
        if USE_UNIX:
            path = folder / SOCKET
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # a dead engine's socket; the instance lock says none runs
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o177)  # no window in which the socket is open to others
            try:
                with _address(path) as address:
                    sock.bind(address)
            finally:
                os.umask(old)
            os.chmod(path, 0o600)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            self._token = secrets.token_urlsafe(32)
            write_private(folder / PORT_FILE,
                           json.dumps({"port": sock.getsockname()[1], "token": self._token}))
        # Many clients at once (an IDE's SDKs, `rolebar process` bursts): a full backlog makes
        # a Unix-socket connect fail at once (EAGAIN) rather than wait.
        sock.listen(socket.SOMAXCONN)
        self._sock = sock
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="rolebar-ipc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._stopping.set()
        # accept() does not wake when another thread closes the socket: knock once.
        with contextlib.suppress(OSError), _connect(self.root, 1.0):
            pass
        if self._thread is not None:
            self._thread.join(5)
        sock.close()
        name = SOCKET if USE_UNIX else PORT_FILE
        with contextlib.suppress(OSError):
            os.unlink(self.root / name)

    def _serve(self) -> None:
        assert self._sock is not None
        sock = self._sock
        while not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            if self._stopping.is_set():
                conn.close()
                return
            # All slots taken: one frees within a request's time (twice that here, for
            # the handlers' own start-up under load) unless every connection waits in a
            # handler (a code prompt); then this one is dropped, not queued.
            if not self._slots.acquire(timeout=2 * self._request_timeout):
                log.warning("ipc: too many connections at once; dropped one")
                conn.close()
                continue
            try:
                threading.Thread(target=self._answer, args=(conn,), name="rolebar-ipc-conn",
                                 daemon=True).start()
            except RuntimeError:  # no thread to be had: drop this one, keep accepting
                self._slots.release()
                conn.close()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._answer_one(conn)
            except (OSError, ValueError) as exc:
                log.debug("ipc: dropped a connection (%s)", type(exc).__name__)
            finally:
                self._slots.release()

    def _answer_one(self, conn: socket.socket) -> None:
        if not _same_user(conn):
            log.warning("ipc: refused a connection from another user")
            return
        deadline = time.monotonic() + self._request_timeout
        request = json.loads(_read_line(conn, deadline))
        conn.settimeout(self._request_timeout)  # for sending the answer
        if not isinstance(request, dict):
            raise ValueError("not an object")
        if not USE_UNIX and not hmac.compare_digest(
                str(request.get("token", "")), self._token):
            log.warning("ipc: refused a connection without the token")
            return
        request.pop("token", None)
        try:
            reply = self._handler(request)
        except Exception:  # the handler's bugs must not kill the channel
            log.exception("ipc: op %s failed", request.get("op"))
            reply = {"ok": False, "error": "internal error"}
        conn.sendall(json.dumps(reply).encode() + b"\n")


def call(op: str, *, timeout: float = 2.0, root: Path | None = None,
            **params: Any) -> dict[str, Any] | None:
    """Ask the running engine; None when no engine answers (none running, or gone)."""
    message = {"op": op, **params}
    folder = root or paths.runtime_dir()
    try:
        with _connect(folder, timeout) as sock:
            if not USE_UNIX:
                message["token"] = _port_file(folder)["token"]
            sock.sendall(json.dumps(message).encode() + b"\n")
            answer = json.loads(_read_line(sock))
    except (OSError, ValueError, KeyError) as exc:
        log.debug("ipc: %s: no engine answered (%s)", op, type(exc).__name__)
        return None
    return answer if isinstance(answer, dict) else None


def request_code(device: str, profile: str, wait: float, root: Path | None = None
                 ) -> str | None:
    """A code the running engine got from a person within `wait` seconds, or None."""
    reply = call("code", timeout=wait + 10, root=root, device=device, profile=profile,
                 wait=wait)
    if not reply or not reply.get("ok"):
        if reply:
            log.info("mfa %s: the running engine gave no code (%s)", device,
                     reply.get("error", "no reason"))
        return None
    code = reply.get("code")
    return six_digits(code) if isinstance(code, str) else None


class EngineCode:
    """A code source: the running engine asks the person (tray notification and prompt).

    DESIGN.md section 3 puts it after `generate_token` and before the GUI and terminal
    prompts, so a `rolebar process` started by an IDE with no terminal gets its code
    through the tray. No engine running, or one that cannot ask anybody: pass on. Only a
    client of another process's engine adds it (client.connect): an engine's own code
    chain never holds it, so it never asks itself.
    """

    name = "tray"
    on_repeat = "ask"

    def __init__(self, timeout: float = PROMPT_TIMEOUT, root: Path | None = None) -> None:
        self.timeout = timeout
        self._root = root

    def available(self) -> bool:
        """An engine may be listening."""
        folder = self._root or paths.runtime_dir()
        return (folder / (SOCKET if USE_UNIX else PORT_FILE)).exists()

    def get(self, request: CodeRequest) -> str | None:
        if not self.available():
            return None
        return request_code(request.device, request.profile, self.timeout, self._root)


# -- plumbing ------------------------------------------------------------------------------


@contextlib.contextmanager
def _connect(folder: Path, timeout: float) -> Iterator[socket.socket]:
    if USE_UNIX:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            with _address(folder / SOCKET) as address:
                _connect_unix(sock, address, timeout)
        except BaseException:
            sock.close()
            raise
    else:
        port = int(_port_file(folder)["port"])
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with sock:
        yield sock


def _connect_unix(sock: socket.socket, address: str, timeout: float) -> None:
    """Connect, waiting while the engine's backlog is full (EAGAIN) up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(address)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


@contextlib.contextmanager
def _address(path: Path) -> Iterator[str]:
    """A sockaddr_un path for `path`, through /proc/self/fd when it is too long."""
    if len(os.fsencode(path)) < _SUN_PATH or not sys.platform.startswith("linux"):
        yield str(path)
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def _read_line(sock: socket.socket, deadline: float | None = None) -> str:
    """One line of at most MAX_LINE bytes; with `deadline` (monotonic), all of it by then."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request did not arrive in time")
            sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if b"\n" in chunk or size > MAX_LINE:
            break
    data = b"".join(chunks)
    if b"\n" not in data:
        raise ValueError("no complete line")
    return data.split(b"\n", 1)[0].decode("utf-8")


def _same_user(conn: socket.socket) -> bool:
    """Linux tells who is on the other end; elsewhere the 0700 folder guards the socket."""
    peercred = getattr(socket, "SO_PEERCRED", None)
    if not USE_UNIX or peercred is None:
        return True
    raw = conn.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return bool(uid == os.getuid())


def _port_file(folder: Path) -> dict[str, Any]:
    with open(folder / PORT_FILE, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("malformed port file")
    return data

