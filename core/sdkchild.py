"""AWS calls in a short-lived child process, for a process that lives all day (sdk.py).

The parent (`ChildSdk`) sends one request as JSON on the child's stdin: the files, the
client (keys included: a pipe, never argv or the environment) and the call. The child
(`python -m rolebar.core.sdkchild`) makes it with boto3 in-process (`boto.LocalSdk`) and
answers on stdout: the result, or the botocore exception as its class name, the error
response and the endpoint. The parent raises that exception again, so callers translate
it as if the call had been made in-process. Exception messages are not sent: botocore's
may quote a parameter, and the parameters include one-time codes and tokens.

If the child dies, hangs past every timeout its client has, or answers nonsense, the
call counts as one that may have reached AWS (HTTPClientError, ReadTimeoutError): a code
in it is spent. Nothing is cached in the child; each call pays its start-up (about 0.2 s
of CPU and 45 MiB for that moment), for a refresh every half hour or so.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rolebar.core.sdk import Client

MODULE = "rolebar.core.sdkchild"
STARTUP = 20.0  # seconds a child may take to start before its client's own timeouts
LIMIT = 1 << 20  # bytes of request or answer; an STS answer is about 2 KiB
# What a botocore exception's fields may carry back: its endpoint and region, no values.
SAFE_FIELDS = ("endpoint_url", "region_name", "operation_name")
_DATETIME = "$datetime"


class ChildSdk:
    """The Sdk of one state of the AWS files, each call made in a child process."""

    command = (sys.executable, "-m", MODULE)  # the frozen app answers `-m` too

    def __init__(self, files: tuple[Path, Path]) -> None:
        self.files = files
        self._checked: set[Client] = set()
        self._lock = threading.Lock()

    def client(self, spec: Client) -> ChildClient:
        return ChildClient(self, spec)

    def check(self, spec: Client) -> None:
        """Once per client shape: a region that was valid stays valid for these files."""
        with self._lock:
            if spec in self._checked:
                return
        self.run(spec, "", {})
        with self._lock:
            self._checked.add(spec)

    def run(self, spec: Client, operation: str, params: dict[str, Any]) -> Any:
        """The child's answer to one call ("" checks, "meta.endpoint_url" resolves)."""
        request = {"files": [str(f) for f in self.files], "client": _client_dict(spec),
                   "operation": operation, "params": params}
        deadline = deadline_of(spec)
        try:
            done = subprocess.run(self.command, input=dumps(request), capture_output=True,
                                  timeout=deadline, check=False)
        except subprocess.TimeoutExpired:
            raise _exception({"type": "ReadTimeoutError", "fields": {
                "endpoint_url": f"no answer from rolebar's AWS call helper in {deadline:.0f} s"
            }}) from None
        except OSError as exc:
            raise _exception({"type": "EndpointConnectionError", "fields": {
                "endpoint_url": f"rolebar's AWS call helper did not start: {exc.strerror}"
            }}) from None
        try:
            answer = loads(done.stdout[:LIMIT]) if done.returncode == 0 else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not ({"result", "error"} & answer.keys()):
            raise _exception({"type": "HTTPClientError", "fields": {
                "endpoint_url": f"rolebar's AWS call helper failed ({_why(done)})"}})
        if "error" in answer:
            raise _exception(answer["error"])
        return answer["result"]


def deadline_of(spec: Client) -> float:
    """How long a child may take: its start-up, then every try its client may make."""
    return STARTUP + spec.attempts * (spec.connect_timeout + spec.read_timeout + 2)


class ChildClient:
    """Stands in for a boto3 client: `client.get_session_token(...)` runs in a child."""

    def __init__(self, sdk: ChildSdk, spec: Client) -> None:
        self._sdk = sdk
        self._spec = spec

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**params: Any) -> Any:
            return self._sdk.run(self._spec, operation, params)

        return call

    @property
    def meta(self) -> Any:
        return _Meta(self._sdk, self._spec)


class _Meta:
    def __init__(self, sdk: ChildSdk, spec: Client) -> None:
        self._sdk = sdk
        self._spec = spec

    @property
    def endpoint_url(self) -> str:
        return str(self._sdk.run(self._spec, "meta.endpoint_url", {}))


def _client_dict(spec: Client) -> dict[str, Any]:
    return {"service": spec.service, "profile": spec.profile, "region": spec.region,
            "keys": list(spec.keys) if spec.keys else None, "attempts": spec.attempts,
            "connect_timeout": spec.connect_timeout, "read_timeout": spec.read_timeout}


def _why(done: subprocess.CompletedProcess[bytes]) -> str:
    """Exit status and the exception's class from the traceback, never its message."""
    last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    kind = last[0].split(":", 1)[0].strip()
    named = f", {kind}" if kind.isidentifier() else ""
    return f"exit {done.returncode}{named}" if done.returncode else "no answer"


def _exception(error: dict[str, Any]) -> Exception:
    """The botocore exception the child caught, made again (class, response, endpoint)."""
    import botocore.exceptions as bx  # loaded with the config parser: no cost here

    kind = str(error.get("type"))
    if kind == "ClientError":
        response = error.get("response") or {}
        client_error: Exception = bx.ClientError(response, str(error.get("operation", "")))
        return client_error
    found = getattr(bx, kind, None)
    cls: type[Exception] = bx.HTTPClientError  # anything else: the call may have gone out
    if isinstance(found, type) and issubclass(found, bx.BotoCoreError):
        cls = found
    exc = cls.__new__(cls)
    Exception.__init__(exc, cls.__name__)
    exc.kwargs = {k: str(v) for k, v in dict(error.get("fields") or {}).items()}  # type: ignore[attr-defined]
    return exc


def dumps(value: Any) -> bytes:
    def encode(obj: Any) -> Any:
        if isinstance(obj, datetime):
            return {_DATETIME: obj.timestamp()}
        raise TypeError(type(obj).__name__)

    return json.dumps(value, default=encode).encode()


def loads(data: bytes) -> Any:
    def decode(obj: dict[str, Any]) -> Any:
        if obj.keys() == {_DATETIME}:
            return datetime.fromtimestamp(obj[_DATETIME], timezone.utc)
        return obj

    return json.loads(data, object_hook=decode)


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The child's side: make the call, catch botocore's exceptions as plain values."""
    import botocore.exceptions as bx

    from rolebar.core.boto import LocalSdk
    from rolebar.core.profiles import Catalog

    try:
        config, credentials = request["files"]
        env = {**os.environ, "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials}
        raw = dict(request["client"])
        spec = Client(**{**raw, "keys": tuple(raw["keys"]) if raw.get("keys") else None})
        sdk = LocalSdk(Catalog.load(env).full_config())
        operation, params = str(request["operation"]), dict(request["params"])
        if not operation:
            sdk.check(spec)
            return {"result": None}
        client = sdk.client(spec)
        if operation == "meta.endpoint_url":
            return {"result": client.meta.endpoint_url}
        return {"result": getattr(client, operation)(**params)}
    except bx.ClientError as exc:
        response = exc.response
        slim = {"Error": {k: str(v) for k, v in response.get("Error", {}).items()
                          if k in ("Code", "Message")},
                "ResponseMetadata": {"HTTPStatusCode": response.get("ResponseMetadata", {})
                                     .get("HTTPStatusCode")}}
        return {"error": {"type": "ClientError", "operation": exc.operation_name,
                          "response": slim}}
    except bx.BotoCoreError as exc:
        fields = {k: str(v) for k, v in exc.kwargs.items() if k in SAFE_FIELDS}
        return {"error": {"type": type(exc).__name__, "fields": fields}}


def main() -> int:
    logging.disable(logging.CRITICAL)  # the parent logs the call; nothing here may leak
    request = loads(sys.stdin.buffer.read(LIMIT))
    sys.stdout.buffer.write(dumps(answer(request)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
