"""Ask the user for a one-time code in a dialog: ``python -m rolebar.tray.dialog --message M``.

Core (codes.GuiPrompt) and the tray (prompts.py) start this module as a subprocess, built
by ``codes.dialog_argv`` (GUI toolkits do not belong on the engine's or pystray's thread).
The contract: the 6-digit code on stdout and exit 0; exit 1 when the user cancels or gives
no valid code; exit 2 when no dialog can be shown. The message names the profile and the
device only; the code never travels in an argument.

One tiny driver per dialog tool, in preference order per platform; ``ROLEBAR_PROMPT``
(zenity, kdialog, tk, osascript, powershell) picks one explicitly.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Protocol

from rolebar.core.interactive import has_display

TITLE = "rolebar"
ATTEMPTS = 3
RETRY_HINT = "That was not a 6-digit code. "
ENV = "ROLEBAR_PROMPT"
_SEPARATORS = re.compile(r"[\s-]")
_SIX = re.compile(r"[0-9]{6}")  # not \d: STS wants ASCII digits, not any Unicode Nd


class Driver(Protocol):
    name: str

    def available(self) -> bool: ...

    def ask(self, message: str) -> str | None:
        """The text the user entered, or None if they cancelled."""


def normalise(text: str) -> str | None:
    """Six digits, accepting the "123 456" and "123-456" that authenticator apps show."""
    digits = _SEPARATORS.sub("", text)
    return digits if _SIX.fullmatch(digits) else None


# -- running a dialog tool --------------------------------------------------------------

_child: subprocess.Popen[bytes] | None = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Linux: the dialog goes when this process goes, even if it is SIGKILLed on a timeout."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_dialog(argv: Sequence[str], env: dict[str, str] | None = None) -> str | None:
    """Run a dialog tool; its stdout on exit 0, None on any other exit (cancel)."""
    global _child
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    _child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              env=env, preexec_fn=preexec)
    try:
        out, _ = _child.communicate()
    finally:
        code, _child = _child.returncode, None
    return out.decode("utf-8", "replace") if code == 0 else None


class _Command:
    """A driver that is one external program."""

    name = ""
    program = ""

    def available(self) -> bool:
        return has_display() and shutil.which(self.program) is not None

    def argv(self, message: str) -> list[str]:
        raise NotImplementedError

    def ask(self, message: str) -> str | None:
        return run_dialog(self.argv(message))


class Zenity(_Command):
    name = program = "zenity"

    def argv(self, message: str) -> list[str]:
        # zenity's entry label takes "_" as a mnemonic marker (no markup): double it.
        return ["zenity", "--entry", "--hide-text", f"--title={TITLE}",
                f"--text={message.replace('_', '__')}", "--width=380"]


class Kdialog(_Command):
    name = program = "kdialog"

    def argv(self, message: str) -> list[str]:
        return ["kdialog", "--title", TITLE, "--password", message]


class Osascript(_Command):
    name = program = "osascript"

    def available(self) -> bool:
        return sys.platform == "darwin" and shutil.which(self.program) is not None

    def argv(self, message: str) -> list[str]:
        script = (
            f"display dialog {applescript_string(message)} with title "
            f"{applescript_string(TITLE)} default answer \"\" with hidden answer "
            "buttons {\"Cancel\", \"OK\"} default button \"OK\" cancel button \"Cancel\"\n"
            "return text returned of result"
        )
        return ["osascript", "-e", script]


class PowerShell(_Command):
    name = "powershell"
    program = "powershell"

    def available(self) -> bool:
        return sys.platform == "win32" and shutil.which(self.program) is not None

    def argv(self, message: str) -> list[str]:
        return ["powershell", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
                "-Command", powershell_script(message)]


class Tk:
    """A small Tk window in this process (which is already the prompt's own process)."""

    name = "tk"

    def available(self) -> bool:
        if not has_display():
            return False
        try:
            import tkinter  # noqa: F401
        except ImportError:
            return False
        return True

    def ask(self, message: str) -> str | None:
        import tkinter as tk

        answer: list[str] = []
        try:
            root = tk.Tk(className=TITLE)
        except tk.TclError as exc:  # no usable display after all
            raise OSError(str(exc)) from exc
        root.title(TITLE)
        root.resizable(False, False)
        root.attributes("-topmost", True)
        frame = tk.Frame(root, padx=14, pady=12)
        frame.pack(fill="both", expand=True)
        tk.Label(frame, text=message, justify="left", wraplength=360).pack(anchor="w")
        entry = tk.Entry(frame, show="\u2022", width=12, font=("TkFixedFont", 14))
        entry.pack(anchor="w", pady=8)
        buttons = tk.Frame(frame)
        buttons.pack(anchor="e")

        def ok(_event: object = None) -> None:
            answer.append(entry.get())
            root.destroy()

        def cancel(_event: object = None) -> None:
            root.destroy()

        tk.Button(buttons, text="Cancel", command=cancel).pack(side="right", padx=(6, 0))
        tk.Button(buttons, text="OK", command=ok, default="active").pack(side="right")
        root.bind("<Return>", ok)
        root.bind("<KP_Enter>", ok)
        root.bind("<Escape>", cancel)
        root.protocol("WM_DELETE_WINDOW", cancel)
        def raise_and_focus() -> None:
            root.lift()
            entry.focus_force()

        root.after(50, raise_and_focus)
        root.mainloop()
        return answer[0] if answer else None


# -- escaping ----------------------------------------------------------------------------


def applescript_string(text: str) -> str:
    """A double-quoted AppleScript literal; only backslash and quote need escaping."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def powershell_string(text: str) -> str:
    """A single-quoted PowerShell literal: no expansion inside; quotes are doubled.

    PowerShell also treats the typographic single quotes as quotes, so those double too.
    """
    for quote in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def powershell_script(message: str) -> str:
    """A WinForms dialog with a password box; prints the entry and exits 0 on OK."""
    return "\n".join([
        "Add-Type -AssemblyName System.Windows.Forms",
        "$f = New-Object System.Windows.Forms.Form",
        f"$f.Text = {powershell_string(TITLE)}; $f.Width = 420; $f.Height = 170",
        "$f.FormBorderStyle = 'FixedDialog'; $f.StartPosition = 'CenterScreen'; "
        "$f.TopMost = $true; $f.MaximizeBox = $false; $f.MinimizeBox = $false",
        "$l = New-Object System.Windows.Forms.Label; $l.Left = 12; $l.Top = 10; "
        "$l.Width = 380; $l.Height = 34",
        f"$l.Text = {powershell_string(message)}",
        "$t = New-Object System.Windows.Forms.TextBox; $t.Left = 12; $t.Top = 48; "
        "$t.Width = 120; $t.UseSystemPasswordChar = $true",
        "$ok = New-Object System.Windows.Forms.Button; $ok.Text = 'OK'; $ok.Left = 230; "
        "$ok.Top = 90; $ok.DialogResult = 'OK'",
        "$no = New-Object System.Windows.Forms.Button; $no.Text = 'Cancel'; $no.Left = 312; "
        "$no.Top = 90; $no.DialogResult = 'Cancel'",
        "$f.AcceptButton = $ok; $f.CancelButton = $no; $f.Controls.AddRange(@($l, $t, $ok, $no))",
        "$f.Add_Shown({ $f.Activate(); $t.Focus() })",
        "if ($f.ShowDialog() -eq 'OK') { [Console]::Out.Write($t.Text); exit 0 } else { exit 1 }",
    ])


# -- choosing a driver -------------------------------------------------------------------

DRIVERS: dict[str, Callable[[], Driver]] = {
    "zenity": Zenity, "kdialog": Kdialog, "tk": Tk, "osascript": Osascript,
    "powershell": PowerShell,
}


def preference(platform: str = sys.platform, desktop: str = "") -> list[str]:
    """Driver names in the order this platform tries them."""
    if platform == "darwin":
        return ["osascript", "tk"]
    if platform == "win32":
        return ["powershell", "tk"]
    if "KDE" in desktop.upper():
        return ["kdialog", "zenity", "tk"]
    return ["zenity", "kdialog", "tk"]


class NoDriver(Exception):
    pass


def choose(env: dict[str, str] | os._Environ[str] = os.environ,
           platform: str = sys.platform) -> Driver:
    wanted = env.get(ENV, "").strip().lower()
    if wanted:
        if wanted not in DRIVERS:
            raise NoDriver(f"{ENV}={wanted!r} is not one of {', '.join(DRIVERS)}")
        driver = DRIVERS[wanted]()
        if not driver.available():
            raise NoDriver(f"{ENV}={wanted}: that dialog cannot be shown here")
        return driver
    for name in preference(platform, env.get("XDG_CURRENT_DESKTOP", "")):
        driver = DRIVERS[name]()
        if driver.available():
            return driver
    if not has_display(platform=platform):
        raise NoDriver("no display")
    raise NoDriver("no dialog tool (zenity, kdialog, tk)")


def ask_code(driver: Driver, message: str, attempts: int = ATTEMPTS) -> str | None:
    """Ask until the answer is six digits; None on cancel or after `attempts` bad answers."""
    hint = ""
    for _ in range(attempts):
        answer = driver.ask(hint + message)
        if answer is None:
            return None
        if code := normalise(answer):
            return code
        hint = RETRY_HINT
    return None


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    if _child is not None and _child.poll() is None:
        _child.terminate()
    raise SystemExit(1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rolebar.tray.dialog",
                                     description="Ask for a 6-digit one-time code.")
    parser.add_argument("--message", required=True, help="names the profile and the device")
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)
    try:
        driver = choose()
    except NoDriver as exc:
        sys.stderr.write(f"rolebar: prompt: {exc}\n")
        return 2
    try:
        code = ask_code(driver, args.message)
    except OSError as exc:
        sys.stderr.write(f"rolebar: prompt: {driver.name}: {exc.strerror or exc}\n")
        return 2
    if code is None:
        sys.stderr.write("rolebar: prompt: no code entered\n")
        return 1
    sys.stdout.write(code + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
