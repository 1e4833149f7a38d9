"""The running engine's credentials endpoint, with a real `rolebar keep`, raw sockets, boto3,
the AWS JavaScript SDK, `rolebar env` and `rolebar exec --endpoint`."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rolebar.core import ipc, paths
from tests.loopback.clients.harness import (
    CLIENTS,
    Keep,
    finish,
    identity,
    lines,
    python,
    start,
    wait_for,
)
from tests.loopback.conftest import ROLEBAR, Aws, assert_no_secret

NODE = "node"


@dataclass
class Running:
    aws: Aws
    keep: Keep
    port: int
    token: str

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, Any]]:
        head = {"Host": f"127.0.0.1:{self.port}", "Authorization": self.token, **headers}
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items() if v is not None)
        return request(self.port, f"GET {path} HTTP/1.1\r\n{lines}\r\n".encode())

    def creds(self, path: str = "/section/live") -> dict[str, Any]:
        status, body = self.get(path)
        assert status == 200, body
        return body


def request(port: int, data: bytes, host: str = "127.0.0.1") -> tuple[int, dict[str, Any]]:
    """Send `data` as it is; (status, JSON body) of the answer."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def recorded() -> tuple[int, str]:
    port = json.loads(paths.endpoint_file().read_text())["port"]
    return port, paths.endpoint_token_file().read_text()


@pytest.fixture
def running(aws: Aws) -> Iterator[Running]:
    """`rolebar --debug keep project-dev --section live`, its endpoint up."""
    with Keep(aws, "--debug", "keep", "project-dev", "--section", "live") as keep:
        wait_for(lambda: paths.endpoint_file().exists(), 30, what="the endpoint")
        yield Running(aws, keep, *recorded())
        assert keep.stop() == 0


def role_of(creds: dict[str, Any]) -> str:
    arn = identity({"aws_access_key_id": creds["AccessKeyId"],
                    "aws_secret_access_key": creds["SecretAccessKey"],
                    "aws_session_token": creds["Token"]})
    return arn.split("/")[1]


def test_the_answer_is_what_the_sdks_read_and_the_files_are_private(running: Running) -> None:
    body = running.creds()
    assert sorted(body) == ["AccessKeyId", "Expiration", "SecretAccessKey", "Token"]
    assert time.strptime(body["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
    assert role_of(body) == "developer"
    assert running.creds("/profile/project-dev")["AccessKeyId"] == body["AccessKeyId"]
    token_file = paths.endpoint_token_file()
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert paths.endpoint_file().stat().st_mode & 0o777 == 0o600
    assert json.loads(paths.endpoint_file().read_text())["pid"] == running.keep.pid
    assert "\n" not in token_file.read_text()  # botocore sends the file's bytes as they are


@pytest.mark.parametrize(("headers", "status"), [
    ({"Authorization": None}, 401),
    ({"Authorization": "wrong"}, 401),
    ({"Host": "evil.example"}, 403),
    ({"Host": "evil.example:{port}"}, 403),
    ({"Host": "127.0.0.1.evil.example:{port}"}, 403),
    ({"Host": None}, 403),
])
def test_refusals(running: Running, headers: dict[str, str | None], status: int) -> None:
    filled = {k: v.format(port=running.port) if v else v for k, v in headers.items()}
    code, body = running.get("/section/live", **filled)  # type: ignore[arg-type]
    assert code == status
    assert sorted(body) == ["Code", "Message"] and "AccessKeyId" not in body


def test_the_token_is_compared_whole_and_loopback_hosts_pass(running: Running) -> None:
    assert running.get("/section/live", Authorization=running.token[:-1])[0] == 401
    assert running.get("/section/live", Authorization=running.token + "x")[0] == 401
    for host in (f"localhost:{running.port}", f"[::1]:{running.port}", "127.0.0.1"):
        assert running.get("/section/live", Host=host)[0] == 200, host
    assert running.get("/section/live", Host="127.0.0.1:1")[0] == 403


def test_oversized_and_malformed_requests_are_refused(running: Running) -> None:
    big = f"GET /section/live HTTP/1.1\r\nHost: 127.0.0.1:{running.port}\r\n" + \
        "".join(f"X-Pad-{i}: {'a' * 100}\r\n" for i in range(100)) + \
        f"Authorization: {running.token}\r\n\r\n"
    status, body = request(running.port, big.encode())
    assert status == 431 and "AccessKeyId" not in body
    assert request(running.port, b"GARBAGE\r\n\r\n")[0] == 400
    head = f"Host: 127.0.0.1:{running.port}\r\nAuthorization: {running.token}\r\n"
    assert request(running.port, f"POST /section/live HTTP/1.1\r\n{head}"
                   "Content-Length: 2\r\n\r\n{}".encode())[0] == 405
    assert running.get("/section/nobody-keeps-this")[0] == 404
    assert running.get("/profile/no-such-profile")[0] == 404
    assert running.get("/elsewhere")[0] == 404
    # A client that sends half a request and waits is cut off; the endpoint goes on.
    with socket.create_connection(("127.0.0.1", running.port), timeout=30) as slow:
        slow.sendall(b"GET /section/live HTTP/1.1\r\n")
        started = time.monotonic()
        assert slow.recv(100) == b""
        assert time.monotonic() - started < 25
    assert running.get("/section/live")[0] == 200


def test_it_listens_on_127_0_0_1_only(running: Running) -> None:
    listening = [line.split()[1] for line in
                 Path(f"/proc/{running.keep.pid}/net/tcp").read_text().splitlines()[1:]
                 if line.split()[3] == "0A"]  # LISTEN
    assert f"0100007F:{running.port:04X}" in listening
    assert not [a for a in listening if a.endswith(f":{running.port:04X}")
                and a != f"0100007F:{running.port:04X}"]
    families = [(socket.AF_INET, "127.0.0.2")] + ([(socket.AF_INET6, "::1")]
                                                  if socket.has_ipv6 else [])
    for family, address in families:
        with socket.socket(family) as sock, pytest.raises(OSError):
            sock.settimeout(5)
            sock.connect((address, running.port))


def test_200_concurrent_clients_of_the_endpoint_and_the_ipc_are_all_answered(
        running: Running) -> None:
    running.creds()  # the cache is warm; what follows measures serving, not STS
    answers: list[object] = []
    lock, go = threading.Lock(), threading.Event()

    def endpoint_client() -> None:
        go.wait()
        try:
            status, body = running.get("/section/live")
            found: object = (status, body.get("AccessKeyId"))
        except OSError as exc:
            found = repr(exc)
        with lock:
            answers.append(("endpoint", found))

    def ipc_client() -> None:
        go.wait()
        reply = ipc.call("ping", timeout=30)
        with lock:
            answers.append(("ipc", bool(reply and reply.get("pid") == running.keep.pid)))

    threads = [threading.Thread(target=f) for f in (endpoint_client, ipc_client)
               for _ in range(200)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(120)
    endpoint = [a for kind, a in answers if kind == "endpoint"]
    assert len(endpoint) == 200 and len({str(a) for a in endpoint}) == 1, endpoint[:3]
    assert endpoint[0][0] == 200  # type: ignore[index]
    assert [a for kind, a in answers if kind == "ipc"] == [True] * 200


def test_a_role_switch_reaches_the_very_next_request(running: Running) -> None:
    assert role_of(running.creds()) == "developer"
    assert running.aws.run("select", "project-ops", "--section", "live").returncode == 0
    assert role_of(running.creds()) == "operator"
    assert role_of(running.creds("/profile/project-dev")) == "developer"


def test_no_secret_in_its_logs(running: Running) -> None:
    running.creds()
    running.get("/section/live", Authorization="wrong")
    running.get("/section/live", Host="evil.example")
    running.keep.stop()
    log = (paths.log_dir() / "rolebar.log").read_text()
    assert "endpoint: serving on 127.0.0.1" in log and "wrong token" in log
    for text in (log, running.keep.stderr()):
        assert running.token not in text
        assert_no_secret(text, running.aws.secrets())


# -- rolebar env and exec --endpoint -----------------------------------------------------------


def test_env_prints_the_variables_in_each_format(running: Running) -> None:
    aws, url = running.aws, f"http://127.0.0.1:{running.port}"
    done = aws.run("env", "--section", "live", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{url}/section/live",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": running.token}
    done = aws.run("env", "project-dev", "--format", "dotenv", "--token-file")
    assert done.stdout.splitlines() == [
        f"AWS_CONTAINER_CREDENTIALS_FULL_URI={url}/profile/project-dev",
        f"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={paths.endpoint_token_file()}"]
    done = aws.run("env", "project-dev")
    unset, *exports = done.stdout.splitlines()
    assert unset.startswith("unset AWS_PROFILE ") and "AWS_ACCESS_KEY_ID" in unset
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in unset
    assert exports == [f"export AWS_CONTAINER_CREDENTIALS_FULL_URI={url}/profile/project-dev",
                       f"export AWS_CONTAINER_AUTHORIZATION_TOKEN={running.token}"]
    script = f'{done.stdout}\nexec {sys.executable} -c "import boto3; ' \
        'print(boto3.client(\'sts\').get_caller_identity()[\'Arn\'])"'
    shell = start(["sh", "-c", script], aws, env={"AWS_PROFILE": "readonly"})
    out, err = finish(shell, 60)
    assert "assumed-role/developer/" in out, err


def test_env_refuses_what_it_cannot_serve(running: Running) -> None:
    for argv, subject in ((["nope"], "profile nope"), (["--section", "other"], "section other")):
        done = running.aws.run("env", *argv)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"rolebar: {subject}: ") and done.stderr.count("\n") == 1


def test_without_an_engine_env_and_exec_say_how_to_start_one(aws: Aws) -> None:
    line = ("rolebar: profile project-dev: no engine is running; start one with `rolebar "
            "keep` or `rolebar tray`\n")
    for argv in (["env", "project-dev"], ["exec", "--endpoint", "project-dev", "--", "true"]):
        done = aws.run(*argv)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", line)
    assert aws.double.calls == []  # exec asked for no code and fetched nothing


def test_the_files_go_when_the_engine_stops(aws: Aws) -> None:
    with Keep(aws, "keep", "project-dev") as keep:
        wait_for(lambda: paths.endpoint_file().exists(), 30, what="the endpoint")
        assert keep.stop() == 0
    assert not paths.endpoint_file().exists() and not paths.endpoint_token_file().exists()
    assert aws.run("env", "project-dev").returncode == 2


EXEC_PROBE = """\
import json, os, boto3
print(json.dumps({"arn": boto3.client("sts").get_caller_identity()["Arn"],
                  "env": sorted(k for k in os.environ if k.startswith("AWS_"))}))
"""


def test_exec_endpoint_runs_a_command_that_asks_the_engine(running: Running) -> None:
    done = running.aws.run("exec", "--endpoint", "project-dev", "--", sys.executable, "-c",
                           EXEC_PROBE, env={"AWS_PROFILE": "readonly",
                                            "AWS_ACCESS_KEY_ID": "AKIASTALESTALESTALE1",
                                            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/x"})
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    assert "assumed-role/developer/" in probe["arn"]
    assert {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "AWS_REGION"} <= set(probe["env"])
    assert not {"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"} & set(probe["env"])


# -- long-running real clients on the endpoint alone ------------------------------------------

ROLE_LIFETIME = 20
DURATION = 75.0  # several role lifetimes


@pytest.mark.slow
def test_long_running_sdk_clients_refresh_from_the_endpoint_and_follow_a_switch(
        aws: Aws) -> None:
    aws.double.role_lifetime = ROLE_LIFETIME
    aws.double.session_lifetime = 120
    with Keep(aws, "keep", "project-dev", "--section", "live") as keep:
        wait_for(lambda: paths.endpoint_file().exists(), 30, what="the endpoint")
        port, token = recorded()
        wait_for(lambda: aws.double.counts["AssumeRole"] >= 1, 30, what="the cache")
        only = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{port}/section/live",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": token, "AWS_REGION": "us-east-1"}
        node = start([NODE, str(CLIENTS / "sts_client.mjs"), str(DURATION)], aws, env=only)
        boto = start(python("sts_client.py", str(DURATION)), aws, env=only)
        # And one through `rolebar exec --endpoint` on the profile's path.
        pinned = start([ROLEBAR, "exec", "--endpoint",
                        "project-dev", "--", *python("sts_client.py", str(DURATION))], aws)
        time.sleep(DURATION / 2)
        switched = time.time()
        assert aws.run("select", "project-ops", "--section", "live").returncode == 0
        results = {name: finish(proc, DURATION + 60)
                   for name, proc in (("node", node), ("boto3", boto), ("exec", pinned))}
        assert keep.stop() == 0
    for name, (out, err) in results.items():
        calls = lines(out)
        assert len(calls) >= DURATION * 0.8, (name, err[-2000:])
        assert [c for c in calls if "error" in c] == [], name
        assert calls[-1]["t"] - calls[0]["t"] >= 3 * ROLE_LIFETIME
        before = {c["arn"].split("/")[1] for c in calls if c["done"] < switched}
        after = {c["arn"].split("/")[1] for c in calls if c["t"] > switched + 2}
        wanted = {"developer"} if name == "exec" else {"operator"}
        assert (before, after) == ({"developer"}, wanted), name
        assert_no_secret(err, aws.secrets())
    assert aws.double.counts["AssumeRole"] >= 2 * DURATION / ROLE_LIFETIME
