"""`rolebar console [-t CODE] PROFILE [--print] [--region R] [--destination URL]`.

Opens the AWS console signed in as the profile's role, or prints the login URL on stdout
(`--print`). The URL is a secret for 15 minutes: it goes to stdout or the browser only.
"""

from __future__ import annotations

import argparse

from rolebar.core import console
from rolebar.core.client import connect
from rolebar.core.commands.assume import add_code_option


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("console", help="open the AWS console as the profile's role")
    add_code_option(parser)
    parser.add_argument("profile")
    parser.add_argument("--print", action="store_true", dest="print_url",
                        help="print the login URL (good for 15 minutes) instead of opening it")
    parser.add_argument("--region", metavar="R", help="the console's region (default: the "
                        "profile's)")
    parser.add_argument("--destination", metavar="URL",
                        help="an https console page to open instead of the home page")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    engine = connect(interactive=True).engine
    url = console.sign_in(engine, args.profile, code=args.token, region=args.region,
                          destination=args.destination)
    if args.print_url:
        print(url, flush=True)
    else:
        console.open_in_browser(url, args.profile)
    return 0
