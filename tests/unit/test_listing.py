"""`rolebar profiles` printed from the listing kept per change of the AWS files (listing.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolebar.core import listing
from rolebar.core.cli import main

ROLE = "arn:aws:iam::111111111111:role/r{n}"


def write(home: Path, count: int, age: float = 60.0) -> None:
    lines = ["[profile base]", "region = us-east-1"]
    for n in range(count):
        lines += [f"[profile role-{n:02d}]", f"role_arn = {ROLE.format(n=n)}",
                  "source_profile = base", "mfa_serial = arn:aws:iam::1:mfa/me"]
    config, creds = home / ".aws" / "config", home / ".aws" / "credentials"
    config.write_text("\n".join(lines) + "\n")
    creds.write_text("[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    then = time.time() - age
    for f in (config, creds):
        os.utime(f, (then, then))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["profiles", *args]) == 0
    return capsys.readouterr().out


def test_the_second_call_prints_the_kept_listing_the_same_without_botocore(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(home, 3)
    assert listing.cached([]) is None
    plain, as_json = run(capsys), run(capsys, "--json")
    assert plain.splitlines()[0].startswith(f"role-00\t{ROLE.format(n=0)}\tmfa ")
    assert listing.cached([]) == plain and listing.cached(["--json"]) == as_json
    probe = ("import sys; from rolebar.core.cli import main; main(['profiles', '--json']); "
             "print('botocore' in sys.modules, 'argparse' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout == as_json + "False False\n"


def test_a_changed_file_is_listed_afresh(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(home, 3)
    run(capsys)
    write(home, 4)
    assert listing.cached([]) is None
    assert "role-03\t" in run(capsys)
    assert "role-03\t" in (listing.cached([]) or "")


def test_files_changed_in_the_last_two_seconds_are_not_kept(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(home, 3, age=0)
    run(capsys)
    assert listing.cached([]) is None and not Path(listing.path()).exists()


def test_no_profile_is_never_kept_and_other_arguments_are_not_answered(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(home, 0)
    assert main(["profiles"]) == 0
    assert "no AWS profile to assume" in capsys.readouterr().err
    assert not Path(listing.path()).exists()
    write(home, 2)
    run(capsys)
    assert listing.cached(["--bogus"]) is None


def test_a_cache_folder_open_to_others_is_not_trusted(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(home, 2)
    run(capsys)
    Path(listing.path()).parent.chmod(0o755)
    assert listing.cached([]) is None
