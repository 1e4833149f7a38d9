"""The tray's open code prompts: at most one per MFA device, each in its own process.

A prompt is ``python -m rolebar.tray.dialog`` (the same child core's GuiPrompt starts), so
no GUI toolkit ever runs on pystray's thread. Whatever asked for a code (the keeper's own
refresh, or a `rolebar process` over ipc) waits on the keeper; two requests for the same
device while a prompt is open get that one prompt. A cancelled prompt submits nothing:
the need stays, and so does "Enter MFA code..." in the menu.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
from collections.abc import Callable

from rolebar.core.codes import CodeRequest, dialog_argv, six_digits

log = logging.getLogger(__name__)

Submit = Callable[[str, str], object]


class Prompts:
    def __init__(self, submit: Submit,
                 argv: Callable[[CodeRequest], list[str]] = dialog_argv) -> None:
        self._submit = submit
        self._argv = argv
        self._open: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._closing = False

    def ask(self, device: str, profile: str, reason: str | None = None) -> bool:
        """Open a prompt for `device` unless one is open; True if one was opened.

        `reason` says why it asks again after a typed code did not go through."""
        request = CodeRequest(device, profile, reason)
        with self._lock:
            if self._closing or device in self._open:
                return False
            try:
                child = subprocess.Popen(self._argv(request), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE)
            except OSError as exc:
                log.warning("mfa %s: cannot open the code prompt (%s)", device,
                            exc.strerror or exc)
                return False
            self._open[device] = child
        log.info("mfa %s: asking for a code for profile %s%s", device, profile,
                 f" ({reason})" if reason else "")
        threading.Thread(target=self._wait, args=(device, child), name="rolebar-prompt",
                         daemon=True).start()
        return True

    def close_all(self) -> None:
        with self._lock:
            self._closing = True
            children = list(self._open.values())
        for child in children:
            with contextlib.suppress(OSError):
                child.terminate()

    def _wait(self, device: str, child: subprocess.Popen[bytes]) -> None:
        out, _ = child.communicate()
        with self._lock:
            self._open.pop(device, None)
            closing = self._closing
        code = six_digits(out.decode("utf-8", "replace")) if child.returncode == 0 else None
        if code is None:
            log.info("mfa %s: prompt closed without a code (status %s)", device,
                     child.returncode)
            return
        if closing:
            return
        try:
            self._submit(device, code)
        except Exception:
            log.exception("mfa %s: the keeper refused the code", device)
