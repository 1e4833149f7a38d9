"""The settings applied: which sections are kept, in which style, for which profiles.

Re-read when told to (a `reload` command: `select` here, or another process over ipc) or
when the settings file's or the AWS config's stamp changed. A section whose profile
changed starts a role switch (see SectionState.switching); a section no longer kept is
removed from the credentials file; a changed AWS config makes every profile planned anew.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rolebar.core import paths
from rolebar.core.atomic import stamp_of
from rolebar.core.errors import RolebarError, SectionError
from rolebar.core.keeper.needs import Needs
from rolebar.core.keeper.records import Books, Kept, Section
from rolebar.core.keeper.sync import SectionSync
from rolebar.core.sections import SWITCHING_KEY
from rolebar.core.settings import SectionSetting, Settings

if TYPE_CHECKING:
    from rolebar.core.credfile import SectionWriter
    from rolebar.core.engine import Engine

log = logging.getLogger(__name__)


class Selection:
    def __init__(self, books: Books, settings: Settings, engine: Engine,
                 writer: SectionWriter, needs: Needs, sync: SectionSync) -> None:
        self._books = books
        self._settings = settings
        self._engine = engine
        self._writer = writer
        self._needs = needs
        self._sync = sync
        self._loaded = False
        self._settings_stamp: object = None
        self._aws_stamp: object = None

    def apply(self, force: bool = False) -> None:
        """Apply the settings if told to (`force`) or if they or the AWS config changed."""
        stamp = self._settings.stamp()
        # The config file only: the keeper itself rewrites the credentials file.
        aws = stamp_of(paths.aws_config_file(self._engine.env))
        if self._loaded and not force and (stamp, aws) == (self._settings_stamp,
                                                           self._aws_stamp):
            return
        changed_files = self._loaded and aws != self._aws_stamp
        self._loaded, self._settings_stamp, self._aws_stamp = True, stamp, aws
        wanted = self._settings.sections()
        found = self._found_sections(wanted)
        try:
            self._books.profiles = tuple(sorted(p.name for p in self._engine.profiles()))
        except RolebarError as exc:
            log.warning("keeper: cannot list profiles: %s", exc)
        self._keep(wanted, found)
        if changed_files:
            for section in self._books.sections.values():
                section.checked = False  # a new profile may now carry its name
            for kept in self._books.kept.values():
                kept.planned = False
                if kept.problem and not kept.creds:
                    kept.due = 0.0
        self._sync.recheck()

    def _keep(self, wanted: dict[str, SectionSetting],
              found: dict[str, dict[str, str]]) -> None:
        books = self._books
        for name in [n for n in books.sections if n not in wanted]:
            self._drop_section(name)
        for name, setting in wanted.items():
            section = books.sections.get(name)
            if section is None or section.setting != setting:
                books.sections[name] = _new_section(setting, section, found.get(name))
            if setting.profile not in books.kept:
                books.kept[setting.profile] = Kept(setting.profile)
        used = {s.setting.profile for s in books.sections.values()}
        for profile in [p for p in books.kept if p not in used]:
            del books.kept[profile]
            self._needs.drop_profile(profile)

    def _found_sections(self, wanted: dict[str, SectionSetting]) -> dict[str, dict[str, str]]:
        """What the file holds for sections this keeper has not seen yet (at start)."""
        found = {}
        for name in wanted:
            if name not in self._books.sections:
                try:
                    found[name] = self._writer.read(name) or {}
                except SectionError:
                    found[name] = {}
        return found

    def _drop_section(self, name: str) -> None:
        section = self._books.sections.pop(name)
        log.info("section %s: no longer kept", name)
        if section.refused:
            return
        try:
            self._writer.remove(name)
        except SectionError as exc:
            log.info("section %s: left in place: %s", name, exc.cause)


def _new_section(setting: SectionSetting, old: Section | None,
                 found: dict[str, str] | None) -> Section:
    """The record of a section whose setting changed (old) or first seen (found)."""
    if old is None:
        # A switch made while no engine ran (`select`, `keep PROFILE`) left it cleared.
        switching = (found or {}).get(SWITCHING_KEY) == setting.profile
    else:
        switching = old.switching or old.setting.profile != setting.profile
    if old is None or old.setting.profile != setting.profile:
        log.info("section %s: keeping profile %s (%s)", setting.name, setting.profile,
                 setting.style)
    return Section(setting, switching=switching)

