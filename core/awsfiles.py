"""The AWS files as botocore reads them, each parsed again only when its stamp changed.

botocore's loader does the parsing; what it would skip silently (a file it cannot open
reads as empty) or report as a traceback (malformed INI) is one ConfigError naming the
file. Answers are shared between callers: read them, never change them.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

from rolebar.core.atomic import Stamp, stamp_of
from rolebar.core.errors import ConfigError


def _readable(path: Path) -> bool:
    """False for no file (or a dangling symlink); ConfigError for one that cannot be read.

    botocore reads a file it cannot open (no permission, a symlink loop) as an empty
    one, which would turn up later as a profile without keys or not found at all.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read ({_cause(exc)})") from None
    if not stat.S_ISREG(st.st_mode):  # a directory; a FIFO would block the open below
        raise ConfigError(str(path), "cannot be read (not a regular file)")
    try:
        with open(path, "rb"):
            return True
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read ({_cause(exc)})") from None


def _cause(exc: OSError) -> str:
    text = exc.strerror or type(exc).__name__
    return text[:1].lower() + text[1:]


def stamps(files: tuple[Path, ...]) -> tuple[Stamp | None, ...]:
    """What tells the files' change without reading them (inode, size, mtime each)."""
    return tuple(_stamp(path) for path in files)


def _stamp(path: Path) -> Stamp | None:
    try:
        return stamp_of(path)
    except OSError:  # a symlink loop, say: the reading says what is wrong
        return None


def load_config(path: Path) -> dict[str, Any]:
    """botocore's view of a config file: `profiles`, `sso_sessions` and `services`."""
    return _parse(path, config=True)


def load_credentials(path: Path) -> dict[str, Any]:
    """botocore's view of a credentials file: section -> keys."""
    return _parse(path, config=False)


# (path, config?) -> (stamp, digest, parsed): a file is parsed again only when it changed.
_PARSED: dict[tuple[str, bool], tuple[Stamp | None, bytes, dict[str, Any]]] = {}
_PARSE_LOCK = threading.Lock()


def _parse(path: Path, *, config: bool) -> dict[str, Any]:
    """botocore's reading of one AWS file. The answer is shared: read it, never change it.

    An unchanged stamp is enough for a file that has settled; one changed in the last
    two seconds may have changed again under the same stamp, so its bytes are compared
    too (the keeper rewrites the credentials file, and a parse of thousands of profiles
    costs far more than a read).
    """
    if not _readable(path):  # every time: a file that can no longer be read says so
        return {}
    key = (str(path), config)
    with _PARSE_LOCK:  # one parse at a time: whoever waited takes the first one's
        stamp = _stamp(path)
        hit = _PARSED.get(key)
        if hit is not None and hit[0] == stamp and _settled(stamp):
            return hit[2]
        digest = _digest(path)  # read before the parse: a change during it shows next time
        if digest and hit is not None and hit[0] == stamp and hit[1] == digest:
            return hit[2]
        parsed = _read(path, config=config)
        _PARSED.pop(key, None)
        while len(_PARSED) >= 16:  # old homes and moved files (tests, AWS_CONFIG_FILE):
            del _PARSED[next(iter(_PARSED))]  # the longest unparsed goes first
        _PARSED[key] = (stamp, digest, parsed)
        return parsed


# A file changed within this many ns may change again with the same size and mtime (the
# clock behind mtime is coarse, and the AWS CLI rewrites in place).
SETTLE_NS = 2_000_000_000


def _settled(stamp: Stamp | None) -> bool:
    return stamp is None or time.time_ns() - stamp[2] > SETTLE_NS


def _digest(path: Path) -> bytes:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return b""  # no digest, no match: the parse says what is wrong


def _read(path: Path, *, config: bool) -> dict[str, Any]:
    import botocore.configloader
    import botocore.exceptions

    try:
        if config:
            return dict(botocore.configloader.load_config(str(path)))
        return dict(botocore.configloader.raw_config_parse(str(path)))
    except botocore.exceptions.ConfigParseError:
        raise ConfigError(str(path), "cannot be parsed (malformed INI)") from None
    except (OSError, UnicodeDecodeError) as exc:
        cause = getattr(exc, "strerror", None) or "not valid UTF-8"
        raise ConfigError(str(path), f"cannot be read ({cause})") from None
