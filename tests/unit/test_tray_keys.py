"""The tray's key items (tray/keymenu.py): "Move keys to keyring..." only while keys are in
plaintext, "Rotate keys..." for keys in the file or the keyring; nothing happens unless
confirmed; the outcome is one notification with the key masked; the demo shows none."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import keyring.core
import keyring.errors
import pytest

from rolebar.core import keystore
from rolebar.core.engine import Engine
from rolebar.core.state import KeeperState
from rolebar.tray import menu
from rolebar.tray.keymenu import KeyActions
from tests.unit.test_keystore import SECRET, Memory

KEY_ID = "AKIAEXAMPLEEXAMPLE01"


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Memory]:
    backend = Memory()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    monkeypatch.setattr(keystore, "_CACHE", {})
    yield backend


@pytest.fixture
def files(home: Path) -> Path:
    (home / ".aws" / "config").write_text(textwrap.dedent("""\
        [profile dev]
        role_arn = arn:aws:iam::111111111111:role/developer
        source_profile = src
        mfa_serial = arn:aws:iam::000000000000:mfa/me
        """))
    creds = home / ".aws" / "credentials"
    creds.write_text(f"[src]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    return creds


class Said:
    def __init__(self) -> None:
        self.notes: list[tuple[str, str, str]] = []

    def __call__(self, key: str, title: str, body: str) -> None:
        self.notes.append((key, title, body))


def test_items_follow_where_the_keys_are(files: Path, memory: Memory) -> None:
    said = Said()
    keys = KeyActions(lambda: Engine(interactive=False), said, confirm=lambda _q: True)
    items = keys.items()
    assert [(i.text, i.action) for i in items] == [
        ("Move keys to keyring (src)...", ("keys-import", "src")),
        ("Rotate keys (src)...", ("keys-rotate", "src"))]
    full = menu.build(KeeperState((), ("dev",), (), ()), 0.0, None, items)
    texts = [i.text for i in full]
    assert texts.index("Move keys to keyring (src)...") == texts.index("Keep fresh") + 1
    keys.act("keys-import", "src").join(10)
    assert SECRET not in files.read_text() and "rolebar_keys = keyring" in files.read_text()
    assert said.notes == [("keys src done", "rolebar: keys",
                           "profile src: keys moved to the OS keyring")]
    assert [(i.text, i.action) for i in keys.items()] == [
        ("Rotate keys (src)...", ("keys-rotate", "src"))]


def test_nothing_happens_unless_confirmed(files: Path, memory: Memory) -> None:
    said = Said()
    questions: list[str] = []
    keys = KeyActions(lambda: Engine(interactive=False), said,
                      confirm=lambda q: questions.append(q) is not None)
    keys.act("keys-import", "src").join(10)
    assert questions == ["Move the long-term keys of src from the credentials file into the "
                         "OS keyring?"]
    assert SECRET in files.read_text() and not memory.items and not said.notes


def test_a_failure_is_one_notification(files: Path, memory: Memory) -> None:
    memory.fail = keyring.errors.KeyringLocked("locked")
    said = Said()
    KeyActions(lambda: Engine(interactive=False), said, confirm=lambda _q: True).act(
        "keys-import", "src").join(10)
    assert said.notes == [(
        "keys profile src: the OS keyring is locked; unlock it (its own prompt, or the "
        "desktop's keyring app) and try again", "rolebar: keys",
        "profile src: the OS keyring is locked; unlock it (its own prompt, or the desktop's "
        "keyring app) and try again")]
    assert SECRET in files.read_text()  # left where it was


def test_hidden_items_and_unreadable_files_give_none(files: Path) -> None:
    keys = KeyActions(lambda: Engine(interactive=False), Said())
    keys.shown = False
    assert keys.items() == ()
    keys.shown = True
    files.write_text("[src\nbroken")
    assert keys.items() == ()
