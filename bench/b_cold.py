"""Cold start: 50 simultaneous `credential_process` calls with an empty cache, each tool
with a `generate_token` that prints the device's current code.

rolebar should make one GetSessionToken and one AssumeRole and answer all 50; the
swrole-like baseline makes 50 AssumeRole calls with the same code, and STS accepts a code
only once.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from bench.common import BENCH, aws_setup, log, rolebar_venv, sts_double

CALLERS = 50


def _burst(argv: list[str], env: dict[str, str]) -> tuple[int, set[str], float]:
    """Start CALLERS copies at once: (failures, distinct AccessKeyIds, wall seconds)."""
    started = time.monotonic()
    procs = [subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(CALLERS)]
    failures, keys = 0, set()
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures += 1
            continue
        try:
            keys.add(json.loads(out)["AccessKeyId"])
        except (ValueError, KeyError):
            failures += 1
    return failures, keys, time.monotonic() - started


def _sts(double: Any, since: int) -> tuple[int, str]:
    calls = double.calls[since:]
    by_action: dict[str, int] = {}
    for call in calls:
        by_action[call.action] = by_action.get(call.action, 0) + 1
    return len(calls), ", ".join(f"{n} {a}" for a, n in sorted(by_action.items()))


def measure() -> list[dict[str, object]]:
    rb = rolebar_venv()
    py = str(rb / "bin" / "python")
    with sts_double() as double, aws_setup(double, ["rb", "sw"], token_python=py) as setup:
        log(f"b_cold: {CALLERS} simultaneous rolebar process")
        mark = len(double.calls)
        rb_fail, rb_keys, rb_wall = _burst([str(rb / "bin" / "rolebar"), "process", "rb-0"],
                                           setup.env)
        rb_calls, rb_detail = _sts(double, mark)
        log(f"b_cold: {CALLERS} simultaneous swrole-like calls")
        mark = len(double.calls)
        sw_fail, sw_keys, sw_wall = _burst([py, str(BENCH / "swrole_like.py"), "-j", "sw-0"],
                                           setup.env)
        sw_calls, sw_detail = _sts(double, mark)
    return [
        {"name": f"cold, {CALLERS} simultaneous calls: STS calls, rolebar", "value": rb_calls,
         "unit": "calls", "baseline": f"swrole-like {sw_calls}",
         "ratio": rb_calls / sw_calls if sw_calls else None,
         "note": f"{rb_detail}; {len(rb_keys)} distinct AccessKeyId; wall {rb_wall:.1f} s"},
        {"name": f"cold, {CALLERS} simultaneous calls: failures, rolebar", "value": rb_fail,
         "unit": "failed", "baseline": f"swrole-like {sw_fail}",
         "ratio": rb_fail / sw_fail if sw_fail else None,
         "note": f"of {CALLERS}"},
        {"name": f"cold, {CALLERS} simultaneous calls: STS calls, swrole-like", "value": sw_calls,
         "unit": "calls", "note": f"{sw_detail}; {len(sw_keys)} distinct AccessKeyId; "
                                  f"wall {sw_wall:.1f} s"},
        {"name": f"cold, {CALLERS} simultaneous calls: failures, swrole-like", "value": sw_fail,
         "unit": "failed", "note": f"of {CALLERS}: STS accepts each code once"},
    ]
