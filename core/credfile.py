"""The managed sections of the shared credentials file: the file (DESIGN.md section 4).

Which lines are a section's, and the rewrite itself, are ``rolebar.core.credtext``.
``SectionWriter`` adds the I/O: a lock among rolebar's writers, retries around other
programs that rewrite the file in place without a lock (the AWS CLI truncates it, then
writes), and an atomic replace that loses no such write landing in the replaced copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from rolebar.core import locks, paths
from rolebar.core.atomic import Landing, Snapshot, read_whole, replace_unless_changed, temp_prefix
from rolebar.core.credtext import (
    MARKER,
    MARKER_LINE,
    SectionStatus,
    Text,
    UnmanagedSectionError,
    check_name,
    check_values,
    replace_section,
    rewrite,
    section,
    status,
    text_section,
    text_status,
)
from rolebar.core.errors import SectionError

__all__ = [
    "MARKER", "MARKER_LINE", "SectionStatus", "SectionWriter", "UnmanagedSectionError",
    "read_section", "replace_section", "section_status", "text_section", "text_status",
]

log = logging.getLogger(__name__)

# Pauses between reads of a file that looks half-written (empty, or lost sections):
# about one second in all, long enough for the AWS CLI to finish its in-place write.
_SETTLE_PAUSES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.25)
# How often the file may change under rolebar's feet before it gives up on one write.
_MAX_STARTS = 5


def _doc(snap: Snapshot) -> Text:
    # surrogateescape: bytes that are not UTF-8 come back out exactly as they were.
    return Text(snap.data.decode("utf-8", "surrogateescape"))


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
        check_name(name)
        check_values(name, values)
        return self._update(name, values)

    def remove(self, name: str) -> bool:
        """Remove the managed section ``[name]``. True if the file changed."""
        check_name(name)
        return self._update(name, None)

    def edit(self, name: str, change: Callable[[Text], str]) -> bool:
        """Replace the file with ``change(text)``, with the lock, retries and atomic
        replace of ``write``: for a change to a section that is not rolebar's (the keys of
        a source profile, keytext.py); ``change`` raises to leave the file alone."""
        check_name(name)
        return self._update(name, None, change)

    def status(self, name: str) -> SectionStatus:
        return section_status(self.path, name)

    def read(self, name: str) -> dict[str, str] | None:
        return read_section(self.path, name)

    def check(self, name: str) -> None:
        """Raise the SectionError a write of ``[name]`` would meet in the file's place."""
        subject = f"section {name}"
        with _os_errors(subject, f"update {self.path}"):
            self._target(subject)

    # -- internals --

    def _target(self, subject: str) -> Path:
        """The file to replace: the credentials file, or where its symlink points."""
        path = Path(os.path.abspath(self.path))
        target = Path(os.path.realpath(path))
        try:
            os.stat(path)
        except FileNotFoundError:
            # A dangling link may point at an unmounted volume or a synced dotfiles
            # folder: rolebar does not create secrets there on a guess; the user fixes it.
            if path.is_symlink():
                raise SectionError(
                    subject, f"{self.path} is a symlink to {target}, which does not exist"
                ) from None
        except OSError as err:  # a symlink loop, a file where a folder should be
            raise SectionError(subject, f"cannot use {self.path}: {_reason(err)}") from None
        if target.is_dir():
            raise SectionError(subject, f"{self.path} is a directory, not a file")
        return target

    def _update(self, name: str, values: Mapping[str, str] | None,
                change: Callable[[Text], str] | None = None) -> bool:
        subject = f"section {name}"
        with _os_errors(subject, f"update {self.path}"):
            target = self._target(subject)
            _make_folder(target.parent)
            with self._locked(subject, target):
                self._drop_stale_temps(target)
                pending: Snapshot | None = None
                for _ in range(_MAX_STARTS):
                    snap, doc = (pending, _doc(pending)) if pending else self._settled_read(
                        name, target)
                    new = change(doc) if change else self._rewrite(subject, doc, name, values)
                    after = doc.sections if change else (
                        (doc.sections - {name}) | frozenset([name] if values else []))
                    if new == doc.text and snap.expect is None:
                        self._seen = after
                        if values is not None:
                            _tighten(target, snap)
                        return False
                    done = self._replace(target, new, snap, doc)
                    if done is True:
                        self._seen = after
                        log.debug("section %s: written to %s", name, target)
                        return True
                    pending = done if isinstance(done, Snapshot) else None
                    log.debug("section %s: %s changed while writing; starting over", name, target)
        raise SectionError(
            subject, f"{self.path} kept changing while rolebar wrote it; not written this time"
        )

    def _rewrite(self, subject: str, doc: Text, name: str,
                 values: Mapping[str, str] | None) -> str:
        try:
            return rewrite(doc, name, values)
        except UnmanagedSectionError:
            raise UnmanagedSectionError(
                subject,
                f"[{name}] in {self.path} has no '{MARKER}' marker; rolebar leaves it alone",
            ) from None

    @contextmanager
    def _locked(self, subject: str, target: Path) -> Iterator[None]:
        """Hold the lock that rolebar's writers of ``target`` share.

        It lives in rolebar's state folder, named by a hash of the target path, so
        ~/.aws gets no extra files and the name tells nothing about the path.
        """
        folder = paths.private_dir(paths.state_dir() / "locks")
        digest = hashlib.sha256(os.fsencode(target)).hexdigest()[:32]
        busy = SectionError(
            subject, f"another rolebar process kept {self.path} locked for {self._lock_timeout:g} s"
        )
        with locks.held(folder / f"credfile-{digest}.lock", self._lock_timeout, lambda: busy):
            yield

    def _settled_read(self, name: str, target: Path) -> tuple[Snapshot, Text]:
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
            snap = read_whole(target)
            doc = _doc(snap)
            stamps.add(snap.stamp)
            lost = expected - doc.sections
            half_written = snap.stamp is not None and not snap.data
            if not lost and not half_written:
                return snap, doc
        settled = len(stamps) == 1
        if lost:
            if settled:
                self._seen = doc.sections
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
        return snap, doc

    def _replace(self, target: Path, text: str, snap: Snapshot, doc: Text) -> bool | Snapshot:
        """Replace ``target`` unless it changed since ``snap``: see replace_unless_changed.

        A write of another program that lands in the copy being replaced counts as done
        once every section that copy had is back.
        """
        def complete(data: bytes) -> bool:
            return bool(data) and doc.sections <= _doc(Snapshot(data, None)).sections

        landing = Landing(complete, self._sleep, _SETTLE_PAUSES)
        return replace_unless_changed(target, text.encode("utf-8", "surrogateescape"), snap,
                                      landing)

    @staticmethod
    def _drop_stale_temps(target: Path) -> None:
        """Remove temporary files that a crashed rolebar writer left (they hold secrets).

        Only rolebar's writers make files with this prefix, and they all hold the lock.
        """
        for stale in target.parent.glob(temp_prefix(target) + "*.tmp"):
            with suppress(OSError):
                stale.unlink()


def _tighten(target: Path, snap: Snapshot) -> None:
    """Make an unchanged file that holds rolebar's section 0600 if it is not."""
    if os.name != "posix" or snap.stamp is None:
        return
    st = os.stat(target)
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(target, 0o600)


def _read_for(path: Path, name: str) -> Text:
    subject = f"section {name}"
    check_name(name)
    if path.is_dir():
        raise SectionError(subject, f"{path} is a directory, not a file")
    with _os_errors(subject, f"read {path}"):
        return _doc(read_whole(path))


def read_section(path: Path, name: str) -> dict[str, str] | None:
    """The values of ``[name]`` in the file at ``path`` (managed or not), None if missing.

    Keys are lower case, as botocore reads them. A missing file (or a dangling symlink)
    has no sections.
    """
    return section(_read_for(path, name), name)


def section_status(path: Path, name: str) -> SectionStatus:
    """Whether ``[name]`` is missing from the file at ``path``, rolebar's, or not."""
    return status(_read_for(path, name), name)
