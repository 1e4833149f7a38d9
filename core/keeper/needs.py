"""Code needs and waits: who waits for a one-time code, and telling a person once.

A need is per MFA device. The keeper has its own (a refresh or a session renewal that
generate_token could not serve); ipc `code` requests wait on the same need (one
notification, one prompt), each with a future that the code a person types answers. A
need is announced once (`code_needed`, unless `session_ending` already said it); `rolebar
keep` in a terminal also prompts there, on a thread of its own that hands the code back
as a command.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

from rolebar.core.codes import CodeRequest
from rolebar.core.keeper.publish import Publisher
from rolebar.core.keeper.records import Books, Need, answer
from rolebar.core.state import EventKind

log = logging.getLogger(__name__)

Prompt = Callable[[CodeRequest], "str | None"]


class Needs:
    def __init__(self, books: Books, publisher: Publisher, prompt: Prompt | None,
                 typed: Callable[[str, str], None]) -> None:
        self._books = books
        self._publisher = publisher
        self._prompt = prompt
        self._typed = typed  # hands a code typed at the prompt to the keeper (a command)
        self._asking: Future[None] | None = None  # the prompt on screen, if any

    def need(self, device: str, profile: str, kind: EventKind, message: str,
             again: bool = False, reason: str | None = None) -> None:
        """The keeper itself needs a code for `device` (`again`: announce it anew)."""
        need = self._books.needs.get(device)
        if need is None:
            need = self._books.needs[device] = Need(device, profile)
        need.own = True
        if again:
            need.announced, need.reason = False, reason
        if not need.announced:
            need.kind, need.message = kind, message

    def met(self, device: str, profile: str | None = None) -> None:
        """The keeper's own need for `device` (raised for `profile`) is met."""
        need = self._books.needs.get(device)
        if need is None or (profile is not None and need.profile != profile):
            return
        need.own = False
        if not need.waiters:
            del self._books.needs[device]

    def drop_profile(self, profile: str) -> None:
        """`profile` is no longer kept: its own needs go (requests keep theirs)."""
        for device, need in list(self._books.needs.items()):
            if need.profile == profile and need.own:
                self.met(device)

    def want(self, device: str, profile: str, future: Future[str | None]) -> None:
        """An ipc request waits for a code for `device`: `future` gets it."""
        need = self._books.needs.get(device)
        if need is None:
            need = self._books.needs[device] = Need(device, profile)
        need.waiters.append(future)
        log.info("mfa %s: another process waits for a code for profile %s (%d waiting)",
                 device, profile, len(need.waiters))

    def cancel(self, device: str, future: Future[str | None]) -> None:
        """A request stopped waiting (answered, timed out)."""
        need = self._books.needs.get(device)
        if need is None or future not in need.waiters:
            return
        need.waiters.remove(future)
        if not need.own and not need.waiters:
            del self._books.needs[device]

    def answer(self, device: str, code: str, now: float) -> bool:
        """Hand `code` to the requests waiting for it; False if none waits.

        Another process blocks on it (an IDE's `rolebar process`): it goes there first.
        Its MFA session lands in the shared cache; the keeper's own need, if any, is tried
        again shortly and comes back only if still unmet.
        """
        need = self._books.needs.get(device)
        if need is None or not need.waiters:
            return False
        for future in need.waiters:
            answer(future, code)
        del self._books.needs[device]
        for kept in self._books.users(device):
            kept.due = min(kept.due, now + 2.0)
        return True

    def close(self) -> None:
        """The keeper stops: every waiting request gets None."""
        for need in self._books.needs.values():
            for future in need.waiters:
                answer(future, None)
            need.waiters.clear()

    def pending(self) -> bool:
        """A need is not announced yet."""
        return any(not n.announced for n in self._books.needs.values())

    def announce(self) -> None:
        """Announce new needs (once each), and prompt on the terminal where `keep` has one."""
        fresh = [n for n in self._books.needs.values() if not n.announced]
        for need in fresh:
            need.announced = True
        for need in fresh:
            if need.kind != "session_ending":  # session_ending was sent with its own text
                self._publisher.emit("code_needed", need.device, need.message or
                                     f"profile {need.profile} needs a one-time code for "
                                     f"{need.device}")
        first = next(iter(self._books.needs.values()), None)
        if self._prompt is not None and first is not None and not self.prompting():
            self._asking = Future()
            request = CodeRequest(first.device, first.profile, first.reason)
            threading.Thread(target=self._ask, args=(self._prompt, request, self._asking),
                             name="rolebar-keeper-prompt", daemon=True).start()

    def prompting(self) -> bool:
        """The terminal prompt is on screen."""
        return self._asking is not None and not self._asking.done()

    def _ask(self, prompt: Prompt, request: CodeRequest, asking: Future[None]) -> None:
        """The prompt's own thread: it touches no books, it hands the code on."""
        try:
            code = prompt(request)
            if code:
                self._typed(request.device, code)
        except Exception:
            log.exception("mfa %s: the prompt failed", request.device)
        finally:
            asking.set_result(None)
