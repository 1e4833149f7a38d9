"""What this process can ask a person through: a display, a terminal.

One answer for every place that asks (the code sources, the dialog child, `rolebar keep`,
the tray's backend check, `rolebar doctor`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def has_display(env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """False where windows need an X11 or Wayland display and none is named."""
    if platform.startswith("linux") or "bsd" in platform:
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True


def has_terminal() -> bool:
    """True if this process has a controlling terminal to prompt on (`/dev/tty`)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True
