"""The credential_process cache hit: stdlib only, same directories as platformdirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolebar.core import fastpath, paths
from rolebar.core.settings import Settings


def test_directories_agree_with_platformdirs(home: Path) -> None:
    assert Path(fastpath.cache_dir()) == paths.cache_dir()
    assert Path(fastpath.config_dir()) == paths.config_dir()


def test_directories_agree_with_platformdirs_without_xdg(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert Path(fastpath.cache_dir()) == paths.cache_dir()
    assert Path(fastpath.config_dir()) == paths.config_dir()


def test_importing_the_fast_path_and_cli_pulls_in_nothing_heavy() -> None:
    # Each of these costs a good share of Python's own start-up on the cached path. `-S`
    # keeps site (and an editable install's finder, which loads pathlib and re) out of the
    # count; .typecheck holds the installed layout as symlinks.
    layout = Path(__file__).parents[2] / ".typecheck"
    probe = (f"import sys; sys.path.insert(0, {str(layout)!r}); before = set(sys.modules);"
             "import rolebar.core.fastpath, rolebar.core.cli;"
             "heavy = {'boto3', 'botocore', 'PIL', 'pystray', 'plyer', 'platformdirs',"
             " 'filelock', 'argparse', 'logging', 'json', 're', 'pathlib', 'typing',"
             " 'hashlib', 'collections', 'enum'};"
             "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out == "[]\n"


def write_entry(profile: str, issued: float, expires: float) -> Path:
    """An answer file as the engine writes it (through the same function)."""
    files = fastpath.aws_files(os.environ)
    folder = paths.private_dir(Path(fastpath.cache_dir()))  # 0700, as the engine makes it
    answer = json.dumps({"Version": 1, "AccessKeyId": "ASIAFAKE", "SecretAccessKey": "s",
                         "SessionToken": "t", "Expiration": "2030-01-01T00:00:00Z"})
    path = folder / f"{fastpath.role_entry_name(profile, files)}.answer"
    path.write_text(fastpath.answer_file(issued, expires, fastpath.stamps(files), answer))
    return path


def test_hit_while_fresh_miss_within_the_margin(home: Path) -> None:
    (home / ".aws" / "config").write_text("[profile p]\n")
    now = time.time()
    write_entry("p", now - 100, now + 3500)
    answer = json.loads(fastpath.process(["p"]) or "{}")
    assert answer == {"Version": 1, "AccessKeyId": "ASIAFAKE", "SecretAccessKey": "s",
                      "SessionToken": "t", "Expiration": "2030-01-01T00:00:00Z"}
    write_entry("p", now - 3000, now + 600)  # 10 of 60 minutes left: under the 15 min margin
    assert fastpath.process(["p"]) is None
    write_entry("p", now - 20, now + 11)  # 31 s lifetime, 11 s left: under half of it
    assert fastpath.process(["p"]) is None
    write_entry("p", now - 10, now + 30)  # 40 s lifetime, 30 s left: fresh
    assert fastpath.process(["p"]) is not None


def test_changed_aws_files_invalidate_the_entry(home: Path) -> None:
    config = home / ".aws" / "config"
    config.write_text("[profile p]\n")
    now = time.time()
    write_entry("p", now, now + 3600)
    assert fastpath.process(["p"]) is not None
    config.write_text("[profile p]\nregion = eu-west-1\n")
    assert fastpath.process(["p"]) is None


def test_section_follows_the_selected_profile(home: Path) -> None:
    now = time.time()
    write_entry("p", now, now + 3600)
    assert fastpath.process(["--section", "tray-managed"]) is None
    Settings().select("p", "tray-managed", "process")
    assert fastpath.process(["--section", "tray-managed"]) is not None
    assert fastpath.process(["--section=tray-managed"]) is not None


@pytest.mark.parametrize("garbage", [
    "", "{", "rolebar-answer-1 x y z\n{}", "rolebar-answer-2 1 2 -,-\n{}",
    "rolebar-answer-1 1e12 2e12 -,-\nnot json",
])
def test_garbage_entries_are_misses(home: Path, garbage: str) -> None:
    path = write_entry("p", time.time(), time.time() + 3600)
    path.write_text(garbage)
    assert fastpath.process(["p"]) is None


def test_a_cache_folder_open_to_others_is_not_answered_from(home: Path) -> None:
    now = time.time()
    write_entry("p", now, now + 3600)
    folder = Path(fastpath.cache_dir())
    assert fastpath.process(["p"]) is not None
    for mode in (0o755, 0o750, 0o701, 0o777):
        folder.chmod(mode)
        assert fastpath.process(["p"]) is None, oct(mode)
    folder.chmod(0o700)
    assert fastpath.process(["p"]) is not None


def test_a_cache_folder_of_another_user_is_not_answered_from(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    write_entry("p", now, now + 3600)
    owner = Path(fastpath.cache_dir()).stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    assert fastpath.process(["p"]) is None
