"""The `credential_process` cache hit, on as little as Python can start with.

SDK clients in long-running processes call `rolebar process` whenever their credentials
near expiry (botocore on every call in its last 15 minutes), so a hit must cost little more
than starting Python. On this machine `pathlib` or `typing` each cost as much again as
Python's own start-up, and `json` costs 0.7x of it (it loads `re`), so this module imports
only `os`, `sys`, `time`, the C sha256 and `timing` (the time rules, which imports nothing),
and reads plain-text files the engine writes for it next to its JSON:
`<cache>/<entry>.answer` (a header line, then the answer exactly as printed) and
`<config>/sections.index` (a header line naming the settings.json it was made from by its
sha256, then one `section TAB profile TAB style` line per kept section).
`tests/unit/test_fastpath.py` checks the imports in a fresh interpreter and that the
directories agree with platformdirs'.

An answer is trusted only from a cache folder that is the user's own and closed to others
(as the full path makes it), while the AWS files it was built from are unchanged (their
size and mtime are in its header) and while it holds at least min(15 min, half its
lifetime). The index is trusted only while settings.json is the one it was made from.
"""

from __future__ import annotations

import os
import sys
import time

from rolebar.core.timing import fresh_until

try:  # the C sha256 alone: hashlib would also load OpenSSL
    from _sha256 import sha256  # Python 3.11
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha2 import sha256  # 3.12+
    except ImportError:
        from hashlib import sha256

TYPE_CHECKING = False  # not typing's: importing typing costs as much as starting Python
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

APP = "rolebar"
ANSWER_FORMAT = "rolebar-answer-1"
SECTIONS_INDEX = "sections.index"
SETTINGS_FILE = "settings.json"
INDEX_FORMAT = "rolebar-index-2"


def entry_name(kind: str, **identity: str) -> str:
    text = "\0".join(f"{key}={identity[key]}" for key in sorted(identity))
    return f"{kind}-{sha256(text.encode()).hexdigest()[:32]}"


def aws_files(env: Mapping[str, str]) -> tuple[str, str]:
    return (
        os.path.expanduser(env.get("AWS_CONFIG_FILE") or "~/.aws/config"),
        os.path.expanduser(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"),
    )


def role_entry_name(profile: str, files: Sequence[str]) -> str:
    return entry_name("role", profile=profile, config=files[0], credentials=files[1])


def stamps(files: Sequence[str]) -> str:
    """Size and mtime of each AWS file: an answer is only as good as the files it came from."""
    found = []
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            found.append("-")
        else:
            found.append(f"{st.st_size}:{st.st_mtime_ns}")
    return ",".join(found)


def answer_file(issued: float, expires: float, files_stamp: str, answer: str) -> str:
    """What the engine writes to `<entry>.answer` for the fast path."""
    return f"{ANSWER_FORMAT} {issued!r} {expires!r} {files_stamp}\n{answer}\n"


def answer_json(entry: Mapping[str, Any]) -> str:
    """The one JSON object of `-j` and `process`; nothing else goes to stdout."""
    import json

    return json.dumps({
        "Version": 1,
        "AccessKeyId": entry["AccessKeyId"],
        "SecretAccessKey": entry["SecretAccessKey"],
        "SessionToken": entry["SessionToken"],
        "Expiration": entry["Expiration"],
    })


def cache_dir(env: Mapping[str, str] = os.environ) -> str:
    """platformdirs.user_cache_dir("rolebar", appauthor=False), without importing it."""
    if sys.platform == "win32":
        return os.path.join(_local_appdata(env), APP, "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Caches"), APP)
    return os.path.join(_xdg(env, "XDG_CACHE_HOME", "~/.cache"), APP)


def config_dir(env: Mapping[str, str] = os.environ) -> str:
    """platformdirs.user_config_dir("rolebar", appauthor=False), without importing it."""
    if sys.platform == "win32":
        return os.path.join(_local_appdata(env), APP)
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Application Support"), APP)
    return os.path.join(_xdg(env, "XDG_CONFIG_HOME", "~/.config"), APP)


def _local_appdata(env: Mapping[str, str]) -> str:
    return env.get("LOCALAPPDATA") or os.path.expanduser("~/AppData/Local")


def _xdg(env: Mapping[str, str], var: str, default: str) -> str:
    value = env.get(var, "").strip()
    return value if value else os.path.expanduser(default)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, ValueError):
        return None


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def index_header(settings: bytes) -> str:
    """The first line of `sections.index`: the settings.json it was made from."""
    return f"{INDEX_FORMAT} {sha256(settings).hexdigest()}"


def section_profile(section: str, env: Mapping[str, str] = os.environ) -> str | None:
    """The profile selected for a kept section, from the index `settings` writes.

    None also when the index is not the one of settings.json as it is now (hand-edited,
    or a write cut short): the caller then reads settings.json itself.
    """
    folder = config_dir(env)
    index = _read(os.path.join(folder, SECTIONS_INDEX))
    settings = _read_bytes(os.path.join(folder, SETTINGS_FILE))
    if index is None or settings is None:
        return None
    header, _, lines = index.partition("\n")
    if header != index_header(settings):
        return None
    for line in lines.splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] == section and fields[1]:
            return fields[1]
    return None


def private_folder(path: str) -> bool:
    """True if `path` is the user's own folder, closed to others (mode 0700 or less)."""
    if not hasattr(os, "geteuid"):  # Windows: per-user folders under LOCALAPPDATA
        return True
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & 0o077


def cached_answer(profile: str, env: Mapping[str, str] = os.environ,
                  now: float | None = None) -> str | None:
    """The `credential_process` JSON for `profile` if the cache may answer, else None."""
    files = aws_files(env)
    folder = cache_dir(env)
    if not private_folder(folder):  # the full path makes it so, or refuses it
        return None
    text = _read(os.path.join(folder, role_entry_name(profile, files) + ".answer"))
    if text is None:
        return None
    header, _, answer = text.partition("\n")
    fields = header.split(" ")
    try:
        if len(fields) != 4 or fields[0] != ANSWER_FORMAT or fields[3] != stamps(files):
            return None
        if (time.time() if now is None else now) >= fresh_until(float(fields[1]),
                                                                 float(fields[2])):
            return None
    except ValueError:
        return None
    answer = answer.strip()
    return answer if answer.startswith("{") and answer.endswith("}") else None


def process(argv: Sequence[str], env: Mapping[str, str] = os.environ) -> str | None:
    """Answer `process PROFILE` or `process --section NAME` from the cache, or None."""
    if len(argv) == 1 and argv[0].startswith("--section="):
        argv = ["--section", argv[0].split("=", 1)[1]]
    if len(argv) == 1 and not argv[0].startswith("-"):
        return cached_answer(argv[0], env)
    if len(argv) == 2 and argv[0] == "--section":
        profile = section_profile(argv[1], env)
        return cached_answer(profile, env) if profile else None
    return None
