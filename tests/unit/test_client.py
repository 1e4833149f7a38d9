"""The engine client (core/client.py): one interface, chosen once.

Remote: a real ipc server answering for a real keeper, in a temporary home (the keeper's
engine is a stand-in that mints credentials: no STS here). Local: no engine running, a
real Engine on real AWS files. Commands: each reaches the engine through the client only.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from rolebar.core import client, ipc, paths
from rolebar.core.client import LocalEngine, RemoteEngine, Status
from rolebar.core.credentials import Credentials
from rolebar.core.credfile import MARKER, SectionWriter
from rolebar.core.engine import Engine
from rolebar.core.errors import ConfigError
from rolebar.core.keeper import Keeper
from rolebar.core.service import keeper_handler
from rolebar.core.settings import SectionSetting, Settings
from rolebar.core.state import EngineInfo, KeeperState, SectionState

DEVICE = "arn:aws:iam::000000000000:mfa/member"
CONFIG = f"""\
[profile dev]
role_arn = arn:aws:iam::111111111111:role/dev
source_profile = base
mfa_serial = {DEVICE}
region = eu-west-1

[profile ops]
role_arn = arn:aws:iam::111111111111:role/ops
source_profile = base
mfa_serial = {DEVICE}
"""
BASE = "[base]\naws_access_key_id = AKIAEXAMPLEBASE00000\naws_secret_access_key = x\n"


@pytest.fixture
def aws(home: Path) -> Path:
    """The AWS files in the test's home; the credentials file's path."""
    (home / ".aws" / "config").write_text(CONFIG)
    creds = home / ".aws" / "credentials"
    creds.write_text(BASE)
    return creds


def wait_until(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.02)
    return found


# -- the remote side: a real keeper behind a real ipc server ---------------------------------


class MintingEngine:
    """The Engine calls the keeper makes; credentials are minted here, never fetched."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.fetches: list[tuple[str, bool]] = []

    def profiles(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name="dev"), SimpleNamespace(name="ops")]

    def plan(self, profile: str) -> SimpleNamespace:
        return SimpleNamespace(device=None, route="plain", region="eu-west-1")

    def credentials(self, profile: str, *, force: bool = False, **_: object) -> Credentials:
        self.fetches.append((profile, force))
        now = time.time()
        return Credentials(f"ASIAMINTED{len(self.fetches):010d}", "s" * 40, "t" * 100, now,
                           now + 3600)

    def session(self, profile: str) -> None:
        return None

    def cached(self, profile: str) -> None:
        return None

    def restamp(self, profile: str) -> bool:
        return False

    def signin_ahead(self, profile: str) -> None:
        return None


@dataclass
class Running:
    keeper: Keeper
    engine: MintingEngine
    server: ipc.Server
    writer: SectionWriter


@pytest.fixture
def running(aws: Path) -> Iterator[Running]:
    """A tray-like engine in this process, reached only over the channel."""
    engine = MintingEngine({})
    writer = SectionWriter(aws)
    keeper = Keeper(engine, Settings(), writer=writer, command="/opt/rolebar",  # type: ignore[arg-type]
                    kind="tray", answers_codes=True)
    server = ipc.Server(keeper_handler(keeper))
    server.start()
    keeper.start()
    try:
        yield Running(keeper, engine, server, writer)
    finally:
        keeper.stop()
        server.stop()


def test_connect_finds_the_running_engine(running: Running) -> None:
    remote = client.connect()
    assert isinstance(remote, RemoteEngine)
    assert remote.info == remote.ping() == EngineInfo(os.getpid(), "tray", True)


def test_a_selection_is_recorded_and_the_engine_writes_it(running: Running) -> None:
    remote = client.connect()
    chosen = remote.select("dev", style="keys")
    assert (chosen.profile, chosen.style) == ("dev", "keys")
    assert Settings().get("tray-managed") == chosen
    keys = wait_until(lambda: running.writer.read("tray-managed"), "keys in the section")
    assert keys["aws_access_key_id"].startswith("ASIAMINTED")
    status = wait_until(lambda: (s := remote.status()).state.sections and
                        s.state.sections[0].health == "fresh" and s, "a fresh section")
    assert isinstance(status, Status) and status.engine == remote.info
    assert status.state == running.keeper.state()  # the keeper's own objects, via to_dict
    assert remote.kept() == ["tray-managed"] and remote.setting("tray-managed") == chosen


def test_refresh_and_unselect_reach_the_engine(running: Running) -> None:
    remote = client.connect()
    remote.select("dev", style="keys")
    wait_until(lambda: running.writer.read("tray-managed"), "keys in the section")
    remote.refresh_now("tray-managed")
    wait_until(lambda: ("dev", True) in running.engine.fetches, "a forced refresh")
    assert remote.unselect("tray-managed") is True
    wait_until(lambda: running.writer.read("tray-managed") is None, "the section removed")
    assert remote.info is not None  # the engine did it, this client did not


def test_a_code_typed_elsewhere_reaches_a_waiting_request(running: Running) -> None:
    got: list[str | None] = []
    waiting = threading.Thread(
        target=lambda: got.append(client.connect().request_code(DEVICE, "dev", 30)))
    waiting.start()
    wait_until(lambda: any(n.device == DEVICE for n in client.connect().status().state.needs),
               "the need in the engine's state")
    client.connect().submit_code(DEVICE, "246810")
    waiting.join(30)
    assert got == ["246810"]
    with pytest.raises(ConfigError, match="six-digit"):
        client.connect().submit_code(DEVICE, "2468")


def test_an_interactive_client_asks_the_running_engine_for_codes(
        running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []

    def engine(*args: Any, **kwargs: Any) -> Engine:
        made.append(kwargs)
        return Engine(*args, **kwargs)

    monkeypatch.setattr(client, "Engine", engine)
    client.connect(interactive=True)
    client.connect()
    asks, quiet = (m["extra_sources"] for m in made)
    assert [type(s) for s in asks] == [ipc.EngineCode] and list(quiet) == []
    running.server.stop()
    made.clear()
    client.connect(interactive=True)  # none running: nobody to ask over ipc
    assert list(made[0]["extra_sources"]) == []


def test_an_engine_that_stops_answering_leaves_the_client_alone(running: Running,
                                                                aws: Path) -> None:
    remote = client.connect()
    running.server.stop()
    chosen = remote.select("ops", "other", "process")
    assert remote.info is None and remote.ping() is None
    assert SectionWriter(aws).read("other")["credential_process"].endswith(  # type: ignore[index]
        "process --section other")
    assert Settings().get("other") == chosen
    assert remote.status().engine is None


# -- the local side: no engine running -------------------------------------------------------


def test_with_no_engine_the_client_is_local(aws: Path) -> None:
    local = client.connect()
    assert isinstance(local, LocalEngine) and not isinstance(local, RemoteEngine)
    assert local.info is None and local.ping() is None
    assert local.request_code(DEVICE, "dev", 30) is None
    with pytest.raises(ConfigError, match="no engine is running"):
        local.refresh_now()
    with pytest.raises(ConfigError, match="no engine is running"):
        local.submit_code(DEVICE, "123456")


def test_a_local_process_selection_is_written_at_once(aws: Path) -> None:
    local = client.connect()
    chosen = local.select("dev")
    assert chosen.style == "process" and Settings().get("tray-managed") == chosen
    section = SectionWriter(aws).read("tray-managed")
    assert section is not None and section["region"] == "eu-west-1"
    assert section["credential_process"].endswith("process --section tray-managed")
    state = local.status()
    assert state.engine is None
    [shown] = state.state.sections
    assert (shown.name, shown.profile, shown.health, shown.problem) == (
        "tray-managed", "dev", "idle", client.NOT_RUNNING)
    assert state.state == KeeperState.from_dict(state.state.to_dict())


def test_a_local_keys_switch_clears_the_other_roles_keys(aws: Path) -> None:
    local = client.connect()
    local.select("dev", "kept", "keys")
    writer = SectionWriter(aws)
    writer.write("kept", {"aws_access_key_id": "ASIAOLDROLEKEYS00000",
                          "aws_secret_access_key": "old", "aws_session_token": "old"})
    local.select("ops", "kept")  # keeps its style
    assert Settings().get("kept").style == "keys"  # type: ignore[union-attr]
    assert "aws_access_key_id" not in (writer.read("kept") or {})


def test_local_unselect_removes_only_rolebars_section(aws: Path) -> None:
    local = client.connect()
    local.select("dev", "mine")
    assert local.unselect("mine") is True and SectionWriter(aws).read("mine") is None
    aws.write_text(aws.read_text() + "\n[theirs]\naws_access_key_id = AKIATHEIRS0000000000\n")
    Settings().select("dev", "theirs", "keys")
    assert local.unselect("theirs") is True
    assert "[theirs]" in aws.read_text() and MARKER not in aws.read_text().split("[theirs]")[1]
    assert local.unselect("theirs") is False


def test_a_profile_that_cannot_be_planned_is_not_recorded(aws: Path) -> None:
    with pytest.raises(ConfigError, match="nosuch"):
        client.connect().select("nosuch")
    assert Settings().sections() == {}


def test_the_served_engine_never_asks_itself(aws: Path) -> None:
    served = client.serve("tray", answers_codes=True)
    assert not [s for s in served.engine.extra_sources if isinstance(s, ipc.EngineCode)]
    assert served.info.kind == "tray" and served.info.answers_codes is True
    assert served.select("dev", "served", "keys").profile == "dev"
    assert served.kept() == ["served"]
    assert served.status() == Status(served.info, served.state())


# -- every command reaches the engine through the client ------------------------------------


@dataclass
class Listed:
    name: str
    role_arn: str | None
    device: str | None
    route: str
    region: str | None
    has_code_command: bool
    sso: str | None = None


class StandInEngine:
    """What commands ask of `client.engine`; every answer is recognisably this one's."""

    env: dict[str, str] = {}

    def __init__(self) -> None:
        self.codes: list[str | None] = []

    def plan(self, profile: str) -> SimpleNamespace:
        return SimpleNamespace(region="ap-south-2")

    def credentials(self, profile: str, *, code: str | None = None, **_: object
                    ) -> Credentials:
        self.codes.append(code)
        return Credentials("ASIAFROMTHECLIENT000", "s" * 40, "t" * 100, 1.0e9, 4.0e9)

    def profiles(self) -> list[Listed]:
        return [Listed("client-listed", None, None, "session", None, False)]

    def forget(self, profile: str | None = None) -> int:
        return 7

    def status(self) -> list[Any]:
        return []


class StandInClient:
    """An EngineClient whose engine runs as pid 4242 and whose every answer is its own."""

    def __init__(self) -> None:
        self.engine = StandInEngine()
        self.info = EngineInfo(4242, "tray", True)
        self.calls: list[tuple[Any, ...]] = []

    def status(self) -> Status:
        section = SectionState("from-client", "dev", "keys", "fresh", None, None)
        return Status(self.info, KeeperState((section,), (), (), ()))

    def setting(self, section: str) -> SectionSetting:
        return SectionSetting(section, "dev", "process")

    def select(self, profile: str, section: str = "tray-managed",
               style: Any = None) -> SectionSetting:
        self.calls.append(("select", profile, section, style))
        return SectionSetting(section, profile, style or "process")

    def unselect(self, section: str) -> bool:
        self.calls.append(("unselect", section))
        return True


class StandInServed(StandInClient):
    def subscribe(self, listener: object) -> Callable[[], None]:
        return lambda: None

    def start(self, first: Any = None) -> None:
        self.calls.append(("start", first))
        os.kill(os.getpid(), signal.SIGTERM)  # keep's handler ends its wait

    def kept(self) -> list[str]:
        return ["k"]

    def stop(self) -> None:
        self.calls.append(("stop",))


def refuse(what: str) -> Callable[..., Any]:
    def refused(*args: object, **kwargs: object) -> Any:
        raise AssertionError(f"a command went around the client: {what}")
    return refused


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch, aws: Path) -> Iterator[StandInClient]:
    """Every command module's `connect` (and keep's `serve`) gives the stand-in; the
    channel, the settings and Engine itself refuse anyone who goes around it."""
    from rolebar.core import console, engine, settings

    fake = StandInServed()
    for name in ("status", "select", "process", "assume", "exec", "env", "forget",
                 "profiles", "console"):
        module = importlib.import_module(f"rolebar.core.commands.{name}")
        monkeypatch.setattr(module, "connect", lambda *a, **k: fake)
    keep = importlib.import_module("rolebar.core.commands.keep")
    monkeypatch.setattr(keep, "serve", lambda *a, **k: fake)
    monkeypatch.setattr(ipc, "call", refuse("ipc"))
    for method in ("get", "select", "unselect", "sections", "set_style"):
        monkeypatch.setattr(settings.Settings, method, refuse(f"Settings.{method}"))
    monkeypatch.setattr(engine.Engine, "__init__", refuse("its own Engine"))
    monkeypatch.setattr(console, "sign_in", lambda engine, profile, **k: (
        f"https://console.example/{type(engine).__name__}/{profile}"))
    exec_command = importlib.import_module("rolebar.core.commands.exec")
    monkeypatch.setattr(exec_command, "run_child", lambda argv, env, profile: (
        fake.calls.append(("child", env.get("AWS_ACCESS_KEY_ID"),
                           env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"))) or 0))
    folder = paths.private_dir(paths.runtime_dir())
    (folder / "endpoint.json").write_text(json.dumps({"pid": 4242, "port": 4343}))
    (folder / "endpoint.token").write_text("the-token")
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield fake
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


CASES: list[tuple[list[str], str, tuple[Any, ...] | None]] = [
    (["status"], "engine: rolebar tray (pid 4242)\nsection from-client: profile dev (keys), "
     "fresh, credentials none\n", None),
    (["status", "--json"], '"name": "from-client"', None),
    (["select", "dev", "--section", "s1", "--style", "keys"], "section s1: profile dev (keys)\n",
     ("select", "dev", "s1", "keys")),
    (["select", "--none", "--section", "s1"], "section s1: no longer kept\n",
     ("unselect", "s1")),
    (["process", "dev"], '"AccessKeyId": "ASIAFROMTHECLIENT000"', None),
    (["process", "--section", "s2"], '"AccessKeyId": "ASIAFROMTHECLIENT000"', None),
    (["assume", "-j", "dev"], '"AccessKeyId": "ASIAFROMTHECLIENT000"', None),
    (["assume", "-o", "dev"], "export AWS_REGION=ap-south-2", None),
    (["exec", "dev", "--", "true"], "", ("child", "ASIAFROMTHECLIENT000", None)),
    (["exec", "--endpoint", "dev", "--", "true"], "",
     ("child", None, "http://127.0.0.1:4343/profile/dev")),
    (["env", "--section", "s2"], "http://127.0.0.1:4343/section/s2", None),
    (["env", "dev", "--format", "json"], '"the-token"', None),
    (["forget", "dev"], "forgot 7 cached entries\n", None),
    (["profiles"], "client-listed\t", None),
    (["console", "--print", "dev"], "https://console.example/StandInEngine/dev\n", None),
    (["keep", "dev", "--section", "k"], "", ("start", client.Choice("dev", "k", None))),
]


@pytest.mark.parametrize(("argv", "shown", "call"), CASES, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else "")
def test_each_command_goes_through_the_client(
        stand_in: StandInClient, capsys: pytest.CaptureFixture[str], argv: list[str],
        shown: str, call: tuple[Any, ...] | None) -> None:
    from rolebar.core.cli import main

    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out == shown if shown.endswith("\n") else shown in out, out
    if call is not None:
        assert call in stand_in.calls, stand_in.calls
