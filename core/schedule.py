"""The keeper's time rules, now in `timing` (one module the fast path can import too).

Kept so older imports keep working; new code imports `rolebar.core.timing`.
"""

from __future__ import annotations

from rolebar.core.timing import (
    FAILS_BEFORE_NOTICE,
    JUMP,
    MAX_WAIT,
    MIN_WAIT,
    SESSION_LEAD,
    backoff,
    deadlines,
    longest_wait,
    session_lead,
)

__all__ = ["FAILS_BEFORE_NOTICE", "JUMP", "MAX_WAIT", "MIN_WAIT", "SESSION_LEAD", "backoff",
           "deadlines", "longest_wait", "session_lead"]
