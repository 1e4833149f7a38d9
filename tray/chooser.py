"""Choose one of many roles in a window: ``python -m rolebar.tray.chooser``.

The tray (tray/picker.py) starts this module as a subprocess, as it does the code dialog
(no GUI toolkit on pystray's thread), and writes the profile names to its stdin, one a line.
Typing filters the list (every word must occur, any case); Enter picks the highlighted
role (the first one unless arrows moved), Escape cancels. The contract: the chosen profile
on stdout and exit 0; exit 1 when cancelled; exit 2 when no window can be shown.

Drivers: Tk (an Entry filtering a Listbox), else zenity's list (its own type-ahead search);
``ROLEBAR_CHOOSER`` (tk, zenity) picks one explicitly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from rolebar.core.interactive import has_display

TITLE = "rolebar: choose a role"
ENV = "ROLEBAR_CHOOSER"
SHOWN = 500  # rows the list holds at once: typing narrows thousands down to these


def matching(names: Sequence[str], text: str) -> list[str]:
    """The names containing every word of `text`, ignoring case, in their order."""
    words = text.lower().split()
    return [n for n in names if all(w in n.lower() for w in words)]


def tk_choose(names: Sequence[str], title: str = TITLE) -> str | None:
    import tkinter as tk

    root = tk.Tk(className="rolebar-chooser")
    root.title(title)
    query = tk.StringVar()
    entry, count, box = _layout(tk, root, query)
    shown: list[str] = []
    chosen: list[str] = []

    def refresh(*_: object) -> None:
        shown[:] = matching(names, query.get())
        box.delete(0, "end")
        if shown:
            box.insert("end", *shown[:SHOWN])
            box.selection_set(0)
            box.activate(0)
        more = f" (the first {SHOWN} shown: type to narrow)" if len(shown) > SHOWN else ""
        count.configure(text=f"{len(shown)} of {len(names)} roles{more}")

    def move(step: int) -> str:
        if shown:
            at = (box.curselection() or (0,))[0]
            at = max(0, min(at + step, min(len(shown), SHOWN) - 1))
            box.selection_clear(0, "end")
            box.selection_set(at)
            box.activate(at)
            box.see(at)
        return "break"

    def pick(*_: object) -> None:
        if shown:
            chosen.append(shown[(box.curselection() or (0,))[0]])
            root.destroy()

    query.trace_add("write", refresh)
    entry.bind("<Down>", lambda _e: move(1))
    entry.bind("<Up>", lambda _e: move(-1))
    for widget in (entry, box):
        widget.bind("<Return>", pick)
        widget.bind("<KP_Enter>", pick)
    box.bind("<Double-Button-1>", pick)
    root.bind("<Escape>", lambda _e: root.destroy())
    refresh()
    entry.focus_force()
    root.mainloop()
    return chosen[0] if chosen else None


def _layout(tk: Any, root: Any, query: Any) -> tuple[Any, Any, Any]:
    """The search entry, the count line and the list, top to bottom."""
    entry = tk.Entry(root, textvariable=query, width=60)
    entry.pack(fill="x", padx=6, pady=6)
    count = tk.Label(root, anchor="w")
    count.pack(fill="x", padx=6)
    box = tk.Listbox(root, height=20, exportselection=False, activestyle="dotbox")
    box.pack(fill="both", expand=True, padx=6, pady=6)
    return entry, count, box


def zenity_choose(names: Sequence[str], title: str = TITLE) -> str | None:
    done = subprocess.run(
        ["zenity", "--list", f"--title={title}", "--column=Role", "--hide-header",
         "--width=420", "--height=520"],
        input="".join(f"{n}\n" for n in names).encode(), stdout=subprocess.PIPE, check=False)
    text = done.stdout.decode("utf-8", "replace").strip()
    return text.split("|")[0] if done.returncode == 0 and text else None


def _driver(wanted: str | None) -> str | None:
    if wanted in ("tk", "zenity"):
        return wanted
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return "zenity" if shutil.which("zenity") else None
    return "tk"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rolebar.tray.chooser")
    parser.add_argument("--title", default=TITLE)
    args = parser.parse_args(argv)
    names = [line.strip() for line in sys.stdin if line.strip()]
    driver = _driver(os.environ.get(ENV))
    if not has_display() or driver is None:
        sys.stderr.write("rolebar: chooser: no display or no window toolkit (tkinter, zenity)\n")
        return 2
    try:
        chosen = (tk_choose if driver == "tk" else zenity_choose)(names, args.title)
    except Exception as exc:  # noqa: BLE001 - Tk's TclError, a missing zenity: one line
        sys.stderr.write(f"rolebar: chooser: cannot open the window ({type(exc).__name__})\n")
        return 2
    if chosen is None or chosen not in names:
        return 1
    sys.stdout.write(f"{chosen}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
