"""Every time rule of rolebar in one place: freshness, deadlines, leads, retries, waits.

Pure functions of the times STS returned (POSIX seconds), so they are tested with plain
numbers. The cached `credential_process` path imports this module, so it imports nothing
(`random` only when a backoff is drawn without a given source).

How the rules fit together (tests/unit/test_timing.py pins it):

- margin = min(15 min, lifetime/2): a reader is never handed credentials with less left
  (DESIGN.md section 4). The fast path, the endpoint and the cache stop answering at
  `fresh_until` = expires - margin, which is the keeper's hard deadline.
- The keeper refreshes at the soft deadline, half a margin before the hard one; its
  longest wait (a quarter margin, at most MAX_WAIT) and a first retry fit in between.
- An MFA session is renewed `session_lead` before it ends, earlier than any refresh
  would find it unusable (`usable_until` keeps a smaller slack).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs as much as starting Python
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

MAX_MARGIN = 15 * 60.0  # the most a reader is promised, whatever the lifetime
SESSION_LEAD = 15 * 60.0  # an MFA session's renewal lead: the person hears of it >= 10 min ahead
USE_SLACK = 30.0  # time an STS call signed with these credentials may still take

MAX_WAIT = 10.0  # the keeper's longest sleep; shorter when credentials are short-lived
MIN_WAIT = 0.05
JUMP = 5.0  # wall clock ran this much further than monotonic time: a suspend or a clock set
FAILS_BEFORE_NOTICE = 3  # refresh_failed after this many failures in a row


def margin(issued: float, expires: float) -> float:
    """A reader always gets at least this much lifetime (DESIGN.md section 4)."""
    return min(MAX_MARGIN, (expires - issued) / 2)


def fresh_until(issued: float, expires: float) -> float:
    """The last moment a reader may be handed these credentials."""
    return expires - margin(issued, expires)


def deadlines(issued: float, expires: float) -> tuple[float, float]:
    """(soft, hard) for credentials valid from `issued` to `expires` (STS's Expiration).

    The section must be rewritten before hard = fresh_until. The keeper refreshes at
    soft = hard - margin/2, which leaves half a margin for retries before hard. (The
    textbook soft = hard - margin is the issue time itself for lifetimes under 30
    minutes, where margin is half the lifetime: it would refresh again at once, in a
    loop.) 1 h credentials: refreshed after 37.5 min; 20 s ones after 5 s.
    """
    hard = fresh_until(issued, expires)
    return hard - margin(issued, expires) / 2, hard


def usable_until(issued: float, expires: float, slack: float = USE_SLACK) -> float:
    """The last moment these credentials may sign one more STS call.

    The slack (at most an eighth of the lifetime) stays under `session_lead`, so a
    session is renewed ahead of time before any refresh finds it unusable, also for
    the short sessions of the tests.
    """
    return expires - min(slack, (expires - issued) / 8)


def session_lead(issued: float, expires: float) -> float:
    """How long before an MFA session ends it is renewed (or a code is asked for).

    15 minutes for real sessions (at least 900 s long), so the person hears of it at
    least 10 minutes ahead; a quarter of the lifetime for short test sessions.
    """
    return min(SESSION_LEAD, (expires - issued) / 4)


def backoff(failures: int, scale: float, rnd: Callable[[], float] | None = None) -> float:
    """Seconds before retry number `failures` (1, 2, ...): exponential, "equal jitter".

    Scaled to the credentials' margin (or a session's lead) so short test lifetimes
    retry quickly: 1 h credentials retry after ~30 s, 60 s, ... up to 5 min; 20 s ones
    after ~1 s up to ~3 s.
    """
    if rnd is None:
        import random  # not at import time: the fast path imports this module

        rnd = random.random
    base = min(30.0, max(1.0, scale / 30))
    cap = min(300.0, max(2.0, scale / 3))
    delay = min(cap, base * 2.0 ** max(0, failures - 1))
    return delay / 2 + rnd() * delay / 2


def seconds_setting(env: Mapping[str, str], name: str, default: float) -> float:
    """A timeout the user sets in the environment variable `name`, or `default`.

    Raises ConfigError naming the variable unless it is a positive, finite number.
    """
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value > 0 and value != float("inf")):  # nan compares false with everything
        from rolebar.core.errors import ConfigError  # only on a mistake: see the docstring

        raise ConfigError(name, f"must be a number of seconds, not {raw!r}")
    return value


def span(seconds: float) -> str:
    """A stretch of time as rolebar says it (tray, status, notices): whole minutes rounded
    up, so the last seconds are "1 min" and never "0 min" early; hours past the first."""
    minutes = max(0, int(-(-seconds // 60)))  # ceil without math
    if minutes <= 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def longest_wait(margins: Iterable[float]) -> float:
    """The keeper's longest sleep: a quarter of the shortest margin, 1 s to MAX_WAIT.

    Short: it bounds how late the keeper notices a suspend/resume or a stale restore.
    """
    return min([MAX_WAIT, *(max(1.0, m / 4) for m in margins)])
