"""One module per `rolebar` subcommand: `add_parser(sub)` (which sets `func`) and
`run(args) -> int`. `dispatch` builds the parser, runs the command and is the only place
that prints a `RolebarError`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from rolebar.core import __version__
from rolebar.core.errors import ConfigError, RolebarError, printable

log = logging.getLogger("rolebar")

# The swrole form `rolebar [-t CODE] [-j | -o] PROFILE` takes these before the profile.
_SWROLE_VALUE_FLAGS = {"-t", "--token"}


class Parser(argparse.ArgumentParser):
    """Usage errors become one `rolebar: usage: ...` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError("usage", message)


def build_parser(commands: Sequence[str], only: str | None = None) -> Parser:
    """The parser for `commands`; with `only`, that command's alone (its module is the only
    one loaded: `rolebar keep` and the tray live all day and need no other)."""
    parser = Parser(
        prog="rolebar",
        description="Keeps short-lived AWS credentials for MFA-protected roles fresh.",
        epilog="The swrole form `rolebar [-t CODE] [-j | -o] PROFILE` is `rolebar assume`.",
    )
    parser.add_argument("--version", action="version", version=f"rolebar {__version__}")
    parser.add_argument("--debug", action="store_true", help="log to stderr, show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in [only] if only in commands else commands:
        module = importlib.import_module(f"rolebar.core.commands.{name}")
        module.add_parser(sub)
    return parser


def swrole_form(args: list[str], commands: Sequence[str]) -> list[str]:
    """`rolebar [-t CODE] [-j|-o] PROFILE` -> `rolebar assume ...`; subcommands win."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _SWROLE_VALUE_FLAGS:
            i += 2
        elif arg.startswith("-"):
            if arg in ("-h", "--help", "--version"):
                return args
            i += 1
        else:
            if arg in commands:
                return args
            debug = [a for a in args if a == "--debug"]
            return [*debug, "assume", *[a for a in args if a != "--debug"]]
    return args


def dispatch(args: list[str], commands: Sequence[str]) -> int:
    from rolebar.core import logs

    available = [c for c in commands if importlib.util.find_spec(
        f"rolebar.core.commands.{c}") is not None]
    args = swrole_form(args, available)
    debug = "--debug" in args
    try:
        named = next((a for a in args if not a.startswith("-")), None)
        parser = build_parser(available, only=named)
        ns = parser.parse_args(args)
        if not getattr(ns, "func", None):
            parser.print_help(sys.stderr)
            return 2
        logs.setup(debug=debug)
        result: int = ns.func(ns)
        return result
    except RolebarError as exc:
        log.info("failed: %s", exc)
        if debug:
            log.debug("traceback", exc_info=True)
        print(f"rolebar: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rolebar: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        logging.getLogger("rolebar").exception("internal error")
        print(f"rolebar: internal error ({type(exc).__name__}); run with --debug for details",
              file=sys.stderr)
        return 1
