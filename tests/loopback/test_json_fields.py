"""`rolebar profiles --json` and `status --json` print the fields the README documents for
scripts ("Output for scripts"), no more and no fewer, through the real CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .conftest import Aws

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> dict[str, dict[str, str]]:
    """The two tables of "### Output for scripts": {table: {field: its meaning cell}}."""
    text = README.read_text().split("### Output for scripts", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, dict[str, str]] = {}
    for command, block in re.findall(r"`rolebar (\w+) --json`: (.*?)(?=\n`rolebar |\Z)", text,
                                     re.S):
        rows = re.findall(r"^\| `(\w+)` \| (.*) \|$", block, re.M)
        tables[command] = dict(rows)
    return tables


def fields_named(cell: str) -> set[str]:
    return set(re.findall(r"`(\w+)`", cell))


def test_profiles_json_has_the_documented_fields(aws: Aws) -> None:
    listed = json.loads(aws.run("profiles", "--json").stdout)
    assert listed and all(set(p) == set(documented()["profiles"]) for p in listed)


def test_status_json_has_the_documented_fields(aws: Aws) -> None:
    assert aws.run("process", "project-dev").returncode == 0
    assert aws.run("select", "project-dev").returncode == 0
    status = json.loads(aws.run("status", "--json").stdout)
    table = documented()["status"]
    assert set(status) == set(table)
    assert status["sections"] and status["profiles"]
    for key in ("sections", "profiles"):
        for entry in status[key]:
            assert set(entry) <= fields_named(table[key]), key
            assert set(entry) == set(status[key][0])
