"""A kept section never shadows a profile (issue 9, item 4): `select`, `keep` and a
hand-edited settings file refuse such names with one line, exit 2, nothing written."""

from __future__ import annotations

import json

import pytest

from tests.faults.helpers import assert_one_line
from tests.loopback.clients.harness import Keep, fresh_keys, identity, section, wait_for
from tests.loopback.conftest import Aws


@pytest.mark.parametrize(("command", "name", "why"), [
    ("select", "project-ops", "is a profile in"),
    ("select", "default", "is a profile in"),  # [default] is added to the config below
    ("select", "personal", "marker"),  # a profile only in the credentials file
    ("select", "-x", "cannot start with '-'"),
    ("select", "DEFAULT", "defaults section"),
    ("select", "a]b", "letters, digits"),
    ("keep", "project-ops", "is a profile in"),
    ("keep", "DEFAULT", "defaults section"),
])
def test_select_and_keep_refuse_a_section_named_like_a_profile(
        aws: Aws, command: str, name: str, why: str) -> None:
    aws.write_config(extra="\n[default]\nregion = eu-west-1\n")
    with aws.credentials.open("a") as f:
        f.write("\n[personal]\naws_access_key_id = AKIAEXAMPLEEXAMPLE02\n")
    before = aws.credentials.read_bytes()
    done = aws.run(command, "project-dev", f"--section={name}")
    line = assert_one_line(done, 2, why)
    assert line.startswith(f"rolebar: section {name}") or line.startswith(
        f"rolebar: section {name!r}"), line
    assert aws.credentials.read_bytes() == before
    assert not (aws.home / ".config" / "rolebar" / "settings.json").exists()
    assert aws.double.counts["GetSessionToken"] == 0


def test_the_keep_fresh_sections_and_default_without_a_default_profile_pass(aws: Aws) -> None:
    for name in ("tray-managed-project-dev", "default"):
        done = aws.run("select", "project-dev", "--section", name, "--style", "process")
        assert done.returncode == 0, done.stderr
        assert (section(aws, name) or {}).get("credential_process", "").endswith(
            f"process --section {name}")


def test_a_hand_edited_settings_file_naming_a_profile_is_refused_by_the_engine(
        aws: Aws) -> None:
    config_before = aws.config.read_bytes()
    folder = aws.home / ".config" / "rolebar"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps({"sections": {
        "project-ops": {"profile": "project-dev", "style": "keys"},
        "other": {"profile": "project-ops", "style": "keys"}}}))
    with Keep(aws, "keep") as keep:
        keys = wait_for(lambda: fresh_keys(aws, "other"), 30, what="the other section")
        assert "assumed-role/operator/" in identity(keys)
        wait_for(lambda: "section project-ops" in keep.stderr(), 10, what="the refusal")
        status = json.loads(aws.run("status", "--json").stdout)
        health = {s["name"]: s["health"] for s in status["sections"]}
        assert health == {"other": "fresh", "project-ops": "error"}
        assert section(aws, "project-ops") is None  # the profile is not overridden
        assert keep.stop() == 0
    refusals = [line for line in keep.stderr().splitlines() if "section project-ops" in line]
    assert len(refusals) == 1, refusals
    assert refusals[0].startswith("rolebar: section project-ops: is a profile in ")
    assert aws.config.read_bytes() == config_before
