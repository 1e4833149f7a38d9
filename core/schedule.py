"""When the keeper acts: refresh deadlines, MFA session lead times, retry backoff.

Pure functions of the times STS returned, so they are tested with plain numbers.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from rolebar.core import credentials

MAX_WAIT = 10.0  # the longest sleep; shorter when credentials are short-lived
MIN_WAIT = 0.05
JUMP = 5.0  # wall clock ran this much further than monotonic time: a suspend or a clock set
FAILS_BEFORE_NOTICE = 3  # refresh_failed after this many failures in a row
SESSION_LEAD = 15 * 60.0


def deadlines(issued: float, expires: float) -> tuple[float, float]:
    """(soft, hard) for credentials valid from `issued` to `expires` (STS's Expiration).

    Readers must always see at least margin = min(15 min, lifetime/2) left, so the section
    must be rewritten before hard = expires - margin. The keeper refreshes at soft =
    hard - margin/2, which leaves half a margin for retries before hard. (The textbook
    soft = hard - margin is the issue time itself for lifetimes under 30 minutes, where
    margin is half the lifetime: it would refresh again at once, in a loop.) 1 h
    credentials: refreshed after 37.5 min; 20 s ones after 5 s.
    """
    margin = credentials.margin(issued, expires)
    hard = expires - margin
    return hard - margin / 2, hard


def session_lead(issued: float, expires: float) -> float:
    """How long before an MFA session ends it is renewed (or a code is asked for).

    15 minutes for real sessions (at least 900 s long), so the person hears of it at
    least 10 minutes ahead; a quarter of the lifetime for short test sessions.
    """
    return min(SESSION_LEAD, (expires - issued) / 4)


def backoff(failures: int, margin: float, rnd: Callable[[], float] = random.random) -> float:
    """Seconds before retry number `failures` (1, 2, ...): exponential, "equal jitter".

    Scaled to the credentials' margin so short test lifetimes retry quickly: 1 h
    credentials retry after ~30 s, 60 s, ... up to 5 min; 20 s ones after ~1 s up to ~3 s.
    """
    base = min(30.0, max(1.0, margin / 30))
    cap = min(300.0, max(2.0, margin / 3))
    delay = min(cap, base * 2.0 ** max(0, failures - 1))
    return delay / 2 + rnd() * delay / 2
