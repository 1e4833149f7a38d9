"""The engine's credentials endpoint (container-credentials protocol) against a cached
`rolebar process` spawn, and the engine's idle cost with the endpoint on.

- A `rolebar keep` process keeps [tray-managed] (1 h credentials, generate_token) against
  the STS double and serves the endpoint on 127.0.0.1 (port and token from its runtime
  directory, as `rolebar env` reads them).
- Answer latency, one request at a time: a new connection, `GET /section/tray-managed`
  with the token, the whole answer read (the endpoint closes each connection, so this is
  what an SDK's refresh pays); p50 and p99 of many. The same through botocore's own
  fetcher (ContainerMetadataFetcher, what boto3 and the AWS CLI call on a refresh).
- Requests per second: several client processes with a few threads each, for a while.
- Side by side, a cached `rolebar process --section tray-managed` spawn (rolebar from a
  wheel, as b_process), p50 and p99, and its rate one after another: what an SDK using
  `credential_process` pays per refresh instead.
- The keeper idle for a minute with the endpoint listening: CPU, wake-ups.

Runs alone too: `python bench/b_endpoint.py` prints its rows.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROLE_ARNS,
    VENV_BIN,
    Row,
    Setup,
    aws_setup,
    log,
    rolebar_venv,
    row,
    sts_double,
)

ROLEBAR = str(VENV_BIN / "rolebar")
SECTION = "tray-managed"
PATH = f"/section/{SECTION}"
REQUESTS = 3000  # one at a time, after WARMUP
WARMUP = 100
SDK_REQUESTS = 1000
SPAWNS = 100
LOAD_SECONDS = 5.0
LOAD_PROCESSES = 2
LOAD_THREADS = 4  # per process
IDLE_SECONDS = 60.0


@contextlib.contextmanager
def engine(setup: Setup) -> Iterator[tuple[subprocess.Popen[bytes], int, str]]:
    """`rolebar keep` keeping [tray-managed]; (process, endpoint port, token)."""
    runtime = setup.home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**setup.env, "XDG_RUNTIME_DIR": str(runtime)}
    setup.env = env  # every rolebar started from here finds the same engine
    subprocess.run([ROLEBAR, "select", "member-0", "--style", "keys"], env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([ROLEBAR, "keep"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        port, token = _wait_for_endpoint(setup, runtime, proc)
        yield proc, port, token
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_endpoint(setup: Setup, runtime: Path, proc: subprocess.Popen[bytes],
                       timeout: float = 60) -> tuple[int, str]:
    credentials = setup.home / ".aws" / "credentials"
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(runtime.rglob("endpoint.json"))
        if found and "rolebar_expiration" in credentials.read_text():
            port = int(json.loads(found[0].read_text())["port"])
            return port, (found[0].parent / "endpoint.token").read_text().strip()
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the engine wrote no keys or served no endpoint")
        time.sleep(0.1)


def ask(port: int, token: str) -> bytes:
    """One request on a new connection, the whole answer read."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: "
                     f"{token}\r\nAccept: application/json\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    if not data.startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(f"the endpoint answered {data[:40]!r}")
    return data


def percentiles(times: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = sorted(times)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000)


def latency(port: int, token: str) -> list[float]:
    for _ in range(WARMUP):
        ask(port, token)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        ask(port, token)
        times.append(time.perf_counter() - started)
    return times


def sdk_latency(port: int, token: str) -> list[float]:
    """botocore's own fetcher for AWS_CONTAINER_CREDENTIALS_FULL_URI."""
    from botocore.utils import ContainerMetadataFetcher

    fetcher = ContainerMetadataFetcher()
    url = f"http://127.0.0.1:{port}{PATH}"
    times = []
    for index in range(WARMUP + SDK_REQUESTS):
        started = time.perf_counter()
        answer = fetcher.retrieve_full_uri(url, headers={"Authorization": token})
        if index >= WARMUP:
            times.append(time.perf_counter() - started)
        if not answer.get("AccessKeyId", "").startswith("ASIA"):
            raise RuntimeError("botocore got no role credentials")
    return times


def _load_worker(port: int, token: str, until: float, counts: multiprocessing.Queue) -> None:
    done = [0] * LOAD_THREADS

    def client(index: int) -> None:
        while time.monotonic() < until:
            ask(port, token)
            done[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts.put(sum(done))


def throughput(port: int, token: str) -> float:
    """Answers per second to LOAD_PROCESSES x LOAD_THREADS clients asking back to back."""
    context = multiprocessing.get_context("fork")
    counts: multiprocessing.Queue = context.Queue()
    until = time.monotonic() + LOAD_SECONDS
    workers = [context.Process(target=_load_worker, args=(port, token, until, counts))
               for _ in range(LOAD_PROCESSES)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    total = sum(counts.get(timeout=LOAD_SECONDS + 60) for _ in workers)
    for worker in workers:
        worker.join(30)
        if worker.exitcode != 0:
            raise RuntimeError(f"a load client exited {worker.exitcode}")
    return total / (time.monotonic() - started)


def spawns(setup: Setup, rolebar: str) -> list[float]:
    argv = [rolebar, "process", "--section", SECTION]
    times = []
    for index in range(3 + SPAWNS):
        started = time.perf_counter()
        done = subprocess.run(argv, env=setup.env, stdin=subprocess.DEVNULL,
                              capture_output=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0 or b'"AccessKeyId"' not in done.stdout:
            raise RuntimeError(f"rolebar process exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace')[-300:]}")
        if index >= 3:
            times.append(elapsed)
    return times


def _cpu_and_switches(pid: int) -> tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a request's thread that just ended
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    switches += int(line.split()[1])
    return cpu, switches


def idle(pid: int) -> tuple[float, float]:
    """(CPU %, wake-ups per minute) over IDLE_SECONDS with nobody asking."""
    time.sleep(5)  # the load's threads end, the keeper's re-check settles
    log(f"endpoint: engine idle for {IDLE_SECONDS:.0f} s")
    cpu0, sw0 = _cpu_and_switches(pid)
    time.sleep(IDLE_SECONDS)
    cpu1, sw1 = _cpu_and_switches(pid)
    return (cpu1 - cpu0) / IDLE_SECONDS * 100, (sw1 - sw0) / IDLE_SECONDS * 60


def measure() -> list[Row]:
    wheel = str(rolebar_venv() / "bin" / "rolebar")
    with sts_double(ROLE_ARNS, role_lifetime=3600, session_lifetime=43200) as double, \
            aws_setup(double, ["member"], token_python=sys.executable) as setup, \
            engine(setup) as (proc, port, token):
        calls = len(double.calls)
        log(f"endpoint: {REQUESTS} requests one at a time, then botocore, then load")
        direct = percentiles(latency(port, token))
        sdk = percentiles(sdk_latency(port, token))
        rate = throughput(port, token)
        log(f"endpoint: {SPAWNS} cached `rolebar process` spawns")
        spawn = percentiles(spawns(setup, wheel))
        if len(double.calls) != calls:
            raise RuntimeError("the endpoint or `rolebar process` called STS: not from the cache")
        cpu, wakeups = idle(proc.pid) if Path("/proc/self/stat").exists() else (-1.0, -1.0)
    spawn_rate = 1000 / spawn[0]
    clients = f"{LOAD_PROCESSES} processes x {LOAD_THREADS} threads"
    return [
        {**row("endpoint answer latency, p50", direct[0], "ms",
               f"of {REQUESTS}, one at a time: connect, GET with the token, whole answer; "
               "from the engine's cache, no STS call"),
         "baseline": f"cached `rolebar process` spawn p50 {spawn[0]:.1f} ms",
         "ratio": direct[0] / spawn[0]},
        {**row("endpoint answer latency, p99", direct[1], "ms", f"of {REQUESTS}"),
         "baseline": f"cached `rolebar process` spawn p99 {spawn[1]:.1f} ms",
         "ratio": direct[1] / spawn[1]},
        {**row("endpoint through botocore's fetcher, p50", sdk[0], "ms",
               f"of {SDK_REQUESTS}, ContainerMetadataFetcher.retrieve_full_uri (what boto3 and "
               f"the AWS CLI call per refresh); p99 {sdk[1]:.2f} ms"),
         "baseline": f"cached `rolebar process` spawn p50 {spawn[0]:.1f} ms",
         "ratio": sdk[0] / spawn[0]},
        {**row("endpoint requests per second", rate, "req/s",
               f"{clients} asking back to back for {LOAD_SECONDS:.0f} s, a new connection "
               "each; clients and engine share the machine's cores"),
         "baseline": f"`rolebar process` one after another {spawn_rate:.0f}/s",
         "ratio": rate / spawn_rate},
        row("cached `rolebar process --section` spawn, p50", spawn[0], "ms",
            f"of {SPAWNS}; rolebar from a wheel (as b_process); p99 {spawn[1]:.1f} ms; "
            "what an SDK using credential_process pays per refresh"),
        row("engine idle CPU, endpoint on", cpu, "%",
            f"`rolebar keep` with the endpoint listening, {IDLE_SECONDS:.0f} s after the "
            "load, one kept section, 1 h credentials"),
        row("engine idle wake-ups, endpoint on", wakeups, "per min",
            "voluntary context switches of all its threads (the endpoint's accept loop "
            "waits with no poll interval)"),
    ]


if __name__ == "__main__":
    for found in measure():
        print(found)
