"""A rotation that fails after CreateAccessKey leaves exactly one working key stored, and
says which: in-process `Rotation` against the double and a real Secret Service, with the
fault put in at the step it is about."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rolebar.core import keyops, keystore
from rolebar.core.engine import Engine
from rolebar.core.errors import RolebarError
from rolebar.core.iam import Iam
from rolebar.core.rotate import Rotation
from tests import keyringd
from tests.loopback.conftest import Aws

pytestmark = pytest.mark.slow


@pytest.fixture
def keyring(aws: Aws, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[keyringd.SecretService]:
    service = keyringd.start(tmp_path / "keyring", aws.env)
    for name in ("DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL"):
        if name in service.env:
            monkeypatch.setenv(name, service.env[name])
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", aws.double.endpoint)
    monkeypatch.setattr(keystore, "_CACHE", {})
    yield service
    service.stop()


def works(aws: Aws, key_id: str, secret: str) -> bool:
    return Iam("my-company", Engine(interactive=False).sdk).works(
        keystore.Keys("t", key_id, secret))


def rotation(**options: object) -> Rotation:
    return Rotation(Engine(interactive=False), "my-company", sleep=lambda _: None,
                    **options)  # type: ignore[arg-type]


def test_a_new_key_that_never_works_is_deleted_again(aws: Aws,
                                                     keyring: keyringd.SecretService) -> None:
    import os

    keyops.import_keys(os.environ, "my-company")
    aws.double.services.iam.consistency_calls = 10**6
    with pytest.raises(RolebarError) as raised:
        rotation(settle_seconds=5, clock=iter(range(0, 1000, 2)).__next__).run()
    assert raised.value.cause == ("rotation failed (the new key did not start working within "
                                  "5 s); the new key was deleted again and the old key stays "
                                  "stored and in use")
    assert aws.double.counts["CreateAccessKey"] == aws.double.counts["DeleteAccessKey"] == 1
    stored = keyring.item("my-company")
    assert stored == {"Version": 1, "AccessKeyId": aws.user.access_key_id,
                      "SecretAccessKey": aws.user.secret_access_key}
    assert works(aws, aws.user.access_key_id, aws.user.secret_access_key)


def test_keyring_gone_before_the_store_deletes_the_new_key(
        aws: Aws, keyring: keyringd.SecretService) -> None:
    import os

    keyops.import_keys(os.environ, "my-company")
    aws.double.services.iam.consistency_calls = 1  # one pause: the daemon dies in it
    with pytest.raises(RolebarError) as raised:
        Rotation(Engine(interactive=False), "my-company",
                 sleep=lambda _: keyring.kill_daemon()).run()
    assert "the new key was deleted again and the old key stays stored" in raised.value.cause
    assert "keyring" in raised.value.cause
    assert aws.double.counts["DeleteAccessKey"] == 1
    assert works(aws, aws.user.access_key_id, aws.user.secret_access_key)


def test_new_key_kept_and_named_when_it_cannot_be_deleted_again(
        aws: Aws, keyring: keyringd.SecretService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Storing fails and so does the delete of the new key: the old key stays stored (it
    still works), and the message names the new key (masked) to delete by hand."""
    import os

    keyops.import_keys(os.environ, "my-company")

    def store_fails(*_: object) -> None:
        aws.double.inject("500")  # from here IAM fails every call
        raise keystore.KeyringError("profile my-company", "the OS keyring failed a write")

    monkeypatch.setattr(Rotation, "_store", store_fails)
    with pytest.raises(RolebarError) as raised:
        rotation().run()
    aws.double.clear()
    created = [k for k in _key_ids(aws) if k != aws.user.access_key_id]
    assert len(created) == 1
    new = created[0]
    assert raised.value.cause.startswith("rotation failed (the OS keyring failed a write); "
                                         "the old key stays stored and in use, but the new "
                                         f"key {new[:4]}…{new[-4:]} could not be deleted")
    assert new not in str(raised.value)
    assert keyring.item("my-company")["AccessKeyId"] == aws.user.access_key_id  # type: ignore[index]
    assert works(aws, aws.user.access_key_id, aws.user.secret_access_key)


def test_old_key_delete_failing_keeps_the_new_key_stored(
        aws: Aws, keyring: keyringd.SecretService, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    keyops.import_keys(os.environ, "my-company")
    real = Iam.delete_key

    def delete_fails(self: Iam, caller: object, key_id: str) -> None:
        aws.double.inject("500", count=1)
        real(self, caller, key_id)  # type: ignore[arg-type]

    monkeypatch.setattr(Iam, "delete_key", delete_fails)
    with pytest.raises(RolebarError) as raised:
        rotation().run()
    item = keyring.item("my-company")
    assert item is not None and item["AccessKeyId"] != aws.user.access_key_id
    masked = f"{item['AccessKeyId'][:4]}…{item['AccessKeyId'][-4:]}"
    assert raised.value.cause.startswith(f"the new key {masked} is stored in the keyring and "
                                         "works, but deleting the old key")
    assert works(aws, item["AccessKeyId"], item["SecretAccessKey"])


def _key_ids(aws: Aws) -> list[str]:
    keys = keystore.Keys("t", aws.user.access_key_id, aws.user.secret_access_key)
    iam = Iam("my-company", Engine(interactive=False).sdk)
    return [k.access_key_id for k in iam.list_keys(keys)]
