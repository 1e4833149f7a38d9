"""The `credential_process` cache hit, stdlib only.

SDK clients in long-running processes call `rolebar process` whenever their credentials
near expiry (botocore on every call in its last 15 minutes), so a hit must cost little more
than starting Python. This module imports nothing outside the standard library, not even
platformdirs; `tests/unit/test_fastpath.py` checks that its directories agree with
platformdirs' and that importing it pulls in nothing heavy.

An entry is trusted only while the AWS files it was built from are unchanged (size and
mtime recorded in it) and while it holds at least min(15 min, half its lifetime).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

APP = "rolebar"
DEFAULT_SECTION = "tray-managed"
MAX_MARGIN = 15 * 60.0


def entry_name(kind: str, **identity: str) -> str:
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"{kind}-{digest[:32]}"


def aws_files(env: Mapping[str, str]) -> tuple[str, str]:
    return (
        os.path.expanduser(env.get("AWS_CONFIG_FILE") or "~/.aws/config"),
        os.path.expanduser(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"),
    )


def role_entry_name(profile: str, files: Sequence[str]) -> str:
    return entry_name("role", profile=profile, config=files[0], credentials=files[1])


def stamps(files: Sequence[str]) -> list[list[int] | None]:
    """Size and mtime of each AWS file: an entry is only as good as the files it came from."""
    found: list[list[int] | None] = []
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            found.append(None)
        else:
            found.append([st.st_size, st.st_mtime_ns])
    return found


def fresh(entry: Mapping[str, Any], now: float) -> bool:
    issued, expires = float(entry["issued"]), float(entry["expires"])
    return now < expires - min(MAX_MARGIN, (expires - issued) / 2)


def cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """platformdirs.user_cache_dir("rolebar", appauthor=False), without importing it."""
    if sys.platform == "win32":
        return Path(env.get("LOCALAPPDATA") or os.path.expanduser("~/AppData/Local"), APP, "Cache")
    if sys.platform == "darwin":
        return Path(os.path.expanduser("~/Library/Caches"), APP)
    return Path(_xdg(env, "XDG_CACHE_HOME", "~/.cache"), APP)


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    """platformdirs.user_config_dir("rolebar", appauthor=False), without importing it."""
    if sys.platform == "win32":
        return Path(env.get("LOCALAPPDATA") or os.path.expanduser("~/AppData/Local"), APP)
    if sys.platform == "darwin":
        return Path(os.path.expanduser("~/Library/Application Support"), APP)
    return Path(_xdg(env, "XDG_CONFIG_HOME", "~/.config"), APP)


def _xdg(env: Mapping[str, str], var: str, default: str) -> str:
    value = env.get(var, "").strip()
    return value if value else os.path.expanduser(default)


def load_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def section_profile(section: str, env: Mapping[str, str] = os.environ) -> str | None:
    """The profile selected for a kept section, from rolebar's settings file."""
    settings = load_json(config_dir(env) / "settings.json") or {}
    entry = settings.get("sections", {}).get(section)
    profile = entry.get("profile") if isinstance(entry, dict) else None
    return profile if isinstance(profile, str) else None


def cached_answer(profile: str, env: Mapping[str, str] = os.environ,
                  now: float | None = None) -> str | None:
    """The `credential_process` JSON for `profile` if the cache may answer, else None."""
    files = aws_files(env)
    entry = load_json(cache_dir(env) / f"{role_entry_name(profile, files)}.json")
    try:
        if entry is None or entry["stamps"] != stamps(files):
            return None
        if not fresh(entry, time.time() if now is None else now):
            return None
        return answer_json(entry)
    except (KeyError, TypeError, ValueError):
        return None


def answer_json(entry: Mapping[str, Any]) -> str:
    """The one JSON object of `-j` and `process`; nothing else goes to stdout."""
    return json.dumps({
        "Version": 1,
        "AccessKeyId": entry["AccessKeyId"],
        "SecretAccessKey": entry["SecretAccessKey"],
        "SessionToken": entry["SessionToken"],
        "Expiration": entry["Expiration"],
    })


def process(argv: Sequence[str], env: Mapping[str, str] = os.environ) -> str | None:
    """Answer `process PROFILE` or `process --section NAME` from the cache, or None."""
    if len(argv) == 1 and not argv[0].startswith("-"):
        return cached_answer(argv[0], env)
    if len(argv) == 2 and argv[0] == "--section":
        profile = section_profile(argv[1], env)
        return cached_answer(profile, env) if profile else None
    if len(argv) == 1 and argv[0].startswith("--section="):
        profile = section_profile(argv[0].split("=", 1)[1], env)
        return cached_answer(profile, env) if profile else None
    return None
