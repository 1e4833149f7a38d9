"""The keeper: freshness a reader sees, STS calls per kept section, write cost, idle cost.

- A `rolebar keep` process keeps [tray-managed] (keys style) against the STS double with
  20 s role credentials while a reader re-reads the section every 0.2 s for a minute and
  calls STS with what it read: the smallest remaining lifetime it ever saw, as a fraction
  of the lifetime (DESIGN.md section 4 promises at least min(15 min, lifetime/2), i.e.
  0.5 for short and 0.25 for 1 h credentials), and the AssumeRole calls per hour.
- STS calls per hour for real 1 h credentials and 12 h MFA sessions follow from the same
  `deadlines()` the short run exercises (the measured rate is checked against it).
- One section write (lock, read, rewrite, fsync, rename) in a credentials file that also
  holds 500 other profiles, and in one of about 5 MB (40,000 profiles): a write reads the
  file once, so its cost grows with the file, not faster.
- The keeper idle for a minute (1 h credentials, nothing due): CPU time, RSS, and how
  often its threads wake up (voluntary context switches): no busy polling.

Runs alone too: `python bench/b_keeper.py` prints its rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROLE_ARNS,
    ROOT,
    VENV_BIN,
    Row,
    Setup,
    aws_setup,
    log,
    row,
    sts_double,
)

ROLEBAR = str(VENV_BIN / "rolebar")
READER = ROOT / "tests" / "loopback" / "clients" / "reader.py"

SHORT_LIFETIME = 20
READ_SECONDS = 60.0
IDLE_SECONDS = 60.0


@contextlib.contextmanager
def keeper(setup: Setup, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**setup.env, "XDG_RUNTIME_DIR": str(_runtime(setup))}
    for argv in (["select", *args],):
        subprocess.run([ROLEBAR, *argv], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([ROLEBAR, "keep"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait_for_keys(setup)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _runtime(setup: Setup) -> Path:
    path = setup.home / "run"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _wait_for_keys(setup: Setup, timeout: float = 60) -> None:
    path = setup.home / ".aws" / "credentials"
    deadline = time.monotonic() + timeout
    while "rolebar_expiration" not in path.read_text():
        if time.monotonic() > deadline:
            raise RuntimeError("the keeper wrote no keys")
        time.sleep(0.1)


def freshness_and_calls() -> list[Row]:
    from rolebar.core.timing import deadlines, session_lead

    with sts_double(ROLE_ARNS, role_lifetime=SHORT_LIFETIME, session_lifetime=3600) as double, \
            aws_setup(double, ["member"], token_python=sys.executable) as setup:
        with keeper(setup, "member-0", "--style", "keys"):
            before = dict(double.counts)  # type: ignore[attr-defined]
            started = time.monotonic()
            log(f"keeper: reading [tray-managed] every 0.2 s for {READ_SECONDS:.0f} s")
            done = subprocess.run(
                [sys.executable, str(READER), "--duration", str(READ_SECONDS),
                 "--lifetime", str(SHORT_LIFETIME)],
                env=setup.env, capture_output=True, text=True, check=True)
            elapsed = time.monotonic() - started
            after = dict(double.counts)  # type: ignore[attr-defined]
    summary = json.loads(done.stdout)
    if summary["torn"] or summary["missing"] or summary["errors"]:
        raise RuntimeError(f"the reader saw problems: {summary['problems'][:5]}")
    assumes = after["AssumeRole"] - before["AssumeRole"]
    measured = assumes * 3600 / elapsed
    soft, _ = deadlines(0, SHORT_LIFETIME)
    predicted = 3600 / soft
    real_soft, _ = deadlines(0, 3600)
    session_every = 43200 - session_lead(0, 43200)
    real = 3600 / real_soft + 3600 / session_every
    return [
        row("smallest remaining lifetime a reader saw", summary["min_left_fraction"],
            "x lifetime",
            f"{summary['reads']} reads of [tray-managed] every 0.2 s for {READ_SECONDS:.0f} s, "
            f"{SHORT_LIFETIME} s credentials (promise: >= 0.5); "
            f"{summary['min_left']:.1f} s left; 0 torn, 0 missing, 0 STS errors"),
        row(f"STS calls per hour per kept section ({SHORT_LIFETIME} s credentials)", measured,
            "calls/h", f"{assumes} AssumeRole in {elapsed:.0f} s; deadlines() predicts "
            f"{predicted:.0f}/h (refresh every {soft:.1f} s)"),
        row("STS calls per hour per kept section (1 h credentials, 12 h MFA session)", real,
            "calls/h", f"AssumeRole every {real_soft / 60:.1f} min + GetSessionToken every "
            f"{session_every / 3600:.2f} h, from the deadlines() checked above"),
    ]


def write_time(others: int = 500, rounds: int = 200) -> list[Row]:
    home = Path(tempfile.mkdtemp(prefix="rolebar-bench-write-"))
    saved = {k: os.environ.get(k) for k in ("XDG_STATE_HOME", "HOME")}
    os.environ["XDG_STATE_HOME"] = str(home / "state")
    os.environ["HOME"] = str(home)
    try:
        from rolebar.core.credfile import SectionWriter

        path = home / "credentials"
        path.write_text("".join(
            f"# profile {i}\n[p{i}]\naws_access_key_id = AKIA{i:016d}\n"
            f"aws_secret_access_key = {'s' * 40}\nregion = eu-west-1\n\n"
            for i in range(others)))
        path.chmod(0o600)
        writer = SectionWriter(path)
        times = []
        for n in range(rounds):
            values = {"aws_access_key_id": f"ASIA{n:016d}", "aws_secret_access_key": "x" * 40,
                      "aws_session_token": "t" * 600, "rolebar_expiration": "2030-01-01T00:00:00Z",
                      "region": "eu-west-1"}
            started = time.perf_counter()
            writer.write("tray-managed", values)
            times.append(time.perf_counter() - started)
        size = path.stat().st_size
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        import shutil

        shutil.rmtree(home, ignore_errors=True)
    times.sort()
    return [row(f"one section write, {others} other profiles", statistics.median(times) * 1000,
                "ms", f"median of {rounds} (p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms);"
                f" {size / 1024:.0f} KiB file; lock, read, rewrite, fsync, rename")]


def _proc(pid: int) -> tuple[float, int, int]:
    """(CPU seconds, RSS bytes, voluntary context switches of all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                switches += int(line.split()[1])
    return cpu, rss, switches


def idle() -> list[Row]:
    if not Path("/proc/self/stat").exists():
        return [row("keeper idle CPU", float("nan"), "%", "needs /proc (Linux)")]
    with sts_double(ROLE_ARNS, role_lifetime=3600, session_lifetime=43200) as double, \
            aws_setup(double, ["member"], token_python=sys.executable) as setup, \
            keeper(setup, "member-0", "--style", "keys") as proc:
        time.sleep(5)  # let the first write and its re-check settle
        log(f"keeper: idle for {IDLE_SECONDS:.0f} s")
        cpu0, _, sw0 = _proc(proc.pid)
        time.sleep(IDLE_SECONDS)
        cpu1, rss, sw1 = _proc(proc.pid)
    return [
        row("keeper idle CPU", (cpu1 - cpu0) / IDLE_SECONDS * 100, "%",
            f"{(cpu1 - cpu0) * 1000:.0f} ms CPU in {IDLE_SECONDS:.0f} s, one kept section, "
            "1 h credentials"),
        row("keeper idle wake-ups", (sw1 - sw0) / IDLE_SECONDS * 60, "per min",
            "voluntary context switches of all its threads (the worker wakes at most every "
            "10 s)"),
        row("keeper RSS", rss / 1024 / 1024, "MiB", "`rolebar keep` after a minute idle"),
    ]


def measure() -> list[Row]:
    return [*freshness_and_calls(), *write_time(), *write_time(40_000, 10), *idle()]


if __name__ == "__main__":
    for r in measure():
        print(f"{r['name']}: {r['value']} {r['unit']}  ({r['note']})")
