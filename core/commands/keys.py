"""`rolebar keys import|export|rotate|list [PROFILE]`: long-term keys in the OS keyring.

    import PROFILE           keys into the keyring, out of the credentials file
    export PROFILE           keys back into the credentials file, out of the keyring
    rotate [-t CODE] PROFILE a new IAM access key, stored where the old one was; the old
                             one deleted
    list [--iam]             each source profile, where its keys live, the key id masked;
                             --iam asks IAM (ListAccessKeys) for each key's age

Output names keys masked (AKIA…WXYZ) only; secrets go to the keyring or the file.
"""

from __future__ import annotations

import argparse
import os
import time

from rolebar.core.commands.assume import add_code_option
from rolebar.core.errors import RolebarError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keys", help="long-term keys in the OS keyring; rotation")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True,
                                  parser_class=type(parser))
    for verb, text in (("import", "move a profile's keys into the OS keyring"),
                       ("export", "move a profile's keys back into the credentials file")):
        one = verbs.add_parser(verb, help=text)
        one.add_argument("profile")
    rotate = verbs.add_parser("rotate", help="replace a profile's access key (IAM)")
    add_code_option(rotate)
    rotate.add_argument("profile")
    listed = verbs.add_parser("list", help="source profiles and where their keys live")
    listed.add_argument("--iam", action="store_true",
                        help="ask IAM when each key was created (ListAccessKeys)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rolebar.core import keyops

    if args.verb == "import":
        keys = keyops.import_keys(os.environ, args.profile)
        print(f"profile {args.profile}: key {_masked(keys.access_key_id)} moved to the OS "
              "keyring; the credentials file no longer holds it")
    elif args.verb == "export":
        keys = keyops.export_keys(os.environ, args.profile)
        print(f"profile {args.profile}: key {_masked(keys.access_key_id)} moved back to the "
              "credentials file")
    elif args.verb == "rotate":
        return _rotate(args)
    else:
        return _list(args.iam)
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from rolebar.core.client import connect
    from rolebar.core.rotate import Rotation

    done = Rotation(connect(interactive=True).engine, args.profile, code=args.token).run()
    print(f"profile {done.profile}: new key {done.new} stored in the {done.where} and "
          f"working; old key {done.old} deleted; {done.sessions_dropped} cached MFA "
          "session(s) of the old key dropped")
    return 0


def _list(ask_iam: bool) -> int:
    from rolebar.core import keyops
    from rolebar.core.profiles import Catalog

    catalog = Catalog.load(os.environ)
    rows = []
    for name in keyops.source_profiles(catalog):
        found = keyops.describe(catalog, name)
        age = _age(catalog, name) if ask_iam and found.key_id else "-"
        rows.append((name, found.where + (f" ({found.problem})" if found.problem else ""),
                     found.key_id or "-", age))
    if not rows:
        print("no source profiles (profiles with long-term keys that sign a role)")
        return 0
    widths = [max(len(r[i]) for r in [("PROFILE", "KEYS", "KEY ID", "AGE"), *rows])
              for i in range(4)]
    for row in [("PROFILE", "KEYS", "KEY ID", "AGE"), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _age(catalog: object, profile: str) -> str:
    """How old the profile's key is, from IAM's ListAccessKeys signed by the key itself."""
    from rolebar.core import keystore
    from rolebar.core.credentials import Keys
    from rolebar.core.engine import Engine
    from rolebar.core.iam import Iam

    try:
        engine = Engine(interactive=False)
        values = engine.catalog().values(profile)
        keys = keystore.get(profile) if values.get("rolebar_keys") else Keys(
            profile, str(values.get("aws_access_key_id")),
            str(values.get("aws_secret_access_key")))
        if keys is None:
            return "unknown"
        listed = Iam(profile, engine.sdk).list_keys(keys)
    except RolebarError as exc:
        return f"unknown ({exc.cause})"
    created = next((k.created for k in listed if k.access_key_id == keys.access_key_id), None)
    if created is None:
        return "unknown"
    return f"{int((time.time() - created) // 86400)} days"


def _masked(key_id: str) -> str:
    from rolebar.core.credentials import mask

    return mask(key_id)
