"""One engine per user (core/instance.py): the lock, the note naming its holder, and a
holder that died (even by kill -9) blocking nobody."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rolebar.core.errors import EngineBusy
from rolebar.core.instance import INFO, Instance, describe, holder


def test_one_engine_per_user_names_the_running_one() -> None:
    first = Instance("tray")
    first.acquire()
    try:
        with pytest.raises(EngineBusy, match=rf"rolebar tray \(pid {os.getpid()}\) is already"):
            Instance("keep").acquire()
    finally:
        first.release()
    with Instance("keep"):
        pass


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_note_is_written_whole_and_private_and_goes_with_the_lock(tmp_path: Path) -> None:
    with Instance("keep", root=tmp_path):
        assert holder(tmp_path) == {"pid": os.getpid(), "kind": "keep",
                                    "started": pytest.approx(holder(tmp_path)["started"])}
        assert stat.S_IMODE(os.stat(tmp_path / INFO).st_mode) == 0o600
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert holder(tmp_path) is None


@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
def test_an_engine_killed_with_9_leaves_a_note_that_blocks_nobody(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from rolebar.core.instance import Instance;"
         f" engine = Instance('tray', root=Path({str(tmp_path)!r})); engine.acquire();"
         " print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        with pytest.raises(EngineBusy, match=rf"rolebar tray \(pid {child.pid}\)"):
            Instance("keep", root=tmp_path).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert json.loads((tmp_path / INFO).read_text())["pid"] == child.pid  # stale, left behind
    with Instance("keep", root=tmp_path):  # only the lock counts
        assert holder(tmp_path)["kind"] == "keep"  # type: ignore[index]


@pytest.mark.parametrize(("text", "said"), [
    ("not json", "another rolebar engine"),
    ("[1, 2]", "another rolebar engine"),
    ('{"pid": 7}', "rolebar engine (pid 7)"),
])
def test_a_garbled_note_still_gives_a_sentence(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / INFO).write_text(text)
    assert describe(holder(tmp_path)) == said
