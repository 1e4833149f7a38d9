"""`rolebar profiles [--json]` answered from the listing of the AWS files as they are.

Listing 2,000 profiles means parsing the files (botocore's loader) and planning each
profile: a quarter of a second, in every new process. The command writes what it found to
`<cache>/profiles-<hash of the files' paths>.list` (a header line with the files' size
and mtime, then the JSON list); the next `rolebar profiles` prints from it, before argparse
or botocore are loaded, while both files are unchanged. Like fastpath (whose helpers it
uses), it imports only the standard library, and trusts only a cache folder that is the
user's own and closed to others. A file changed in the last two seconds may change again
with the same size and mtime (coarse clocks, in-place rewrites): no listing is kept then.
"""

from __future__ import annotations

import os
import time

from rolebar.core import fastpath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

FORMAT = "rolebar-profiles-1"
SETTLE_NS = 2_000_000_000


def path(env: Mapping[str, str] = os.environ) -> str:
    config, credentials = fastpath.aws_files(env)
    name = fastpath.entry_name("profiles", config=config, credentials=credentials)
    return os.path.join(fastpath.cache_dir(env), name + ".list")


def text(found: Sequence[Mapping[str, Any]], as_json: bool) -> str:
    """What `rolebar profiles` prints for `found` (ProfileInfo fields)."""
    if as_json:
        import json

        return json.dumps(list(found), indent=2) + "\n"
    lines = []
    for p in found:
        mfa = f"mfa {p['device']}" if p["device"] else "no mfa"
        token = ", generate_token" if p["has_code_command"] else ""
        target = p["role_arn"] or (f"(SSO {p['sso']})" if p["sso"] else "(MFA session)")
        lines.append(f"{p['name']}\t{target}\t{mfa}{token}\t{p['route']}\n")
    return "".join(lines)


def cached(argv: Sequence[str], env: Mapping[str, str] = os.environ) -> str | None:
    """The output for `profiles ARGV` from the kept listing, or None (then list afresh)."""
    if list(argv) not in ([], ["--json"]) or not fastpath.private_folder(
            fastpath.cache_dir(env)):
        return None
    kept = fastpath._read(path(env))
    if kept is None:
        return None
    header, _, body = kept.partition("\n")
    if header != f"{FORMAT} {fastpath.stamps(fastpath.aws_files(env))}":
        return None
    import json

    try:
        found = json.loads(body)
        return text(found, bool(argv)) if isinstance(found, list) and found else None
    except (ValueError, KeyError, TypeError):
        return None


def settled(env: Mapping[str, str] = os.environ) -> str | None:
    """The files' stamp, if neither changed in the last two seconds; else None."""
    newest = 0
    for file in fastpath.aws_files(env):
        try:
            newest = max(newest, os.stat(file).st_mtime_ns)
        except OSError:
            continue
    if time.time_ns() - newest <= SETTLE_NS:
        return None
    return fastpath.stamps(fastpath.aws_files(env))


def store(stamp: str | None, found: Sequence[Mapping[str, Any]],
          env: Mapping[str, str] = os.environ) -> None:
    """Keep `found`, listed from files whose stamp was `stamp` before they were read, if
    they still have it (and it was settled); a failure only costs the next call time."""
    if stamp is None or stamp != settled(env) or not found:
        return
    import json
    from pathlib import Path

    from rolebar.core.atomic import write_private
    from rolebar.core.paths import private_dir

    target = Path(path(env))
    try:
        private_dir(target.parent)
        write_private(target, f"{FORMAT} {stamp}\n{json.dumps(list(found))}\n")
    except OSError:
        pass
