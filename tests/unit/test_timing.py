"""The time rules (core/timing.py) with plain numbers, and how they fit together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rolebar.core import timing
from rolebar.core.credentials import Credentials
from rolebar.core.timing import backoff, deadlines, fresh_until, margin, session_lead

T0 = 1_800_000_000.0
# 20 s and 40 s: the tests' and the bench's credentials; 900 s to 12 h: what STS hands out.
LIFETIMES = [20, 40, 180, 900, 1200, 1799, 1800, 3600, 43200, 129600]


@pytest.mark.parametrize("lifetime", LIFETIMES)
def test_the_freshness_margin_and_the_renewal_lead_fit_together(lifetime: float) -> None:
    """The relation every other rule leans on (DESIGN.md section 4).

    A reader is handed credentials only until fresh_until (the fast path, the endpoint
    and the cache all stop there); the keeper must have written new ones by then. So the
    hard deadline is that same moment, the refresh starts half a margin earlier, and
    within that half margin the keeper wakes (its longest wait) and a first failed call
    is retried. An MFA session is renewed before it gets too short to sign a call.
    """
    issued, expires = T0, T0 + lifetime
    m = margin(issued, expires)
    soft, hard = deadlines(issued, expires)
    assert m == min(900, lifetime / 2)
    assert hard == fresh_until(issued, expires) == expires - m
    assert issued < soft < hard
    lead = hard - soft
    assert lead == pytest.approx(m / 2)
    assert timing.longest_wait([m]) + backoff(1, m, lambda: 1.0) <= lead
    assert session_lead(issued, expires) > expires - timing.usable_until(issued, expires)
    # The credentials object answers with the same rules.
    creds = Credentials("ASIAEXAMPLE0000001", "s", "t", issued, expires)
    assert creds.margin == m
    assert creds.fresh(hard - 1e-3) and not creds.fresh(hard)
    assert creds.usable(soft) and creds.usable(hard)


def test_deadlines_for_real_and_test_lifetimes() -> None:
    assert deadlines(T0, T0 + 3600) == (T0 + 2250, T0 + 2700)
    assert deadlines(T0, T0 + 20) == (T0 + 5, T0 + 10)


@pytest.mark.parametrize("lifetime", LIFETIMES)
def test_a_refresh_never_falls_due_at_the_issue_time(lifetime: float) -> None:
    soft, _ = deadlines(T0, T0 + lifetime)
    assert soft - T0 >= lifetime / 4 - 1e-9  # else the keeper would refresh in a loop


def test_session_lead_is_ten_minutes_or_more_for_real_sessions() -> None:
    assert session_lead(T0, T0 + 43200) == 900
    assert session_lead(T0, T0 + 3600) == 900
    assert session_lead(T0, T0 + 180) == 45


def test_backoff_grows_with_jitter_and_stays_capped() -> None:
    lows = [backoff(n, 900, lambda: 0.0) for n in range(1, 12)]
    highs = [backoff(n, 900, lambda: 1.0) for n in range(1, 12)]
    assert lows[0] == 15 and highs[0] == 30
    assert lows == sorted(lows) and max(highs) == 300
    assert backoff(1, 10, lambda: 1.0) == 1.0
    assert all(0.5 <= backoff(n, 10) <= 10 / 3 for n in range(1, 20))  # the default source


def test_the_longest_wait_follows_the_shortest_margin() -> None:
    assert timing.longest_wait([]) == timing.MAX_WAIT
    assert timing.longest_wait([900, 10]) == 2.5
    assert timing.longest_wait([2]) == 1.0  # never a busy loop


def test_importing_timing_pulls_in_nothing() -> None:
    # The fast path imports it; `-S` keeps site's own imports out of the count (and
    # `__future__`, which the fast path loads anyway, is a few constants).
    layout = Path(__file__).parents[2] / ".typecheck"
    probe = (f"import sys; sys.path.insert(0, {str(layout)!r}); before = set(sys.modules);"
             "import rolebar.core.timing;"
             "print(sorted(m for m in set(sys.modules) - before"
             " if m.split('.')[0] not in ('rolebar', '__future__')))")
    out = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out == "[]\n"


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "0 min"), (0, "0 min"), (1, "1 min"), (60, "1 min"), (61, "2 min"), (3600, "60 min"),
    (3601, "1 h 01 min"), (11 * 3600, "11 h 00 min"),
])
def test_a_span_is_said_in_whole_minutes_rounded_up(seconds: float, text: str) -> None:
    assert timing.span(seconds) == text


def test_status_and_the_tray_say_time_left_alike() -> None:
    from rolebar.core.commands import status
    from rolebar.tray import menu

    for seconds in (30, 47 * 60, 65 * 60):
        assert status.left(T0 + seconds, T0) == menu.time_left(T0 + seconds, T0)
    assert status.left(T0 - 1, T0) == menu.time_left(T0 - 1, T0) == "expired"
    assert status.left(None, T0) == "none"  # the tray shows nothing instead
