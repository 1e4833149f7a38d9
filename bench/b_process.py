"""Cached `credential_process` latency: rolebar vs `python -c pass` vs awsume 4.5.4 vs
botocore's JSON cache, side by side, every tool with a warm cache of its own.

awsume caches only the MFA session: its cached path for a role profile still makes one
AssumeRole (to the loopback double here, so the network costs next to nothing).
"""

from __future__ import annotations

import json

from bench.common import (
    BENCH,
    aws_setup,
    awsume_venv,
    interleaved,
    log,
    rolebar_venv,
    run,
    sts_double,
)

ROUNDS = 40
WARMUP = 3
SLOW = {"awsume": 4, "botocore": 4}  # over a second each: fewer samples


def measure() -> list[dict[str, object]]:
    rb, aw = rolebar_venv(), awsume_venv()
    rb_py = str(rb / "bin" / "python")
    with sts_double() as double, aws_setup(double, ["rb", "aw", "bc"]) as setup:
        env = setup.env
        # Prime each tool's cache with a code of its own device.
        first = json.loads(run([str(rb / "bin" / "rolebar"), "-t", setup.code("rb"), "-j",
                                 "rb-0"], env))
        run([str(aw / "bin" / "awsumepy"), "aw-0", "--mfa-token", setup.code("aw")], env)
        run([rb_py, str(BENCH / "botocore_cache.py"), "bc-0", setup.code("bc")], env)
        # rolebar and botocore must answer from their caches with no STS call at all.
        calls = len(double.calls)
        hit = json.loads(run([str(rb / "bin" / "rolebar"), "process", "rb-0"], env))
        run([rb_py, str(BENCH / "botocore_cache.py"), "bc-0"], env)
        if hit["AccessKeyId"] != first["AccessKeyId"] or len(double.calls) != calls:
            raise RuntimeError("rolebar or botocore did not answer from its cache")
        candidates = {
            "floor": ([rb_py, "-c", "pass"], env),
            "rolebar": ([str(rb / "bin" / "rolebar"), "process", "rb-0"], env),
            "awsume": ([str(aw / "bin" / "awsumepy"), "aw-0"], env),
            "botocore": ([rb_py, str(BENCH / "botocore_cache.py"), "bc-0"], env),
            # Where rolebar's time goes: pip's console script imports re, json imports re.
            "import re": ([rb_py, "-c", "import re"], env),
            "import json": ([rb_py, "-c", "import json"], env),
        }
        log(f"b_process: {ROUNDS} interleaved rounds")
        before = double.counts
        median = interleaved(candidates, ROUNDS, WARMUP, every=SLOW)
        after = double.counts
    # Checked above: neither rolebar nor botocore calls STS on a hit, so these are awsume's.
    awsume_ar = (after["AssumeRole"] - before["AssumeRole"]) / (ROUNDS // 4 + WARMUP)
    floor = median["floor"]
    ms = {name: value * 1000 for name, value in median.items()}
    return [
        {"name": "cached credential_process: python -c pass (floor)", "value": ms["floor"],
         "unit": "ms", "note": f"median of {ROUNDS}, same interpreter as the bench venvs"},
        {"name": "cached credential_process: rolebar process", "value": ms["rolebar"],
         "unit": "ms", "baseline": f"floor {ms['floor']:.1f} ms",
         "ratio": median["rolebar"] / floor,
         "note": "target <= 1.15x floor; installed from a wheel; no STS call"},
        {"name": "cached credential_process: awsume 4.5.4", "value": ms["awsume"], "unit": "ms",
         "baseline": f"floor {ms['floor']:.1f} ms", "ratio": median["awsume"] / floor,
         "note": f"rolebar is {median['awsume'] / median['rolebar']:.1f}x faster; awsume made "
                 f"{awsume_ar:.0f} AssumeRole per call on its cached path"},
        {"name": "cached credential_process: botocore JSONFileCache", "value": ms["botocore"],
         "unit": "ms", "baseline": f"floor {ms['floor']:.1f} ms",
         "ratio": median["botocore"] / floor,
         "note": f"the AWS CLI's cache; rolebar is "
                 f"{median['botocore'] / median['rolebar']:.1f}x faster"},
        {"name": "startup share: python -c 'import re'", "value": ms["import re"], "unit": "ms",
         "baseline": f"floor {ms['floor']:.1f} ms", "ratio": median["import re"] / floor,
         "note": "what pip's console-script wrapper would add (it imports re); rolebar installs "
                 "a plain script on POSIX"},
        {"name": "startup share: python -c 'import json'", "value": ms["import json"],
         "unit": "ms", "baseline": f"floor {ms['floor']:.1f} ms",
         "ratio": median["import json"] / floor,
         "note": "what reading a JSON cache entry would add (json loads re); the fast path "
                 "reads a plain-text answer"},
    ]
