"""The managed sections of a credentials file, as text (DESIGN.md section 4).

A section is rolebar's when a comment line beginning ``# managed by rolebar`` stands
directly above or directly below its ``[NAME]`` header. rolebar rewrites only such a
section and leaves every other byte of the file as it was: comments, order, blank lines,
odd spacing, line endings, a byte order mark, a missing final newline.

Where a section ends. The file is read the way botocore reads it (``configparser``'s
``RawConfigParser``: ``#``/``;`` comments, values continued on deeper-indented lines, blank
lines inside values, universal newlines), and every line is classified accordingly. The
lines rolebar owns are:

- the marker line directly above the header, if there is one;
- the header, and the marker line directly below it, if there is one (a marker that is
  directly below one header and directly above the next belongs to the next one, because
  that is where rolebar writes it);
- the body up to and including its last key line (or a continuation of one, or a line
  no parser can read). Comments and blank lines after the last key line are not the
  section's: they usually introduce whatever follows, so they stay as they were.

On a rewrite the marker and header lines stay byte-identical; the body up to the last key
line is replaced by one ``key = value`` line per value. Comments between rolebar's own key
lines are dropped with them: the section says "do not edit".

A rewrite reads the whole text once; the result is checked by reading again only the
part around the change (from the header before it to the first header after it that
reads the same), so a write costs one pass over the file whatever its size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from itertools import chain
from typing import Literal

from rolebar.core.errors import SectionError

MARKER = "# managed by rolebar"
MARKER_LINE = f"{MARKER} (do not edit; rewritten before expiry)"

SectionStatus = Literal["missing", "managed", "unmanaged"]


class UnmanagedSectionError(SectionError):
    """The section exists without rolebar's marker, so rolebar leaves it alone."""


# -- reading the text the way botocore does ----------------------------------------------

# configparser's own patterns (RawConfigParser.SECTCRE, OPTCRE and NONSPACECRE): a header
# is whatever sits between the first "[" and the last "]" of the stripped line.
_HEADER = re.compile(r"\[(?P<header>.+)\]")
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$")
_NONSPACE = re.compile(r"\S")
# Text-mode reading (which configparser uses) ends lines at \r\n, \r and \n alike.
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_BOM = "\ufeff"
# Keys rolebar writes: lower case, because botocore lower-cases keys when it reads them.
_KEY = re.compile(r"[a-z0-9_][a-z0-9_.\-]*")

_Pair = tuple[str, str]  # a line without its ending, and the ending


class _Kind(Enum):
    BLANK = "blank"
    COMMENT = "comment"
    HEADER = "header"
    OPTION = "option"
    CONTINUATION = "continuation"
    JUNK = "junk"  # a line configparser cannot read (botocore then rejects the file)


@dataclass(frozen=True)
class _Line:
    body: str  # the line without its ending
    ending: str  # "\r\n", "\r", "\n", or "" for a last line without one
    kind: _Kind
    name: str = ""  # HEADER: the section name; OPTION: the key as botocore reads it
    value: str = ""  # OPTION, CONTINUATION: the stripped value text

    @property
    def raw(self) -> str:
        return self.body + self.ending

    @property
    def content(self) -> bool:
        """True for the lines that make up a section's body (not comments or blanks)."""
        return self.kind in (_Kind.OPTION, _Kind.CONTINUATION, _Kind.JUNK)

    @property
    def marker(self) -> bool:
        return self.kind is _Kind.COMMENT and self.body.strip().startswith(MARKER)


def _pairs(text: str) -> list[_Pair]:
    return [(m[1], m[2]) for m in _LINE.finditer(text) if m[0]]


def _iscan(pairs: Iterable[_Pair]) -> Iterator[_Line]:
    """Classify each line as RawConfigParser._read would (empty_lines_in_values=True).

    Started at a header, it reads the rest as a scan of the whole text would: after a
    header the reader's state is the same whatever came before.
    """
    in_section = False
    in_option = False
    indent_level = 0
    for body, ending in pairs:
        stripped = body.strip()
        if stripped.startswith(("#", ";")):
            yield _Line(body, ending, _Kind.COMMENT)
            continue
        if not stripped:
            yield _Line(body, ending, _Kind.BLANK)
            continue
        found = _NONSPACE.search(body)
        indent = found.start() if found else 0
        if in_section and in_option and indent > indent_level:
            yield _Line(body, ending, _Kind.CONTINUATION, value=stripped)
            continue
        indent_level = indent
        header = _HEADER.match(stripped)
        option = _OPTION.match(stripped)
        if header:
            yield _Line(body, ending, _Kind.HEADER, name=header["header"])
            in_section, in_option = True, False
        elif in_section and option and option["option"]:
            key = option["option"].rstrip().lower()
            yield _Line(body, ending, _Kind.OPTION, name=key, value=option["value"].strip())
            in_option = True
        else:
            yield _Line(body, ending, _Kind.JUNK)
            # configparser forgets the current option only for an empty key ("= x").
            in_option = in_option and not option


class Text:
    """A credentials file's text, read once: its lines, classified."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.bom = _BOM if text.startswith(_BOM) else ""
        self.pairs = _pairs(text[len(self.bom) :])

    @cached_property
    def lines(self) -> list[_Line]:
        return list(_iscan(self.pairs))

    @cached_property
    def sections(self) -> frozenset[str]:
        return frozenset(line.name for line in self.lines if line.kind is _Kind.HEADER)


def _parse(lines: Sequence[_Line]) -> list[tuple[str, dict[str, str]]]:
    """Every section in order (duplicates included) with its values as botocore reads them."""
    sections: list[tuple[str, dict[str, list[str]]]] = []
    current: list[str] | None = None  # the parts of the value being read
    for line in lines:
        if line.kind is _Kind.HEADER:
            sections.append((line.name, {}))
            current = None
        elif line.kind is _Kind.OPTION and sections:  # a window may start mid-section
            current = sections[-1][1][line.name] = [line.value]
        elif line.kind is _Kind.CONTINUATION and current is not None:
            current.append(line.value)
        elif line.kind is _Kind.BLANK and current is not None:
            current.append("")  # configparser keeps blank lines inside a value
    return [
        (name, {key: "\n".join(parts).rstrip() for key, parts in options.items()})
        for name, options in sections
    ]


# -- where a section is -------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int  # the marker above the header, or the header
    keep: int  # lines [start, keep) stay as they are: marker above, header, marker below
    end: int  # one past the last line the section owns
    managed: bool


def _all_spans(lines: Sequence[_Line], only: str | None = None) -> list[tuple[str, _Span]]:
    """Every section of the file (or every ``[only]``), by name, as rolebar would own it."""
    headers = [i for i, line in enumerate(lines) if line.kind is _Kind.HEADER]
    spans = []
    for n, h in enumerate(headers):
        if only is not None and lines[h].name != only:
            continue
        nxt = headers[n + 1] if n + 1 < len(headers) else len(lines)
        above = h > 0 and lines[h - 1].marker
        # A marker directly above the next header is that header's, not this one's.
        below = (
            h + 1 < nxt
            and lines[h + 1].marker
            and not (h + 2 < len(lines) and lines[h + 2].kind is _Kind.HEADER)
        )
        keep = h + 1 + below
        content = [i for i in range(keep, nxt) if lines[i].content]
        end = content[-1] + 1 if content else keep
        spans.append((lines[h].name, _Span(h - 1 if above else h, keep, end, above or below)))
    return spans


def _spans(lines: Sequence[_Line], name: str) -> list[_Span]:
    return [span for _, span in _all_spans(lines, name)]


def _eol(pairs: Sequence[_Pair]) -> str:
    """The file's line ending: the first one it uses, or "\\n" for a file with none."""
    return next((ending for _, ending in pairs if ending), "\n")


# -- the pure rewrite ----------------------------------------------------------------------


def check_name(name: str) -> None:
    # DEFAULT is configparser's defaults section: its keys would leak into every profile.
    if not name or name != name.strip() or "\n" in name or "\r" in name or name == "DEFAULT":
        raise SectionError(f"section {name!r}", "is not a name rolebar can write")


def check_values(name: str, values: Mapping[str, str]) -> None:
    # An empty section would leave a marker written below the header directly above
    # the next header, where it would mark that one instead.
    if not values:
        raise SectionError(f"section {name}", "no values to write (remove it instead)")
    for key, value in values.items():
        if not _KEY.fullmatch(key):
            raise SectionError(
                f"section {name}", f"key {key!r} cannot be written (use a-z, 0-9, '_', '.', '-')"
            )
        # Never echo the value: it may be a secret.
        if value != value.strip() or "\n" in value or "\r" in value:
            raise SectionError(
                f"section {name}", f"the value of {key} is not one line without outer spaces"
            )


def _render(lines: Sequence[_Line], span: _Span, values: Mapping[str, str], eol: str) -> str:
    kept = [line.body + (line.ending or eol) for line in lines[span.start : span.keep]]
    out = "".join(kept + [f"{key} = {value}{eol}" for key, value in values.items()])
    if span.end == len(lines) and not lines[-1].ending:
        out = out[: -len(eol)]  # the file had no final newline; it still has none
    return out


def _appended(lines: Sequence[_Line], name: str, values: Mapping[str, str], eol: str) -> str:
    """What goes after the last line for a new section."""
    text = eol if lines and not lines[-1].ending else ""
    if lines and lines[-1].kind is not _Kind.BLANK:
        text += eol  # one blank line between the file's last section and rolebar's
    block = [MARKER_LINE, f"[{name}]"] + [f"{key} = {value}" for key, value in values.items()]
    return text + "".join(line + eol for line in block)


def _joined(pairs: Sequence[_Pair]) -> str:
    return "".join(map("".join, pairs))


def _window(doc: Text, first: int, last: int, middle: str) -> tuple[list[_Line], list[_Line]]:
    """The lines around a change, before and after it, read the way botocore reads them.

    Lines [first, last) were replaced by ``middle``. Both windows begin one line before a
    header that precedes the change by two lines (so the change cannot alter how it
    reads) and end two lines after the first later header that both texts read as one
    (from there on they read alike), or at the end.
    """
    lines, pairs = doc.lines, doc.pairs
    start = next((i for i in range(first - 2, -1, -1) if lines[i].kind is _Kind.HEADER), 0)
    # The first replaced line's neighbours may merge with it ("\r" + "\n"): split again.
    head = _pairs(_joined(pairs[start:first]) + middle + _joined(pairs[last : last + 1]))
    old_at = chain([None] * len(head), range(last + 1, len(lines)))
    new: list[_Line] = []
    stop = len(lines)
    for line, at in zip(_iscan(chain(head, pairs[last + 1 :])), old_at, strict=True):
        new.append(line)
        if at is not None and line.kind is _Kind.HEADER and lines[at].kind is _Kind.HEADER:
            stop = at + 1
            break
    lead = max(start - 1, 0)
    tail = lines[stop : stop + 2]
    return lines[lead : stop + len(tail)], lines[lead:start] + new + tail


def _verify(doc: Text, first: int, last: int, middle: str, name: str,
            values: Mapping[str, str] | None) -> None:
    """Refuse a result that reads differently anywhere but in the section itself.

    This can happen only with indentation tricks (an indented header right after the
    section becomes a continuation of its last value) or stray marker lines (one that
    ends up directly above another header); the file is then left alone.
    """
    old, new = _window(doc, first, last, middle)
    ours = [dict(values) for section, values in _parse(new) if section == name]
    marks = [span.managed for _, span in _all_spans(new, name)]
    expected = [] if values is None else [dict(values)]
    if (
        _others(old, name) != _others(new, name)
        or ours != expected
        or marks != [True] * len(expected)
    ):
        raise SectionError(
            f"section {name}",
            "cannot be rewritten without changing how the lines around it read "
            "(an indented header or a stray marker next to it?); the file is left alone",
        )


def _others(lines: list[_Line], name: str) -> tuple[object, ...]:
    """What a reader sees of every other section: values, and whether rolebar's."""
    values = [section for section in _parse(lines) if section[0] != name]
    marks = [(section, span.managed) for section, span in _all_spans(lines) if section != name]
    return (values, marks)


def rewrite(doc: Text, name: str, values: Mapping[str, str] | None) -> str:
    """``replace_section`` on a text already read."""
    check_name(name)
    if values is not None:
        check_values(name, values)
    lines = doc.lines
    spans = _spans(lines, name)
    if any(not span.managed for span in spans):
        raise UnmanagedSectionError(
            f"section {name}",
            f"exists without the '{MARKER}' marker; rolebar leaves it alone",
        )
    eol = _eol(doc.pairs)
    if not spans:
        if values is None:
            return doc.text
        first = last = len(lines)
        middle = _appended(lines, name, values, eol)
    else:
        # A duplicated header makes botocore reject the whole file. Every copy carries
        # rolebar's marker here (an unmarked one was refused above), so all of them are
        # rolebar's: the first is rewritten in place, the later ones are dropped.
        first, last = spans[0].start, spans[-1].end
        out, pos = [], first
        for n, span in enumerate(spans):
            out.append(_joined(doc.pairs[pos : span.start]))
            if n == 0 and values is not None:
                out.append(_render(lines, span, values, eol))
            pos = span.end
        middle = "".join(out)
    _verify(doc, first, last, middle, name, values)
    pairs = doc.pairs
    return doc.bom + _joined(pairs[:first]) + middle + _joined(pairs[last:])


def replace_section(text: str, name: str, values: Mapping[str, str] | None) -> str:
    """Return ``text`` with the managed section ``[name]`` holding ``values``.

    ``values`` None removes the section (marker, header and key lines). A missing section
    is appended at the end, after one blank line, with the marker above its header.
    Raises ``UnmanagedSectionError`` when ``[name]`` exists without the marker, and
    ``SectionError`` for a name or value that cannot be written as given.
    """
    return rewrite(Text(text), name, values)


def status(doc: Text, name: str) -> SectionStatus:
    spans = _spans(doc.lines, name)
    if not spans:
        return "missing"
    return "managed" if all(span.managed for span in spans) else "unmanaged"


def text_status(text: str, name: str) -> SectionStatus:
    """Whether ``[name]`` is missing, rolebar's, or someone else's (any unmarked copy)."""
    return status(Text(text), name)


def section(doc: Text, name: str) -> dict[str, str] | None:
    found = [values for section, values in _parse(doc.lines) if section == name]
    return found[0] if found else None


def text_section(text: str, name: str) -> dict[str, str] | None:
    """The values of the first ``[name]`` as botocore reads them (keys lower case)."""
    return section(Text(text), name)
