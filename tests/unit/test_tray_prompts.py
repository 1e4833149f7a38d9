"""The tray's open code prompts (tray/prompts.py): one dialog process per MFA device, its
code handed to the keeper, a cancel handing nothing. Real child processes stand in for the
dialog (tray/dialog.py, tested in test_dialog.py)."""

from __future__ import annotations

import sys
import threading

from rolebar.core.codes import REUSED, CodeRequest, dialog_argv
from rolebar.tray.prompts import Prompts

DEVICE = "arn:aws:iam::000000000000:mfa/member"


def child(code: str) -> list[str]:
    """A dialog that prints `code` and exits 0 as the real one does."""
    return [sys.executable, "-c", f"print({code!r})"]


class Submitted:
    def __init__(self) -> None:
        self.codes: list[tuple[str, str]] = []
        self.done = threading.Event()

    def __call__(self, device: str, code: str) -> None:
        self.codes.append((device, code))
        self.done.set()


def test_the_dialog_is_the_module_core_starts_too() -> None:
    argv = dialog_argv(CodeRequest(DEVICE, "dev"))
    assert argv[:3] == [sys.executable, "-m", "rolebar.tray.dialog"]
    assert argv[3:] == ["--message", f"One-time code for {DEVICE} (profile dev)"]


def test_a_prompt_opened_again_carries_the_reason_in_its_message() -> None:
    requests: list[CodeRequest] = []

    def argv(request: CodeRequest) -> list[str]:
        requests.append(request)
        return [sys.executable, "-c", "raise SystemExit(1)"]  # the person cancels

    prompts = Prompts(lambda device, code: None, argv)
    assert prompts.ask(DEVICE, "dev", REUSED)
    assert requests[0].message.startswith(
        "That code was already used; wait for the next one. One-time code for ")


def test_the_typed_code_reaches_the_keeper() -> None:
    submitted = Submitted()
    prompts = Prompts(submitted, lambda request: child("123456"))
    assert prompts.ask(DEVICE, "dev")
    assert submitted.done.wait(30)
    assert submitted.codes == [(DEVICE, "123456")]


def test_one_prompt_per_device_and_a_closed_one_submits_nothing() -> None:
    submitted = Submitted()
    started: list[CodeRequest] = []

    def argv(request: CodeRequest) -> list[str]:
        started.append(request)
        return [sys.executable, "-c", "import time; time.sleep(60); print('123456')"]

    prompts = Prompts(submitted, argv)
    assert prompts.ask(DEVICE, "dev")
    assert not prompts.ask(DEVICE, "ops")  # the same device: the open prompt serves both
    assert len(started) == 1
    prompts.close_all()  # the tray quits: the child is ended, its answer is not used
    assert not prompts.ask("arn:aws:iam::000000000000:mfa/other", "prd")  # nor a new one
    for waiter in threading.enumerate():  # the thread that reads the ended child
        if waiter.name == "rolebar-prompt":
            waiter.join(30)
    assert submitted.codes == []


def test_a_dialog_that_cannot_start_leaves_the_device_free() -> None:
    submitted = Submitted()
    dialogs = [["/nonexistent/dialog"], child("654321")]
    prompts = Prompts(submitted, lambda request: dialogs.pop(0))
    assert not prompts.ask(DEVICE, "dev")
    assert prompts.ask(DEVICE, "dev")  # nothing was held open for the device
    assert submitted.done.wait(30) and submitted.codes == [(DEVICE, "654321")]
