"""`rolebar keep` and `rolebar select` as real processes against the STS double."""

from __future__ import annotations

import json
import os
import signal
import stat
import textwrap
import time

import pytest

from rolebar.core.engine import Engine
from rolebar.core.service import EngineService
from rolebar.core.state import Event, KeeperState
from tests.loopback.clients.harness import (
    Keep,
    fresh_keys,
    identity,
    section,
    wait_for,
)
from tests.loopback.conftest import ROLEBAR, Aws


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_keep_selects_writes_the_section_and_exits_0_on_a_signal(aws: Aws, signum: int) -> None:
    before = aws.credentials.read_text()
    with Keep(aws, "keep", "project-dev", "--style", "keys") as keep:
        keys = wait_for(lambda: fresh_keys(aws), 30, what="the section")
        assert "assumed-role/developer/" in identity(keys)
        assert keys["region"] == "ap-northeast-1"
        text = aws.credentials.read_text()
        assert text.startswith(before)
        assert "# managed by rolebar" in text
        assert stat.S_IMODE(os.stat(aws.credentials).st_mode) == 0o600
        status = json.loads(aws.run("status", "--json").stdout)
        assert status["engine"] == {"pid": keep.pid, "kind": "keep"}
        assert [(s["name"], s["profile"], s["style"], s["health"]) for s in status["sections"]] \
            == [("tray-managed", "project-dev", "keys", "fresh")]
        assert keep.stop(signum) == 0
    assert "rolebar: keeping [tray-managed] fresh" in keep.stderr()
    assert aws.double.counts["GetSessionToken"] == 1


def test_a_second_engine_says_which_one_runs(aws: Aws) -> None:
    with Keep(aws, "keep") as keep:
        wait_for(lambda: aws.run("status", "--json").stdout.find('"kind": "keep"') > 0, 20,
                 what="the engine")
        second = aws.run("keep", "project-ops")
        assert second.returncode == 2
        assert second.stderr == (f"rolebar: engine: rolebar keep (pid {keep.pid}) is already "
                                 "running; one engine per user\n")
        assert section(aws) is None  # the busy engine changed nothing
        assert keep.stop() == 0


def test_select_with_no_engine_says_how_to_start_one(aws: Aws) -> None:
    done = aws.run("select", "project-dev", "--style", "keys")
    assert done.returncode == 0
    assert done.stdout == "section tray-managed: profile project-dev (keys)\n"
    assert done.stderr.count("\n") == 1 and "`rolebar keep`" in done.stderr
    assert section(aws) is None
    done = aws.run("select", "project-dev", "--section", "work", "--style", "process")
    assert done.returncode == 0
    assert section(aws, "work") == {
        "credential_process": f"{ROLEBAR} process --section work", "region": "ap-northeast-1"}
    answer = aws.run("process", "--section", "work")
    assert answer.returncode == 0 and json.loads(answer.stdout)["Version"] == 1
    assert aws.run("select", "--none", "--section", "work").stdout == \
        "section work: no longer kept\n"
    assert section(aws, "work") is None
    settings = json.loads((aws.home / ".config" / "rolebar" / "settings.json").read_text())
    assert settings == {"sections": {"tray-managed": {"profile": "project-dev",
                                                      "style": "keys"}}}


def test_select_defaults_to_process_and_a_keys_section_in_the_file_stays_keys(
        aws: Aws) -> None:
    """Issue 15: every default gives `process`; a section already written in keys (say,
    mounted into a container) with no settings record keeps its style."""
    done = aws.run("select", "project-dev", "--section", "fresh")
    assert done.stdout == "section fresh: profile project-dev (process)\n"
    assert section(aws, "fresh") == {
        "credential_process": f"{ROLEBAR} process --section fresh", "region": "ap-northeast-1"}
    assert aws.run("select", "project-dev", "--section", "old", "--style", "keys").returncode == 0
    settings = aws.home / ".config" / "rolebar" / "settings.json"
    settings.write_text(json.dumps({"sections": {}}))  # the record is lost; the file remains
    (aws.home / ".config" / "rolebar" / "sections.index").write_text("")
    aws.credentials.write_text(aws.credentials.read_text() + textwrap.dedent("""
        # managed by rolebar (do not edit; rewritten before expiry)
        [old]
        aws_access_key_id = ASIAOLDOLDOLDOLDOLD1
        """))
    done = aws.run("select", "project-ops", "--section", "old")
    assert done.stdout == "section old: profile project-ops (keys)\n"
    # Keys of unknown origin are not project-ops': cleared until an engine writes them.
    assert section(aws, "old") == {"rolebar_switching_to": "project-ops"}


@pytest.mark.parametrize("argv, message", [
    (["select"], "rolebar: usage: select takes a PROFILE or --none\n"),
    (["select", "nope"], None),
    (["select", "project-dev", "--section", "bad name"], None),
])
def test_select_refuses_bad_input_with_one_line(aws: Aws, argv: list[str],
                                                message: str | None) -> None:
    done = aws.run(*argv)
    assert done.returncode == 2
    assert done.stderr.startswith("rolebar: ") and done.stderr.count("\n") == 1
    if message:
        assert done.stderr == message


def test_a_running_engine_applies_select_at_once(aws: Aws) -> None:
    with Keep(aws, "keep", "project-dev", "--style", "keys") as keep:
        first = wait_for(lambda: fresh_keys(aws), 30, what="the section")
        assert "assumed-role/developer/" in identity(first)
        done = aws.run("select", "project-ops")
        assert done.returncode == 0 and done.stderr == ""
        started = time.monotonic()
        keys = wait_for(lambda: (k := fresh_keys(aws)) and k != first and k, 10,
                        what="the switch")
        assert time.monotonic() - started < 5
        assert "assumed-role/operator/" in identity(keys)
        aws.run("select", "--none")
        wait_for(lambda: section(aws) is None, 10, what="the section removed")
        assert keep.stop() == 0


def test_an_unmarked_section_is_refused_with_one_line_and_others_are_kept(aws: Aws) -> None:
    mine = "\n[tray-managed]\naws_access_key_id = MINE\n"
    aws.credentials.write_text(aws.credentials.read_text() + mine)
    before = aws.credentials.read_text()
    refused = aws.run("select", "project-dev")
    assert refused.returncode == 2 and "[tray-managed]" in refused.stderr
    # Selected before the unmarked section appeared: the engine refuses it itself.
    (aws.home / ".config" / "rolebar").mkdir(parents=True, exist_ok=True)
    (aws.home / ".config" / "rolebar" / "settings.json").write_text(json.dumps({"sections": {
        "tray-managed": {"profile": "project-dev", "style": "keys"},
        "other": {"profile": "project-ops", "style": "keys"}}}))
    with Keep(aws, "keep") as keep:
        keys = wait_for(lambda: fresh_keys(aws, "other"), 30, what="the other section")
        assert "assumed-role/operator/" in identity(keys)
        wait_for(lambda: "section tray-managed" in keep.stderr(), 10, what="the refusal")
        assert aws.credentials.read_text().startswith(before)
        status = json.loads(aws.run("status", "--json").stdout)
        health = {s["name"]: s["health"] for s in status["sections"]}
        assert health == {"other": "fresh", "tray-managed": "error"}
        assert keep.stop() == 0
    refusals = [line for line in keep.stderr().splitlines() if "tray-managed" in line
                and "marker" in line]
    assert len(refusals) == 1 and refusals[0].startswith("rolebar: section tray-managed: ")


def test_process_style_answers_from_the_kept_cache(aws: Aws) -> None:
    with Keep(aws, "keep", "project-dev", "--style", "process") as keep:
        wait_for(lambda: (section(aws) or {}).get("credential_process"), 30,
                 what="the process section")
        wait_for(lambda: aws.double.counts["AssumeRole"] >= 1, 30, what="the cache")
        calls = dict(aws.double.counts)
        answers = {json.loads(aws.run("process", "--section", "tray-managed").stdout)
                   ["AccessKeyId"] for _ in range(5)}
        assert len(answers) == 1 and aws.double.counts == calls
        assert keep.stop() == 0


def test_an_ide_process_gets_its_code_through_the_running_engine(aws: Aws) -> None:
    """No terminal, no display, no generate_token: the tray's prompt supplies the code."""
    aws.write_config(generate_token=False)
    service = EngineService("tray", answers_codes=True,
                            engine=Engine(interactive=False, extra_sources=()))
    asked: list[Event] = []

    def tray(state: KeeperState, event: Event) -> None:
        if event.kind == "code_needed":
            asked.append(event)
            service.keeper.submit_code(event.subject, aws.code())

    service.keeper.subscribe(tray)
    service.start()
    try:
        done = aws.run("process", "project-dev")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["Version"] == 1
        assert [e.subject for e in asked] == [aws.user.mfa_serial]
        assert "project-dev" in asked[0].message
    finally:
        service.stop()
    assert aws.double.counts["GetSessionToken"] == 1


def test_the_fast_path_keeps_hitting_after_the_keeper_rewrites_the_file(aws: Aws) -> None:
    """Each keys write changes the credentials file's mtime, which cache entries record;
    the keeper re-stamps the entries it owns so `process --section` needs no botocore."""
    from rolebar.core import fastpath

    aws.double.role_lifetime = 20
    aws.run("select", "project-dev", "--section", "live", "--style", "process")
    with Keep(aws, "keep", "project-dev", "--style", "keys") as keep:
        for _ in range(2):  # two rewrites of [tray-managed] (every 5 s with 20 s keys)
            first = wait_for(lambda: fresh_keys(aws), 30, what="keys")
            wait_for(lambda first=first: (k := fresh_keys(aws)) and k != first, 15,
                     what="a rewrite")
            answer = wait_for(lambda: fastpath.process(["--section", "live"]), 2,
                              interval=0.02, what="a fast-path hit")
            assert json.loads(answer)["Version"] == 1
        assert keep.stop() == 0


@pytest.mark.slow
def test_a_session_needing_a_code_is_announced_ahead_and_renewed_without_a_gap(
        aws: Aws) -> None:
    """No generate_token: the tray is told before the MFA session ends, not after."""
    aws.write_config(generate_token=False)
    aws.double.role_lifetime, aws.double.session_lifetime = 16, 60  # lead: 15 s
    aws.run("select", "project-dev", "--style", "keys")
    service = EngineService("tray", answers_codes=True,
                            engine=Engine(interactive=False, extra_sources=()))
    events: list[tuple[float, Event]] = []

    def tray(state: KeeperState, event: Event) -> None:
        if event.kind in ("code_needed", "session_ending"):
            events.append((time.time(), event))
            service.keeper.submit_code(event.subject, aws.code())

    service.keeper.subscribe(tray)
    service.start()
    try:
        wait_for(lambda: fresh_keys(aws), 30, what="keys")
        session_end = next(e for _, e in service.keeper.state().sessions)
        end = time.time() + 70
        while time.time() < end:  # readers never see expired keys meanwhile
            assert fresh_keys(aws, at_least=16 / 2 - 1), "the section went stale"
            time.sleep(0.5)
    finally:
        service.stop()
    kinds = [e.kind for _, e in events]
    assert kinds[0] == "code_needed" and len(kinds) >= 2
    # The renewal is asked for a quarter of the 60 s session ahead: as "session_ending"
    # (tests/unit/test_keeper.py pins the kind with a fake clock); on a loaded machine a
    # role refresh in the same instant may report the need first, as "code_needed".
    warned = events[1][0]
    assert session_end - warned >= 15 - 3
    codes = aws.double.codes_seen[str(aws.user.mfa_serial)]
    assert len(codes) == aws.double.counts["GetSessionToken"] == len(kinds) >= 2
