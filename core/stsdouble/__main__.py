"""``python -m rolebar.core.stsdouble --state FILE``: see ``process.main``."""

from __future__ import annotations

from .process import main

if __name__ == "__main__":
    raise SystemExit(main())
