"""Settings: the kept sections, their profile and style, in a 0600 JSON file."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from rolebar.core import fastpath, paths
from rolebar.core import settings as settings_module
from rolebar.core.errors import ConfigError
from rolebar.core.settings import SectionSetting, Settings, tray_section


def test_select_records_profile_and_style_atomically_with_mode_0600() -> None:
    settings = Settings()
    assert settings.path == paths.config_dir() / "settings.json"
    assert settings.select("dev") == SectionSetting("tray-managed", "dev", "process")
    assert stat.S_IMODE(os.stat(settings.path).st_mode) == 0o600
    assert json.loads(settings.path.read_text()) == {
        "sections": {"tray-managed": {"profile": "dev", "style": "process"}}}
    assert not [p for p in settings.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_section_keeps_its_style_unless_one_is_given() -> None:
    settings = Settings()
    settings.select("dev", style="process")
    assert settings.select("ops").style == "process"
    assert settings.select("ops", style="keys").style == "keys"
    assert settings.select("dev").style == "keys"
    assert settings.set_style("tray-managed", "process").style == "process"


def test_process_is_the_default_of_every_new_section_and_recorded_keys_stay_keys() -> None:
    """Issue 15: `AWS_PROFILE=tray-managed pnpm dev` must keep working with every default."""
    settings = Settings()
    assert settings.select("dev").style == "process"
    assert settings.select("ops", tray_section("ops")).style == "process"  # Keep fresh
    # A record from before the change (keys) stays keys; so does one with no style at all,
    # which is what such a record meant then.
    settings.path.write_text(json.dumps({"sections": {
        "tray-managed": {"profile": "dev", "style": "keys"},
        "old": {"profile": "dev"}}}))
    assert {n: s.style for n, s in settings.sections().items()} == {
        "tray-managed": "keys", "old": "keys"}
    assert settings.select("ops").style == "keys"
    assert settings.select("ops", "old").style == "keys"


def test_with_no_record_a_section_found_in_the_file_keeps_its_style() -> None:
    settings = Settings()
    assert settings.select("dev", "a", found="keys").style == "keys"
    assert settings.select("dev", "b", found="process").style == "process"
    assert settings.select("dev", "c", found=None).style == "process"
    # A record wins over the file; a style given wins over both.
    assert settings.select("ops", "a", found="process").style == "keys"
    assert settings.select("ops", "a", "process", found="keys").style == "process"


def test_several_sections_and_unselect() -> None:
    settings = Settings()
    settings.select("dev")
    settings.select("ops", tray_section("ops"))
    assert sorted(settings.sections()) == ["tray-managed", "tray-managed-ops"]
    assert settings.unselect("tray-managed") is True
    assert settings.unselect("tray-managed") is False
    assert list(settings.sections()) == ["tray-managed-ops"]


def test_the_fast_path_reads_the_same_file() -> None:
    Settings().select("dev", "work", "process")
    assert fastpath.section_profile("work") == "dev"
    assert fastpath.section_profile("tray-managed") is None


@pytest.mark.parametrize("text", ["", "{", "[]", '{"sections": 3}',
                                  '{"sections": {"a": {"style": "keys"}}}',
                                  '{"sections": {"a": {"profile": "p", "style": "odd"}}}'])
def test_an_unreadable_file_means_nothing_selected(text: str) -> None:
    settings = Settings()
    settings.path.parent.mkdir(parents=True, exist_ok=True)
    settings.path.write_text(text)
    assert settings.sections() == {}
    settings.select("dev")  # and selecting repairs it
    assert list(settings.sections()) == ["tray-managed"]


@pytest.mark.parametrize("name", ["", "a b", "x]", "new\nline", "x" * 200])
def test_odd_section_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        Settings().select("dev", name)


def test_set_style_of_a_section_not_kept_is_an_error() -> None:
    with pytest.raises(ConfigError, match="is not kept"):
        Settings().set_style("nope", "keys")


def test_the_stamp_changes_on_every_write() -> None:
    settings = Settings()
    assert settings.stamp() is None
    settings.select("dev")
    first = settings.stamp()
    settings.select("dev")
    assert settings.stamp() not in (None, first)


def test_concurrent_selects_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    threads = [threading.Thread(target=Settings(path).select, args=("p", f"s{i}"))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(Settings(path).sections()) == 16


# -- sections.index and settings.json never disagree (issue 9 item 7) -------------------------


def test_a_hand_edited_settings_file_is_not_answered_from_the_old_index() -> None:
    settings = Settings()
    settings.select("dev", "work", "process")
    assert fastpath.section_profile("work") == "dev"
    # Edited by hand (or by an older rolebar): the index still says dev.
    settings.path.write_text(json.dumps({"sections": {"work": {"profile": "ops"}}}))
    assert fastpath.section_profile("work") is None  # so the full path reads the JSON
    assert settings.get("work") == SectionSetting("work", "ops", "keys")
    # That reader wrote the index again, for this settings.json.
    assert fastpath.section_profile("work") == "ops"


def test_an_index_left_behind_by_a_write_cut_short_is_not_trusted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    settings.select("dev", "work")
    index = settings.path.with_name(fastpath.SECTIONS_INDEX)
    real = settings_module.write_private
    full = [True]

    def no_index(path: Path, text: str) -> None:
        if path == index and full[0]:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(settings_module, "write_private", no_index)
    assert settings.select("ops", "work").profile == "ops"  # the JSON is the record
    assert json.loads(settings.path.read_text())["sections"]["work"]["profile"] == "ops"
    assert fastpath.section_profile("work") is None
    full[0] = False
    assert settings.get("work") == SectionSetting("work", "ops", "process")
    assert fastpath.section_profile("work") == "ops"


def test_the_index_names_the_settings_file_it_was_made_from() -> None:
    settings = Settings()
    settings.select("dev", "work")
    lines = settings.path.with_name(fastpath.SECTIONS_INDEX).read_text().splitlines()
    assert lines == [fastpath.index_header(settings.path.read_bytes()), "work\tdev\tprocess"]
    settings.path.with_name(fastpath.SECTIONS_INDEX).write_text("work\tdev\tprocess\n")
    assert fastpath.section_profile("work") is None  # an index of the old format


def test_a_symlink_planted_at_the_settings_lock_is_refused(tmp_path: Path) -> None:
    settings = Settings()
    settings.select("dev")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    lock = settings.path.with_name(".settings.lock")
    lock.unlink(missing_ok=True)
    lock.symlink_to(victim)
    with pytest.raises(ConfigError) as caught:
        settings.select("ops")
    assert str(caught.value) == f"lock {lock}: is a symlink; rolebar does not follow one " \
        "there (remove it)"
    assert caught.value.exit_code == 2
    assert victim.read_text() == "precious\n"
    assert settings.get("tray-managed") == SectionSetting("tray-managed", "dev", "process")
