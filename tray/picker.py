"""The role picker behind the tray's menu when there are many roles (tray/menu.py draws it).

- The roles on top: the chosen and kept ones, the pinned ones, the recently chosen ones
  (settings.json "pinned" and "recent", core/settings.py).
- Every role in a group: by IAM Identity Center session (sso_session, or the older
  sso_start_url), then by account (from role_arn or sso_account_id), named by a
  `rolebar_account_name` key in any of the account's profiles (named accounts first);
  roles with neither go to "Other roles". Groups are worked out once per change of the
  AWS files' stamps.
- "Choose role...": a searchable window in a subprocess (tray/chooser.py); its pick is
  posted back as a ("select", PROFILE) action.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rolebar.core import paths
from rolebar.core.awsfiles import stamps
from rolebar.core.errors import RolebarError
from rolebar.core.profiles import Catalog
from rolebar.core.settings import Settings
from rolebar.core.state import KeeperState

log = logging.getLogger(__name__)

# Up to this many roles, the menu lists them all (radio group) as it always has.
INLINE_PROFILES = 15
KINDS = ("choose", "pin")
CHOOSER_MODULE = "rolebar.tray.chooser"


@dataclass(frozen=True)
class Group:
    """A submenu of the picker: its roles, or further groups (an SSO session's accounts)."""

    title: str
    profiles: tuple[str, ...] = ()
    groups: tuple[Group, ...] = ()


@dataclass(frozen=True)
class Choices:
    """What the menu needs beyond KeeperState for many roles."""

    recent: tuple[str, ...] = ()  # newest first
    pinned: tuple[str, ...] = ()
    groups: tuple[Group, ...] = ()  # every assumable role is in exactly one


def _account(values: dict[str, Any]) -> str | None:
    arn = str(values.get("role_arn") or "")
    if arn.count(":") >= 5:
        return arn.split(":")[4] or None
    return str(values.get("sso_account_id") or "") or None


def _session(values: dict[str, Any]) -> str | None:
    """The IAM Identity Center sign-in a profile's own role comes from (not chained roles)."""
    if "role_arn" in values:
        return None
    return values.get("sso_session") or values.get("sso_start_url") or None


def group(profiles: Sequence[str], catalog: Catalog) -> tuple[Group, ...]:
    """`profiles` (sorted) grouped: one group per SSO session (holding its accounts), then
    "Accounts" (the accounts of every other role), then "Other roles"."""
    by_session: dict[str | None, dict[str, list[str]]] = {}
    names: dict[str, str] = {}
    other: list[str] = []
    for profile in profiles:
        try:
            values = catalog.values(profile)
        except RolebarError:
            other.append(profile)
            continue
        account = _account(values)
        if account is None:
            other.append(profile)
            continue
        if values.get("rolebar_account_name"):
            names.setdefault(account, str(values["rolebar_account_name"]))
        by_session.setdefault(_session(values), {}).setdefault(account, []).append(profile)

    def accounts(found: dict[str, list[str]]) -> tuple[Group, ...]:
        # Named accounts first, by name; then the others by id.
        titled = sorted((a not in names, f"{names[a]} ({a})" if a in names else a, tuple(p))
                        for a, p in found.items())
        return tuple(Group(t, p) for _, t, p in titled)

    groups = [Group(f"SSO {s}", groups=accounts(found))
              for s, found in sorted(by_session.items(), key=lambda i: i[0] or "") if s]
    if None in by_session:
        groups.append(Group("Accounts", groups=accounts(by_session[None])))
    if other:
        groups.append(Group("Other roles", tuple(other)))
    return tuple(groups)


class Picker:
    """The tray's side of the picker: its choices, and the actions choose and pin."""

    def __init__(self, post: Callable[[tuple[str, ...]], None],
                 settings: Settings | None = None,
                 argv: Callable[[], list[str]] | None = None) -> None:
        self._post = post  # queues an action for the dispatcher
        self._settings = settings or Settings()
        self._argv = argv or (lambda: [sys.executable, "-m", CHOOSER_MODULE])
        self._key: Any = None
        self._groups: tuple[Group, ...] = ()
        self._open: subprocess.Popen[bytes] | None = None

    def choices(self, state: KeeperState) -> Choices:
        if len(state.profiles) <= INLINE_PROFILES:
            return Choices()
        try:
            recent, pinned = self._settings.picks()
        except RolebarError as exc:
            log.warning("tray: %s: %s", exc.subject, exc.cause)
            recent, pinned = (), ()
        return Choices(recent, pinned, self._grouped(state.profiles))

    def _grouped(self, profiles: tuple[str, ...]) -> tuple[Group, ...]:
        files = (paths.aws_config_file(), paths.aws_credentials_file())
        key = (stamps(files), profiles)
        if key != self._key:
            try:
                self._groups = group(profiles, Catalog.load())
            except RolebarError as exc:  # the keeper says what is wrong with the files
                log.debug("tray: roles not grouped: %s", exc)
                self._groups = (Group("Roles", profiles),)
            self._key = key
        return self._groups

    def used(self, profile: str) -> None:
        """`profile` was chosen in the menu: remembered as recently used."""
        try:
            self._settings.used(profile)
        except RolebarError as exc:
            log.warning("tray: %s: %s", exc.subject, exc.cause)

    def act(self, kind: str, rest: Sequence[str], profiles: Sequence[str]) -> None:
        if kind == "pin":
            self._settings.pin(rest[0], rest[1] == "on")
        elif kind == "choose":
            self.choose(profiles)

    def choose(self, profiles: Sequence[str]) -> bool:
        """Open the chooser on a thread of its own unless one is open; True if opened."""
        if self._open is not None and self._open.poll() is None:
            return False
        try:
            child = subprocess.Popen(self._argv(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        except OSError as exc:
            log.warning("tray: cannot open the role chooser (%s)", exc.strerror or exc)
            return False
        self._open = child
        text = "".join(f"{p}\n" for p in profiles).encode()
        threading.Thread(target=self._wait, args=(child, text, frozenset(profiles)),
                         name="rolebar-chooser", daemon=True).start()
        return True

    def _wait(self, child: subprocess.Popen[bytes], text: bytes, known: frozenset[str]) -> None:
        out, _ = child.communicate(text)
        chosen = out.decode("utf-8", "replace").strip()
        if child.returncode == 0 and chosen in known:
            self._post(("select", chosen))
        else:
            log.info("tray: role chooser closed without a choice (status %s)", child.returncode)

    def close(self) -> None:
        if self._open is not None and self._open.poll() is None:
            self._open.terminate()
