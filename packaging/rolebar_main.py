"""Entry point of the packaged app (PyInstaller): one program under two names.

``rolebar-tray`` starts the tray, ``rolebar`` is the command line. rolebar starts its
helpers as ``sys.executable -m MODULE`` (the code prompt, the demo's STS double and token
script) and ``doctor`` probes the tray with ``sys.executable -c CODE``; in a frozen app
``sys.executable`` is this program, so it answers ``-m`` and ``-c`` the way the
interpreter would.
"""

from __future__ import annotations

import os
import runpy
import sys


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "-c":  # `rolebar doctor` probes pystray so
        code = sys.argv[2]
        sys.argv = ["-c", *sys.argv[3:]]
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
        return 0
    if len(sys.argv) > 2 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [module, *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    name = os.path.splitext(os.path.basename(sys.executable))[0]
    if name == "rolebar-tray":
        from rolebar.tray.app import main as tray

        return int(tray() or 0)
    from rolebar.core.cli import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
