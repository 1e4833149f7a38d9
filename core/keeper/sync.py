"""Section sync: each kept section of the credentials file made to hold what it should.

A section is written where it differs from what it should hold (sections.section_values:
the keys, or the `credential_process` line), and restored when another writer put stale
content back (checked whenever the file's stamp changed). A section without rolebar's
marker, or whose name the AWS files now claim, is refused once and left alone; the
others are still served. During a role switch a keys section holds no keys at all until
the new role's arrive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from rolebar.core.atomic import stamp_of
from rolebar.core.errors import ConfigError, RolebarError, SectionError
from rolebar.core.keeper.publish import Publisher
from rolebar.core.keeper.records import Books, Section
from rolebar.core.sections import (
    SWITCHING_KEY,
    check_section,
    rolebar_command,
    section_values,
    switching_values,
)

if TYPE_CHECKING:
    from rolebar.core.credfile import SectionWriter
    from rolebar.core.engine import Engine

log = logging.getLogger(__name__)


class SectionSync:
    def __init__(self, books: Books, engine: Engine, writer: SectionWriter,
                 publisher: Publisher, clock: Callable[[], float],
                 stopping: threading.Event, command: str | None) -> None:
        self._books = books
        self._engine = engine
        self._writer = writer
        self._publisher = publisher
        self._clock = clock
        self._stopping = stopping
        self._command = command
        self._file_stamp: object = None

    def recheck(self) -> None:
        """Read the sections back on the next write, as if another program changed them."""
        self._file_stamp = None

    def switching(self) -> bool:
        return any(s.switching for s in self._books.sections.values())

    def write(self) -> None:
        """Write (or restore) every section that does not hold what it should."""
        stamp = stamp_of(self._writer.path)
        recheck = stamp != self._file_stamp
        sections = list(self._books.sections.values())
        wrote = False
        for section in sections:
            if self._stopping.is_set():
                return
            wrote = self._write(section, recheck) or wrote
        self._settle_switches(sections)
        if wrote:
            self._restamp()
        # After our own write, check once more on the next wake: another writer may have
        # slipped in between our replace and any stat we could take now.
        self._file_stamp = None if wrote else stamp

    def _write(self, section: Section, recheck: bool) -> bool:
        """Bring one section up to date; True if the file changed."""
        desired = self._desired(section)
        if desired is None or (desired == section.written and not recheck):
            return False
        if section.refused and not recheck:
            return False
        name = section.setting.name
        try:
            if recheck and section.written == desired:
                if self._writer.read(name) == desired and \
                        self._writer.status(name) == "managed":
                    return False
                log.info("section %s: another program changed it; restoring", name)
            if not section.checked:  # a hand-edited settings file may name a profile
                check_section(name, self._engine.env)
                section.checked = True
            changed = self._writer.write(name, desired)
        except (SectionError, ConfigError) as exc:
            self._failed(section, exc)
            return False
        section.written, section.problem = desired, None
        if section.refused:
            section.refused = False
            log.info("section %s: the marker is back; writing it again", name)
        if changed:
            log.info("section %s: written (%s, profile %s)", name, section.setting.style,
                     section.setting.profile)
        return changed

    def _desired(self, section: Section) -> dict[str, str] | None:
        kept = self._books.kept.get(section.setting.profile)
        if kept is None:
            return None
        if section.setting.style == "keys" and (
                kept.creds is None or self._clock() >= kept.creds.expires):
            # Nothing (or nothing valid) to write yet: the profile's own old keys stay
            # until replaced, but another role's never do.
            return switching_values(kept.profile) if section.switching else None
        if not kept.planned:
            return None
        command = self._command or rolebar_command()
        return section_values(section.setting.style, section.setting.name, kept.creds,
                              kept.region, command)

    def _settle_switches(self, sections: list[Section]) -> None:
        """A switch ends once the section holds (or points at) the new role's credentials."""
        now = self._clock()
        for section in sections:
            kept = self._books.kept.get(section.setting.profile)
            if (section.switching and kept is not None and kept.creds is not None
                    and now < kept.creds.expires and section.written
                    and SWITCHING_KEY not in section.written):
                section.switching = False
                log.info("section %s: switched to profile %s", section.setting.name,
                         kept.profile)

    def _failed(self, section: Section, exc: RolebarError) -> None:
        from rolebar.core.credfile import UnmanagedSectionError

        name = section.setting.name
        if isinstance(exc, (UnmanagedSectionError, ConfigError)):
            section.problem = (exc.cause if isinstance(exc, ConfigError) else
                               f"[{name}] exists without the '# managed by rolebar' marker; "
                               "rolebar leaves it alone")
            if not section.refused:
                section.refused = True
                log.warning("section %s: refused: %s", name, exc.cause)
                self._publisher.emit("section_refused", f"section {name}", section.problem)
            return
        section.problem = exc.cause
        section.written = None
        log.warning("section %s: not written: %s", name, exc.cause)
        self._books.wake_in(self._clock(), 1.0)

    def _restamp(self) -> None:
        """Our write changed the credentials file's mtime, which the fast path's cache
        entries record: re-stamp the entries of the kept profiles so that
        `rolebar process` keeps answering without botocore."""
        for profile in [k.profile for k in self._books.kept.values() if k.creds]:
            try:
                self._engine.restamp(profile)
            except RolebarError as exc:
                log.debug("profile %s: not re-stamped: %s", profile, exc)
