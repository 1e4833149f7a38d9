"""`rolebar doctor` says which style each kept section uses and when to use the other."""

from __future__ import annotations

from pathlib import Path

from rolebar.core.settings import Settings
from tests.unit.test_doctor import by_name, headless, write_files


def test_each_kept_section_names_its_style_and_when_the_other_fits(home: Path) -> None:
    write_files(home)
    settings = Settings()
    settings.select("project-dev")
    settings.select("project-dev", "box", "keys")
    checks = by_name(list(headless().checks()))
    default, box = checks["section tray-managed"], checks["section box"]
    assert (default.status, box.status) == ("ok", "ok")
    assert default.detail.startswith("profile project-dev, style process: ")
    assert "container that mounts ~/.aws" in (default.hint or "")
    assert "`rolebar select project-dev --section tray-managed --style keys`" in \
        (default.hint or "")
    assert box.detail.startswith("profile project-dev, style keys: ")
    assert "long-running process" in box.detail
    assert "`rolebar select project-dev --section box --style process`" in (box.hint or "")


def test_no_section_kept_says_how_and_which_style_it_gets(home: Path) -> None:
    write_files(home)
    check = by_name(list(headless().checks()))["sections"]
    assert (check.status, check.detail) == ("ok", "none kept yet")
    assert "style process" in (check.hint or "")
