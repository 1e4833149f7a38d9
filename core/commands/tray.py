"""`rolebar tray`: the engine with the tray icon (rolebar.tray.app, loaded by name).

Core never imports the tray at import time (DESIGN.md section 1): the module is looked up
when the command runs, so a core-only install still lists the command and says what is
missing.
"""

from __future__ import annotations

import argparse
import importlib

from rolebar.core.errors import ConfigError

TRAY_MODULE = "rolebar.tray.app"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "tray", help="run the engine with the tray icon",
        description="Run the engine with the tray icon until Quit, SIGINT or SIGTERM.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        app = importlib.import_module(TRAY_MODULE)
    except ImportError as exc:
        raise ConfigError("tray", f"cannot load {TRAY_MODULE} ({exc}); install rolebar with "
                                  "its tray extra: `bash scripts/setup`") from exc
    status: int = app.main(["--debug"] if getattr(args, "debug", False) else [])
    return status
