"""What every fault case checks: one `rolebar:` line or a recovery, never a traceback."""

from __future__ import annotations

import json
import subprocess


def assert_one_line(done: subprocess.CompletedProcess[str], exit_code: int, *causes: str) -> str:
    """Exit `exit_code`, nothing on stdout, one `rolebar: ...` line naming a cause."""
    assert done.returncode == exit_code, (done.returncode, done.stderr)
    assert done.stdout == "", done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("rolebar: "), lines[0]
    assert "Traceback" not in done.stderr
    assert not causes or any(cause in lines[0] for cause in causes), lines[0]
    return lines[0]


def answer(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The one JSON object of a successful `process`."""
    assert done.returncode == 0, done.stderr
    data: dict[str, str] = json.loads(done.stdout)
    assert data["Version"] == 1 and data["AccessKeyId"].startswith("ASIA")
    return data
