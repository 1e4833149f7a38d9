"""A configuration with 2,000 profiles: `rolebar profiles` time, against botocore listing
the profile names of the same files (`Session().available_profiles`, what AWS CLI v2's
`configure list-profiles` does; rolebar also resolves a plan for each profile)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.common import interleaved, log, rolebar_venv, scrubbed_env

PROFILES = 2000
ROUNDS = 5


def _config(home: Path) -> None:
    (home / ".aws").mkdir(parents=True)
    lines = ["[profile base]", "region = us-east-1", ""]
    for n in range(PROFILES):
        lines += [f"[profile role-{n:04d}]",
                  f"role_arn = arn:aws:iam::{100000000000 + n}:role/r{n}",
                  "source_profile = base",
                  "mfa_serial = arn:aws:iam::000000000000:mfa/member", ""]
    (home / ".aws" / "config").write_text("\n".join(lines))
    (home / ".aws" / "credentials").write_text(
        "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    # Files as they are on a machine: not written this second (listing.py keeps no listing
    # of files changed in the last two seconds).
    then = time.time() - 60
    for name in ("config", "credentials"):
        os.utime(home / ".aws" / name, (then, then))


def measure() -> list[dict[str, object]]:
    rb = rolebar_venv()
    py = str(rb / "bin" / "python")
    listing = "import botocore.session; print(len(botocore.session.Session().available_profiles))"
    with tempfile.TemporaryDirectory(prefix="rolebar-bench-") as folder:
        home = Path(folder)
        _config(home)
        env = scrubbed_env(home, "http://127.0.0.1:9")
        log(f"b_profiles: {PROFILES} profiles, {ROUNDS} rounds")
        median = interleaved({
            "rolebar": ([str(rb / "bin" / "rolebar"), "profiles"], env),
            "botocore": ([py, "-c", listing], env),
            "floor": ([py, "-c", "pass"], env),
        }, ROUNDS, warmup=1)
    return [{"name": f"`rolebar profiles`, {PROFILES} profiles", "value": median["rolebar"] * 1000,
             "unit": "ms",
             "baseline": f"botocore available_profiles {median['botocore'] * 1000:.0f} ms",
             "ratio": median["rolebar"] / median["botocore"],
             "note": f"median of {ROUNDS}; rolebar prints the listing it kept (it plans every "
                     "profile once per change of the files), botocore parses and lists names"},
            {"name": f"`rolebar profiles`, {PROFILES} profiles, against the floor",
             "value": median["rolebar"] * 1000, "unit": "ms",
             "baseline": f"python -c pass {median['floor'] * 1000:.0f} ms",
             "ratio": median["rolebar"] / median["floor"],
             "note": "goal <= 8x (issue 13); repeated calls: after the warm-up's, each "
                     "prints the listing kept until the files change (core/listing.py)"}]
