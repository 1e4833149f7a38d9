"""rolebar's cache (core/cache.py): private entries, unreadable means missing, one lock per
entry that a second process waits on and then re-reads."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rolebar.core.cache import Cache, entry_name
from rolebar.core.errors import RolebarError

posix = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix
def test_an_entry_and_its_answer_are_private_in_a_private_folder(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir(mode=0o755)
    cache = Cache(root)
    cache.store("role-x", {"a": 1}, answer="header\n{}\n")
    assert cache.load("role-x") == {"a": 1}
    assert mode(root) == 0o700
    assert mode(root / "role-x.json") == mode(root / "role-x.answer") == 0o600
    assert (root / "role-x.answer").read_text() == "header\n{}\n"


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", "null", "\xff"])
def test_an_unreadable_entry_is_missing(tmp_path: Path, text: str) -> None:
    cache = Cache(tmp_path)
    (tmp_path / "role-x.json").write_text(text, encoding="latin-1")
    assert cache.load("role-x") is None
    assert cache.load("role-nothing") is None


def test_names_are_hashes_listed_by_kind_and_deleted_with_their_answer(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    role = entry_name("role", profile="dev", config="c", credentials="k")
    assert role.startswith("role-") and "dev" not in role
    assert role == entry_name("role", credentials="k", profile="dev", config="c")
    cache.store(role, {}, answer="x")
    cache.store(entry_name("session", device="d"), {})
    assert cache.names("role") == [role]
    assert cache.delete(role) and not (tmp_path / f"{role}.answer").exists()
    assert not cache.delete(role)
    assert cache.names("role") == []


def test_a_cache_that_cannot_be_made_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    cache = Cache(tmp_path / "file" / "cache")
    with pytest.raises(RolebarError) as caught:
        cache.store("role-x", {})
    assert str(caught.value).startswith(f"cache {tmp_path / 'file' / 'cache'}: cannot create it")


def test_a_lock_held_elsewhere_is_waited_for_then_busy(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    with cache.lock("role-x"):
        pass  # makes the locks folder
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; from pathlib import Path;"
         " from rolebar.core.cache import Cache;"
         f" lock = Cache(Path({str(tmp_path)!r})).lock('role-x'); lock.__enter__();"
         " print('held', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(RolebarError) as caught, cache.lock("role-x", timeout=0.2):
            pass
        assert str(caught.value) == "cache: another rolebar process holds the lock"
        with cache.lock("role-y", timeout=0.2):  # one lock per entry: others go on
            cache.store("role-y", {"ok": True})
    finally:
        holder.kill()
        holder.wait()
    with cache.lock("role-x", timeout=5):  # the holder died: free again
        assert json.loads((tmp_path / "role-y.json").read_text()) == {"ok": True}
