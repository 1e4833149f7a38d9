"""Every command and config snippet in README.md is exercised.

The snippets are extracted from README.md at test time (never copied here), by the info
string of their fence:
- ```sh: each command runs through rolebar's real parser (or, for the few that are safe,
  runs for real against the quick start's config); other commands must be known;
- ```ini aws-config:NAME / aws-credentials:NAME: written as the AWS files of group NAME,
  loaded with rolebar's profile loader and planned;
- ```ini rolebar-section:STYLE: what rolebar writes for a section in that style;
- ```json credential-process: the credential_process answer's shape;
- ```text synopsis / doctor: the command reference and doctor's output format.
Inline `rolebar ...` code spans are parsed too.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rolebar.core.cli import COMMANDS
from rolebar.core.commands import build_parser, swrole_form
from rolebar.core.credfile import MARKER_LINE
from rolebar.core.errors import ConfigError
from rolebar.core.profiles import Catalog
from rolebar.core.sections import section_values

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```([\w-]*)[ \t]*([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
# Commands the README may show that are not rolebar's; each is checked below or is a
# plain example of "any tool" (pnpm, aws).
EXTERNAL = {"pnpm", "aws"}
# What may safely run for real in a test home holding the quick start's config.
RUN_FOR_REAL = {"profiles", "status", "forget", "doctor", "autostart"}


@dataclass(frozen=True)
class Block:
    lang: str
    label: str
    text: str
    line: int

    def __str__(self) -> str:
        return f"README.md:{self.line} ```{self.lang} {self.label}".rstrip()


def blocks(lang: str | None = None, label: str | None = None) -> list[Block]:
    text = README.read_text("utf-8")
    found = [Block(m.group(1), m.group(2).strip(), m.group(3),
                   text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]
    return [b for b in found if (lang is None or b.lang == lang)
            and (label is None or b.label.startswith(label))]


def commands(block: Block) -> Iterator[str]:
    """Logical lines of a shell block, comments and blank lines left out."""
    for raw in block.text.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line


def simple_commands(line: str) -> Iterator[list[str]]:
    """`a && b` gives both; `eval "$(rolebar ...)"` gives the inner command; leading
    VAR=value assignments are dropped."""
    for part in line.split("&&"):
        words = shlex.split(part)
        if words[:1] == ["eval"]:
            inner = re.fullmatch(r"\$\((.*)\)", words[1])
            assert inner, line
            words = shlex.split(inner.group(1))
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
            words = words[1:]
        assert words, line
        yield words


def parse(argv: list[str]) -> object:
    """What `rolebar ARGV` would run, through the real parser; nothing is executed."""
    return build_parser(COMMANDS).parse_args(swrole_form(argv, COMMANDS))


def setup_apt_packages() -> list[str]:
    script = (ROOT / "scripts" / "setup").read_text()
    found = re.search(r'apt_tray="([^"]*)"', script, re.S)
    assert found
    return found.group(1).split()


def pyproject_extras() -> set[str]:
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(data["project"]["optional-dependencies"])


# -- the front page's promises -----------------------------------------------------------


def test_the_two_commands() -> None:
    shell = [line for b in blocks("sh") for line in commands(b)]
    assert "bash scripts/setup && .venv/bin/rolebar tray" in shell
    assert "bash scripts/test" in shell
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/rolebar demo" in shell


def test_images_exist() -> None:
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text()):
        assert (ROOT / image).is_file(), image


# -- shell blocks --------------------------------------------------------------------------


def shell_commands() -> list[tuple[Block, list[str]]]:
    return [(b, words) for b in blocks("sh") for line in commands(b)
            for words in simple_commands(line)]


@pytest.mark.parametrize(("block", "words"), shell_commands(),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else str(v))
def test_shell_command(block: Block, words: list[str]) -> None:
    program, args = words[0], words[1:]
    if program in ("rolebar", ".venv/bin/rolebar"):
        parse(args)  # raises ConfigError on a usage error
    elif program == "bash":
        assert (ROOT / args[0]).is_file(), f"{block}: {args[0]} does not exist"
    elif program == "sudo":
        assert args[:2] == ["apt-get", "install"], block
        assert args[2:] in (setup_apt_packages(), ["pipx"]), \
            "the README's apt line must be the setup's (or pipx)"
    elif program == "brew":
        assert args == ["install", "pipx"], block
    elif program in ("pipx", "py"):
        check_pipx(program, args)
    elif program == "docker":
        check_docker(args)
    else:
        assert program in EXTERNAL, f"{block}: unknown command {program}; exercise it here"


def check_docker(args: list[str]) -> None:
    """The endpoint recipe: the host's network, and the two variables `rolebar env` sets."""
    assert args[0] == "run", args
    assert "--network host" in " ".join(args) or "--network=host" in args, args
    passed = {args[i + 1] for i, a in enumerate(args[:-1]) if a == "-e"}
    assert {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} <= passed


def check_pipx(program: str, args: list[str]) -> None:
    """`pipx ...`, or `py -m pipx ...` / `py -m pip install --user pipx` on Windows."""
    if program == "py":
        assert args[:1] == ["-m"], args
        if args[1] == "pip":
            assert args[2:] == ["install", "--user", "pipx"], args
            return
        assert args[1] == "pipx", args
        args = args[2:]
    if args == ["ensurepath"]:
        return
    assert args[0] == "install"
    # The checkout: rolebar is not on PyPI, so no shell block may install it from there.
    extras = re.fullmatch(r"\.\[([\w,]+)\]", args[1])
    assert extras, f"{args[1]}: install from the checkout ('.[tray]') until rolebar is on PyPI"
    assert set(extras.group(1).split(",")) <= pyproject_extras()


def install_sections() -> dict[str, str]:
    text = README.read_text("utf-8")
    install = text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### (.+)$", install, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_install_section_installs_from_the_checkout_and_keeps_the_pypi_form() -> None:
    """`pipx install 'rolebar[tray]'` failed: rolebar is not published yet (issue 15)."""
    sections = install_sections()
    assert {"Linux", "macOS", "Windows"} <= set(sections)
    for name in ("Linux", "macOS", "Windows"):
        text = sections[name]
        shell = [words for b in FENCE.finditer(text) if b.group(1) == "sh"
                 for line in commands(Block("sh", "", b.group(3), 0))
                 for words in simple_commands(line)]
        local = [w for w in shell if "pipx" in w[:3] and "install" in w
                 and w[-1].startswith(".[")]
        assert local, f"{name}: no `pipx install '.[tray]'` from the checkout"
        assert "clone of this repository" in text, name
        published = re.search(r"[Oo]nce rolebar is on PyPI[,:]?\s+`(?:py -m )?pipx install "
                              r"['\"]rolebar\[tray\]['\"]`", text)
        assert published, f"{name}: the published form, for once rolebar is on PyPI"
    linux = [line for b in FENCE.finditer(sections["Linux"]) if b.group(1) == "sh"
             for line in commands(Block("sh", "", b.group(3), 0))]
    assert "sudo apt-get install pipx" in linux, "Debian does not install pipx by default"
    assert linux.index("sudo apt-get install pipx") < linux.index("pipx install '.[tray]'")


def test_every_subcommand_in_a_shell_block_runs_through_the_parser() -> None:
    """The parser check above really rejects nonsense (so it proves something)."""
    with pytest.raises(ConfigError):
        parse(["select", "--style", "nonsense", "project-dev"])


def write_group(home: Path, group: str) -> None:
    config = [b for b in blocks("ini", f"aws-config:{group}")]
    creds = [b for b in blocks("ini", f"aws-credentials:{group}")]
    assert config, f"no ```ini aws-config:{group} block"
    (home / ".aws" / "config").write_text("".join(b.text for b in config))
    if creds:
        (home / ".aws" / "credentials").write_text("".join(b.text for b in creds))
        (home / ".aws" / "credentials").chmod(0o600)
    elif group != "quickstart":
        quick = blocks("ini", "aws-credentials:quickstart")
        (home / ".aws" / "credentials").write_text(quick[0].text)
        (home / ".aws" / "credentials").chmod(0o600)


def run_rolebar(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys; from rolebar.core.cli import "
                           "main; sys.exit(main())", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_safe_commands_run_for_real_on_the_quick_start(home: Path) -> None:
    write_group(home, "quickstart")
    ran = set()
    for _, words in shell_commands():
        if words[0] not in ("rolebar", ".venv/bin/rolebar"):
            continue
        ns = parse(words[1:])
        command = ns.func.__module__.rsplit(".", 1)[-1]  # type: ignore[attr-defined]
        if command not in RUN_FOR_REAL or (command == "autostart" and ns.action != "status"):
            continue
        done = run_rolebar(*words[1:])
        ran.add(command)
        assert "Traceback" not in done.stderr
        if command == "doctor":
            # 1Password's `op` is not installed here: a setup problem, doctor says so and
            # exits 2 (the README's "2 usage or configuration error").
            assert done.returncode == 2, done.stderr
            assert "generate_token project-dev:" in done.stdout
        else:
            assert done.returncode == 0, f"rolebar {' '.join(words[1:])}: {done.stderr}"
    assert {"doctor", "status", "forget"} <= ran
    profiles = run_rolebar("profiles")
    assert profiles.returncode == 0 and "project-dev" in profiles.stdout


# -- AWS config snippets -------------------------------------------------------------------


def groups() -> list[str]:
    return sorted({b.label.split(":", 1)[1] for b in blocks("ini", "aws-config:")})


@pytest.mark.parametrize("group", groups())
def test_config_snippet_loads_and_plans(home: Path, group: str) -> None:
    write_group(home, group)
    catalog = Catalog.load()
    planned = []
    for name in catalog.names:
        values = catalog.values(name)
        if "role_arn" in values or "mfa_serial" in values:
            catalog.plan(name)  # a ConfigError fails the test, naming profile and cause
            planned.append(name)
        if "credential_process" in values:
            words = shlex.split(values["credential_process"])
            assert words[0] == "rolebar"
            ns = parse(words[1:])
            assert ns.func.__module__.endswith(".process")  # type: ignore[attr-defined]
            catalog.plan(ns.profile)  # type: ignore[attr-defined]
    assert planned, f"group {group} plans no profile"


def test_quick_start_is_the_seed_configuration(home: Path) -> None:
    """Issue 5's setup: a portal-account user, a project role, a 1Password OTP."""
    write_group(home, "quickstart")
    catalog = Catalog.load()
    assert catalog.values("my-company")["region"] == "ap-northeast-1"
    plan = catalog.plan("project-dev")
    assert plan.source.profile == "my-company"
    assert [r.role_arn for r in plan.roles] == ["arn:aws:iam::111111111111:role/developer"]
    assert plan.device == "arn:aws:iam::000000000000:mfa/member"
    assert plan.region == "ap-northeast-1"
    assert plan.route == "session"
    assert plan.code_command == ("op", "item", "get", "AWS Account", "--otp")


# -- what rolebar writes and prints --------------------------------------------------------


def test_keys_section_is_what_rolebar_writes() -> None:
    (block,) = blocks("ini", "rolebar-section:keys")
    assert block.text.splitlines()[0] == MARKER_LINE
    parsed = configparser.ConfigParser()
    parsed.read_string(block.text)
    from rolebar.core.credentials import Credentials

    creds = Credentials("ASIAEXAMPLEEXAMPLE12", "x" * 40, "token", 0.0, 3600.0)
    written = section_values("keys", "tray-managed", creds, "ap-northeast-1")
    assert written is not None
    assert list(parsed["tray-managed"]) == list(written)


def test_process_section_is_what_rolebar_writes() -> None:
    (block,) = blocks("ini", "rolebar-section:process")
    assert block.text.splitlines()[0] == MARKER_LINE
    parsed = configparser.ConfigParser()
    parsed.read_string(block.text)
    command = shlex.split(parsed["tray-managed"]["credential_process"])[0]
    written = section_values("process", "tray-managed", None, "ap-northeast-1", command=command)
    assert dict(parsed["tray-managed"]) == written
    ns = parse(shlex.split(parsed["tray-managed"]["credential_process"])[1:])
    assert ns.section == "tray-managed"  # type: ignore[attr-defined]


def test_credential_process_answer_shape() -> None:
    (block,) = blocks("json", "credential-process")
    answer = json.loads(block.text)
    from rolebar.core.credentials import Credentials

    real = json.loads(Credentials("ASIAX", "s", "t", 0.0, 3600.0).process_json())
    assert list(answer) == list(real)
    assert answer["Version"] == 1


def test_synopsis_matches_the_parser() -> None:
    (block,) = blocks("text", "synopsis")
    parser = build_parser(COMMANDS)
    sub = next(a for a in parser._actions if a.dest == "command")
    subparsers = sub.choices  # type: ignore[attr-defined]
    seen = set()
    for line in block.text.splitlines():
        if not line.startswith("rolebar"):
            continue
        usage = re.split(r"\s{3,}", line)[0]
        words = usage.replace(",", " ").split()[1:]
        name = next((w for w in words if w in COMMANDS), None)
        target = subparsers[name] if name else parser
        seen.add(name or "assume")
        options = {s for a in target._actions for s in a.option_strings}
        for verbs in (a for a in target._actions if a.dest == "verb"):  # `keys rotate -t`
            options |= {s for p in verbs.choices.values()  # type: ignore[attr-defined]
                        for a in p._actions for s in a.option_strings}
        if name is None:
            options |= {s for a in subparsers["assume"]._actions for s in a.option_strings}
        for flag in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", usage):
            assert flag in options, f"{flag} is not an option of `rolebar {name or ''}`"
    assert set(COMMANDS) <= seen, f"not in the synopsis: {set(COMMANDS) - seen}"


def test_doctor_sample_has_doctors_format() -> None:
    (block,) = blocks("text", "doctor")
    names = {"config file", "credentials file", "cache", "tray", "notifications", "autostart"}
    for line in block.text.splitlines():
        found = re.fullmatch(r"(ok|warn|fail) {1,4}([^:]+): .+", line)
        assert found, line
        name = found.group(2)
        assert name in names or name.startswith(("profile ", "generate_token ")), line


def inline_rolebar() -> list[str]:
    text = FENCE.sub("", README.read_text("utf-8"))
    spans = re.findall(r"`([^`\n]+)`", text)
    found = []
    for span in spans:
        span = re.sub(r"^credential_process = ", "", span)
        span = re.sub(r'^eval "\$\((.*)\)"$', r"\1", span)
        if span.startswith("rolebar ") and not re.search(r"\b[A-Z]{3,}\b", span):
            found.append(span)
    return found


@pytest.mark.parametrize("span", inline_rolebar())
def test_inline_rolebar_commands_parse(span: str) -> None:
    words = shlex.split(span)[1:]
    if len(words) == 1 and words[0] in COMMANDS:
        return  # names a command ("`rolebar process` prints ...")
    parse(words)


def test_documented_keys_exist_in_the_code() -> None:
    """Each profile key and variable in the tables is one that rolebar really reads."""
    text = README.read_text("utf-8")
    section = text.split("## Configuration keys", 1)[1].split("\n## ", 1)[0]
    keys = re.findall(r"^\| `([^`]+)`(?:, `([^`]+)`)*", section, re.M)
    source = "\n".join(p.read_text() for folder in ("core", "tray")
                       for p in (ROOT / folder).rglob("*.py"))
    names = {n for row in keys for n in row if n}
    assert {"generate_token", "rolebar_route", "rolebar_session_seconds",
            "ROLEBAR_TOKEN_TIMEOUT", "ROLEBAR_PROMPT"} <= names
    # Read by botocore's loader or the SDK's endpoint resolution, not by name in rolebar.
    sdk = {"sts_regional_endpoints", "endpoint_url", "aws_access_key_id",
           "aws_secret_access_key", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
           "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"}
    for name in names - sdk:
        assert name in source, f"README documents {name}, which no code reads"


# -- Layout: the map and the suites as the tree has them -------------------------------------


def test_the_layout_map_names_only_what_exists() -> None:
    (block,) = blocks("text", "layout")
    named = set(re.findall(r"\b((?:core|tray)/[\w/]*?(?:\.py|/)(?=[\s,:;)]|$))", block.text))
    assert named, block
    missing = sorted(n for n in named if not (ROOT / n.rstrip("/")).exists())
    assert not missing, f"{block} names what is not in the tree: {missing}"
    for package in ("core/keeper/", "core/providers/", "core/stsdouble/"):
        assert package in named, f"{block} leaves out {package}"


def test_the_suites_table_is_the_tests_folder() -> None:
    text = README.read_text("utf-8")
    section = text[text.index("| tests/ |"):]
    listed = set(re.findall(r"^\| `([\w-]+)/` \|", section, re.M))
    folders = {p.name for p in (ROOT / "tests").iterdir()
               if p.is_dir() and p.name not in ("__pycache__", "node_modules")
               and (any(p.glob("test_*.py")) or p.name == "js")}
    assert listed == folders
