"""`rolebar profiles [--json]`: the profiles rolebar can assume.

stdout stays a plain list (or JSON) for scripts, empty when there are none; a person
reading an empty answer learns on stderr why, and what to try. The listing is kept until
the AWS files change (listing.py): the next call prints it without parsing them.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from rolebar.core import listing
from rolebar.core.client import connect
from rolebar.core.profiles import none_found


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("profiles", help="list the profiles rolebar can assume")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stamp = listing.settled()  # before the files are read: a change meanwhile shows
    engine = connect().engine
    found = [asdict(p) for p in engine.profiles()]
    if not found:
        print(f"rolebar: {'; '.join(none_found(engine.env))}", file=sys.stderr)
    sys.stdout.write(listing.text(found, args.json))
    listing.store(stamp, found)  # the next `rolebar profiles` prints from it (cli.py)
    return 0
