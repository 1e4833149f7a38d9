"""keytext: a source section's key lines out (the keyring mark in their place), back in,
and replaced, with every other byte of the file kept; refusals leave the text alone."""

from __future__ import annotations

import configparser

import pytest

from rolebar.core.credentials import Keys
from rolebar.core.credtext import Text
from rolebar.core.errors import ConfigError
from rolebar.core.keytext import marked, replaced_keys, stored_keys, with_keys, without_keys

KEYS = Keys("dev", "AKIAEXAMPLEEXAMPLE01", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
NEW = Keys("dev", "AKIANEWNEWNEWNEW0002", "newsecretnewsecretnewsecretnewsecret0002")

FILE = (
    "\ufeff# my keys\r\n[other]\r\naws_access_key_id = AKIAOTHEROTHER000003\r\n"
    "aws_secret_access_key = other\r\n\r\n"
    "[dev]\r\n"
    "  region = eu-west-1\r\n"
    f"aws_access_key_id = {KEYS.access_key_id}\r\n"
    "; a comment between\r\n"
    f"aws_secret_access_key = {KEYS.secret_access_key}\r\n"
    "output = json\r\n"
    "\r\n"
    "# managed by rolebar (do not edit; rewritten before expiry)\r\n"
    "[tray-managed]\r\ncredential_process = /x process --section tray-managed"
)


def read(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser()
    parser.read_string(text.lstrip("\ufeff"))
    return {name: dict(parser.items(name)) for name in parser.sections()}


def test_out_and_back_keeps_every_other_byte() -> None:
    out = without_keys(Text(FILE), "dev")
    assert out == FILE.replace(
        f"aws_access_key_id = {KEYS.access_key_id}\r\n", "rolebar_keys = keyring\r\n").replace(
        f"aws_secret_access_key = {KEYS.secret_access_key}\r\n", "")
    assert KEYS.secret_access_key not in out and KEYS.access_key_id not in out
    assert marked(Text(out), "dev") and stored_keys(Text(out), "dev") is None
    back = with_keys(Text(out), "dev", KEYS)
    assert read(back) == read(FILE)
    assert stored_keys(Text(back), "dev") == KEYS
    assert back.startswith("\ufeff# my keys\r\n") and back.endswith("--section tray-managed")


def test_replaced_keys_changes_only_the_two_values() -> None:
    out = replaced_keys(Text(FILE), "dev", NEW)
    assert out == FILE.replace(KEYS.access_key_id, NEW.access_key_id).replace(
        KEYS.secret_access_key, NEW.secret_access_key)


def test_a_value_continued_on_indented_lines_goes_whole() -> None:
    text = ("[dev]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\naws_secret_access_key = abc\n"
            "    def\n\n    ghi\nregion = x\n")
    out = without_keys(Text(text), "dev")
    assert out == "[dev]\nrolebar_keys = keyring\nregion = x\n"


def test_the_last_line_without_a_newline() -> None:
    text = "[dev]\naws_secret_access_key = s\naws_access_key_id = AKIAEXAMPLEEXAMPLE01"
    out = without_keys(Text(text), "dev")
    assert out == "[dev]\nrolebar_keys = keyring\n"
    assert with_keys(Text("[dev]\nrolebar_keys = keyring"), "dev", KEYS) == (
        f"[dev]\naws_access_key_id = {KEYS.access_key_id}\naws_secret_access_key = "
        f"{KEYS.secret_access_key}")


@pytest.mark.parametrize(("text", "cause"), [
    ("[other]\nregion = x\n", "has no single [dev] section in the credentials file"),
    ("[dev]\naws_access_key_id = A\n", "its section does not hold aws_access_key_id and "
     "aws_secret_access_key once each"),
    ("[dev]\naws_access_key_id = A\naws_secret_access_key = s\n[dev]\nregion = x\n",
     "has no single [dev] section in the credentials file"),
])
def test_refusals(text: str, cause: str) -> None:
    with pytest.raises(ConfigError) as caught:
        without_keys(Text(text), "dev")
    assert caught.value.cause == cause
