"""The keeper: keeps each selected section of the credentials file fresh (see keeper.py)."""

from __future__ import annotations

from rolebar.core.keeper.keeper import TYPED, Keeper

__all__ = ["TYPED", "Keeper"]
