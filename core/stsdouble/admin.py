"""The admin channel of process mode: ``/_double/PATH`` (loopback only, unsigned) reads
counters, injects faults and changes lifetimes (see process.py for the paths)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .double import StsDouble


def answer(double: StsDouble, path: str, params: dict[str, str]) -> tuple[int, Any]:
    """(HTTP status, JSON payload) for ``/_double/PATH``."""
    readers = {"counts": lambda: double.counts, "codes_seen": lambda: double.codes_seen,
               "calls": lambda: [asdict(call) for call in double.calls],
               "secrets": double.secrets}
    if path in readers:
        return 200, readers[path]()
    try:
        if path == "clear":
            double.clear()
        elif path == "inject":
            count, seconds = params.get("count"), params.get("seconds")
            double.inject(params.get("fault", ""), int(count) if count else None,
                          float(seconds) if seconds else None)
        elif path == "config":
            return 200, _configure(double, params)
        else:
            return 404, {"error": f"no admin path {path!r}"}
    except ValueError as exc:
        return 400, {"error": str(exc)}
    return 200, {"ok": True}


def _configure(double: StsDouble, params: dict[str, str]) -> dict[str, float]:
    if "role_lifetime" in params:
        double.role_lifetime = int(params["role_lifetime"])
    if "session_lifetime" in params:
        double.session_lifetime = int(params["session_lifetime"])
    if "stall_seconds" in params:
        double.stall_seconds = float(params["stall_seconds"])
    return {"role_lifetime": double.role_lifetime, "session_lifetime": double.session_lifetime,
            "stall_seconds": double.stall_seconds}
