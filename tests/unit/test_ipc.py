"""The local channel: a 0600 Unix socket in a 0700 directory, JSON lines, the ops."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rolebar.core import ipc
from rolebar.core.codes import CodeRequest
from rolebar.core.service import keeper_handler
from rolebar.core.state import CodeNeed, EngineInfo, KeeperState, SectionState

DEVICE = "arn:aws:iam::000000000000:mfa/member"


def echo(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("op") == "boom":
        raise RuntimeError("handler bug")
    return {"ok": True, "echo": request}


@pytest.fixture
def server(tmp_path: Path) -> Any:
    s = ipc.Server(echo)
    s.start()
    yield s
    s.stop()


def test_the_socket_is_private_and_answers(server: ipc.Server) -> None:
    sock = server.root / ipc.SOCKET
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(server.root).st_mode) == 0o700
    assert ipc.call("ping", x=1) == {"ok": True, "echo": {"op": "ping", "x": 1}}
    assert ipc.call("boom") == {"ok": False, "error": "internal error"}


def test_no_engine_means_none() -> None:
    assert ipc.call("ping", timeout=0.5) is None


def test_stop_removes_the_socket(server: ipc.Server) -> None:
    server.stop()
    assert not (server.root / ipc.SOCKET).exists()
    assert ipc.call("ping", timeout=0.5) is None


def test_a_long_runtime_path_still_works(tmp_path: Path) -> None:
    root = tmp_path / ("x" * 60) / ("y" * 60)
    s = ipc.Server(echo, root=root)
    s.start()
    try:
        assert ipc.call("ping", root=root)["ok"] is True  # type: ignore[index]
    finally:
        s.stop()


def test_many_clients_at_once(server: ipc.Server) -> None:
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda i=i: answers.append(ipc.call("n", i=i)))
               for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["echo"]["i"] for a in answers) == list(range(20))


class FakeKeeper:
    kind = "tray"
    answers_codes = True

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, float]] = []
        self.submitted: list[tuple[str, str]] = []
        self.reloaded = 0

    def request_code(self, device: str, profile: str, timeout: float) -> str | None:
        self.asked.append((device, profile, timeout))
        return "123456"

    def submit_code(self, device: str, code: str) -> None:
        self.submitted.append((device, code))

    def reload(self) -> None:
        self.reloaded += 1

    def state(self) -> KeeperState:
        return STATE


STATE = KeeperState(
    sections=(SectionState("tray-managed", "dev", "keys", "fresh", 1_800_000_000.0, None),),
    profiles=("dev",), needs=(CodeNeed(DEVICE, "dev"),), sessions=((DEVICE, 1.5e9),))


@pytest.fixture
def engine() -> Any:
    keeper = FakeKeeper()
    s = ipc.Server(keeper_handler(keeper))  # type: ignore[arg-type]
    s.start()
    yield keeper
    s.stop()


def test_the_engine_code_source_asks_the_running_engine(engine: FakeKeeper) -> None:
    assert ipc.EngineCode(timeout=30).get(CodeRequest(DEVICE, "dev")) == "123456"
    assert engine.asked == [(DEVICE, "dev", 30)]
    assert ipc.call("reload") == {"ok": True} and engine.reloaded == 1
    assert ipc.call("code", device=DEVICE)["ok"] is False  # type: ignore[index]
    engine.answers_codes = False
    assert ipc.EngineCode().get(CodeRequest(DEVICE, "dev")) is None
    assert len(engine.asked) == 1


def test_ping_and_status_carry_the_state_types(engine: FakeKeeper) -> None:
    ping = ipc.call("ping")
    assert ping is not None and ping.pop("ok") is True
    assert EngineInfo.from_dict(ping) == EngineInfo(os.getpid(), "tray", True)
    status = ipc.call("status")
    assert status is not None and status["ok"] is True
    assert EngineInfo.from_dict(status).kind == "tray"
    assert KeeperState.from_dict(status["state"]) == STATE


def test_a_submitted_code_must_be_six_digits(engine: FakeKeeper) -> None:
    assert ipc.call("submit", device=DEVICE, code="12345")["ok"] is False  # type: ignore[index]
    assert ipc.call("submit", device=DEVICE, code=" 654321\n") == {"ok": True}
    assert engine.submitted == [(DEVICE, "654321")]
    assert ipc.call("nonsense")["error"] == "unknown op 'nonsense'"  # type: ignore[index]


def test_the_engine_code_source_with_no_engine_passes_on() -> None:
    started = time.monotonic()
    assert ipc.EngineCode().get(CodeRequest(DEVICE, "dev")) is None
    assert time.monotonic() - started < 1


def test_the_windows_channel_is_a_loopback_port_with_a_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ipc, "USE_UNIX", False)
    s = ipc.Server(echo, root=tmp_path / "rt")
    s.start()
    try:
        port_file = tmp_path / "rt" / ipc.PORT_FILE
        assert stat.S_IMODE(os.stat(port_file).st_mode) == 0o600
        assert ipc.call("ping", root=tmp_path / "rt") == {"ok": True, "echo": {"op": "ping"}}
        import json
        import socket

        port = json.loads(port_file.read_text())["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b'{"op": "ping", "token": "wrong"}\n')
            assert sock.recv(100) == b""  # dropped without an answer
    finally:
        s.stop()
    assert not port_file.exists()
