"""Leak hunt: every secret any STS double issues is marked, and each test is checked for it.

Loaded for the whole suite from tests/conftest.py (`pytest_plugins`). Under pytest-xdist
every worker loads it and checks its own tests. A test that leaks gets an error at its
teardown naming where the secret was seen:

- files under the test's tmp_path (its HOME and runtime dir): a log file, a notification
  record or a captured stderr file holding a secret; a file in one of rolebar's own
  directories holding a secret with a mode other than 0600; a section marked
  `rolebar_keys = keyring` (its keys moved to the OS keyring) still holding a secret;
- pytest's captured stderr and log records, and the text of a failure (exceptions);
- stderr of every child this process started with `subprocess` and captured;
- the argv of every process on the machine but the test's own children, whose argv the
  test chose (/proc/*/cmdline, sampled by a background thread while the test runs).

Secrets: secret access keys and session tokens of every `StsDouble` (its `secrets()`), the
TOTP secrets of its users, and the same of doubles run as processes
(`python -m rolebar.core.stsdouble --state FILE`, read from their state file and admin path).
Captured stdout is not checked: `-j` and `process` print credentials there by design.
A test can opt out of the output checks with `@pytest.mark.secret_output`.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import stat
import subprocess
import threading
import urllib.request
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

SAMPLE_EVERY = 0.05  # seconds between /proc sweeps
MAX_FILE = 4 << 20  # larger files are not read (none of rolebar's come close)
# Files whose content is output that a user or a log reader sees.
_OUTPUT_NAMES = (".log", "notif", "stderr", ".err")


# -- the secrets --------------------------------------------------------------------------------


NEEDLE = 24  # characters of a secret that identify it (its first or last 24)
_RUN = re.compile(rb"[A-Za-z0-9+/=]{%d,}" % NEEDLE)


class Secrets:
    """Every secret seen so far. A text holds one if any 24-character window of a base64
    run in it is a secret's head or tail: that finds whole and truncated copies alike, with one
    set lookup per window however many secrets the session has made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._all: set[str] = set()
        self._needles: dict[bytes, str] = {}
        self._doubles: weakref.WeakSet[Any] = weakref.WeakSet()
        self._state_files: set[str] = set()

    def add(self, values: Iterable[str | None]) -> None:
        with self._lock:
            for value in values:
                if not value or len(value) < NEEDLE or value in self._all:
                    continue
                self._all.add(value)
                self._needles[value[-NEEDLE:].encode()] = value
                self._needles[value[:NEEDLE].encode()] = value

    def harvest(self) -> None:
        for double in list(self._doubles):
            try:
                self.add(double.secrets())
            except Exception:  # noqa: BLE001, S112 - a double being torn down
                continue
        for path in list(self._state_files):
            self.add(_state_secrets(path))

    def watch(self, double: Any) -> None:
        self._doubles.add(double)

    def watch_state(self, path: str) -> None:
        with self._lock:
            self._state_files.add(path)

    def find(self, data: bytes) -> list[str]:
        """Short descriptions (never the secret) of the secrets found in `data`."""
        needles = self._needles
        hits: set[str] = set()
        for run in _RUN.finditer(data):
            text = run.group()
            for i in range(len(text) - NEEDLE + 1):
                if (secret := needles.get(text[i:i + NEEDLE])) is not None:
                    hits.add(secret)
        return sorted(describe(secret) for secret in hits)

    def __len__(self) -> int:
        return len(self._all)


def describe(secret: str) -> str:
    kind = "session token" if len(secret) > 100 else (
        "TOTP secret" if len(secret) == 32 and secret.isupper() else "secret key")
    return f"{kind} {secret[:4]}…"


def _state_secrets(path: str) -> list[str]:
    """Secrets of a double run as a process: its state file, then its admin path."""
    try:
        state = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return []
    user = state.get("user", {}) if isinstance(state, dict) else {}
    found = [user.get("secret_access_key"), user.get("totp_secret")]
    admin = state.get("admin") if isinstance(state, dict) else None
    if isinstance(admin, str) and admin.startswith("http://127.0.0.1:"):
        try:
            request = urllib.request.Request(admin + "secrets", data=b"", method="POST")
            with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
                found += [s for s in json.loads(answer.read()) if isinstance(s, str)]
        except (OSError, ValueError):
            pass
    return [s for s in found if isinstance(s, str)]


SECRETS = Secrets()


def _patch_double() -> None:
    """Register every StsDouble made in this process, and its users' TOTP secrets."""
    try:
        from rolebar.core.stsdouble import StsDouble
    except ImportError:
        return
    if getattr(StsDouble, "_leak_hunt", False):
        return
    init, add_user, stop = StsDouble.__init__, StsDouble.add_user, StsDouble.stop

    def patched_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        SECRETS.watch(self)

    def patched_add_user(self: Any, *args: Any, **kwargs: Any) -> Any:
        user = add_user(self, *args, **kwargs)
        SECRETS.add([user.secret_access_key, user.totp_secret])
        return user

    def patched_stop(self: Any) -> None:
        SECRETS.add(self.secrets())
        stop(self)

    StsDouble.__init__ = patched_init  # type: ignore[method-assign]
    StsDouble.add_user = patched_add_user  # type: ignore[method-assign]
    StsDouble.stop = patched_stop  # type: ignore[method-assign]
    StsDouble._leak_hunt = True  # type: ignore[attr-defined]


# -- what the current test leaked ---------------------------------------------------------------


class Findings:
    """Leaks seen while the current test ran (the sampler and subprocess hooks add here)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cmdlines: set[bytes] = set()  # raw argv seen since the last check
        self.child_stderr: list[tuple[str, bytes]] = []
        self.notes: list[str] = []

    def take(self) -> tuple[set[bytes], list[tuple[str, bytes]]]:
        with self._lock:
            cmdlines, self.cmdlines = self.cmdlines, set()
            stderr, self.child_stderr = self.child_stderr, []
        return cmdlines, stderr

    def add_cmdline(self, raw: bytes) -> None:
        with self._lock:
            self.cmdlines.add(raw)

    def add_stderr(self, who: str, data: bytes) -> None:
        with self._lock:
            self.child_stderr.append((who, data))


FINDINGS = Findings()


class Sampler(threading.Thread):
    """Reads /proc/*/cmdline of every process, again and again, until stopped."""

    def __init__(self) -> None:
        super().__init__(name="leak-hunt-cmdline", daemon=True)
        self.stopped = threading.Event()
        self.sweeps = 0
        self._seen: set[bytes] = set()

    def run(self) -> None:
        me = os.getpid()
        while not self.stopped.wait(SAMPLE_EVERY):
            for pid, raw in _cmdlines(skip=me):
                if raw not in self._seen:
                    if len(self._seen) > 200_000:
                        self._seen.clear()
                    self._seen.add(raw)
                    _note_double_state(raw)
                    # The test chose its own children's argv (a shell script it runs, say);
                    # what counts is what rolebar and its children pass on.
                    if _parent(pid) != me:
                        FINDINGS.add_cmdline(raw)
            self.sweeps += 1


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _cmdlines(skip: int) -> Iterator[tuple[int, bytes]]:
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return
    for pid in pids:
        if pid == skip:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        if raw:
            yield pid, raw


def _note_double_state(raw: bytes) -> None:
    argv = raw.split(b"\0")
    if b"rolebar.core.stsdouble" in raw and b"--state" in argv:
        index = argv.index(b"--state") + 1
        if index < len(argv):
            SECRETS.watch_state(os.fsdecode(argv[index]))


def _patch_subprocess() -> None:
    """See the captured stderr of every child this process starts (and doubles' state)."""
    popen = subprocess.Popen
    if getattr(popen, "_leak_hunt", False):
        return
    init, communicate = popen.__init__, popen.communicate

    def patched_init(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        init(self, args, *rest, **kwargs)
        argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        _note_double_state(b"\0".join(a if isinstance(a, bytes) else os.fsencode(str(a))
                                       for a in argv))

    def patched_communicate(self: Any, *args: Any, **kwargs: Any) -> Any:
        out, err = communicate(self, *args, **kwargs)
        if err:
            who = os.path.basename(str(self.args[0] if isinstance(self.args, list)
                                       else self.args))
            FINDINGS.add_stderr(who, err if isinstance(err, bytes) else err.encode())
        return out, err

    popen.__init__ = patched_init  # type: ignore[method-assign]
    popen.communicate = patched_communicate  # type: ignore[method-assign]
    popen._leak_hunt = True  # type: ignore[attr-defined]


# -- scanning ---------------------------------------------------------------------------------


def scan_tree(root: Path) -> list[str]:
    """Leaks in files under `root`: output files with a secret; rolebar files not 0600."""
    problems: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("node_modules", ".venv")]
        for name in filenames:
            path = Path(dirpath, name)
            try:
                info = path.lstat()
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            found = SECRETS.find(data)
            if not found:
                continue
            where = path.relative_to(root)
            lowered = name.lower()
            if kept := _keyring_sections_holding(data):
                problems.append(f"a long-term secret in [{kept}] of {where}, a section marked "
                                "rolebar_keys = keyring")
            if any(mark in lowered for mark in _OUTPUT_NAMES):
                problems.append(f"{', '.join(found)} in output file {where}")
            elif "rolebar" in path.relative_to(root).parts[:-1] and info.st_mode & 0o077:
                problems.append(f"{', '.join(found)} in {where}, mode "
                                f"{stat.S_IMODE(info.st_mode):04o} (not 0600)")
    return problems


def _keyring_sections_holding(data: bytes) -> str | None:
    """The first section marked `rolebar_keys = keyring` (its keys are in the OS keyring,
    DESIGN.md 5c) that still holds a secret, in an AWS credentials or config file."""
    if b"rolebar_keys" not in data:
        return None
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(data.decode("utf-8", "replace"))
    except configparser.Error:
        return None
    for name in parser.sections():
        values = dict(parser.items(name))
        if values.get("rolebar_keys") == "keyring" and SECRETS.find(
                "\n".join(values.values()).encode()):
            return name
    return None


def scan_outputs(report: pytest.TestReport) -> list[str]:
    problems: list[str] = []
    for title, content in report.sections:
        if "stdout" in title:
            continue  # `-j` / `process` answers belong there
        if found := SECRETS.find(content.encode()):
            problems.append(f"{', '.join(found)} in {title}")
    if report.failed and report.longrepr is not None:
        if found := SECRETS.find(str(report.longrepr).encode()):
            problems.append(f"{', '.join(found)} in the failure/exception text")
    return problems


def scan_children() -> list[str]:
    problems: list[str] = []
    cmdlines, stderr = FINDINGS.take()
    for raw in cmdlines:
        if found := SECRETS.find(raw):
            argv0 = os.path.basename(raw.split(b"\0", 1)[0].decode(errors="replace"))
            problems.append(f"{', '.join(found)} in the argv of a process ({argv0} ...)")
    for who, data in stderr:
        if found := SECRETS.find(data):
            problems.append(f"{', '.join(found)} in the stderr of child {who}")
    return problems


# -- pytest hooks -----------------------------------------------------------------------------


_SAMPLER: Sampler | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _SAMPLER
    config.addinivalue_line(
        "markers", "secret_output: the test prints secrets on purpose; skip output checks")
    _patch_double()
    _patch_subprocess()
    controller = getattr(config.option, "numprocesses", None) and not hasattr(
        config, "workerinput")
    if not controller and os.path.isdir("/proc") and _SAMPLER is None:
        _SAMPLER = Sampler()
        _SAMPLER.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SAMPLER is not None:
        _SAMPLER.stopped.set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if item.get_closest_marker("secret_output") is None:
        SECRETS.harvest()
        problems = scan_outputs(report)
    else:
        problems = []
    if call.when == "teardown":
        SECRETS.harvest()
        tmp = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
        if isinstance(tmp, Path) and tmp.exists():
            problems += scan_tree(tmp)
        problems += scan_children()
    if problems and not report.failed:
        report.outcome = "failed"
        report.longrepr = ("leak hunt: secrets from the STS double leaked:\n  "
                           + "\n  ".join(sorted(set(problems))))
    elif problems:
        report.longrepr = f"{report.longrepr}\n\nleak hunt:\n  " + "\n  ".join(problems)


def pytest_report_header(config: pytest.Config) -> str:
    return "leak hunt: on (tests/leaks/plugin.py)"
