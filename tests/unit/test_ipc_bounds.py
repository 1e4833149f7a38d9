"""The ipc holds no connection forever (issue 9, item 7): a client that drips its request
a byte at a time, or sends nothing, is dropped after the request time; too many at once
wait for a slot; everyone else is answered meanwhile."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rolebar.core import ipc

TIMEOUT = 0.5  # the server's request time in these tests (5 s in the product)


def echo(request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "echo": request}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ipc.Server]:
    s = ipc.Server(echo, request_timeout=TIMEOUT, max_connections=4)
    s.start()
    yield s
    s.stop()


def connect(server: ipc.Server) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(server.root / ipc.SOCKET))
    return sock


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    """True once the server closed the connection (EOF or reset)."""
    readable, _, _ = select.select([sock], [], [], wait)
    if not readable:
        return False
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True


def drip(server: ipc.Server, dropped: list[int]) -> None:
    """Send a request one byte every 0.1 s, never the newline; note when it was dropped."""
    sock = connect(server)
    with sock:
        for sent, byte in enumerate(b'{"op": "ping", "pad": "' + b"x" * 400):
            try:
                sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                dropped.append(sent)
                return
            if closed_by_server(sock, 0.1):
                dropped.append(sent)
                return


def test_a_slow_drip_client_is_dropped_and_the_others_are_answered(
        server: ipc.Server) -> None:
    dropped: list[int] = []
    dripper = threading.Thread(target=drip, args=(server, dropped))
    dripper.start()
    answers = [ipc.call("ping", i=i) for i in range(20)]
    dripper.join(60)
    assert not dripper.is_alive()
    assert [a["echo"]["i"] for a in answers if a] == list(range(20))
    # Dropped while still dripping: after about TIMEOUT / 0.1 bytes, long before 400.
    assert dropped and dropped[0] < 100, dropped


def test_a_client_that_sends_nothing_is_dropped(server: ipc.Server) -> None:
    with connect(server) as idle:
        assert ipc.call("ping")["ok"] is True  # type: ignore[index]
        assert closed_by_server(idle, 30)


def test_an_oversized_request_is_dropped(server: ipc.Server) -> None:
    with connect(server) as big:
        big.sendall(b"x" * (ipc.MAX_LINE + 8192))
        assert closed_by_server(big, 30)
    assert ipc.call("ping")["ok"] is True  # type: ignore[index]


def test_connections_beyond_the_cap_wait_for_a_slot(server: ipc.Server) -> None:
    idle = [connect(server) for _ in range(4)]  # every slot taken by a silent client
    try:
        answer = ipc.call("ping", timeout=30)  # answered once the silent ones are dropped
        assert answer is not None and answer["ok"] is True
        assert all(closed_by_server(sock, 30) for sock in idle)
        alive = [t for t in threading.enumerate() if t.name == "rolebar-ipc-conn"]
        assert len(alive) <= 4
    finally:
        for sock in idle:
            sock.close()
