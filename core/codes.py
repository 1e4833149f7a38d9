"""Where a one-time code comes from, and the guard that never sends one twice.

Sources form a resolver chain (like botocore's credential providers): each returns a code
or None to pass on. Order (DESIGN.md section 3): `-t`, `generate_token`, the running
tray, a GUI prompt where a display exists, the terminal. The guard remembers, per MFA
device and across processes, which codes were sent lately; a source that repeats one is
asked again after the next 30-second step.
"""

from __future__ import annotations

import getpass
import hashlib
import importlib.util
import logging
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rolebar.core.bounded import MAX_OUTPUT, run_bounded
from rolebar.core.cache import Cache, entry_name
from rolebar.core.errors import CodeReusedError, ConfigError, NoCodeError
from rolebar.core.interactive import has_display, has_terminal
from rolebar.core.timing import seconds_setting

log = logging.getLogger(__name__)

STEP = 30
SIX_DIGITS = re.compile(r"[0-9]{6}")  # ASCII only: \d also matches other scripts
# Long enough for a password manager to show its unlock prompt and for a person to answer.
DEFAULT_COMMAND_TIMEOUT = 120.0
PROMPT_TIMEOUT = 300.0
REMEMBER = 4 * STEP  # STS accepts a code for about three steps
DIALOG_MODULE = "rolebar.tray.dialog"  # the tray's, started as a child (core never imports it)


@dataclass(frozen=True)
class CodeRequest:
    device: str
    profile: str
    reason: str | None = None  # why it asks again: REUSED or WRONG

    @property
    def message(self) -> str:
        """What prompts show: why it asks again, the profile and the device, nothing else."""
        why = f"{self.reason[:1].upper()}{self.reason[1:]}. " if self.reason else ""
        return f"{why}One-time code for {self.device} (profile {self.profile})"


# Why a prompt is opened again after a typed code did not go through.
REUSED = "that code was already used; wait for the next one"
WRONG = "that code was wrong"


class CodeSource(Protocol):
    """A source may also define `available() -> bool`; unavailable ones are skipped."""

    name: str
    # After a repeated code: "step" waits for the next step and asks again, "ask" asks
    # again at once (a person reads the hint), "never" fails (a fixed `-t` code).
    on_repeat: str

    def get(self, request: CodeRequest) -> str | None: ...


def six_digits(text: str) -> str | None:
    text = text.strip()
    return text if SIX_DIGITS.fullmatch(text) else None


def given_code(profile: str, code: str | None) -> str | None:
    """A code given by a person (`-t`), checked before anything is called or claimed."""
    if code is None:
        return None
    if (checked := six_digits(code)) is None:
        raise ConfigError(f"profile {profile}", "a one-time code is 6 digits")
    return checked


class GivenCode:
    """A code given once: the `-t CODE` of the command line, or one typed into a prompt
    that the keeper passes on (`name` says which, for the log)."""

    on_repeat = "never"

    def __init__(self, code: str, name: str = "-t") -> None:
        self._code = code
        self.name = name

    def get(self, request: CodeRequest) -> str | None:
        return self._code


@dataclass(frozen=True)
class Attempt:
    """One run of a code command: the code, or why there is none (never the output)."""

    code: str | None
    failure: Literal["timeout", "missing", "cannot-run", "status", "garbage"] | None = None
    detail: str = ""


class CommandCode:
    """swrole's `generate_token` (aws-vault's `mfa_process`), run without a shell."""

    name = "generate_token"
    on_repeat = "step"

    def __init__(self, argv: Sequence[str], timeout: float | None = None) -> None:
        self.argv = list(argv)
        self.timeout = timeout or command_timeout(os.environ)

    def attempt(self, env: Mapping[str, str] | None = None) -> Attempt:
        program = self.argv[0]
        try:
            done = run_bounded(self.argv, self.timeout, env)
        except subprocess.TimeoutExpired:
            return Attempt(None, "timeout", f"no answer within {self.timeout:.0f} s")
        except FileNotFoundError:
            return Attempt(None, "missing", f"{program!r} not found")
        except OSError as exc:
            return Attempt(None, "cannot-run", f"cannot run ({exc.strerror})")
        if done.overflow:
            return Attempt(None, "garbage", f"printed more than a code (over {MAX_OUTPUT} bytes)")
        if done.returncode != 0:
            return Attempt(None, "status", f"exited with status {done.returncode}")
        code = six_digits(done.stdout.decode("utf-8", "replace"))
        return Attempt(code) if code else Attempt(None, "garbage", "printed no 6-digit code")

    def get(self, request: CodeRequest) -> str | None:
        result = self.attempt()
        if result.failure:
            log.warning("profile %s: generate_token %r: %s", request.profile, self.argv[0],
                        result.detail)
        return result.code


def command_timeout(env: Mapping[str, str]) -> float:
    """`ROLEBAR_TOKEN_TIMEOUT` (seconds), or the default; raises ConfigError if garbled."""
    return seconds_setting(env, "ROLEBAR_TOKEN_TIMEOUT", DEFAULT_COMMAND_TIMEOUT)


def dialog_argv(request: CodeRequest) -> list[str]:
    """The code dialog's process (core's GuiPrompt and the tray's prompts): the message
    names the profile and the device, never a code."""
    return [sys.executable, "-m", DIALOG_MODULE, "--message", request.message]


class GuiPrompt:
    """A dialog in a subprocess (`python -m rolebar.tray.dialog`), when a display exists."""

    name = "prompt"
    on_repeat = "ask"
    module = DIALOG_MODULE

    def available(self) -> bool:
        return has_display() and importlib.util.find_spec(self.module) is not None

    def get(self, request: CodeRequest) -> str | None:
        if not self.available():
            return None
        try:
            done = subprocess.run(dialog_argv(request), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, timeout=PROMPT_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return six_digits(done.stdout.decode()) if done.returncode == 0 else None


class TerminalPrompt:
    """The controlling terminal: reads and writes `/dev/tty`, never stdout."""

    name = "terminal"
    on_repeat = "ask"

    def available(self) -> bool:
        return has_terminal()

    def get(self, request: CodeRequest) -> str | None:
        if not self.available():
            return None
        try:
            # getpass reads and writes /dev/tty when it can open it, with echo off.
            answer = getpass.getpass(f"{request.message}: ")
        except (EOFError, KeyboardInterrupt, OSError):
            return None
        return six_digits(answer)


class Guard:
    """Per-device memory of the codes sent lately, shared by every rolebar process."""

    def __init__(self, cache: Cache, clock: Callable[[], float] = time.time) -> None:
        self._cache = cache
        self._clock = clock

    def claim(self, device: str, code: str) -> bool:
        """Record `code` as sent; False if it was sent lately and must not go again."""
        name = entry_name("guard", device=device)
        digest = _digest(device, code)
        with self._cache.lock(name):
            now = self._clock()
            used = [(d, t) for d, t in _used(self._cache.load(name), device)
                    if now - t < REMEMBER]
            if any(d == digest for d, _ in used):
                return False
            used.append((digest, now))
            self._cache.store(name, {"used": used})
        return True

    def was_used(self, device: str, code: str) -> bool:
        """Whether `code` was sent lately (read only: `rolebar demo --code` asks)."""
        digest = _digest(device, code)
        now = self._clock()
        entry = self._cache.load(entry_name("guard", device=device))
        return any(d == digest and now - t < REMEMBER for d, t in _used(entry, device))


def _digest(device: str, code: str) -> str:
    return hashlib.sha256(f"{device}\0{code}".encode()).hexdigest()


def _used(entry: dict[str, Any] | None, device: str) -> list[tuple[str, float]]:
    """The guard entry's (digest, time) pairs. An entry of another shape (edited, or
    written by another version) would otherwise block every code: it counts as empty
    and is rewritten by the claim that reads it."""
    pairs = (entry or {}).get("used", [])
    if isinstance(pairs, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
            and isinstance(p[1], (int, float)) and not isinstance(p[1], bool)
            and math.isfinite(p[1]) for p in pairs):
        return [(d, float(t)) for d, t in pairs]
    log.warning("mfa %s: the record of used codes had an unexpected shape; starting afresh",
                device)
    return []


@dataclass
class CodeChain:
    sources: Sequence[CodeSource]
    guard: Guard
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def obtain(self, request: CodeRequest) -> tuple[str, CodeSource]:
        """The first fresh code any source gives, claimed in the guard."""
        tried = []
        for source in self.sources:
            if not getattr(source, "available", lambda: True)():
                continue
            tried.append(source.name)
            for _ in range(3):
                code = source.get(request)
                if code is None:
                    log.debug("mfa %s: %s gave no code", request.device, source.name)
                    break
                if self.guard.claim(request.device, code):
                    log.info("mfa %s: code from %s", request.device, source.name)
                    return code, source
                if source.on_repeat == "never":
                    raise CodeReusedError(
                        f"profile {request.profile}",
                        "that one-time code was already used; wait for the next one",
                    )
                if source.on_repeat == "step":
                    wait = STEP - self.clock() % STEP + 0.5
                    log.info("mfa %s: %s repeated a used code; waiting %.0f s for the next",
                             request.device, source.name, wait)
                    self.sleep(wait)
        hint = f"tried {', '.join(tried)}" if tried else \
            "pass -t CODE, set generate_token, or run the tray"
        raise NoCodeError(f"profile {request.profile}",
                          f"no one-time code for {request.device} ({hint})")


def default_sources(given: str | None, command: Sequence[str] | None,
                    extra: Sequence[CodeSource] = (), interactive: bool = True,
                    given_from: str = "-t") -> list[CodeSource]:
    """The chain of DESIGN.md section 3; `extra` (the running tray) goes before prompts.
    `given_from` names where `given` came from (`-t`, or the prompt the keeper read)."""
    sources: list[CodeSource] = []
    if given is not None:
        sources.append(GivenCode(given, given_from))
    if command:
        sources.append(CommandCode(command))
    sources.extend(extra)
    if interactive:
        sources.extend([GuiPrompt(), TerminalPrompt()])
    return sources

