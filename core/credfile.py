"""The managed sections of the shared credentials file (DESIGN.md section 4).

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

``replace_section`` is the pure text function; ``SectionWriter`` adds the I/O: a lock
among rolebar's writers, retries around other programs that rewrite the file in place
without a lock (the AWS CLI truncates it, then writes), and an atomic replace.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

from rolebar.core import paths
from rolebar.core.errors import SectionError

log = logging.getLogger(__name__)

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


def _split(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split off a byte order mark, then split into (body, ending) pairs."""
    bom = _BOM if text.startswith(_BOM) else ""
    rest = text[len(bom) :]
    pairs = [(m[1], m[2]) for m in _LINE.finditer(rest) if m[0]]
    return bom, pairs


def _scan(pairs: Sequence[tuple[str, str]]) -> list[_Line]:
    """Classify each line as RawConfigParser._read would (empty_lines_in_values=True)."""
    lines: list[_Line] = []
    in_section = False
    in_option = False
    indent_level = 0
    for body, ending in pairs:
        stripped = body.strip()
        if stripped.startswith(("#", ";")):
            lines.append(_Line(body, ending, _Kind.COMMENT))
            continue
        if not stripped:
            lines.append(_Line(body, ending, _Kind.BLANK))
            continue
        found = _NONSPACE.search(body)
        indent = found.start() if found else 0
        if in_section and in_option and indent > indent_level:
            lines.append(_Line(body, ending, _Kind.CONTINUATION, value=stripped))
            continue
        indent_level = indent
        header = _HEADER.match(stripped)
        option = _OPTION.match(stripped)
        if header:
            lines.append(_Line(body, ending, _Kind.HEADER, name=header["header"]))
            in_section, in_option = True, False
        elif in_section and option and option["option"]:
            key = option["option"].rstrip().lower()
            lines.append(_Line(body, ending, _Kind.OPTION, name=key, value=option["value"].strip()))
            in_option = True
        else:
            lines.append(_Line(body, ending, _Kind.JUNK))
            # configparser forgets the current option only for an empty key ("= x").
            in_option = in_option and not option
    return lines


def _parse(lines: Sequence[_Line]) -> list[tuple[str, dict[str, str]]]:
    """Every section in order (duplicates included) with its values as botocore reads them."""
    sections: list[tuple[str, dict[str, list[str]]]] = []
    current: list[str] | None = None  # the parts of the value being read
    for line in lines:
        if line.kind is _Kind.HEADER:
            sections.append((line.name, {}))
            current = None
        elif line.kind is _Kind.OPTION:
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


def _all_spans(lines: Sequence[_Line]) -> list[tuple[str, _Span]]:
    """Every section of the file, by name, as rolebar would own it."""
    headers = [i for i, line in enumerate(lines) if line.kind is _Kind.HEADER]
    spans = []
    for n, h in enumerate(headers):
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
    return [span for section, span in _all_spans(lines) if section == name]


def _eol(pairs: Sequence[tuple[str, str]]) -> str:
    """The file's line ending: the first one it uses, or "\\n" for a file with none."""
    return next((ending for _, ending in pairs if ending), "\n")


# -- the pure rewrite ----------------------------------------------------------------------


def _check_name(name: str) -> None:
    # DEFAULT is configparser's defaults section: its keys would leak into every profile.
    if not name or name != name.strip() or "\n" in name or "\r" in name or name == "DEFAULT":
        raise SectionError(f"section {name!r}", "is not a name rolebar can write")


def _check_values(name: str, values: Mapping[str, str]) -> None:
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


def _append(lines: Sequence[_Line], name: str, values: Mapping[str, str], eol: str) -> str:
    text = "".join(line.raw for line in lines)
    if lines and not lines[-1].ending:
        text += eol
    if lines and lines[-1].kind is not _Kind.BLANK:
        text += eol  # one blank line between the file's last section and rolebar's
    block = [MARKER_LINE, f"[{name}]"] + [f"{key} = {value}" for key, value in values.items()]
    return text + "".join(line + eol for line in block)


def _verify(old: list[_Line], new_text: str, name: str, values: Mapping[str, str] | None) -> None:
    """Refuse a result that reads differently anywhere but in the section itself.

    This can happen only with indentation tricks (an indented header right after the
    section becomes a continuation of its last value) or stray marker lines (one that
    ends up directly above another header); the file is then left alone.
    """
    new = _scan(_split(new_text)[1])
    ours = [dict(values) for section, values in _parse(new) if section == name]
    marks = [span.managed for section, span in _all_spans(new) if section == name]
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


def replace_section(text: str, name: str, values: Mapping[str, str] | None) -> str:
    """Return ``text`` with the managed section ``[name]`` holding ``values``.

    ``values`` None removes the section (marker, header and key lines). A missing section
    is appended at the end, after one blank line, with the marker above its header.
    Raises ``UnmanagedSectionError`` when ``[name]`` exists without the marker, and
    ``SectionError`` for a name or value that cannot be written as given.
    """
    _check_name(name)
    if values is not None:
        _check_values(name, values)
    bom, pairs = _split(text)
    lines = _scan(pairs)
    spans = _spans(lines, name)
    if any(not span.managed for span in spans):
        raise UnmanagedSectionError(
            f"section {name}",
            f"exists without the '{MARKER}' marker; rolebar leaves it alone",
        )
    eol = _eol(pairs)
    if not spans:
        if values is None:
            return text
        new = bom + _append(lines, name, values, eol)
    else:
        # A duplicated header makes botocore reject the whole file. Every copy carries
        # rolebar's marker here (an unmarked one was refused above), so all of them are
        # rolebar's: the first is rewritten in place, the later ones are dropped.
        out, pos = [bom], 0
        for n, span in enumerate(spans):
            out.extend(line.raw for line in lines[pos : span.start])
            if n == 0 and values is not None:
                out.append(_render(lines, span, values, eol))
            pos = span.end
        out.extend(line.raw for line in lines[pos:])
        new = "".join(out)
    _verify(lines, new, name, values)
    return new


def text_status(text: str, name: str) -> SectionStatus:
    """Whether ``[name]`` is missing, rolebar's, or someone else's (any unmarked copy)."""
    spans = _spans(_scan(_split(text)[1]), name)
    if not spans:
        return "missing"
    return "managed" if all(span.managed for span in spans) else "unmanaged"


def text_section(text: str, name: str) -> dict[str, str] | None:
    """The values of the first ``[name]`` as botocore reads them (keys lower case)."""
    found = [values for section, values in _parse(_scan(_split(text)[1])) if section == name]
    return found[0] if found else None


def _sections(text: str) -> frozenset[str]:
    return frozenset(line.name for line in _scan(_split(text)[1]) if line.kind is _Kind.HEADER)


# -- the file -----------------------------------------------------------------------------

# Pauses between reads of a file that looks half-written (empty, or lost sections):
# about one second in all, long enough for the AWS CLI to finish its in-place write.
_SETTLE_PAUSES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.25)
# How often the file may change under rolebar's feet before it gives up on one write.
_MAX_STARTS = 5
_READ_TRIES = 5

_Stamp = tuple[int, int, int]


def _stamp(st: os.stat_result) -> _Stamp:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class _Snapshot:
    data: bytes
    stamp: _Stamp | None  # None: the file does not exist

    @property
    def text(self) -> str:
        # surrogateescape: bytes that are not UTF-8 come back out exactly as they were.
        return self.data.decode("utf-8", "surrogateescape")


def _read(path: Path) -> _Snapshot:
    """Read the file whole, again if it changed while being read."""
    snap = _Snapshot(b"", None)
    for _ in range(_READ_TRIES):
        try:
            with open(path, "rb") as f:
                before = os.fstat(f.fileno())
                data = f.read()
                after = os.fstat(f.fileno())
        except FileNotFoundError:
            return _Snapshot(b"", None)
        snap = _Snapshot(data, _stamp(after))
        if _stamp(before) == _stamp(after):
            break
    return snap


def _reason(err: OSError) -> str:
    text = err.strerror or str(err) or type(err).__name__
    return text[:1].lower() + text[1:]


@contextmanager
def _os_errors(subject: str, what: str) -> Iterator[None]:
    """Turn an OSError into a one-line SectionError (the cause stays on __cause__)."""
    try:
        yield
    except OSError as err:
        raise SectionError(subject, f"cannot {what}: {_reason(err)}") from err


def _make_folder(folder: Path) -> None:
    """Create missing folders up to ``folder``, each 0700 (a new ~/.aws holds secrets)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        with suppress(FileExistsError):
            new.mkdir(mode=0o700)
            if os.name == "posix":
                os.chmod(new, 0o700)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; best effort (not possible everywhere)."""
    if os.name != "posix":
        return
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class SectionWriter:
    """Writes, removes and reads rolebar's sections of one credentials file.

    Every error is a ``SectionError`` (``UnmanagedSectionError`` for a section without
    the marker) with a one-line cause naming the section and the file; when one is raised
    nothing was written.
    """

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self._lock_timeout = lock_timeout
        self._sleep = sleep
        # Section names of the file as this writer last left it: a later read that lacks
        # some of them is another program's half-done write, not something to write back.
        self._seen: frozenset[str] = frozenset()

    def write(self, name: str, values: Mapping[str, str]) -> bool:
        """Make ``[name]`` hold exactly ``values``, in order. True if the file changed."""
        _check_name(name)
        _check_values(name, values)
        return self._update(name, values)

    def remove(self, name: str) -> bool:
        """Remove the managed section ``[name]``. True if the file changed."""
        _check_name(name)
        return self._update(name, None)

    def status(self, name: str) -> SectionStatus:
        return section_status(self.path, name)

    def read(self, name: str) -> dict[str, str] | None:
        return read_section(self.path, name)

    # -- internals --

    def _target(self, subject: str) -> Path:
        """The file to replace: the credentials file, or where its symlink points."""
        path = Path(os.path.abspath(self.path))
        target = Path(os.path.realpath(path))
        # A dangling link may point at an unmounted volume or a synced dotfiles folder:
        # rolebar does not create secrets there on a guess; the user fixes the link.
        if path.is_symlink() and not target.exists():
            raise SectionError(
                subject, f"{self.path} is a symlink to {target}, which does not exist"
            )
        if target.is_dir():
            raise SectionError(subject, f"{self.path} is a directory, not a file")
        return target

    def _update(self, name: str, values: Mapping[str, str] | None) -> bool:
        subject = f"section {name}"
        with _os_errors(subject, f"update {self.path}"):
            target = self._target(subject)
            _make_folder(target.parent)
            with self._locked(subject, target):
                self._drop_stale_temps(target)
                for _ in range(_MAX_STARTS):
                    snap = self._settled_read(name, target)
                    try:
                        new = replace_section(snap.text, name, values)
                    except UnmanagedSectionError:
                        raise UnmanagedSectionError(
                            subject,
                            f"[{name}] in {self.path} has no '{MARKER}' marker; "
                            "rolebar leaves it alone",
                        ) from None
                    if new == snap.text:
                        self._seen = _sections(new)
                        if values is not None:
                            _tighten(target, snap)
                        return False
                    if self._replace(target, new, snap):
                        self._seen = _sections(new)
                        log.debug("section %s: written to %s", name, target)
                        return True
                    log.debug("section %s: %s changed while writing; starting over", name, target)
        raise SectionError(
            subject, f"{self.path} kept changing while rolebar wrote it; not written this time"
        )

    @contextmanager
    def _locked(self, subject: str, target: Path) -> Iterator[None]:
        """Hold the lock that rolebar's writers of ``target`` share.

        It lives in rolebar's state folder, named by a hash of the target path, so
        ~/.aws gets no extra files and the name tells nothing about the path.
        """
        import filelock

        folder = paths.private_dir(paths.state_dir() / "locks")
        digest = hashlib.sha256(os.fsencode(target)).hexdigest()[:32]
        lock = filelock.FileLock(str(folder / f"credfile-{digest}.lock"))
        try:
            lock.acquire(timeout=self._lock_timeout)
        except filelock.Timeout:
            raise SectionError(
                subject,
                f"another rolebar process kept {self.path} locked for {self._lock_timeout:g} s",
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _settled_read(self, name: str, target: Path) -> _Snapshot:
        """Read the file, waiting out another program's truncate-then-write.

        A read that is empty, or that lacks sections this writer saw before, is retried
        after a pause. If it stays so, nothing is written. Only a file that did not change
        at all during the pauses is then taken as meant (someone really emptied it or
        removed those sections): an empty one is written to at once, and after lost
        sections the next write goes ahead. A file that kept changing is someone's
        write in progress (the AWS CLI empties the file, then writes it), never that.
        """
        expected = self._seen - {name}
        stamps = set()
        for pause in (0.0, *_SETTLE_PAUSES):
            if pause:
                self._sleep(pause)
            snap = _read(target)
            stamps.add(snap.stamp)
            lost = expected - _sections(snap.text)
            half_written = snap.stamp is not None and not snap.data
            if not lost and not half_written:
                return snap
        settled = len(stamps) == 1
        if lost:
            if settled:
                self._seen = _sections(snap.text)
            listed = ", ".join(f"[{section}]" for section in sorted(lost))
            raise SectionError(
                f"section {name}",
                f"{self.path} lost {listed} since rolebar last saw it (another program "
                "writing it?); not written",
            )
        if not settled:
            raise SectionError(
                f"section {name}", f"{self.path} kept being emptied and rewritten; not written"
            )
        return snap

    def _replace(self, target: Path, text: str, snap: _Snapshot) -> bool:
        """Atomically replace ``target`` with ``text``; False if it changed since ``snap``."""
        fd, temp = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
        try:
            try:
                _write_all(fd, text.encode("utf-8", "surrogateescape"))
                if os.name == "posix":
                    os.fchmod(fd, 0o600)  # mkstemp makes 0600 already; say it anyway
                os.fsync(fd)
            finally:
                os.close(fd)
            # Checked as late as possible: another program may have rewritten the file
            # in place since it was read, and replacing it now would undo that.
            if not _unchanged(target, snap):
                os.unlink(temp)
                return False
            os.replace(temp, target)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_folder(target.parent)
        return True

    @staticmethod
    def _drop_stale_temps(target: Path) -> None:
        """Remove temporary files that a crashed rolebar writer left (they hold secrets).

        Only rolebar's writers make files with this prefix, and they all hold the lock.
        """
        for stale in target.parent.glob(_temp_prefix(target) + "*.tmp"):
            with suppress(OSError):
                stale.unlink()


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.rolebar-"


def _unchanged(target: Path, snap: _Snapshot) -> bool:
    """True if ``target`` is as it was read: same inode, size, mtime and bytes.

    The bytes are compared too because some file systems keep mtime coarsely.
    """
    try:
        stamp = _stamp(os.stat(target))
    except FileNotFoundError:
        return snap.stamp is None
    if stamp != snap.stamp:
        return False
    try:
        return _read(target).data == snap.data
    except OSError:
        return False


def _tighten(target: Path, snap: _Snapshot) -> None:
    """Make an unchanged file that holds rolebar's section 0600 if it is not."""
    if os.name != "posix" or snap.stamp is None:
        return
    st = os.stat(target)
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(target, 0o600)


def _read_for(path: Path, name: str) -> str:
    subject = f"section {name}"
    _check_name(name)
    if path.is_dir():
        raise SectionError(subject, f"{path} is a directory, not a file")
    with _os_errors(subject, f"read {path}"):
        return _read(path).text


def read_section(path: Path, name: str) -> dict[str, str] | None:
    """The values of ``[name]`` in the file at ``path`` (managed or not), None if missing.

    Keys are lower case, as botocore reads them. A missing file (or a dangling symlink)
    has no sections.
    """
    return text_section(_read_for(path, name), name)


def section_status(path: Path, name: str) -> SectionStatus:
    """Whether ``[name]`` is missing from the file at ``path``, rolebar's, or not."""
    return text_status(_read_for(path, name), name)
