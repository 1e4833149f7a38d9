"""A simulated 8-hour day: three roles behind one MFA device, no `generate_token`, so every
code is asked of the user. rolebar vs the swrole-like baseline, side by side.

Time runs SCALE times faster: the double issues 1-hour role credentials that last
3600/SCALE seconds and 12-hour MFA sessions of 43200/SCALE, and the user's authenticator
(and the double's check of it) steps every 30/SCALE seconds. Each role has one reader that
behaves like an SDK client with `credential_process`: it uses the role every (virtual)
minute and asks for new credentials when its own have less than 15 (virtual) minutes left.
rolebar's reader goes through the engine, with the user as its only code source (as the
tray's prompt would be); the baseline's reader runs one AssumeRole with a code per refresh.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import swrole_like
from bench.common import ROLE_ARNS, aws_setup, log

SCALE = 400
DAY = 8 * 3600 / SCALE  # real seconds
MINUTE = 60 / SCALE
SDK_WINDOW = 15 * 60 / SCALE  # botocore asks credential_process again inside this
LATENCY = 10.0  # real seconds a typed code stays good for (see ScaledDouble)


def _scaled_double(scale: float) -> Any:
    import hmac

    from rolebar.core.stsdouble import StsDouble
    from rolebar.core.stsdouble.totp import decode_secret, hotp, step_at
    from rolebar.core.stsdouble.wire import MSG_BAD_CODE, MSG_NOT_VALIDATED, denied

    class ScaledDouble(StsDouble):  # type: ignore[misc]
        """The double, with MFA devices that tick `scale` times faster than the wall."""

        t0 = time.time()

        def now(self) -> float:
            return self.t0 + (time.time() - self.t0) * scale

        # StsDouble._check_code's rules (the owner's device, each step once) on the scaled
        # clock. The window reaches LATENCY real seconds back instead of one step: a tool
        # takes a moment from reading the code to sending it (botocore alone builds a client
        # in ~0.1 s), which is nothing against a real 30-second step.
        def _check_code(self, serial: str, code: str, owner: Any) -> None:
            self._codes_seen.setdefault(serial, []).append(code)
            if self._devices.get(serial) is not owner or owner.totp_secret is None:
                raise denied(MSG_NOT_VALIDATED)
            key, now = decode_secret(owner.totp_secret), step_at(self.now())
            back = math.ceil(LATENCY * scale / 30)
            steps = {s for s in range(now - back, now + 2)
                     if hmac.compare_digest(hotp(key, s), code)}
            if not steps:
                raise denied(MSG_BAD_CODE)
            used = self._used_steps.setdefault(serial, set())
            if steps & used:
                raise denied(MSG_NOT_VALIDATED)
            used |= steps

    return ScaledDouble(role_lifetime=int(3600 / scale), session_lifetime=int(43200 / scale))


class Person:
    """The user at the keyboard: reads the authenticator whenever asked."""

    def __init__(self, double: Any, user: Any) -> None:
        self.double, self.user = double, user
        self.asked = 0
        self._lock = threading.Lock()

    def ask(self) -> str:
        from rolebar.core.stsdouble import totp

        with self._lock:
            self.asked += 1
        return str(totp(self.user.totp_secret, self.double.now()))


class PersonSource:
    """rolebar's code source for the person (the tray's prompt, in real life)."""

    name = "user"
    on_repeat = "ask"

    def __init__(self, person: Person) -> None:
        self.person = person

    def get(self, request: Any) -> str | None:
        return self.person.ask()


class Reader:
    """One SDK client using one role all day; records what it was handed."""

    def __init__(self, fetch: Callable[[], float]) -> None:
        self.fetch = fetch  # returns the expiry (epoch seconds) of what it got
        self.least = float("inf")  # smallest remaining lifetime handed over (real seconds)
        self.expired_uses = 0
        self.errors = 0
        self.refreshes = 0
        self.first_error = ""

    def run(self, end: float) -> None:
        expires = 0.0
        while (now := time.time()) < end:
            if expires - now < SDK_WINDOW:
                try:
                    expires = self.fetch()
                    self.refreshes += 1
                    self.least = min(self.least, expires - time.time())
                except Exception as exc:  # noqa: BLE001 - a failed refresh: the SDK retries
                    self.errors += 1
                    self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"
            if time.time() >= expires:
                self.expired_uses += 1
            time.sleep(MINUTE)


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """rolebar's STS client reads the endpoint from the process environment."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def measure() -> list[dict[str, object]]:
    from rolebar.core.cache import Cache
    from rolebar.core.engine import Engine

    double = _scaled_double(SCALE)
    for arn in ROLE_ARNS:
        double.add_role(arn, require_mfa=True)
    double.start()
    try:
        with aws_setup(double, ["rb", "sw"], roles=ROLE_ARNS) as setup, _environ(setup.env):
            rb_person = Person(double, setup.users["rb"])
            sw_person = Person(double, setup.users["sw"])
            cache = Cache(Path(tempfile.mkdtemp(prefix="rolebar-day-cache-")))
            engine = Engine(setup.env, cache=cache, interactive=False,
                            extra_sources=[PersonSource(rb_person)])

            def rolebar(profile: str) -> Callable[[], float]:
                return lambda: engine.credentials(profile).expires

            def baseline(profile: str) -> Callable[[], float]:
                return lambda: swrole_like.assume(profile, env=setup.env,
                                                  ask=sw_person.ask)["Expiration"].timestamp()

            readers = {"rolebar": [Reader(rolebar(f"rb-{i}")) for i in range(3)],
                       "swrole-like": [Reader(baseline(f"sw-{i}")) for i in range(3)]}
            log(f"b_day: an 8-hour day in {DAY:.0f} s, 3 roles per tool")
            end = time.time() + DAY
            threads = [threading.Thread(target=r.run, args=(end,), name="bench-day-reader")
                       for group in readers.values() for r in group]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        double.stop()

    def summary(name: str) -> dict[str, float]:
        group = readers[name]
        return {"least": min(r.least for r in group) * SCALE / 60,
                "expired": sum(r.expired_uses for r in group),
                "errors": sum(r.errors for r in group),
                "refreshes": sum(r.refreshes for r in group)}

    rb, sw = summary("rolebar"), summary("swrole-like")

    def ratio(a: float, b: float) -> float | None:
        return a / b if b else None

    return [
        {"name": "8-hour day, 3 roles, 1 MFA device: codes asked, rolebar",
         "value": rb_person.asked, "unit": "codes", "baseline": f"swrole-like {sw_person.asked}",
         "ratio": ratio(rb_person.asked, sw_person.asked),
         "note": f"time x{SCALE}; {rb['refreshes']:.0f} refreshes, {rb['errors']:.0f} failed"},
        {"name": "8-hour day: codes asked, swrole-like", "value": sw_person.asked,
         "unit": "codes", "note": f"{sw['refreshes']:.0f} refreshes, {sw['errors']:.0f} failed "
                                  "(a code typed twice in one step is refused)"},
        {"name": "8-hour day: least lifetime a reader was handed, rolebar",
         "value": rb["least"], "unit": "min", "baseline": f"swrole-like {sw['least']:.0f} min",
         "ratio": ratio(rb["least"], sw["least"]),
         "note": "virtual minutes of a 60-min credential; rolebar promises >= min(15 min, half "
                 "the lifetime): at this scale the half applies"},
        {"name": "8-hour day: uses with expired credentials, rolebar", "value": rb["expired"],
         "unit": "uses", "baseline": f"swrole-like {sw['expired']:.0f}",
         "note": "one use per reader per virtual minute"},
    ]
