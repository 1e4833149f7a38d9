"""The managed-section writer: byte-exact rewrites, then the file-level guarantees."""

from __future__ import annotations

import configparser
import contextlib
import errno
import logging
import multiprocessing
import os
import random
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.configloader import raw_config_parse

from rolebar.core import atomic, credtext, paths
from rolebar.core.credfile import (
    MARKER_LINE,
    SectionWriter,
    UnmanagedSectionError,
    read_section,
    replace_section,
    section_status,
    text_section,
    text_status,
)
from rolebar.core.errors import RolebarError, SectionError

NAME = "tray-managed"
M = MARKER_LINE
KEYS = {"aws_access_key_id": "ASIAEXAMPLE", "aws_secret_access_key": "s3cr3t"}
NEW = {"aws_access_key_id": "ASIANEW", "aws_secret_access_key": "n3w", "region": "eu-west-1"}
needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
NEW_BLOCK = "aws_access_key_id = ASIANEW\naws_secret_access_key = n3w\nregion = eu-west-1\n"


def rewrite(text: str, values: dict[str, str] | None = NEW) -> str:
    return replace_section(text, NAME, values)


# -- a new section --------------------------------------------------------------------------


def test_new_section_in_an_empty_text() -> None:
    assert rewrite("") == f"{M}\n[{NAME}]\n{NEW_BLOCK}"


def test_new_section_goes_last_after_one_blank_line() -> None:
    text = "# my keys\n[default]\naws_access_key_id = AKIA\n"
    assert rewrite(text) == text + f"\n{M}\n[{NAME}]\n{NEW_BLOCK}"


def test_new_section_after_a_file_without_final_newline() -> None:
    text = "[default]\nregion=us-east-1"
    assert rewrite(text) == text + f"\n\n{M}\n[{NAME}]\n{NEW_BLOCK}"


def test_new_section_after_a_trailing_blank_line_adds_no_second_one() -> None:
    text = "[default]\nregion = us-east-1\n\n"
    assert rewrite(text) == text + f"{M}\n[{NAME}]\n{NEW_BLOCK}"


def test_new_section_takes_the_files_crlf_endings() -> None:
    text = "[default]\r\nregion = us-east-1\r\n"
    expected = text + f"\r\n{M}\r\n[{NAME}]\r\n" + NEW_BLOCK.replace("\n", "\r\n")
    assert rewrite(text) == expected


def test_mixed_endings_follow_the_first_line_ending() -> None:
    text = "# a\r\n[default]\nregion = x\n"
    assert rewrite(text) == text + f"\r\n{M}\r\n[{NAME}]\r\n" + NEW_BLOCK.replace("\n", "\r\n")


def test_credential_process_style() -> None:
    values = {"credential_process": "/opt/rolebar/bin/rolebar process --section tray-managed"}
    out = rewrite("", values)
    assert out == f"{M}\n[{NAME}]\ncredential_process = {values['credential_process']}\n"
    assert text_section(out, NAME) == values


def test_removing_a_missing_section_changes_nothing() -> None:
    text = "[default]\nregion = x"
    assert rewrite(text, None) is text


# -- rewriting in place ---------------------------------------------------------------------

MIDDLE = (
    "# first comment\n"
    "[default]\n"
    "aws_access_key_id   =AKIA\n"
    "\n"
    f"{M}\n"
    f"[{NAME}]\n"
    "aws_access_key_id = OLD\n"
    "aws_secret_access_key=OLD\n"
    "aws_session_token  =  OLD\n"
    "\n"
    "  ; about the next one\n"
    "[other]\n"
    "output = json\n"
)


def test_rewrite_in_the_middle_keeps_everything_around_it() -> None:
    expected = MIDDLE.replace(
        "aws_access_key_id = OLD\naws_secret_access_key=OLD\naws_session_token  =  OLD\n",
        NEW_BLOCK,
    )
    assert rewrite(MIDDLE) == expected


def test_removal_in_the_middle_takes_marker_header_and_keys() -> None:
    expected = (
        "# first comment\n[default]\naws_access_key_id   =AKIA\n\n"
        "\n  ; about the next one\n[other]\noutput = json\n"
    )
    assert rewrite(MIDDLE, None) == expected


def test_section_at_the_start() -> None:
    text = f"{M}\n[{NAME}]\naws_access_key_id = OLD\n[default]\nregion = x\n"
    assert rewrite(text) == f"{M}\n[{NAME}]\n{NEW_BLOCK}[default]\nregion = x\n"
    assert rewrite(text, None) == "[default]\nregion = x\n"


def test_section_at_the_end_without_final_newline_keeps_it_missing() -> None:
    text = f"[default]\nregion = x\n{M}\n[{NAME}]\naws_access_key_id = OLD"
    assert rewrite(text) == f"[default]\nregion = x\n{M}\n[{NAME}]\n" + NEW_BLOCK[:-1]
    assert rewrite(text, None) == "[default]\nregion = x\n"


def test_header_at_the_very_end_without_newline() -> None:
    text = f"[default]\nregion = x\n{M}\n[{NAME}]"
    assert rewrite(text) == f"[default]\nregion = x\n{M}\n[{NAME}]\n" + NEW_BLOCK[:-1]


def test_crlf_rewrite_keeps_crlf_and_marker_bytes() -> None:
    text = f"[default]\r\nregion = x\r\n\r\n{M}\r\n[{NAME}]\r\naws_access_key_id = OLD\r\n"
    expected = f"[default]\r\nregion = x\r\n\r\n{M}\r\n[{NAME}]\r\n" + NEW_BLOCK.replace(
        "\n", "\r\n"
    )
    assert rewrite(text) == expected


def test_marker_below_the_header_stays_below() -> None:
    below = "# managed by rolebar, hand-placed"
    text = f"[{NAME}]\n{below}\naws_access_key_id = OLD\n\n[b]\nk = v\n"
    assert rewrite(text) == f"[{NAME}]\n{below}\n{NEW_BLOCK}\n[b]\nk = v\n"
    assert rewrite(text, None) == "\n[b]\nk = v\n"


def test_marker_and_header_lines_are_kept_byte_for_byte() -> None:
    text = f"   {M} v0   \n[{NAME}]   ; mine\naws_access_key_id = OLD\n"
    assert rewrite(text) == f"   {M} v0   \n[{NAME}]   ; mine\n{NEW_BLOCK}"


def test_comments_and_blanks_after_the_keys_belong_to_what_follows() -> None:
    text = f"{M}\n[{NAME}]\naws_access_key_id = OLD\n\n# next is prod\n\n[prod]\nk = v\n"
    assert rewrite(text) == f"{M}\n[{NAME}]\n{NEW_BLOCK}\n# next is prod\n\n[prod]\nk = v\n"


def test_trailing_comment_at_end_of_file_stays() -> None:
    text = f"{M}\n[{NAME}]\naws_access_key_id = OLD\n# the end\n"
    assert rewrite(text) == f"{M}\n[{NAME}]\n{NEW_BLOCK}# the end\n"
    assert rewrite(text, None) == "# the end\n"


def test_comments_between_rolebar_keys_go_with_them() -> None:
    text = f"{M}\n[{NAME}]\naws_access_key_id = OLD\n# hand edit\n\nregion = x\n[b]\n"
    assert rewrite(text) == f"{M}\n[{NAME}]\n{NEW_BLOCK}[b]\n"


def test_continuation_lines_in_the_section_are_its_own() -> None:
    text = f"{M}\n[{NAME}]\ns3 =\n  addressing_style = path\n\n  max_concurrency = 2\n\n[b]\n"
    assert rewrite(text) == f"{M}\n[{NAME}]\n{NEW_BLOCK}\n[b]\n"


def test_other_sections_nested_values_and_odd_spacing_are_untouched() -> None:
    other = "[dev]\ns3 =\n    addressing_style = path\nregion= eu-west-1 \n\tkey\t=\tv\n"
    text = other + f"\n{M}\n[{NAME}]\naws_access_key_id = OLD\n"
    assert rewrite(text) == other + f"\n{M}\n[{NAME}]\n{NEW_BLOCK}"


def test_empty_managed_section_gets_its_keys_under_the_header() -> None:
    text = f"{M}\n[{NAME}]\n\n[b]\nk = v\n"
    assert rewrite(text) == f"{M}\n[{NAME}]\n{NEW_BLOCK}\n[b]\nk = v\n"


def test_unchanged_values_give_the_same_text() -> None:
    once = rewrite("[default]\nregion = x\n")
    assert rewrite(once) == once


def test_order_of_values_is_kept() -> None:
    values = {"region": "r", "aws_session_token": "t", "aws_access_key_id": "a"}
    out = rewrite("", values)
    assert out.splitlines()[2:] == ["region = r", "aws_session_token = t", "aws_access_key_id = a"]


def test_byte_order_mark_is_kept() -> None:
    text = f"\ufeff{M}\n[{NAME}]\naws_access_key_id = OLD\n[b]\n"
    assert rewrite(text) == f"\ufeff{M}\n[{NAME}]\n{NEW_BLOCK}[b]\n"
    assert rewrite("\ufeff") == f"\ufeff{M}\n[{NAME}]\n{NEW_BLOCK}"
    assert rewrite("\ufeff[a]\n") == f"\ufeff[a]\n\n{M}\n[{NAME}]\n{NEW_BLOCK}"
    assert text_status(text, NAME) == "managed"


def test_profile_style_names_are_plain_section_names_here() -> None:
    text = f"[profile {NAME}]\nregion = x\n"
    assert text_status(text, NAME) == "missing"
    assert rewrite(text) == text + f"\n{M}\n[{NAME}]\n{NEW_BLOCK}"
    out = replace_section(text, f"profile {NAME}x", KEYS)
    assert text_section(out, f"profile {NAME}x") == KEYS
    assert out.startswith(text)


def test_lone_carriage_returns_end_lines_as_they_do_for_botocore() -> None:
    text = f"[a]\rk = v\r{M}\r[{NAME}]\raws_access_key_id = OLD\r"
    assert rewrite(text) == f"[a]\rk = v\r{M}\r[{NAME}]\r" + NEW_BLOCK.replace("\n", "\r")


# -- duplicates ---------------------------------------------------------------------------


def test_duplicate_managed_section_first_rewritten_later_dropped() -> None:
    text = (
        f"{M}\n[{NAME}]\naws_access_key_id = ONE\n\n[a]\nk = v\n\n"
        f"{M}\n[{NAME}]\naws_access_key_id = TWO\n# tail\n"
    )
    expected = f"{M}\n[{NAME}]\n{NEW_BLOCK}\n[a]\nk = v\n\n# tail\n"
    assert rewrite(text) == expected
    assert rewrite(text, None) == "\n[a]\nk = v\n\n# tail\n"


def test_duplicate_with_one_unmarked_copy_is_refused() -> None:
    text = f"{M}\n[{NAME}]\nk = 1\n[{NAME}]\nk = 2\n"
    assert text_status(text, NAME) == "unmanaged"
    with pytest.raises(UnmanagedSectionError):
        rewrite(text)


# -- sections that are not rolebar's --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"[{NAME}]\naws_access_key_id = MINE\n",
        f"# managed by someone\n[{NAME}]\nk = v\n",
        f"{M}\n\n[{NAME}]\nk = v\n",  # not directly above
        f"[{NAME}]\n\n{M}\nk = v\n",  # not directly below
        f"[{NAME}]\n{M}\n[next]\nk = v\n",  # that marker is the next header's
        f"[a]\nk = v\n; managed by rolebar\n[{NAME}]\n",  # the marker is exact
        f"#managed by rolebar\n[{NAME}]\n",
        f"# Managed by rolebar\n[{NAME}]\n",
    ],
)
def test_unmarked_section_is_refused_for_write_and_remove(text: str) -> None:
    assert text_status(text, NAME) == "unmanaged"
    for values in (NEW, None):
        with pytest.raises(UnmanagedSectionError) as info:
            replace_section(text, NAME, values)
        assert info.value.subject == f"section {NAME}"
        assert "marker" in info.value.cause


def test_marker_between_two_headers_belongs_to_the_lower_one() -> None:
    text = f"[{NAME}]\n{M}\n[other]\nk = v\n"
    assert text_status(text, "other") == "managed"
    assert text_status(text, NAME) == "unmanaged"


def test_status_and_values() -> None:
    assert text_status("", NAME) == "missing"
    assert text_status(MIDDLE, NAME) == "managed"
    assert text_section(MIDDLE, NAME) == {
        "aws_access_key_id": "OLD",
        "aws_secret_access_key": "OLD",
        "aws_session_token": "OLD",
    }
    assert text_section(MIDDLE, "nope") is None
    assert text_section("[A]\nKey = V\n", "A") == {"key": "V"}


# -- what cannot be written ------------------------------------------------------------------


def test_indented_header_after_the_section_is_not_swallowed() -> None:
    # The indented [b] is a header only because the keys above it are indented as deeply;
    # rolebar's column-0 keys would turn it into a continuation line.
    text = f"{M}\n[{NAME}]\n  aws_access_key_id = OLD\n  [b]\n  k = v\n"
    assert text_section(text, "b") == {"k": "v"}
    with pytest.raises(SectionError, match="lines around it"):
        rewrite(text)


def test_removal_that_would_swallow_an_indented_header_is_refused() -> None:
    text = f"[a]\nk = v\n{M}\n[{NAME}]\n  x = 1\n  [b]\n  k = v\n"
    with pytest.raises(SectionError, match="lines around it"):
        rewrite(text, None)


@pytest.mark.parametrize("name", ["", " x", "x ", "a\nb", "DEFAULT"])
def test_unusable_names(name: str) -> None:
    with pytest.raises(SectionError):
        replace_section("", name, KEYS)


@pytest.mark.parametrize("key", ["", "Upper", "a b", "k=v", "#k", "[k]", "k\n"])
def test_unusable_keys(key: str) -> None:
    with pytest.raises(SectionError):
        rewrite("", {key: "v"})


@pytest.mark.parametrize("value", [" lead", "trail ", "two\nlines", "cr\rhere", "tab\t"])
def test_unusable_values_never_appear_in_the_message(value: str) -> None:
    with pytest.raises(SectionError) as info:
        rewrite("", {"aws_secret_access_key": value})
    assert value.strip() not in str(info.value)


# -- the file -------------------------------------------------------------------------------


@pytest.fixture
def creds(home: Path) -> Path:
    return home / ".aws" / "credentials"


def nosleep(_: float) -> None:
    pass


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_is_0600_under_umask_022(creds: Path) -> None:
    os.umask(0o022)
    assert SectionWriter(creds).write(NAME, KEYS) is True
    assert mode(creds) == 0o600
    assert creds.read_text() == f"{M}\n[{NAME}]\naws_access_key_id = ASIAEXAMPLE\n" + (
        "aws_secret_access_key = s3cr3t\n"
    )


def test_existing_0644_file_becomes_0600(creds: Path) -> None:
    creds.write_text("[default]\nregion = x\n")
    creds.chmod(0o644)
    SectionWriter(creds).write(NAME, KEYS)
    assert mode(creds) == 0o600


def test_unchanged_write_returns_false_and_leaves_the_file_alone(creds: Path) -> None:
    writer = SectionWriter(creds)
    assert writer.write(NAME, KEYS) is True
    before = creds.stat()
    assert writer.write(NAME, KEYS) is False
    after = creds.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_missing_aws_folder_is_created_0700(creds: Path) -> None:
    creds.parent.rmdir()
    SectionWriter(creds).write(NAME, KEYS)
    assert mode(creds.parent) == 0o700
    assert mode(creds) == 0o600


def test_botocore_reads_what_was_written(creds: Path) -> None:
    creds.write_text("[default]\r\naws_access_key_id = AKIA\r\n")
    SectionWriter(creds).write(NAME, NEW)
    parsed = raw_config_parse(str(creds))
    assert parsed[NAME] == NEW
    assert parsed["default"] == {"aws_access_key_id": "AKIA"}


def test_bytes_that_are_not_utf8_survive(creds: Path) -> None:
    data = b"# caf\xe9 in latin-1\n[default]\nregion = x\n"
    creds.write_bytes(data)
    SectionWriter(creds).write(NAME, KEYS)
    assert creds.read_bytes().startswith(data)


def test_symlink_is_followed_and_stays_a_symlink(creds: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "aws-credentials"
    real.parent.mkdir()
    real.write_text("[default]\nregion = x\n")
    creds.symlink_to(real)
    SectionWriter(creds).write(NAME, KEYS)
    assert creds.is_symlink()
    assert os.readlink(creds) == str(real)
    assert read_section(creds, NAME) == KEYS
    assert mode(real) == 0o600
    assert sorted(p.name for p in real.parent.iterdir()) == ["aws-credentials"]


def test_dangling_symlink_is_an_error_and_creates_nothing(creds: Path, tmp_path: Path) -> None:
    creds.symlink_to(tmp_path / "nowhere" / "credentials")
    with pytest.raises(SectionError, match="symlink") as info:
        SectionWriter(creds).write(NAME, KEYS)
    assert str(creds) in str(info.value)
    assert not (tmp_path / "nowhere").exists()
    assert section_status(creds, NAME) == "missing"


def test_directory_is_an_error(creds: Path) -> None:
    creds.mkdir()
    with pytest.raises(SectionError, match="directory"):
        SectionWriter(creds).write(NAME, KEYS)
    with pytest.raises(SectionError, match="directory"):
        section_status(creds, NAME)


def test_unmanaged_section_in_the_file_is_refused_and_file_untouched(creds: Path) -> None:
    data = f"[{NAME}]\r\naws_access_key_id = HANDMADE\r\n".encode()
    creds.write_bytes(data)
    creds.chmod(0o644)
    writer = SectionWriter(creds)
    for call in (lambda: writer.write(NAME, KEYS), lambda: writer.remove(NAME)):
        with pytest.raises(UnmanagedSectionError) as info:
            call()
        assert str(creds) in info.value.cause and NAME in info.value.cause
        assert "\n" not in str(info.value)
    assert creds.read_bytes() == data
    assert mode(creds) == 0o644
    assert writer.status(NAME) == "unmanaged"


def test_remove_leaves_the_rest(creds: Path) -> None:
    creds.write_text(MIDDLE)
    writer = SectionWriter(creds)
    assert writer.remove(NAME) is True
    assert creds.read_text() == rewrite(MIDDLE, None)
    assert writer.remove(NAME) is False
    assert writer.status(NAME) == "missing" and writer.read(NAME) is None


def test_no_permission_to_write_the_folder(creds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds.write_text("[default]\n")

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(SectionError) as info:
        SectionWriter(creds).write(NAME, KEYS)
    assert info.value.cause == f"cannot update {creds}: permission denied"
    assert creds.read_text() == "[default]\n"


def test_no_permission_to_read(creds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds.write_text("[default]\n")
    real_open = open

    def guarded(file: object, *args: object, **kwargs: object) -> object:
        if file == creds:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", guarded)
    with pytest.raises(SectionError, match="permission denied"):
        read_section(creds, NAME)
    with pytest.raises(SectionError, match="permission denied"):
        SectionWriter(creds).write(NAME, KEYS)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "credentials")


def test_crash_at_replace_leaves_the_original_and_no_temp(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds.write_text(MIDDLE)

    def crash(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SectionError, match="input/output error"):
        SectionWriter(creds).write(NAME, KEYS)
    assert creds.read_text() == MIDDLE
    assert leftovers(creds.parent) == []


def test_disk_full_while_writing_leaves_the_original_and_no_temp(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds.write_text(MIDDLE)
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if len(data) > 8:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(SectionError) as info:
        SectionWriter(creds).write(NAME, KEYS)
    assert info.value.cause == f"cannot update {creds}: no space left on device"
    assert creds.read_text() == MIDDLE
    assert leftovers(creds.parent) == []


def test_disk_full_at_fsync(creds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds.write_text(MIDDLE)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SectionError, match="no space left"):
        SectionWriter(creds).write(NAME, KEYS)
    assert creds.read_text() == MIDDLE
    assert leftovers(creds.parent) == []


def test_temp_files_left_by_a_crashed_writer_are_removed(creds: Path) -> None:
    stale = creds.parent / ".credentials.rolebar-abc123.tmp"
    stale.write_text("aws_secret_access_key = leaked")
    unrelated = creds.parent / ".credentials.swp"
    unrelated.write_text("x")
    SectionWriter(creds).write(NAME, KEYS)
    assert leftovers(creds.parent) == [".credentials.swp"]


def test_lock_lives_in_the_state_folder_under_a_hashed_name(creds: Path) -> None:
    SectionWriter(creds).write(NAME, KEYS)
    assert leftovers(creds.parent) == []
    locks = list((paths.state_dir() / "locks").iterdir())
    assert len(locks) == 1
    assert locks[0].name.startswith("credfile-") and "credentials" not in locks[0].name
    assert mode(locks[0].parent) == 0o700


@needs_fork
def test_lock_held_elsewhere_times_out_as_a_section_error(creds: Path) -> None:
    SectionWriter(creds).write(NAME, KEYS)
    (lock_path,) = (paths.state_dir() / "locks").iterdir()
    ctx = multiprocessing.get_context("fork")
    held = ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(lock_path, held))
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(SectionError, match="locked"):
            SectionWriter(creds, lock_timeout=0.2).write(NAME, NEW)
    finally:
        holder.kill()
        holder.join()
    assert read_section(creds, NAME) == KEYS


def _hold_lock(lock_path: Path, held: Any) -> None:
    import filelock

    with filelock.FileLock(str(lock_path)):
        held.set()
        time.sleep(60)


# -- other programs writing the file without a lock -----------------------------------------

OTHERS = "[default]\naws_access_key_id = AKIA\n\n[work]\nregion = x\n"


def test_truncated_file_is_read_again_after_a_pause(creds: Path) -> None:
    creds.write_text(OTHERS)
    pauses: list[float] = []

    def cli_finishes_writing(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            creds.write_text(OTHERS + "[new]\nk = v\n")

    writer = SectionWriter(creds, sleep=cli_finishes_writing)
    writer.write(NAME, KEYS)
    creds.write_text("")  # the AWS CLI truncated it, and has not written yet
    assert writer.write(NAME, NEW) is True
    assert len(pauses) == 2
    text = creds.read_text()
    assert text.startswith(OTHERS + "[new]\nk = v\n")
    assert text_section(text, NAME) == NEW


def test_half_written_file_that_lost_sections_is_never_written_back(creds: Path) -> None:
    creds.write_text(OTHERS)
    writer = SectionWriter(creds, sleep=nosleep)
    writer.write(NAME, KEYS)
    partial = "[default]\naws_access_key_id = AKIA\n"  # [work] and [tray-managed] gone
    creds.write_text(partial)
    with pytest.raises(SectionError, match=r"lost \[work\]"):
        writer.write(NAME, NEW)
    assert creds.read_text() == partial
    # It stayed that way across the retries and a failed write: someone meant it.
    assert writer.write(NAME, NEW) is True
    assert creds.read_text() == partial + f"\n{M}\n[{NAME}]\n{NEW_BLOCK}"


def test_lost_sections_that_come_back_are_fine(creds: Path) -> None:
    full = rewrite(OTHERS, KEYS)

    def cli_finishes_writing(_: float) -> None:
        creds.write_text(full)

    creds.write_text(OTHERS)
    writer = SectionWriter(creds, sleep=cli_finishes_writing)
    writer.write(NAME, KEYS)
    creds.write_text("[default]\n")  # half of the AWS CLI's in-place write
    assert writer.write(NAME, NEW) is True
    assert creds.read_text() == rewrite(full)


def test_lost_sections_in_a_file_still_changing_are_not_taken_as_meant(creds: Path) -> None:
    count = [0]

    def busy(_: float) -> None:  # someone keeps rewriting it, always without [work]
        count[0] += 1
        creds.write_text(f"[default]\n# {count[0]}\n")

    creds.write_text(OTHERS)
    writer = SectionWriter(creds, sleep=busy)
    writer.write(NAME, KEYS)
    creds.write_text("[default]\n")
    for _ in range(2):
        with pytest.raises(SectionError, match=r"lost \[work\]"):
            writer.write(NAME, NEW)
    assert NAME not in creds.read_text()


def test_empty_file_that_stays_empty_is_written_after_the_pauses(creds: Path) -> None:
    creds.write_text("")
    pauses: list[float] = []
    assert SectionWriter(creds, sleep=pauses.append).write(NAME, KEYS) is True
    assert 0.5 <= sum(pauses) <= 1.5
    assert section_status(creds, NAME) == "managed"


def test_file_emptied_again_and_again_is_not_written(creds: Path) -> None:
    creds.write_text("")
    count = [0]

    def busy(_: float) -> None:  # truncated and rewritten, caught empty every time
        count[0] += 1
        os.utime(creds, ns=(count[0], count[0]))

    with pytest.raises(SectionError, match="emptied and rewritten"):
        SectionWriter(creds, sleep=busy).write(NAME, KEYS)
    assert creds.read_text() == ""


def test_change_between_read_and_replace_starts_over(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds.write_text(OTHERS)
    real_fsync = os.fsync
    calls: list[int] = []

    def cli_writes_meanwhile(fd: int) -> None:
        real_fsync(fd)
        calls.append(fd)
        if len(calls) == 1:  # in place, same inode, like the AWS CLI
            with open(creds, "r+") as f:
                f.truncate(0)
                f.write(OTHERS + "[cli]\noutput = json\n")

    monkeypatch.setattr(os, "fsync", cli_writes_meanwhile)
    assert SectionWriter(creds, sleep=nosleep).write(NAME, KEYS) is True
    assert creds.read_text() == rewrite(OTHERS + "[cli]\noutput = json\n", KEYS)
    assert leftovers(creds.parent) == []


def test_file_that_keeps_changing_gives_up_without_writing(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds.write_text(OTHERS)
    real_fsync = os.fsync
    count = [0]

    def always_meanwhile(fd: int) -> None:
        real_fsync(fd)
        count[0] += 1
        with open(creds, "a") as f:
            f.write(f"# edit {count[0]}\n")

    monkeypatch.setattr(os, "fsync", always_meanwhile)
    with pytest.raises(SectionError, match="kept changing"):
        SectionWriter(creds, sleep=nosleep).write(NAME, KEYS)
    assert section_status(creds, NAME) == "missing"
    assert leftovers(creds.parent) == []


def test_stale_content_put_back_is_seen_and_restored(creds: Path) -> None:
    writer = SectionWriter(creds)
    writer.write(NAME, KEYS)
    stale = creds.read_text()
    writer.write(NAME, NEW)
    creds.write_text(stale)  # another tool wrote back what it read a while ago
    assert writer.read(NAME) == KEYS
    assert writer.write(NAME, NEW) is True
    assert writer.read(NAME) == NEW


def test_only_rolebar_errors_escape(creds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(paths, "private_dir", broken)
    with pytest.raises(RolebarError, match="read-only file system"):
        SectionWriter(creds).write(NAME, KEYS)


# -- stress: two rolebar writers and an AWS-CLI-like editor ----------------------------------

ROUNDS = 200


EDITS = 20  # the editor's in-place edits that must land while the writers write


def _writer(path: str, name: str, edits: Any) -> None:
    writer = SectionWriter(Path(path))
    i = 0
    # ROUNDS writes, and on (with the last values) until the editor has really run alongside.
    while i < ROUNDS or edits.value <= EDITS:
        try:
            values = {"aws_access_key_id": f"{name}-{min(i, ROUNDS - 1)}", "region": "eu-west-1"}
            writer.write(name, values)
            i += 1
        except SectionError:  # the keeper retries too
            time.sleep(0.01)


def _editor(path: str, stop: Any, bad: Any, edits: Any) -> None:
    """Edits [other] like the AWS CLI: read, change, truncate, write in place, no lock."""
    i = 0
    while not stop.is_set():
        edits.value += 1
        with open(path) as f:
            lines = f.readlines()
        if not _parses("".join(lines)):
            bad.value += 1
        i += 1
        lines = [f"counter = {i}\n" if line.startswith("counter =") else line for line in lines]
        with open(path, "w") as f:
            f.write("".join(lines))
        time.sleep(0.02)  # the real AWS CLI runs far less often; this is a busy one


def _parses(text: str) -> bool:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return False
    return True


@needs_fork
def test_two_writers_and_an_unlocked_editor(creds: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    creds.write_text("# shared file\n[other]\ncounter = 0\n")
    for name in ("rb-one", "rb-two"):  # present from the start, as a running keeper has them
        SectionWriter(creds).write(name, {"aws_access_key_id": "start"})
    stop, bad, edits = ctx.Event(), ctx.Value("i", 0), ctx.Value("i", 0)
    editor = ctx.Process(target=_editor, args=(str(creds), stop, bad, edits))
    writers = [ctx.Process(target=_writer, args=(str(creds), n, edits))
               for n in ("rb-one", "rb-two")]
    editor.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
        assert w.exitcode == 0
    stop.set()
    editor.join(30)
    assert editor.exitcode == 0
    assert bad.value == 0  # every file the editor read (rolebar's writes included) parsed
    assert edits.value > EDITS  # it really ran alongside
    text = creds.read_text()
    assert _parses(text)
    assert text.startswith("# shared file\n[other]\ncounter = ")
    # The editor may have put back an older copy of a section (it read before a write);
    # the keeper's re-check restores it, and then every writer's last values are there.
    for name in ("rb-one", "rb-two"):
        assert section_status(creds, name) == "managed"
        final = {"aws_access_key_id": f"{name}-{ROUNDS - 1}", "region": "eu-west-1"}
        SectionWriter(creds).write(name, final)
        assert read_section(creds, name) == final
    assert leftovers(creds.parent) == []


def test_removal_that_would_leave_a_stray_marker_above_another_header_is_refused() -> None:
    text = f"{M}\n{M}\n[{NAME}]\nk = v\n[foo]\nk = v\n"
    with pytest.raises(SectionError, match="stray marker"):
        rewrite(text, None)


def test_removal_next_to_a_header_marked_below_is_fine() -> None:
    # The marker left above [foo] changes nothing: [foo] is rolebar's by its own below.
    text = f"{M}\n{M}\n[{NAME}]\nk = v\n[foo]\n{M}\nk = v\n"
    assert rewrite(text, None) == f"{M}\n[foo]\n{M}\nk = v\n"


def test_a_new_ending_that_merges_with_the_next_blank_line() -> None:
    # The file's first ending is a lone CR; rolebar's lines end so, and a CR before the
    # LF of the blank line after the section reads as one CRLF: the blank line is gone,
    # which changes nothing for any reader.
    text = f"[a]\rk = v\r{M}\r[{NAME}]\raws_access_key_id = OLD\n\n[b]\nk = v\n"
    out = rewrite(text)
    assert out == f"[a]\rk = v\r{M}\r[{NAME}]\r" + NEW_BLOCK.replace("\n", "\r") + "\n[b]\nk = v\n"
    assert text_section(out, "b") == {"k": "v"} and text_section(out, NAME) == NEW


def test_an_empty_mapping_is_not_written() -> None:
    with pytest.raises(SectionError, match="remove it instead"):
        rewrite("", {})


# -- a write that lands in the copy being replaced (issue 9 item 6) ---------------------------

CLI = OTHERS + "[cli]\noutput = json\n"


def _in_place(path: Path, text: str) -> None:
    """The AWS CLI's way: open the same path truncating it, write, close."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _lands_just_before_the_rename(
    creds: Path, monkeypatch: pytest.MonkeyPatch, write: Any = _in_place
) -> list[str]:
    """Patch os.replace so that another program writes in place after rolebar's last check.

    As on systems without file leases (on Linux one holds such a writer back: see
    test_a_writer_held_back_by_the_lease_writes_into_the_file).
    """
    monkeypatch.setattr(atomic, "_LEASES", False)
    real_replace = os.replace
    calls: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        calls.append(str(src))
        if len(calls) == 1:
            write(creds, CLI)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_a_write_landing_in_the_replaced_copy_is_kept(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds.write_text(OTHERS)
    calls = _lands_just_before_the_rename(creds, monkeypatch)
    assert SectionWriter(creds, sleep=nosleep).write(NAME, KEYS) is True
    assert creds.read_text() == rewrite(CLI, KEYS)
    assert len(calls) == 3  # the replace, the copy put back, the redone replace
    assert leftovers(creds.parent) == []


def test_a_write_truncated_before_the_rename_and_written_after_is_kept(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other program opened (and truncated) the old copy in time; its data comes later."""
    creds.write_text(OTHERS)
    opened: list[int] = []

    def truncate_only(path: Path, text: str) -> None:
        opened.append(os.open(path, os.O_WRONLY | os.O_TRUNC))

    def finish_writing(_: float) -> None:
        while opened:
            fd = opened.pop()
            os.write(fd, CLI.encode())
            os.close(fd)

    _lands_just_before_the_rename(creds, monkeypatch, truncate_only)
    assert SectionWriter(creds, sleep=finish_writing).write(NAME, KEYS) is True
    assert creds.read_text() == rewrite(CLI, KEYS)
    assert leftovers(creds.parent) == []


def test_without_hard_links_the_write_is_redone_on_what_landed(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds.write_text(OTHERS)

    def no_links(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    _lands_just_before_the_rename(creds, monkeypatch)
    assert SectionWriter(creds, sleep=nosleep).write(NAME, KEYS) is True
    assert creds.read_text() == rewrite(CLI, KEYS)
    assert leftovers(creds.parent) == []


def _leased_fd(path: Path) -> int:
    """The descriptor on ``path`` that this process holds a lease on (rolebar's)."""
    import fcntl

    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                fd = int(name)
                if fcntl.fcntl(fd, fcntl.F_GETLEASE) != fcntl.F_UNLCK:
                    return fd
    raise AssertionError("no leased descriptor")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file leases are Linux's")
def test_a_writer_held_back_by_the_lease_writes_into_the_file(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process opens the file to write it between rolebar's check and its rename."""
    import fcntl

    creds.write_text(OTHERS)
    real_replace = os.replace
    writers: list[subprocess.Popen[bytes]] = []
    script = ("import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC);"
              "os.write(fd, sys.argv[2].encode()); os.close(fd)")

    def replace(src: Any, dst: Any) -> None:
        if not writers:
            fd = _leased_fd(creds)
            writers.append(subprocess.Popen([sys.executable, "-c", script, str(creds), CLI]))
            until = time.monotonic() + 30
            while fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_RDLCK:  # until it waits
                assert time.monotonic() < until and writers[0].poll() is None
                time.sleep(0.001)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert SectionWriter(creds, sleep=lambda _: writers[0].wait(30)).write(NAME, KEYS) is True
    assert writers[0].wait(30) == 0
    assert creds.read_text() == rewrite(CLI, KEYS)
    assert leftovers(creds.parent) == []


ADDED = 500  # at least; more until three writes met one of rolebar's replaces
ADDED_MAX = 3000


def _adder(path: str, added: Any, landed: Any, started: Any, done: Any) -> None:
    """Adds [added-N] profiles as `aws configure set` does, timed to hit rolebar's replaces.

    Each add waits (briefly) for one of rolebar's temporary files, then a moment more, so
    that its truncate-and-write often falls between rolebar's last check and its rename.
    """
    rng = random.Random(9)
    folder = os.path.dirname(path)
    started.wait(30)
    for i in range(ADDED_MAX):
        if i >= ADDED and landed.value >= 3:
            break
        until = time.monotonic() + 0.05
        while time.monotonic() < until and not any(".rolebar-" in n for n in os.listdir(folder)):
            pass
        until = time.monotonic() + rng.uniform(0, 0.002)
        while time.monotonic() < until:
            pass
        with open(path) as f:
            text = f.read()
        _in_place(Path(path), text + f"\n[added-{i}]\naws_access_key_id = AKIA{i:016d}\n")
        added.value = i + 1
        time.sleep(rng.uniform(0, 0.005))
    done.set()


class _Count(logging.Handler):
    def __init__(self, counter: Any) -> None:
        super().__init__()
        self.counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        if any(said in record.getMessage() for said in ("keeping that write", "open to write")):
            self.counter.value += 1


def _rewriter(path: str, started: Any, done: Any, rounds: Any, landed: Any) -> None:
    logging.getLogger("rolebar.core.atomic").addHandler(_Count(landed))
    logging.getLogger("rolebar.core.atomic").setLevel(logging.DEBUG)
    writer = SectionWriter(Path(path))
    while not done.is_set():
        try:
            writer.write(NAME, {"aws_access_key_id": f"ASIA{rounds.value}", "region": "x"})
            rounds.value += 1
            started.set()
        except SectionError:  # kept changing, or caught half-written: the keeper retries
            pass


@pytest.mark.slow  # 5-15 s, more on a busy machine (it adds until writes landed)
@needs_fork
def test_profiles_added_in_place_during_rewrites_are_never_lost(creds: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    creds.write_text("[default]\nregion = x\n")
    started, done = ctx.Event(), ctx.Event()
    added, rounds, landed = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
    procs = [ctx.Process(target=_adder, args=(str(creds), added, landed, started, done)),
             ctx.Process(target=_rewriter, args=(str(creds), started, done, rounds, landed))]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(300)
        assert proc.exitcode == 0
    text = creds.read_text()
    assert added.value >= ADDED
    assert [i for i in range(added.value) if f"[added-{i}]" not in text] == []
    assert rounds.value > 50  # rolebar kept rewriting its section meanwhile
    assert landed.value >= 1  # and writes met its replaces (held back, or landed and kept)
    assert _parses(text)
    assert section_status(creds, NAME) == "managed"
    # The adder may have written back a copy of the section it read before a rewrite;
    # whatever is there is one of rolebar's, and the next write makes it current.
    assert (read_section(creds, NAME) or {}).get("aws_access_key_id", "").startswith("ASIA")
    SectionWriter(creds).write(NAME, NEW)
    assert read_section(creds, NAME) == NEW
    assert text_section(creds.read_text(), "added-0") == {"aws_access_key_id": f"AKIA{0:016d}"}
    assert leftovers(creds.parent) == []


# -- cost: one reading of the file per write ---------------------------------------------------


def test_a_write_reads_the_file_once_whatever_its_size(
    creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds.write_text("".join(f"[p{i}]\naws_access_key_id = AKIA{i:016d}\n\n" for i in range(2000)))
    writer = SectionWriter(creds, sleep=nosleep)
    scanned: list[int] = []
    real_scan = credtext._iscan

    def counting(pairs: Any) -> Any:
        for line in real_scan(pairs):
            scanned.append(1)
            yield line

    monkeypatch.setattr(credtext, "_iscan", counting)
    for change in (lambda: writer.write(NAME, KEYS), lambda: writer.write(NAME, NEW),
                   lambda: writer.remove(NAME)):
        lines = len(creds.read_text().splitlines())
        scanned.clear()
        assert change() is True
        # The whole file once, then the few lines around the change to check the result.
        assert lines <= len(scanned) <= lines + 20
    # In the middle of the file, the check reads up to the next section only.
    ours = f"{M}\n[{NAME}]\nk = v\n\n[p1000]"
    creds.write_text(creds.read_text().replace("[p1000]", ours))
    lines = len(creds.read_text().splitlines())
    scanned.clear()
    assert writer.write(NAME, NEW) is True
    assert lines <= len(scanned) <= lines + 20
    assert creds.read_text().count(f"[{NAME}]") == 1
