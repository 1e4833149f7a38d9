"""Properties of the managed-section writer over generated credentials files.

The generator builds a file from parts it knows: other tools' sections (odd spacing,
nested values, comments, blank lines), CRLF and LF mixed per file, perhaps a byte order
mark, perhaps no final newline, and perhaps rolebar's section somewhere in it. It also
returns the file with rolebar's block (marker, header, key lines) cut out, which is what
must survive every write and removal.
"""

from __future__ import annotations

import configparser
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.configloader import raw_config_parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rolebar.core import credtext
from rolebar.core.credfile import (
    MARKER,
    MARKER_LINE,
    SectionWriter,
    UnmanagedSectionError,
    replace_section,
    text_section,
    text_status,
)
from rolebar.core.errors import SectionError

NAME = "tray-managed"
KEY_LINE = re.compile(r"[a-z_]+[ \t]*[=:]")

FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# The 10,000-example run of the section writer is tests/fuzz (issue 6); these long runs
# widen the property checks at a price CI can pay on two cores.
LONG = settings(
    max_examples=1_500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- the generator --------------------------------------------------------------------------

words = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)
# Anything that stays on one line for a text-mode reader (no \r, \n) and that str.strip
# does not treat as an edge (no control or line/paragraph separators).
free = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\ufeff"),
    max_size=16,
)
comments = st.builds(
    lambda lead, text: lead + text, st.sampled_from(["#", ";", "# ", "  #", "\t; "]), free
).filter(lambda line: MARKER not in line)
blanks = st.sampled_from(["", " ", "\t", "   "])
gaps = st.lists(st.one_of(comments, blanks), max_size=3)
seps = st.sampled_from(["=", " = ", "  =  ", "\t=\t", " =", "= ", ":", " : "])
trailing = st.sampled_from(["", " ", "  "])


@st.composite
def other_section(draw: st.DrawFn, name: str) -> list[str]:
    lines = [f"[{name}]{draw(trailing)}"]
    for key in draw(st.lists(words.map(lambda w: "k" + w), unique=True, max_size=4)):
        lines += draw(gaps)
        nested = draw(st.lists(st.tuples(words, words), max_size=2))
        value = "" if nested else draw(free)
        lines.append(f"{key}{draw(seps)}{value}")
        lines += [f"    {sub} = {val}" for sub, val in nested]
    return lines + draw(gaps)


@st.composite
def rolebar_block(draw: st.DrawFn, marked: bool = True) -> list[str]:
    header = f"[{NAME}]{draw(trailing)}"
    keys = draw(st.lists(st.sampled_from(["aws_access_key_id", "region", "output"]), unique=True))
    lines = [f"{key}{draw(seps)}{draw(words)}" for key in keys]
    marker = draw(st.sampled_from([MARKER_LINE, f"{MARKER} v0", f"  {MARKER}"]))
    if not marked:
        return [header, *lines]
    if draw(st.booleans()) and lines:  # below needs a key after it, or it is the next one's
        return [header, marker, *lines]
    return [marker, header, *lines]


@dataclass(frozen=True)
class Case:
    text: str
    cut: str  # the text without rolebar's block

    @property
    def eol(self) -> str:
        """The line ending of a section appended when rolebar's block is not there."""
        found = re.search(r"\r\n|\n", self.cut)
        return found[0] if found else "\n"


@st.composite
def files(draw: st.DrawFn, ours: str = "maybe", bom: bool = True) -> Case:
    """``ours``: "maybe", "marked" or "unmarked" (a section rolebar must not touch)."""
    prefixed = st.tuples(st.sampled_from(["", "profile "]), words).map("".join)
    names = draw(st.lists(prefixed, unique=True, max_size=4))
    parts: list[tuple[list[str], bool]] = [(draw(gaps), False)]
    parts += [(draw(other_section(name)), False) for name in names]
    if ours != "maybe" or draw(st.booleans()):
        where = draw(st.integers(1, len(parts)))
        block = draw(rolebar_block(marked=ours != "unmarked"))
        parts.insert(where, (block, True))
        # Lines after rolebar's keys and before the next header are comments or blanks.
        parts.insert(where + 1, (draw(gaps), False))
    mixed = draw(st.booleans())
    first = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [(line, mine) for chunk, mine in parts for line in chunk]
    endings = [draw(st.sampled_from(["\n", "\r\n"])) if mixed else first for _ in lines]
    if lines and draw(st.booleans()):
        endings[-1] = ""  # no final newline
    prefix = "\ufeff" if bom and draw(st.booleans()) else ""
    text = prefix + "".join(line + end for (line, _), end in zip(lines, endings, strict=True))
    cut = prefix + "".join(
        line + end for (line, mine), end in zip(lines, endings, strict=True) if not mine
    )
    return Case(text, cut)


values = st.dictionaries(
    st.sampled_from(["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region"]),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=", min_size=1),
    min_size=1,
) | st.builds(
    lambda path: {"credential_process": f"{path} process --section {NAME}"},
    st.sampled_from(["/usr/bin/rolebar", "/opt/my apps/rolebar"]),
)
ops = st.lists(st.none() | values, min_size=1, max_size=4)  # None: remove


def cut_out(text: str) -> str:
    """The text without rolebar's block, found independently of the code under test."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = text[len(bom) :].splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if line.strip() == f"[{NAME}]"]
    if not headers:
        return text
    (h,) = headers
    start = h - 1 if h and lines[h - 1].strip().startswith(MARKER) else h
    end = h + 1
    if end < len(lines) and lines[end].strip().startswith(MARKER):
        end += 1
    while end < len(lines) and KEY_LINE.match(lines[end]):
        end += 1
    return bom + "".join(lines[:start] + lines[end:])


# -- the properties -------------------------------------------------------------------------


def check_bytes_outside_survive(case: Case, sequence: list[dict[str, str] | None]) -> None:
    text = case.text
    assert cut_out(text) == case.cut  # the oracle agrees with the generator
    for wanted in sequence:
        text = replace_section(text, NAME, wanted)
        rest = cut_out(text)
        assert rest.startswith(case.cut)
        # Only a section appended at the end adds anything outside itself: the newline a
        # file without one needs, and one blank line before rolebar's block.
        assert rest[len(case.cut) :] in ("", case.eol, case.eol * 2)
        assert text_status(text, NAME) == ("missing" if wanted is None else "managed")
        assert text_section(text, NAME) == wanted


@FAST
@given(case=files(), sequence=ops)
def test_bytes_outside_the_section_survive_writes_and_removals(
    case: Case, sequence: list[dict[str, str] | None]
) -> None:
    check_bytes_outside_survive(case, sequence)


@pytest.mark.slow
@LONG
@given(case=files(), sequence=ops)
def test_bytes_outside_the_section_survive_long(
    case: Case, sequence: list[dict[str, str] | None]
) -> None:
    check_bytes_outside_survive(case, sequence)


def check_file_round_trip(path: Path, case: Case, sequence: list[dict[str, str] | None]) -> None:
    path.write_bytes(case.text.encode())
    before = raw_config_parse(str(path))
    writer = SectionWriter(path, sleep=lambda _: None)
    for wanted in sequence:
        if wanted is None:
            writer.remove(NAME)
        else:
            writer.write(NAME, wanted)
        after = raw_config_parse(str(path))
        assert after.pop(NAME, None) == wanted
        assert after == {name: v for name, v in before.items() if name != NAME}
        assert cut_out(path.read_bytes().decode()).startswith(case.cut)


@FAST
@given(case=files(bom=False), sequence=ops)
def test_botocore_reads_back_the_values_and_the_rest_unchanged(
    home: Path, case: Case, sequence: list[dict[str, str] | None]
) -> None:
    check_file_round_trip(home / ".aws" / "credentials", case, sequence)


@pytest.mark.slow
@LONG
@given(case=files(bom=False), sequence=ops)
def test_botocore_reads_back_long(
    home: Path, case: Case, sequence: list[dict[str, str] | None]
) -> None:
    check_file_round_trip(home / ".aws" / "credentials", case, sequence)


def check_unmarked_refused(path: Path, case: Case, wanted: dict[str, str] | None) -> None:
    data = case.text.encode()
    path.write_bytes(data)
    assert text_status(case.text, NAME) == "unmanaged"
    with pytest.raises(UnmanagedSectionError):
        replace_section(case.text, NAME, wanted)
    writer = SectionWriter(path, sleep=lambda _: None)
    with pytest.raises(UnmanagedSectionError):
        if wanted is None:
            writer.remove(NAME)
        else:
            writer.write(NAME, wanted)
    assert path.read_bytes() == data


@FAST
@given(case=files(ours="unmarked"), wanted=st.none() | values)
def test_an_unmarked_section_is_refused_and_the_file_left_alone(
    home: Path, case: Case, wanted: dict[str, str] | None
) -> None:
    check_unmarked_refused(home / ".aws" / "credentials", case, wanted)


@pytest.mark.slow
@LONG
@given(case=files(ours="unmarked"), wanted=st.none() | values)
def test_an_unmarked_section_is_refused_long(
    home: Path, case: Case, wanted: dict[str, str] | None
) -> None:
    check_unmarked_refused(home / ".aws" / "credentials", case, wanted)


# -- line soup: rolebar reads files the way configparser does ---------------------------------

soup_lines = st.sampled_from(
    [
        "[a]", "[b]", f"[{NAME}]", f"  [{NAME}]", "  [a]", f"[{NAME}] ; note", "[]",
        "k = v", "  k2 = v2", "x=1", "    y = 2", "\tk3 = z", "k:", "= v", "junk", "  junk",
        "", "  ", "# c", "  ; c", MARKER_LINE, f"  {MARKER}",
    ]
)  # fmt: skip
soups = st.lists(st.tuples(soup_lines, st.sampled_from(["\n", "\r\n", "\r", ""]))).map(
    lambda parts: "".join(line + end for line, end in parts)
)


def configparser_view(text: str) -> dict[str, dict[str, str]] | None:
    """What configparser reads, with the universal newlines a file read gets."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_file(io.StringIO(text, newline=None))
    except configparser.Error:
        return None
    return {section: dict(parser.items(section)) for section in parser.sections()}


def check_soup(text: str, wanted: dict[str, str] | None) -> None:
    before = configparser_view(text)
    if before is None:
        return  # botocore rejects the file; nothing to compare with
    for section, values in before.items():
        assert text_section(text, section) == values
    try:
        new = replace_section(text, NAME, wanted)
    except SectionError:
        return  # refused (unmarked, or indentation it cannot keep); nothing written
    after = configparser_view(new)
    assert after is not None
    assert after.pop(NAME, None) == wanted
    before.pop(NAME, None)
    assert after == before


@FAST
@given(text=soups, wanted=st.none() | values)
def test_odd_files_read_as_configparser_reads_them(
    text: str, wanted: dict[str, str] | None
) -> None:
    check_soup(text, wanted)


@pytest.mark.slow
@LONG
@given(text=soups, wanted=st.none() | values)
def test_odd_files_read_as_configparser_reads_them_long(
    text: str, wanted: dict[str, str] | None
) -> None:
    check_soup(text, wanted)


# -- the check after a rewrite reads the lines around the change only -------------------------

body_lines = st.sampled_from(["k = v", "  x = 1", "    y = 2", "\tk3 = z", "", "# c", "junk",
                              "  [b]", "[b]", "  k2 = v2", MARKER_LINE])
marked = st.tuples(st.booleans(), st.lists(body_lines, max_size=4)).map(
    lambda t: [MARKER_LINE, f"[{NAME}]", *t[1]] if t[0] else [f"[{NAME}]", MARKER_LINE, *t[1]]
)
@st.composite
def soup_with_ours(draw: st.DrawFn) -> str:
    """Line soup around one or two sections marked as rolebar's, whose bodies hold indented
    keys and headers: the material of the cases where a rewrite changes how lines read."""
    endings = st.sampled_from(["\n", "\n", "\r\n", "\r", ""])
    lines = draw(st.lists(soup_lines, max_size=12)) + ["[a]", "k = v"] * draw(st.booleans())
    for _ in range(draw(st.integers(1, 2))):
        lines += draw(marked) + draw(st.lists(soup_lines, max_size=6))
    return "".join(line + draw(endings) for line in lines)


def whole_file_verdict(text: str, new: str, wanted: dict[str, str] | None) -> bool:
    """What the windowed check stands for: the whole result read again and compared."""

    def lines(text: str) -> list[Any]:
        return list(credtext._iscan(credtext._pairs(text.removeprefix("\ufeff"))))

    old_lines, new_lines = lines(text), lines(new)
    ours = [values for section, values in credtext._parse(new_lines) if section == NAME]
    marks = [span.managed for section, span in credtext._all_spans(new_lines) if section == NAME]
    expected = [] if wanted is None else [dict(wanted)]
    return (
        credtext._others(old_lines, NAME) == credtext._others(new_lines, NAME)
        and ours == expected
        and marks == [True] * len(expected)
    )


def check_window(text: str, wanted: dict[str, str] | None) -> None:
    try:
        replace_section(text, NAME, wanted)
        accepted = True
    except UnmanagedSectionError:
        return
    except SectionError:
        accepted = False
    with mock.patch.object(credtext, "_verify", lambda *args: None):
        new = replace_section(text, NAME, wanted)
    assert accepted == whole_file_verdict(text, new, wanted)


@FAST
@given(text=soup_with_ours() | soups, wanted=st.none() | values)
def test_the_windowed_check_agrees_with_reading_the_whole_result(
    text: str, wanted: dict[str, str] | None
) -> None:
    check_window(text, wanted)


@pytest.mark.slow
@LONG
@given(text=soup_with_ours() | soups, wanted=st.none() | values)
def test_the_windowed_check_agrees_long(text: str, wanted: dict[str, str] | None) -> None:
    check_window(text, wanted)
