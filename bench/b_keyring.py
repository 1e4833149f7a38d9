"""Keys in the OS keyring: what a read costs on the uncached path, and that the cached
`credential_process` path never touches the keyring (gnome-keyring-daemon on a private
bus; tests/keyringd.py).

- a keyring read: `python -c` importing keyring and reading rolebar's item (what the
  uncached path adds once per process), against `python -c pass`;
- the cached path of a profile whose keys are in the keyring, run with the keyring daemon
  killed: it still answers, at the same ratio to `python -c pass` as b_process's.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import aws_setup, interleaved, log, rolebar_venv, run, sts_double

ROUNDS = 30
READ = ("import keyring; assert keyring.get_password('rolebar', 'src-rb') is not None")


def measure() -> list[dict[str, object]]:
    from tests import keyringd

    rb = rolebar_venv()
    py, rolebar = str(rb / "bin" / "python"), str(rb / "bin" / "rolebar")
    with sts_double() as double, aws_setup(double, ["rb"]) as setup:
        service = keyringd.start(Path(setup.home) / "keyring", setup.env)
        try:
            env = service.env
            run([rolebar, "keys", "import", "src-rb"], env)
            first = json.loads(run([rolebar, "-t", setup.code("rb"), "-j", "rb-0"], env))
            log(f"b_keyring: {ROUNDS} interleaved rounds, keyring up")
            up = interleaved({"floor": ([py, "-c", "pass"], env),
                              "read": ([py, "-c", READ], env)}, ROUNDS)
            service.kill_daemon()
            calls = len(double.calls)
            hit = json.loads(run([rolebar, "process", "rb-0"], env))
            if hit["AccessKeyId"] != first["AccessKeyId"] or len(double.calls) != calls:
                raise RuntimeError("the cached path did not answer with the keyring gone")
            log(f"b_keyring: {ROUNDS} interleaved rounds, keyring daemon killed")
            down = interleaved({"floor": ([py, "-c", "pass"], env),
                                "cached": ([rolebar, "process", "rb-0"], env)}, ROUNDS)
        finally:
            service.stop()
    ms = {"read": up["read"] * 1000, "floor": up["floor"] * 1000,
          "cached": down["cached"] * 1000, "floor2": down["floor"] * 1000}
    return [
        {"name": "keyring: import keyring + one read (uncached path, once per process)",
         "value": ms["read"], "unit": "ms", "baseline": f"floor {ms['floor']:.1f} ms",
         "ratio": up["read"] / up["floor"],
         "note": f"median of {ROUNDS}; adds {ms['read'] - ms['floor']:.0f} ms to a fetch "
                 "that then calls STS; gnome-keyring on a private bus"},
        {"name": "keyring: cached credential_process, keys in the keyring, daemon killed",
         "value": ms["cached"], "unit": "ms", "baseline": f"floor {ms['floor2']:.1f} ms",
         "ratio": down["cached"] / down["floor"],
         "note": "answers with no keyring at all: the fast path never touches it (same "
                 "target as b_process, <= 1.15x floor)"},
    ]
