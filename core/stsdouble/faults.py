"""The fault switch: what the next requests meet (an error, a stall, a dropped connection)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULTS = ("500", "throttle", "stall", "reset", "reset-after")
FAULT_ERRORS: dict[str, tuple[str, str, int, str]] = {
    "500": ("InternalFailure", "An internal error has occurred", 500, "Receiver"),
    "throttle": ("Throttling", "Rate exceeded", 400, "Sender"),
}


@dataclass
class _Fault:
    left: int | None  # requests still to hit; None: until clear()
    seconds: float | None = None  # stall only


class FaultSwitch:
    """Faults injected for the next requests of every service on the double's port.

    Shares the double's lock; ``wake`` (set by ``clear`` or the double's ``stop``) cuts
    stalls short.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: dict[str, _Fault] = {}
        self.wake = threading.Event()

    def inject(self, fault: str, count: int | None = None, seconds: float | None = None) -> None:
        """Make the next ``count`` requests (all, if None) meet ``fault``.

        "500": 500 InternalFailure; "throttle": 400 Throttling; "stall": wait ``seconds``
        (default: the double's ``stall_seconds``), then answer; "reset": drop the connection
        without a response, the request unseen; "reset-after": carry the request out (a code
        in it is spent, credentials are issued), then drop the connection without the
        answer. A stall combines with one of the others.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults[fault] = _Fault(count, seconds)

    def clear(self) -> None:
        """Remove every injected fault and release stalled requests."""
        with self._lock:
            self._faults.clear()
            wake, self.wake = self.wake, threading.Event()
        wake.set()

    def take(self, stall_seconds: float) -> tuple[float | None, str | None, threading.Event]:
        """Consume the faults for one request: (seconds to stall, fault to answer with, the
        event that cuts the stall short)."""
        with self._lock:
            stall = self._consume("stall")
            seconds = None
            if stall is not None:
                seconds = stall_seconds if stall.seconds is None else stall.seconds
            fault = next((name for name in ("reset", "reset-after", "500", "throttle")
                          if self._consume(name) is not None), None)
            return seconds, fault, self.wake

    def _consume(self, name: str) -> _Fault | None:
        fault = self._faults.get(name)
        if fault is not None and fault.left is not None:
            fault.left -= 1
            if fault.left <= 0:
                del self._faults[name]
        return fault
