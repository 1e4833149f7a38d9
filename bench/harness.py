"""Runs every bench/b_*.py, prints one table and writes bench/RESULTS.md.

Each module exposes `measure() -> list[dict]` with rows {"name", "value", "unit", "note"}
and optionally "baseline" (what the value is compared to) and "ratio" (value / baseline).
A module that fails is one "failed" row in the table; the others still run.
`bench/run NAME...` runs only the modules whose names contain one of the NAMEs.
"""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.common import BASE_PYTHON, BENCH, log

Row = dict[str, Any]


def machine() -> dict[str, str]:
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": f"{platform.python_version()} ({BASE_PYTHON})",
    }


def modules(wanted: list[str]) -> list[str]:
    names = sorted(p.stem for p in BENCH.glob("b_*.py"))
    return [n for n in names if not wanted or any(w in n for w in wanted)]


def run_module(name: str) -> tuple[list[Row], float]:
    started = time.monotonic()
    try:
        module = importlib.import_module(f"bench.{name}")
        rows = list(module.measure())
    except Exception as exc:  # noqa: BLE001 - one failing bench must not stop the others
        traceback.print_exc()
        last = str(exc).strip().splitlines()[-1:] or [""]
        rows = [{"name": name, "value": None, "unit": "", "note":
                 f"failed: {type(exc).__name__}: {last[0][:160]}"}]
    return [{**row, "module": name} for row in rows], time.monotonic() - started


def fmt_value(row: Row) -> str:
    value = row.get("value")
    if value is None:
        return "failed" if str(row.get("note", "")).startswith("failed") else "-"
    if isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    else:
        text = str(value)
    return f"{text} {row.get('unit', '')}".strip()


def fmt_ratio(row: Row) -> str:
    ratio = row.get("ratio")
    return f"{ratio:.2f}x" if isinstance(ratio, (int, float)) else ""


def table(rows: list[Row]) -> list[list[str]]:
    return [[str(r["module"]), str(r["name"]), fmt_value(r), fmt_ratio(r),
             str(r.get("baseline", "") or ""), str(r.get("note", "") or "")] for r in rows]


HEADER = ["module", "measure", "value", "ratio", "baseline", "note"]


def print_table(rows: list[list[str]]) -> None:
    cut = [[cell if len(cell) <= 70 else cell[:67] + "..." for cell in row] for row in rows]
    widths = [max(len(c) for c in col) for col in zip(HEADER, *cut, strict=False)]
    for row in [HEADER, ["-" * w for w in widths], *cut]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip())


def markdown(info: dict[str, str], rows: list[list[str]], timings: dict[str, float],
             total: float) -> str:
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run`; do not edit by hand. Figures are medians measured side by",
        "side in one run; on a noisy machine only the ratios carry over to another one.",
        "",
        f"- date: {date}",
        *[f"- {key}: {value}" for key, value in info.items()],
        f"- total time: {total:.0f} s ("
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items()) + ")",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines) + "\n"


def load() -> str:
    """Other work on the machine stretches every figure; the ratios hold up better."""
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str]) -> int:
    started = time.monotonic()
    info = machine()
    info["load average at start (1/5/15 min)"] = load()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name in modules(argv):
        log(f"{name} ...")
        found, seconds = run_module(name)
        rows += found
        timings[name] = seconds
        log(f"{name} done in {seconds:.0f} s")
    total = time.monotonic() - started
    info["load average at end (1/5/15 min)"] = load()
    cells = table(rows)
    print()
    print_table(cells)
    print(f"\n{total:.0f} s in all")
    if argv:
        log("a partial run: bench/RESULTS.md left as it was")
    else:
        (BENCH / "RESULTS.md").write_text(markdown(info, cells, timings, total))
        log("wrote bench/RESULTS.md")
    return 1 if any(str(r.get("note", "")).startswith("failed") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
