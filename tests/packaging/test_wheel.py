"""The sdist and the wheel, built the way a packager builds them and installed in a fresh venv.

`python -m build` makes the sdist and then the wheel from the sdist, so a file missing
from the sdist breaks the wheel too. The venv gets the wheel and its dependencies from
the package index, nothing from this checkout: what runs is what `pipx install` gets.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolebar.core import __version__
from rolebar.core.cli import COMMANDS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"core": "rolebar/core", "tray": "rolebar/tray", "assets": "rolebar/assets"}


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (out / "build.log").write_text(done.stdout + done.stderr)
    return next(out.glob("rolebar-*.whl")), next(out.glob("rolebar-*.tar.gz"))


@pytest.fixture(scope="module")
def venv(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=120)
    done = subprocess.run([str(folder / "bin" / "pip"), "install", "-q", str(dists[0])],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def tree_packages() -> set[str]:
    """Every folder under core/, tray/ and assets/ that holds Python modules."""
    found = set()
    for top, prefix in PACKAGES.items():
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top)
            found.add("/".join(filter(None, [prefix, *relative.parts])))
    return found


def test_the_wheel_holds_every_package_the_icons_and_both_scripts(
    dists: tuple[Path, Path],
) -> None:
    names = zipfile.ZipFile(dists[0]).namelist()
    for package in tree_packages():
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    for module in (ROOT / "core" / "commands").glob("*.py"):
        assert f"rolebar/core/commands/{module.name}" in names
    assert "rolebar/assets/rolebar.desktop" in names
    assert "rolebar/assets/rolebar.png" in names
    assert any(n.startswith("rolebar/assets/state-") and n.endswith(".png") for n in names)
    assert not any(n.startswith(("core/", "tray/", "tests/")) for n in names), \
        "only rolebar.* may be installed"
    entry_points = configparser.ConfigParser()
    info = f"rolebar-{__version__}.dist-info"
    entry_points.read_string(zipfile.ZipFile(dists[0]).read(f"{info}/entry_points.txt")
                             .decode())
    assert entry_points["gui_scripts"]["rolebar-tray"] == "rolebar.tray.app:main"
    # POSIX: `rolebar` is a plain script (setup.py), not pip's wrapper that imports re.
    assert "console_scripts" not in entry_points
    script = zipfile.ZipFile(dists[0]).read(f"rolebar-{__version__}.data/scripts/rolebar")
    assert script.startswith(b"#!python") and b"import re" not in script


def test_the_license_is_an_spdx_expression_and_builds_without_warnings(
    dists: tuple[Path, Path],
) -> None:
    """`license = { text = ... }` made setuptools warn on every `pip install`."""
    metadata = zipfile.ZipFile(dists[0]).read(
        f"rolebar-{__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata.splitlines()
    log = (dists[0].parent / "build.log").read_text()
    assert "project.license" not in log, log[-3000:]


def test_the_sdist_carries_readme_and_packaging(dists: tuple[Path, Path]) -> None:
    names = {n.split("/", 1)[-1] for n in tarfile.open(dists[1]).getnames()}
    assert {"README.md", "pyproject.toml", "setup.py", "packaging/bin/rolebar",
            "packaging/rolebar.spec",
            "packaging/rolebar_main.py", "packaging/com.rolebar.tray.plist",
            "assets/rolebar.desktop"} <= names
    assert not any(n.startswith(("tests/", ".venv/")) for n in names)


@pytest.fixture
def run(venv: Path, home: Path) -> Iterator[object]:
    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "rolebar"), *args], capture_output=True,
                              text=True, timeout=timeout, check=False, cwd=home)
    yield run


def test_version_and_help(venv: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run("--version").stdout == f"rolebar {__version__}\n"
    out = run("--help").stdout
    for command in COMMANDS:
        if (ROOT / "core" / "commands" / f"{command}.py").exists():
            assert f"    {command}" in out, command
    assert (venv / "bin" / "rolebar-tray").exists()


def test_doctor_on_a_prepared_config(home: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    token = tmp_path / "token"
    token.write_text("#!/bin/sh\necho 123456\n")
    token.chmod(0o755)
    (home / ".aws" / "credentials").write_text(
        "[my-company]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\n"
        "aws_secret_access_key = abcdefghijabcdefghijabcdefghijabcdefghij\n")
    os.chmod(home / ".aws" / "credentials", 0o600)
    (home / ".aws" / "config").write_text(
        "[profile my-company]\nregion = ap-northeast-1\n"
        "[profile project-dev]\nrole_arn = arn:aws:iam::111111111111:role/developer\n"
        "mfa_serial = arn:aws:iam::000000000000:mfa/member\nsource_profile = my-company\n"
        f"region = ap-northeast-1\ngenerate_token = {token}\n")
    done = run("doctor", "--no-tray")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "123456" not in done.stdout
    assert "ok    generate_token project-dev:" in done.stdout
    # The wheel alone has no tray extra: the tray check fails and says what to install.
    done = run("doctor")
    assert done.returncode == 2  # a setup problem, as the README's exit statuses say
    tray = next(line for line in done.stdout.splitlines() if line.startswith("fail  tray:"))
    assert " -> " in tray


def test_headless_demo_writes_a_section_in_its_home(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    demo_home = tmp_path / "demo"
    done = run("demo", "--headless", "--seconds", "8", "--home", str(demo_home))
    assert done.returncode == 0, done.stderr
    text = (demo_home / ".aws" / "credentials").read_text()
    assert "# managed by rolebar" in text and "[tray-managed]" in text
