"""The keeper: keeps each selected section of the credentials file fresh.

PUBLIC API CONTRACT (the tray, the CLI and ipc code against this). Threads are started in
`start()`, never in `__init__`. Subscribers are called on the keeper's thread with the new
state and the event; the tray marshals what it does to its own thread. A new subscriber
is first handed, on its own thread, the current state and every one-time event that
still holds (announced.py): no order of `start` and `subscribe` loses an event.

How it works. One worker thread, `rolebar-keeper`, waits on an Event with a timeout;
`select`, `refresh_now`, `submit_code`, `request_code`, `reload` and `stop` set it. Each
wake runs one tick inside one guard (an exception becomes a problem and an event; the
loop never dies):

1. settings: re-read when told to (ipc `reload`) or when the file's stamp changed;
2. codes a person submitted are used for the profiles waiting on that device;
3. MFA sessions that end soon are renewed (silently through generate_token, else a
   `session_ending` event and a code need, ahead of time);
4. role credentials past their soft deadline are refreshed (`engine.credentials(force=)`);
5. sections are written where they differ from what they should hold, and restored when
   another writer put stale content back (checked when the file's stamp changed).

Deadlines come from the Expiration STS returned (`deadlines`). The longest wait is short
(`max_wait`): it bounds how late the keeper notices a suspend/resume (monotonic time
stops during suspend; `Event.wait` counts monotonic time) or a stale restore. A wake also
compares wall-clock and monotonic progress; a jump triggers an immediate refresh.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rolebar.core import paths
from rolebar.core.codes import REUSED, WRONG, CodeRequest
from rolebar.core.credentials import Credentials
from rolebar.core.errors import (
    CodeReusedError,
    ConfigError,
    NoCodeError,
    RolebarError,
    SectionError,
)
from rolebar.core.keeper.announced import Announced
from rolebar.core.keeper.jobs import Jobs
from rolebar.core.schedule import (
    FAILS_BEFORE_NOTICE,
    JUMP,
    MAX_WAIT,
    MIN_WAIT,
    backoff,
    deadlines,
    session_lead,
)
from rolebar.core.sections import (
    SWITCHING_KEY,
    check_section,
    found_style,
    rolebar_command,
    section_values,
    switching_values,
)
from rolebar.core.settings import DEFAULT_SECTION, SectionSetting, Settings
from rolebar.core.state import (
    CodeNeed,
    Event,
    EventKind,
    Health,
    KeeperState,
    Listener,
    SectionState,
    Style,
)
from rolebar.core.sts import InvalidCode

if TYPE_CHECKING:
    from rolebar.core.credfile import SectionWriter
    from rolebar.core.engine import Engine
    from rolebar.core.profiles import Plan

log = logging.getLogger(__name__)

# Where the codes given to `submit_code` come from, as the log names it.
TYPED = "the prompt"


# -- internal records -------------------------------------------------------------------------


@dataclass
class _Kept:
    """One kept profile (several sections may share it)."""

    profile: str
    creds: Credentials | None = None
    due: float = 0.0  # wall time of the next refresh
    force: bool = False  # the next refresh must not take the cache's answer
    failures: int = 0
    noticed: bool = False  # refresh_failed sent for this failure streak
    problem: str | None = None
    busy: bool = False
    device: str | None = None
    route: str | None = None
    region: str | None = None
    planned: bool = False


@dataclass
class _Section:
    setting: SectionSetting
    written: dict[str, str] | None = None  # what the file held after our last write/check
    refused: bool = False
    problem: str | None = None
    switching: bool = False  # see SectionState.switching
    checked: bool = False  # the name passed check_section against the AWS files


@dataclass
class _Session:
    issued: float
    expires: float
    retry_at: float = 0.0
    failures: int = 0
    warned: bool = False  # session_ending sent for this session


@dataclass
class _Need:
    device: str
    profile: str
    own: bool = False  # the keeper's own refresh waits for it
    waiters: int = 0  # ipc requests waiting
    announced: bool = False
    kind: EventKind = "code_needed"
    message: str = ""
    reason: str | None = None  # see CodeNeed.reason


@dataclass
class _Fetched:
    """What a refresh found off the keeper's thread."""

    plan: Plan | None = None  # when the profile was not planned yet
    creds: Credentials | None = None
    error: RolebarError | None = None


@dataclass
class _Wait:
    event: threading.Event = field(default_factory=threading.Event)
    code: str | None = None
    count: int = 0


class Keeper:
    """Keeps the sections of the settings fresh through `engine` (built with no prompts)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        writer: SectionWriter | None = None,
        kind: str = "keep",
        prompt: Callable[[CodeRequest], str | None] | None = None,
        answers_codes: bool = False,
        rnd: Callable[[], float] = random.random,
        command: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or Settings()
        self.kind = kind
        self._clock = clock
        self._monotonic = monotonic
        self._writer = writer
        self._prompt = prompt
        # True when someone (the tray) answers code_needed events with submit_code.
        self.answers_codes = answers_codes or prompt is not None
        self._rnd = rnd
        self._command = command
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # STS calls and generate_token run off this thread once started (see jobs.py).
        self._jobs = Jobs(self._wake.set)
        self._thread: threading.Thread | None = None
        # Deliveries to listeners, joining listeners and what `_announced` records are
        # serialised by `_deliver`. Never take it while holding `_lock` (a listener may
        # take `_lock`): `_emit`, `_publish` and `_notify` are called without `_lock`.
        self._deliver = threading.RLock()
        self._listeners: list[Listener] = []
        self._announced = Announced()
        self._delivered: KeeperState | None = None  # the state last sent to listeners
        self._state = KeeperState((), (), (), ())
        self._sections: dict[str, _Section] = {}
        self._kept: dict[str, _Kept] = {}
        self._sessions: dict[str, _Session] = {}
        self._needs: dict[str, _Need] = {}
        self._waits: dict[str, _Wait] = {}
        self._codes: dict[str, str] = {}
        self._reload = True
        self._settings_stamp: object = None
        self._file_stamp: object = None
        self._aws_stamp: object = None
        self._profiles: tuple[str, ...] = ()
        self._tick_problem: str | None = None
        self._prompting = False
        self._last_wall: float | None = None  # set by the first tick
        self._last_mono = 0.0

    # -- the public API --------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._jobs.inline = False
        self._thread = threading.Thread(target=self._run, name="rolebar-keeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker; an STS call in flight is left to finish on its daemon thread."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            for wait in self._waits.values():
                wait.event.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(state, event)` on every event; returns an unsubscribe function.

        Once the keeper has published anything, the listener is first called right here
        with the current state (a "state" event) and then with each one-time event whose
        state still holds (a code still needed, a session still ending, refreshing still
        failing, a section still refused), as if it had just happened.
        """
        with self._deliver:
            self._listeners.append(listener)
            state = self._delivered
            if state is not None:
                replay = self._announced.replay(state, self._tick_problem, self._clock())
                for event in (Event("state", "keeper", "the keeper's state"), *replay):
                    self._call(listener, state, event)

        def unsubscribe() -> None:
            with self._deliver:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def state(self) -> KeeperState:
        with self._lock:
            return self._state

    def select(self, profile: str, section: str = DEFAULT_SECTION,
               style: Style | None = None) -> SectionSetting:
        """Keep `section` for `profile` (the section keeps its style unless one is given)."""
        found = found_style(self._writer_().path, section)
        chosen = self.settings.select(profile, section, style, found)
        self.reload()
        return chosen

    def unselect(self, section: str) -> bool:
        removed = self.settings.unselect(section)
        self.reload()
        return removed

    def set_style(self, section: str, style: Style) -> SectionSetting:
        chosen = self.settings.set_style(section, style)
        self.reload()
        return chosen

    def reload(self) -> None:
        """The settings changed (ipc `reload`): apply them now."""
        with self._lock:
            self._reload = True
        self._wake.set()

    def refresh_now(self, section: str | None = None) -> None:
        """Refresh the credentials of `section` (or of every section) now."""
        with self._lock:
            for kept in self._kept.values():
                if section is None or any(s.setting.profile == kept.profile and
                                          s.setting.name == section
                                          for s in self._sections.values()):
                    kept.due, kept.force = 0.0, True
            self._file_stamp = None  # and re-check the sections themselves
        self._wake.set()

    def submit_code(self, device: str, code: str) -> None:
        """A person typed `code` for `device` (the tray's prompt, or the terminal)."""
        with self._lock:
            wait = self._waits.get(device)
            if wait is not None and wait.count > 0:
                # Another process blocks on it (an IDE's `rolebar process`): it goes there
                # first. Its MFA session lands in the shared cache; the keeper's own need,
                # if any, is tried again shortly and comes back only if still unmet.
                wait.code = code
                wait.event.set()
                self._waits.pop(device, None)
                self._needs.pop(device, None)
                for kept in self._kept.values():
                    if kept.device == device:
                        kept.due = min(kept.due, self._clock() + 2.0)
            else:
                self._codes[device] = code
        self._wake.set()

    def request_code(self, device: str, profile: str, timeout: float) -> str | None:
        """Wait for a person to type a code for `device` (ipc `code`); None on timeout.

        Two requests for one device share one need (one notification, one prompt).
        """
        with self._lock:
            if self._stopping.is_set():
                return None
            wait = self._waits.setdefault(device, _Wait())
            wait.count += 1
            need = self._needs.get(device)
            if need is None:
                need = self._needs[device] = _Need(device, profile)
            need.waiters += 1
        self._wake.set()
        try:
            wait.event.wait(timeout)
        finally:
            with self._lock:
                wait.count -= 1
                if need.waiters:
                    need.waiters -= 1
                if wait.count <= 0 and self._waits.get(device) is wait:
                    del self._waits[device]
                if not need.own and need.waiters <= 0 and self._needs.get(device) is need:
                    del self._needs[device]
            self._wake.set()
        return wait.code

    def tick(self) -> float:
        """Run one tick on the calling thread and return the wait before the next one.

        For tests with a fake clock and for tools; never while `start()`ed.
        """
        self._check_clock_and_tick()
        return self._next_wait()

    # -- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        log.info("keeper: started (%s)", self.kind)
        while not self._stopping.is_set():
            self._check_clock_and_tick()
            timeout = self._next_wait()
            self._wake.wait(timeout)
            self._wake.clear()
        log.info("keeper: stopped")

    def _check_clock_and_tick(self) -> None:
        """One tick; whatever goes wrong becomes state and an event, never a dead loop."""
        try:
            self._check_clock()
            self._tick()
            self._tick_problem = None
        except Exception as exc:
            cause = exc.cause if isinstance(exc, RolebarError) else type(exc).__name__
            log.exception("keeper: tick failed")
            if self._tick_problem != cause:
                self._tick_problem = cause
                self._emit("refresh_failed", "keeper", f"the keeper hit a problem: {cause}")
            self._wake_in(1.0)
        try:
            self._publish()
        except Exception:
            log.exception("keeper: publishing the state failed")

    def _check_clock(self) -> None:
        wall, mono = self._clock(), self._monotonic()
        last_wall, last_mono = self._last_wall, self._last_mono
        self._last_wall, self._last_mono = wall, mono
        if last_wall is not None and abs((wall - last_wall) - (mono - last_mono)) > JUMP:
            drift = (wall - last_wall) - (mono - last_mono)
            log.info("keeper: the wall clock jumped %+.0f s (suspend/resume?); refreshing now",
                     drift)
            with self._lock:
                for kept in self._kept.values():
                    kept.due, kept.force = 0.0, True
                for session in self._sessions.values():
                    session.retry_at = 0.0
                self._file_stamp = None

    def _tick(self) -> None:
        self._sync_settings()
        self._jobs.finish()
        if any(s.switching for s in self._sections.values()):
            self._write_sections()  # the old role out now, not after the new one's fetch
        self._use_codes()
        self._renew_sessions()
        now = self._clock()
        with self._lock:
            due = [k for k in self._kept.values() if k.due <= now and not k.busy]
        for kept in due:
            if self._stopping.is_set():
                return
            self._refresh(kept)
            self._write_sections()  # now, not after the other profiles' STS calls
        self._write_sections()
        self._ask_person()

    def _next_wait(self) -> float:
        now = self._clock()
        with self._lock:
            # Work under way wakes the keeper when it ends (jobs.py).
            moments = [k.due for k in self._kept.values() if not k.busy]
            margins = [k.creds.margin for k in self._kept.values() if k.creds]
            for device, session in self._sessions.items():
                if any(k.device == device for k in self._kept.values()) and \
                        not self._jobs.busy(_mfa(device)):
                    lead = session_lead(session.issued, session.expires)
                    moments.append(max(session.retry_at, session.expires - lead))
            pending = any(not self._jobs.busy(_mfa(d)) for d in self._codes) or \
                any(not n.announced for n in self._needs.values())
        if pending:
            return MIN_WAIT
        longest = min([MAX_WAIT, *(max(1.0, m / 4) for m in margins)])
        return max(MIN_WAIT, min([longest, *(m - now for m in moments)]))

    def _wake_in(self, seconds: float) -> None:
        with self._lock:
            for kept in self._kept.values():
                kept.due = min(kept.due, self._clock() + seconds)

    # -- settings --------------------------------------------------------------------------

    def _sync_settings(self) -> None:
        stamp = self.settings.stamp()
        aws = self._aws_files_stamp()
        with self._lock:
            if not self._reload and stamp == self._settings_stamp and aws == self._aws_stamp:
                return
            self._reload = False
        changed_files = aws != self._aws_stamp
        self._settings_stamp, self._aws_stamp = stamp, aws
        wanted = self.settings.sections()
        found = self._found_sections(wanted)
        try:
            self._profiles = tuple(sorted(p.name for p in self.engine.profiles()))
        except RolebarError as exc:
            log.warning("keeper: cannot list profiles: %s", exc)
        with self._lock:
            for name in [n for n in self._sections if n not in wanted]:
                self._drop_section(name)
            for name, setting in wanted.items():
                section = self._sections.get(name)
                if section is None or section.setting != setting:
                    self._sections[name] = self._new_section(setting, section, found.get(name))
                if setting.profile not in self._kept:
                    self._kept[setting.profile] = _Kept(setting.profile)
            used = {s.setting.profile for s in self._sections.values()}
            for profile in [p for p in self._kept if p not in used]:
                del self._kept[profile]
                for device, need in list(self._needs.items()):
                    if need.profile == profile and need.own and not need.waiters:
                        del self._needs[device]
            if changed_files:
                for section in self._sections.values():
                    section.checked = False  # a new profile may now carry its name
                for kept in self._kept.values():
                    kept.planned = False
                    if kept.problem and not kept.creds:
                        kept.due = 0.0
            self._file_stamp = None

    def _found_sections(self, wanted: dict[str, SectionSetting]) -> dict[str, dict[str, str]]:
        """What the file holds for sections this keeper has not seen yet (at start)."""
        found = {}
        for name in wanted:
            if name not in self._sections:
                try:
                    found[name] = self._writer_().read(name) or {}
                except SectionError:
                    found[name] = {}
        return found

    @staticmethod
    def _new_section(setting: SectionSetting, old: _Section | None,
                     found: dict[str, str] | None) -> _Section:
        """The record of a section whose setting changed (old) or first seen (found)."""
        if old is None:
            # A switch made while no engine ran (`select`, `keep PROFILE`) left it cleared.
            switching = (found or {}).get(SWITCHING_KEY) == setting.profile
        else:
            switching = old.switching or old.setting.profile != setting.profile
        if old is None or old.setting.profile != setting.profile:
            log.info("section %s: keeping profile %s (%s)", setting.name, setting.profile,
                     setting.style)
        return _Section(setting, switching=switching)

    def _drop_section(self, name: str) -> None:
        section = self._sections.pop(name)
        log.info("section %s: no longer kept", name)
        if section.refused:
            return
        try:
            self._writer_().remove(name)
        except SectionError as exc:
            log.info("section %s: left in place: %s", name, exc.cause)

    def _aws_files_stamp(self) -> object:
        # The config file only: the keeper itself rewrites the credentials file.
        return _stamp(paths.aws_config_file(self.engine.env))

    # -- codes and MFA sessions -------------------------------------------------------------

    def _use_codes(self) -> None:
        with self._lock:
            codes, self._codes = self._codes, {}
        for device, code in codes.items():
            with self._lock:
                waiting = [k for k in self._kept.values() if k.device == device]
            if not waiting:
                log.info("mfa %s: a code arrived that no kept profile needs", device)
                continue
            first = waiting[0]
            work = functools.partial(self._spend_code, first.profile, first.route, code)
            done = functools.partial(self._code_spent, device, first, waiting)
            if not self._jobs.start(_mfa(device), work, done):
                with self._lock:  # this device's session is being renewed: the code waits
                    self._codes.setdefault(device, code)

    def _spend_code(self, profile: str, route: str | None, code: str) -> Credentials:
        """Off the keeper's thread: the MFA session (or the role) with a typed code."""
        if route == "session":
            return self.engine.renew_session(profile, code=code, interactive=False,
                                             code_from=TYPED)
        return self.engine.credentials(profile, code=code, force=True, interactive=False,
                                       code_from=TYPED)

    def _code_spent(self, device: str, first: _Kept, waiting: list[_Kept],
                    creds: Credentials | None, exc: Exception | None) -> None:
        if isinstance(exc, InvalidCode):
            self._need(device, first.profile, "code_needed",
                       f"STS rejected the code for {device}; enter the next one",
                       again=True, reason=WRONG)
        elif isinstance(exc, CodeReusedError):
            self._need(device, first.profile, "code_needed",
                       f"profile {first.profile}: {exc.cause}", again=True, reason=REUSED)
        elif isinstance(exc, RolebarError):
            log.warning("mfa %s: %s", device, exc)
            self._need(device, first.profile, "code_needed",
                       f"profile {first.profile}: {exc.cause}", again=True)
        elif exc is not None:
            raise exc
        else:
            assert creds is not None
            if first.route == "session":
                self._note_session(device, creds)
                with self._lock:
                    for kept in waiting:  # the new session serves all of them
                        if kept.problem or kept.creds is None:
                            kept.due = 0.0
            else:
                self._refreshed(first, creds)
            with self._lock:
                need = self._needs.get(device)
                if need and not need.waiters:
                    del self._needs[device]

    def _note_session(self, device: str, session: Credentials | None) -> None:
        with self._lock:
            if session is None:
                self._sessions.pop(device, None)
                return
            old = self._sessions.get(device)
            if old is None or old.expires != session.expires:
                self._sessions[device] = _Session(session.issued, session.expires)

    def _renew_sessions(self) -> None:
        now = self._clock()
        with self._lock:
            todo = []
            for device, session in self._sessions.items():
                users = [k for k in self._kept.values()
                         if k.device == device and k.route == "session"]
                lead = session_lead(session.issued, session.expires)
                if users and now >= max(session.retry_at, session.expires - lead):
                    todo.append((device, session, users[0]))
        for device, session, kept in todo:
            if self._stopping.is_set():
                return
            self._jobs.start(_mfa(device),
                             functools.partial(self.engine.renew_session, kept.profile,
                                               interactive=False),
                             functools.partial(self._renewed, device, session, kept.profile))

    def _renewed(self, device: str, session: _Session, profile: str,
                 renewed: Credentials | None, exc: Exception | None) -> None:
        now = self._clock()
        lead = session_lead(session.issued, session.expires)
        if isinstance(exc, NoCodeError):
            session.failures += 1
            session.retry_at = now + backoff(session.failures, lead, self._rnd)
            if not session.warned:
                session.warned = True
                left = max(0.0, session.expires - now)
                self._emit("session_ending", device,
                           f"the MFA session for {device} ends in {_span(left)}; "
                           "enter a code to keep credentials fresh")
            self._need(device, profile, "session_ending",
                       f"the MFA session for {device} ends soon; a code is needed")
        elif isinstance(exc, RolebarError):
            session.failures += 1
            session.retry_at = now + backoff(session.failures, lead, self._rnd)
            log.warning("mfa %s: renewing the MFA session failed: %s", device, exc)
        elif exc is not None:
            raise exc
        else:
            log.info("mfa %s: MFA session renewed ahead of time", device)
            self._note_session(device, renewed)
            with self._lock:
                need = self._needs.get(device)
                if need and need.own and not need.waiters:
                    del self._needs[device]

    def _need(self, device: str, profile: str, kind: EventKind, message: str,
              again: bool = False, reason: str | None = None) -> None:
        with self._lock:
            need = self._needs.get(device)
            if need is None:
                need = self._needs[device] = _Need(device, profile)
            need.own = True
            if again:
                need.announced, need.reason = False, reason
            if not need.announced:
                need.kind, need.message = kind, message

    def _ask_person(self) -> None:
        """Announce new needs (once each), and prompt on the terminal where `keep` has one."""
        with self._lock:
            fresh = [n for n in self._needs.values() if not n.announced]
            for need in fresh:
                need.announced = True
        for need in fresh:
            if need.kind != "session_ending":  # session_ending was sent with its own text
                self._emit("code_needed", need.device, need.message or
                           f"profile {need.profile} needs a one-time code for {need.device}")
        if self._prompt is not None and not self._prompting:
            with self._lock:
                first = next(iter(self._needs.values()), None)
            if first is not None:
                self._prompting = True
                threading.Thread(target=self._prompt_once, args=(first,),
                                 name="rolebar-keeper-prompt", daemon=True).start()

    def _prompt_once(self, need: _Need) -> None:
        assert self._prompt is not None
        try:
            code = self._prompt(CodeRequest(need.device, need.profile, need.reason))
        finally:
            self._prompting = False
        if code:
            self.submit_code(need.device, code)

    # -- role credentials ------------------------------------------------------------------

    def _refresh(self, kept: _Kept) -> None:
        now = self._clock()
        with self._lock:
            kept.busy = True
            force, planned = kept.force, kept.planned
        self._publish()
        work = functools.partial(self._fetch, kept.profile, force, planned, now)
        if not self._jobs.start(_profile(kept.profile), work,
                                functools.partial(self._fetched, kept)):
            with self._lock:  # still under way for a record this one replaced
                kept.busy, kept.due = False, now + 1.0

    def _fetch(self, profile: str, force: bool, planned: bool, now: float) -> _Fetched:
        """Off the keeper's thread: the plan (unless known) and the role's credentials."""
        fetched = _Fetched()
        try:
            if not planned:
                fetched.plan = self.engine.plan(profile)
            creds = self.engine.credentials(profile, force=force, interactive=False)
            if not force and now >= deadlines(creds.issued, creds.expires)[0]:
                # The cache's answer is past its soft deadline: fetch anew.
                creds = self.engine.credentials(profile, force=True, interactive=False)
            fetched.creds = creds
        except RolebarError as exc:
            fetched.error = exc
        return fetched

    def _fetched(self, kept: _Kept, fetched: _Fetched | None, exc: Exception | None) -> None:
        with self._lock:
            kept.busy = False
            current = self._kept.get(kept.profile) is kept
        if exc is not None:
            raise exc
        assert fetched is not None
        if not current:  # unselected meanwhile: no need or problem for it any more
            log.debug("profile %s: no longer kept; its refresh is dropped", kept.profile)
            return
        if (plan := fetched.plan) is not None:
            kept.device, kept.route, kept.region = plan.device, plan.route, plan.region
            kept.planned = True
        if fetched.error is not None:
            self._failed(kept, fetched.error, needs_code=isinstance(fetched.error, NoCodeError))
        else:
            assert fetched.creds is not None
            self._refreshed(kept, fetched.creds)

    def _refreshed(self, kept: _Kept, creds: Credentials) -> None:
        soft, _ = deadlines(creds.issued, creds.expires)
        if kept.failures:
            log.info("profile %s: refreshed after %d failure(s)", kept.profile, kept.failures)
        else:
            log.info("profile %s: credentials until %s", kept.profile, creds.expiration)
        with self._lock:
            kept.creds, kept.due, kept.force = creds, soft, True
            kept.failures, kept.noticed, kept.problem = 0, False, None
            if kept.device:
                need = self._needs.get(kept.device)
                if need and need.own and need.profile == kept.profile and not need.waiters:
                    del self._needs[kept.device]
        if kept.device and kept.route == "session":
            try:
                self._note_session(kept.device, self.engine.session(kept.profile))
            except RolebarError as exc:
                log.debug("profile %s: no session info: %s", kept.profile, exc)

    def _failed(self, kept: _Kept, exc: RolebarError, needs_code: bool = False) -> None:
        now = self._clock()
        kept.failures += 1
        kept.force = True
        margin = kept.creds.margin if kept.creds else 60.0
        kept.due = now + backoff(kept.failures, margin, self._rnd)
        if isinstance(exc, ConfigError):
            kept.planned = False
        kept.problem = f"profile {kept.profile}: {exc.cause}"
        if needs_code and kept.device:
            kept.problem = f"profile {kept.profile} needs a one-time code for {kept.device}"
            self._need(kept.device, kept.profile, "code_needed", kept.problem)
            log.info("profile %s: waiting for a one-time code", kept.profile)
            return
        log.warning("profile %s: refresh failed (%d in a row): %s", kept.profile,
                    kept.failures, exc.cause)
        expired = kept.creds is None or now >= kept.creds.expires
        if not kept.noticed and (kept.failures >= FAILS_BEFORE_NOTICE or expired):
            kept.noticed = True
            self._emit("refresh_failed", f"profile {kept.profile}",
                       f"refreshing profile {kept.profile} keeps failing: {exc.cause}")

    # -- sections --------------------------------------------------------------------------

    def _writer_(self) -> SectionWriter:
        if self._writer is None:
            from rolebar.core.credfile import SectionWriter

            self._writer = SectionWriter(paths.aws_credentials_file(self.engine.env))
        return self._writer

    def _desired(self, section: _Section) -> dict[str, str] | None:
        kept = self._kept.get(section.setting.profile)
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

    def _write_sections(self) -> None:
        writer = self._writer_()
        stamp = _stamp(writer.path)
        with self._lock:
            recheck = stamp != self._file_stamp
            sections = list(self._sections.values())
        wrote = False
        for section in sections:
            if self._stopping.is_set():
                return
            desired = self._desired(section)
            if desired is None or (desired == section.written and not recheck):
                continue
            if section.refused and not recheck:
                continue
            name = section.setting.name
            try:
                if recheck and section.written == desired:
                    if writer.read(name) == desired and writer.status(name) == "managed":
                        continue
                    log.info("section %s: another program changed it; restoring", name)
                if not section.checked:  # a hand-edited settings file may name a profile
                    check_section(name, self.engine.env)
                    section.checked = True
                changed = writer.write(name, desired)
            except (SectionError, ConfigError) as exc:
                self._section_failed(section, exc)
                continue
            wrote = wrote or changed
            section.written, section.problem = desired, None
            if section.refused:
                section.refused = False
                log.info("section %s: the marker is back; writing it again", name)
            if changed:
                log.info("section %s: written (%s, profile %s)", name, section.setting.style,
                         section.setting.profile)
        self._settle_switches(sections)
        if wrote:
            self._restamp()
        with self._lock:
            # After our own write, check once more on the next wake: another writer may
            # have slipped in between our replace and any stat we could take now.
            self._file_stamp = None if wrote else stamp

    def _settle_switches(self, sections: list[_Section]) -> None:
        """A switch ends once the section holds (or points at) the new role's credentials."""
        now = self._clock()
        for section in sections:
            kept = self._kept.get(section.setting.profile)
            if (section.switching and kept is not None and kept.creds is not None
                    and now < kept.creds.expires and section.written
                    and SWITCHING_KEY not in section.written):
                section.switching = False
                log.info("section %s: switched to profile %s", section.setting.name,
                         kept.profile)

    def _section_failed(self, section: _Section, exc: RolebarError) -> None:
        from rolebar.core.credfile import UnmanagedSectionError

        name = section.setting.name
        if isinstance(exc, (UnmanagedSectionError, ConfigError)):
            section.problem = (exc.cause if isinstance(exc, ConfigError) else
                               f"[{name}] exists without the '# managed by rolebar' marker; "
                               "rolebar leaves it alone")
            if not section.refused:
                section.refused = True
                log.warning("section %s: refused: %s", name, exc.cause)
                self._emit("section_refused", f"section {name}", section.problem)
            return
        section.problem = exc.cause
        section.written = None
        log.warning("section %s: not written: %s", name, exc.cause)
        self._wake_in(1.0)

    def _restamp(self) -> None:
        """Our write changed the credentials file's mtime, which the fast path's cache
        entries record: re-stamp the entries of the kept profiles so that
        `rolebar process` keeps answering without botocore."""
        with self._lock:
            profiles = [k.profile for k in self._kept.values() if k.creds]
        for profile in profiles:
            try:
                self.engine.cached(profile)
            except RolebarError as exc:
                log.debug("profile %s: not re-stamped: %s", profile, exc)

    # -- state and events ------------------------------------------------------------------

    def _compute(self) -> KeeperState:
        now = self._clock()
        with self._lock:
            sections = []
            for name in sorted(self._sections):
                section = self._sections[name]
                kept = self._kept.get(section.setting.profile)
                sections.append(self._section_state(section, kept, now))
            needs = tuple(CodeNeed(n.device, n.profile, n.reason)
                          for n in sorted(self._needs.values(), key=lambda n: n.device))
            used = {k.device for k in self._kept.values() if k.device}
            sessions = tuple(sorted((d, s.expires) for d, s in self._sessions.items()
                                    if d in used and s.expires > now))
            return KeeperState(tuple(sections), self._profiles, needs, sessions)

    def _section_state(self, section: _Section, kept: _Kept | None, now: float
                       ) -> SectionState:
        setting = section.setting
        expires = kept.creds.expires if kept and kept.creds else None
        problem = section.problem or (kept.problem if kept else None)
        health: Health
        if section.refused:
            health = "error"
        elif kept is None:
            health = "idle"
        elif kept.device and kept.device in self._needs:
            health = "needs_code"
        elif kept.busy:
            health = "refreshing"
        elif expires is not None and now < expires:
            health = "fresh" if not kept.failures else "refreshing"
        elif kept.failures:
            health = "error"
        else:
            health = "refreshing"
        if section.problem is None and self._tick_problem and health != "fresh":
            problem = problem or self._tick_problem
        if section.switching and section.problem is None:
            problem = _switching(setting.profile, health, kept)
        return SectionState(setting.name, setting.profile, setting.style, health, expires,
                            problem, section.switching)

    def _publish(self) -> None:
        state = self._compute()
        with self._lock:
            if state == self._state:
                return
            self._state = state
        self._notify(Event("state", "keeper", "the keeper's state changed"), state)

    def _emit(self, kind: EventKind, subject: str, message: str) -> None:
        log.info("keeper: %s: %s: %s", kind, subject, message)
        state = self._compute()
        with self._lock:
            self._state = state
        self._notify(Event(kind, subject, message), state)

    def _notify(self, event: Event, state: KeeperState) -> None:
        with self._deliver:
            self._delivered = state
            self._announced.delivered(event, state, self._tick_problem)
            for listener in list(self._listeners):
                self._call(listener, state, event)

    @staticmethod
    def _call(listener: Listener, state: KeeperState, event: Event) -> None:
        try:
            listener(state, event)
        except Exception:  # a subscriber's bug must not stop the keeper
            log.exception("keeper: a listener failed on %s", event.kind)


def _stamp(path: Path) -> object:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _switching(profile: str, health: Health, kept: _Kept | None) -> str:
    """The status line of a section between a role switch and the new role's credentials."""
    if health == "needs_code":
        detail = "waiting for a one-time code"
    elif health == "error" and kept is not None and kept.problem:
        detail = kept.problem.removeprefix(f"profile {profile}: ")
    else:
        detail = "fetching its credentials"
    return f"switching to {profile}: {detail}"


def _mfa(device: str) -> str:
    """The key of work on a device's MFA session (renewal, a typed code): one at a time."""
    return f"mfa {device}"


def _profile(profile: str) -> str:
    return f"profile {profile}"


def _span(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds)} seconds"
