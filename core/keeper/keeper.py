"""The keeper: keeps each selected section of the credentials file fresh.

PUBLIC API CONTRACT (the tray, the CLI and ipc code against this). Threads are started in
`start()`, never in `__init__`. Subscribers are called on the keeper's thread with the new
state and the event; the tray marshals what it does to its own thread. A new subscriber
is first handed, on its own thread, the current state and every one-time event that
still holds (announced.py): no order of `start` and `subscribe` loses an event.

One owner. The worker thread, `rolebar-keeper`, is the only one that reads or writes the
keeper's records (records.Books). The public methods post commands to it (inbox.py) and
return; `request_code` waits on a future the keeper answers; `state()` returns the last
frozen KeeperState. Work that may block runs off the thread (jobs.py) and its outcome
comes back through the same inbox, applied in order with the commands.

Each wake runs one tick inside one guard (an exception becomes a problem and an event;
the loop never dies):

1. commands (and finished work) are applied in the order they came;
2. settings: re-read when told to (`reload`) or when the file's stamp changed
   (selection.py);
3. codes a person typed are spent for the profiles waiting on that device (typed.py);
4. MFA sessions that end soon are renewed (silently through generate_token, else a
   `session_ending` event and a code need, ahead of time; sessions.py);
5. role credentials past their soft deadline are refreshed (refresh.py);
6. sections are written where they differ from what they should hold, and restored when
   another writer put stale content back (sync.py);
7. new code needs are announced, once each (needs.py); then the state (publish.py).

The longest wait is short (`MAX_WAIT`): it bounds how late the keeper notices a
suspend/resume (monotonic time stops during suspend; waits count monotonic time) or a
stale restore. A wake also compares wall-clock and monotonic progress; a jump triggers an
immediate refresh.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from rolebar.core import paths
from rolebar.core.codes import CodeRequest
from rolebar.core.errors import RolebarError
from rolebar.core.keeper.inbox import Inbox
from rolebar.core.keeper.jobs import Jobs
from rolebar.core.keeper.needs import Needs
from rolebar.core.keeper.publish import Publisher
from rolebar.core.keeper.records import Books, answer
from rolebar.core.keeper.refresh import Refresher
from rolebar.core.keeper.selection import Selection
from rolebar.core.keeper.sessions import Sessions
from rolebar.core.keeper.sync import SectionSync
from rolebar.core.keeper.typed import TypedCodes
from rolebar.core.sections import found_style
from rolebar.core.settings import DEFAULT_SECTION, SectionSetting, Settings
from rolebar.core.state import KeeperState, Listener, Style
from rolebar.core.timing import JUMP, MIN_WAIT, longest_wait

if TYPE_CHECKING:
    from rolebar.core.credfile import SectionWriter
    from rolebar.core.engine import Engine

log = logging.getLogger(__name__)


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
        # True when someone (the tray) answers code_needed events with submit_code.
        self.answers_codes = answers_codes or prompt is not None
        self._clock = clock
        self._monotonic = monotonic
        if writer is None:
            from rolebar.core.credfile import SectionWriter

            writer = SectionWriter(paths.aws_credentials_file(engine.env))
        self._path = writer.path
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._inbox = Inbox()
        # STS calls and generate_token run off the keeper's thread once started.
        self._jobs = Jobs(self._inbox.post, self._inbox.drain)
        self._books = books = Books()
        self._publisher = Publisher(books, clock)
        self._needs = Needs(books, self._publisher, prompt, self.submit_code)
        self._sessions = Sessions(books, engine, self._jobs, self._needs, self._publisher,
                                  clock, rnd, self._stopping)
        self._refresher = Refresher(books, engine, self._jobs, self._needs, self._sessions,
                                    self._publisher, clock, rnd)
        self._typed = TypedCodes(books, engine, self._jobs, self._needs, self._sessions,
                                 self._refresher)
        self._sync = SectionSync(books, engine, writer, self._publisher, clock,
                                 self._stopping, command)
        self._selection = Selection(books, self.settings, engine, writer, self._needs,
                                    self._sync)
        self._last_wall: float | None = None  # set by the first tick
        self._last_mono = 0.0

    # -- the public API: any thread ---------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._inbox.open()
        self._jobs.inline = False
        self._thread = threading.Thread(target=self._run, name="rolebar-keeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker; an STS call in flight is left to finish on its daemon thread.
        Every request waiting for a code gets None."""
        self._stopping.set()
        self._inbox.wake()
        thread, self._thread = self._thread, None
        if thread is None:
            self._close()  # never started: the caller is the keeper's thread
        elif thread is not threading.current_thread():
            thread.join(timeout)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """See Publisher.subscribe: the current state and what still holds come first."""
        return self._publisher.subscribe(listener)

    def state(self) -> KeeperState:
        return self._publisher.state

    def select(self, profile: str, section: str = DEFAULT_SECTION,
               style: Style | None = None) -> SectionSetting:
        """Keep `section` for `profile` (the section keeps its style unless one is given)."""
        chosen = self.settings.select(profile, section, style, found_style(self._path, section))
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
        """The settings changed (here, or ipc `reload`): apply them now."""
        self._inbox.post(functools.partial(self._selection.apply, force=True))

    def refresh_now(self, section: str | None = None) -> None:
        """Refresh the credentials of `section` (or of every section) now."""
        self._inbox.post(functools.partial(self._refresh_now, section))

    def submit_code(self, device: str, code: str) -> None:
        """A person typed `code` for `device` (the tray's prompt, or the terminal)."""
        self._inbox.post(functools.partial(self._submitted, device, code))

    def request_code(self, device: str, profile: str, timeout: float) -> str | None:
        """Wait for a person to type a code for `device` (ipc `code`); None on timeout.

        Two requests for one device share one need (one notification, one prompt).
        """
        future: Future[str | None] = Future()
        self._inbox.post(functools.partial(self._needs.want, device, profile, future),
                         dropped=functools.partial(answer, future, None))
        try:
            return future.result(timeout)
        except FutureTimeout:
            return None
        finally:
            self._inbox.post(functools.partial(self._needs.cancel, device, future))

    def tick(self) -> float:
        """Run one tick on the calling thread and return the wait before the next one.

        For tests with a fake clock and for tools; never while `start()`ed.
        """
        self._guarded_tick()
        return self._next_wait()

    # -- commands: the keeper's thread ------------------------------------------------------

    def _refresh_now(self, section: str | None) -> None:
        self._refresher.ask(section)
        self._sync.recheck()  # and re-check the sections themselves

    def _submitted(self, device: str, code: str) -> None:
        if not self._needs.answer(device, code, self._clock()):
            self._typed.add(device, code)

    # -- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        log.info("keeper: started (%s)", self.kind)
        try:
            while not self._stopping.is_set():
                self._guarded_tick()
                self._inbox.wait(self._next_wait())
        finally:
            self._close()
        log.info("keeper: stopped")

    def _close(self) -> None:
        self._inbox.close()
        self._needs.close()

    def _guarded_tick(self) -> None:
        """One tick; whatever goes wrong becomes state and an event, never a dead loop."""
        books = self._books
        try:
            self._check_clock()
            self._tick()
            books.problem = None
        except Exception as exc:
            cause = exc.cause if isinstance(exc, RolebarError) else type(exc).__name__
            log.exception("keeper: tick failed")
            if books.problem != cause:
                books.problem = cause
                self._publisher.emit("refresh_failed", "keeper",
                                     f"the keeper hit a problem: {cause}")
            books.wake_in(self._clock(), 1.0)
        try:
            self._publisher.publish()
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
            self._refresher.ask()
            self._sessions.retry_now()
            self._sync.recheck()

    def _tick(self) -> None:
        self._inbox.drain()
        self._selection.apply()
        if self._sync.switching():
            self._sync.write()  # the old role out now, not after the new one's fetch
        self._typed.spend()
        self._sessions.renew()
        for kept in self._refresher.due():
            if self._stopping.is_set():
                return
            if self._refresher.start(kept):
                self._sync.write()  # now, not after the other profiles' STS calls
        self._sync.write()
        self._needs.announce()

    def _next_wait(self) -> float:
        if self._typed.pending() or self._needs.pending():
            return MIN_WAIT
        kept = self._books.kept.values()
        # Work under way wakes the keeper when it ends (jobs.py).
        moments = [k.due for k in kept if not k.busy] + self._sessions.moments()
        longest = longest_wait(k.creds.margin for k in kept if k.creds)
        now = self._clock()
        return max(MIN_WAIT, min([longest, *(m - now for m in moments)]))
