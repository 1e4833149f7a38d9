"""The tray's key items: "Move keys to keyring..." while a source profile has plaintext
keys, and "Rotate keys..." (DESIGN.md section 5c, issue 14).

Each asks first (a yes/no dialog: zenity or kdialog; no dialog, no action), then runs on
a thread of its own, as "Open console" does: a rotation takes seconds (IAM settles) and
may ask for a code. The outcome is one notification through `report`; keys show masked
only. The items are computed from the AWS files once per change of them.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections.abc import Callable

from rolebar.core.engine import Engine
from rolebar.core.errors import RolebarError
from rolebar.core.interactive import has_display
from rolebar.tray.menu import Item

log = logging.getLogger(__name__)

TITLE = "rolebar: keys"
Report = Callable[[str, str, str], None]  # (notification key, title, body)
Confirm = Callable[[str], bool]
KINDS = ("keys-import", "keys-rotate")  # the menu actions of the items here


def ask(question: str) -> bool:
    """A yes/no dialog; False when none can be shown or it is closed."""
    for argv in (["zenity", "--question", f"--title={TITLE}", f"--text={question}"],
                 ["kdialog", "--title", TITLE, "--yesno", question]):
        if has_display() and shutil.which(argv[0]):
            try:
                return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, timeout=600).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                return False
    log.warning("tray: keys: no yes/no dialog (zenity, kdialog); nothing done")
    return False


class KeyActions:
    def __init__(self, engine: Callable[[], Engine], report: Report,
                 confirm: Confirm = ask) -> None:
        self._engine = engine  # the tray's engine, asked for when needed
        self._report = report
        self._confirm = confirm
        self._seen: tuple[object, tuple[Item, ...]] | None = None  # (files stamp, items)
        self.shown = True  # the demo hides them: its keys are the double's

    def items(self) -> tuple[Item, ...]:
        """The menu's key items for the AWS files as they are (none if they cannot be read)."""
        from rolebar.core import keyops

        if not self.shown:
            return ()
        try:
            catalog = self._engine().catalog()
            if self._seen is not None and self._seen[0] == catalog.stamp:
                return self._seen[1]
            found = [(p, keyops.where(catalog, p)) for p in keyops.source_profiles(catalog)]
        except Exception as exc:  # noqa: BLE001 - the rest of the menu must still show
            log.debug("tray: keys: no key items (%s)", exc)
            return ()
        plain = [p for p, where in found if where == "file"]
        held = [p for p, where in found if where in ("file", "keyring")]
        items = (*_entry("Move keys to keyring...", "keys-import", plain),
                 *_entry("Rotate keys...", "keys-rotate", held))
        self._seen = (catalog.stamp, items)
        return items

    def act(self, kind: str, profile: str) -> threading.Thread:
        """Start the menu action `kind` (one of KINDS) for `profile`."""
        return self.move(profile) if kind == "keys-import" else self.rotate(profile)

    def move(self, profile: str) -> threading.Thread:
        from rolebar.core import keyops

        return self._start(
            profile, f"Move the long-term keys of {profile} from the credentials file into "
            "the OS keyring?", lambda: keyops.import_keys(self._engine().env, profile),
            f"profile {profile}: keys moved to the OS keyring")

    def rotate(self, profile: str) -> threading.Thread:
        from rolebar.core.rotate import Rotation

        def run() -> object:
            done = Rotation(self._engine(), profile).run()
            return (f"profile {profile}: new key {done.new} stored in the {done.where}; old "
                    f"key {done.old} deleted")

        return self._start(profile, f"Replace the access key of {profile} with a new one "
                           "and delete the old one in IAM?", run, None)

    def _start(self, profile: str, question: str, work: Callable[[], object],
               said: str | None) -> threading.Thread:
        def run() -> None:
            if not self._confirm(question):
                log.info("tray: keys: profile %s: not confirmed", profile)
                return
            try:
                outcome = work()
            except RolebarError as exc:
                log.warning("tray: keys: %s", exc)
                self._report(f"keys {exc}", TITLE, str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - a thread's last stop; the type alone
                log.error("tray: keys: profile %s failed (%s)", profile, type(exc).__name__)
                self._report(f"keys {profile} failed", TITLE, f"profile {profile}: see "
                             "rolebar's log")
                return
            message = said or str(outcome)
            log.info("tray: keys: %s", message)
            self._seen = None
            self._report(f"keys {profile} done", TITLE, message)

        thread = threading.Thread(target=run, daemon=True, name="rolebar-keys")
        thread.start()
        return thread


def _entry(text: str, kind: str, profiles: list[str]) -> tuple[Item, ...]:
    if not profiles:
        return ()
    if len(profiles) == 1:
        return (Item(f"{text[:-3]} ({profiles[0]})...", (kind, profiles[0])),)
    return (Item(text, submenu=tuple(Item(p, (kind, p)) for p in profiles)),)
