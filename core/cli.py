"""The `rolebar` command.

The top of this module imports only the standard library: `rolebar process` answers a
cache hit through `fastpath` before argparse, logging or botocore are loaded, and
`rolebar profiles` a listing of unchanged AWS files through `listing`. Everything
else parses the command line, runs one command module and turns a `RolebarError` into the
one `rolebar: ...` line of DESIGN.md section 5.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # see fastpath: no typing or collections import on the hot path
if TYPE_CHECKING:
    from collections.abc import Sequence

# Subcommands, each a module in rolebar.core.commands (DESIGN.md section 5).
COMMANDS = (
    "assume", "process", "exec", "select", "keep", "tray", "status", "profiles",
    "autostart", "forget", "demo", "doctor", "login", "logout", "console", "env", "keys",
)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["process"]:
        from rolebar.core import fastpath

        if (answer := fastpath.process(args[1:])) is not None:
            sys.stdout.write(answer + "\n")
            return 0
    if args[:1] == ["profiles"]:
        from rolebar.core import listing

        if (listed := listing.cached(args[1:])) is not None:
            sys.stdout.write(listed)
            return 0
    from rolebar.core.commands import dispatch

    return dispatch(args, COMMANDS)
