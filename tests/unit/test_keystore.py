"""keystore: every keyring failure is one RolebarError line (never the backend's message),
a locked keyring is KeyringLocked, keys are read once per process and again only after
another process changed the item; profiles marked rolebar_keys = keyring plan KeyringKeys."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.core
import keyring.errors
import pytest

from rolebar.core import keystore
from rolebar.core.atomic import write_private
from rolebar.core.credentials import Keys
from rolebar.core.profiles import Catalog
from rolebar.core.providers import KeyringKeys, StaticKeys, source_keys

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class Memory(keyring.backend.KeyringBackend):
    """A keyring in memory that counts reads and can be told to fail."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.reads = 0
        self.fail: BaseException | None = None
        self.hang = threading.Event()
        self.hanging = False

    def _check(self) -> None:
        if self.hanging:
            self.hang.wait(10)
        if self.fail is not None:
            raise self.fail

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        self._check()
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check()
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._check()
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such item")


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Memory]:
    backend = Memory()
    # Set directly: asking keyring for its default backend could probe the session bus.
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    monkeypatch.setattr(keystore, "_CACHE", {})
    yield backend
    backend.hang.set()


def test_put_get_delete_round_trip(memory: Memory) -> None:
    keys = Keys("dev", "AKIAEXAMPLEEXAMPLE01", SECRET)
    keystore.put("dev", keys)
    assert keystore.get("dev") == keys
    assert ("rolebar", "dev") in memory.items
    assert keystore.delete("dev") is True
    assert keystore.get("dev") is None
    assert keystore.delete("dev") is False


@pytest.mark.parametrize(("raised", "kind", "cause"), [
    (keyring.errors.KeyringLocked("Failed to unlock the collection!"), keystore.KeyringLocked,
     "the OS keyring is locked; unlock it (its own prompt, or the desktop's keyring app) and "
     "try again"),
    (keyring.errors.NoKeyringError("none"), keystore.KeyringError,
     "no OS keyring is available"),
    (ConnectionResetError(SECRET), keystore.KeyringError,
     "the OS keyring failed a read (ConnectionResetError)"),
    (keyring.errors.InitError(SECRET), keystore.KeyringError,
     "the OS keyring failed a read (InitError)"),
])
def test_each_failure_is_one_line_without_the_backends_message(
        memory: Memory, raised: BaseException, kind: type[Exception], cause: str) -> None:
    memory.fail = raised
    with pytest.raises(kind) as caught:
        keystore.get("dev")
    assert type(caught.value) is kind
    assert str(caught.value) == f"profile dev: {cause}"
    assert SECRET not in str(caught.value)


def test_a_hung_keyring_is_bounded(memory: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEBAR_KEYRING_TIMEOUT", "0.2")
    memory.hanging = True
    with pytest.raises(keystore.KeyringError) as caught:
        keystore.get("dev")
    assert caught.value.cause == "the OS keyring did not answer a read in 0.2 s"


def test_no_backend_is_refused_not_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.backends.fail.Keyring())
    with pytest.raises(keystore.KeyringError) as caught:
        keystore.get("dev")
    assert caught.value.cause.startswith("no OS keyring is available (on Linux: a Secret "
                                         "Service")


def test_an_item_that_is_not_rolebars_is_one_line(memory: Memory) -> None:
    memory.items[("rolebar", "dev")] = "hunter2"
    with pytest.raises(keystore.KeyringError) as caught:
        keystore.get("dev")
    assert caught.value.cause == ("the keyring item rolebar/dev is not rolebar's (no key id "
                                  "and secret in it)")


def test_keys_are_read_once_per_process_and_again_after_another_process_changed_them(
        memory: Memory) -> None:
    keystore.put("dev", Keys("dev", "AKIAEXAMPLEEXAMPLE01", SECRET))
    memory.reads = 0
    first = keystore.cached("dev")
    assert keystore.cached("dev") is first and memory.reads == 0  # put() filled the cache
    keystore._CACHE.clear()  # a new process
    assert keystore.cached("dev") == first and keystore.cached("dev") == first
    assert memory.reads == 1
    # Another process rotates: it changes the item and bumps the generation file.
    memory.items[("rolebar", "dev")] = '{"AccessKeyId": "AKIANEWNEWNEWNEW0002", ' \
                                       f'"SecretAccessKey": "{SECRET[::-1]}"}}'
    write_private(keystore._generation_file("dev"), "other")
    assert keystore.cached("dev").access_key_id == "AKIANEWNEWNEWNEW0002"
    assert memory.reads == 2


def test_no_item_for_a_marked_profile_says_how_to_put_one(memory: Memory) -> None:
    with pytest.raises(keystore.KeyringError) as caught:
        keystore.cached("dev")
    assert "rolebar keys import dev" in caught.value.cause


def test_a_marked_profile_plans_keyring_keys_without_reading_the_keyring(
        home: Path, memory: Memory) -> None:
    (home / ".aws" / "config").write_text(textwrap.dedent("""\
        [profile dev]
        role_arn = arn:aws:iam::111111111111:role/developer
        source_profile = src
        mfa_serial = arn:aws:iam::000000000000:mfa/me
        """))
    (home / ".aws" / "credentials").write_text("[src]\nrolebar_keys = keyring\n")
    catalog = Catalog.load()
    plan = catalog.plan("dev")
    assert plan.source.keyring and plan.key_ref == "keyring:src"
    assert [p.name for p in catalog.assumable()] == ["dev"]
    assert memory.reads == 0
    assert source_keys(plan.source) == KeyringKeys("src")
    assert source_keys(Keys("x", "AKIA", "s")) == StaticKeys(Keys("x", "AKIA", "s"))
    keystore.put("src", Keys("src", "AKIAEXAMPLEEXAMPLE01", SECRET))
    assert KeyringKeys("src").retrieve().access_key_id == "AKIAEXAMPLEEXAMPLE01"


@pytest.mark.parametrize(("credentials", "cause"), [
    ("[src]\nrolebar_keys = vault\n", "rolebar_keys must be keyring, not 'vault'"),
    ("[src]\nrolebar_keys = keyring\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\n",
     "has keys in the file and rolebar_keys = keyring; remove one (`rolebar keys import` "
     "moves them)"),
])
def test_a_wrong_mark_is_a_config_error(home: Path, credentials: str, cause: str) -> None:
    (home / ".aws" / "config").write_text("[profile src]\nmfa_serial = "
                                          "arn:aws:iam::000000000000:mfa/me\n")
    (home / ".aws" / "credentials").write_text(credentials)
    from rolebar.core.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        Catalog.load().plan("src")
    assert caught.value.cause == cause
