"""The keeper: keeps each selected section of the credentials file fresh.

Its parts, each with one job (keeper.py says how a tick uses them):

- keeper.py     Keeper: the public API (posts commands), the worker loop, the tick
- inbox.py      commands from other threads, run on the keeper's thread in order
- jobs.py       work that may block (STS, generate_token), off the keeper's thread
- records.py    the books: kept profiles, sections, MFA sessions, code needs
- selection.py  the settings applied: which sections, which profiles
- refresh.py    role credentials: soft deadlines, backoff, "refresh now"
- sessions.py   MFA sessions renewed ahead of their end
- typed.py      codes a person typed, spent on the session or the role
- needs.py      code needs and the requests waiting on them; announcing; keep's prompt
- sync.py       sections written, restored, refused; role switches
- publish.py    the state (health per section) and events to subscribers
- announced.py  one-time events replayed to late subscribers
"""

from __future__ import annotations

from rolebar.core.keeper.keeper import Keeper

__all__ = ["Keeper"]
