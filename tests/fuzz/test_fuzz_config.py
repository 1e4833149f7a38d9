"""Fuzz: config parsing, profile resolution and the section writer.

Inputs start from real-world shapes (tests/fuzz/corpus: SSO sections, `[services]`
blocks, `sso-session`, duplicated keys and sections, BOM, tabs, CRLF) and are cut, mixed
and salted with generated lines. The properties:

- `Catalog.load` / `.plan(name)` / `.assumable()`: a plan or a `ConfigError` (one line, exit
  2, naming the file or the profile), nothing else;
- `replace_section`: a `SectionError` or a text in which the section holds exactly the new
  values and every other section reads as before.

The quick runs are part of every test run; the `slow` ones make 10,000 examples each.
"""

from __future__ import annotations

import atexit
import configparser
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rolebar.core.errors import ConfigError, RolebarError
from rolebar.core.profiles import Catalog, Plan

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.ini"))
SEEDS = [p.read_bytes().decode("utf-8") for p in CORPUS]
SEED_LINES = sorted({line for text in SEEDS for line in text.replace("\r", "").split("\n")})

KEYS = ["role_arn", "source_profile", "mfa_serial", "duration_seconds", "role_session_name",
        "external_id", "region", "generate_token", "mfa_process", "aws_access_key_id",
        "aws_secret_access_key", "aws_session_token", "credential_source", "rolebar_route",
        "rolebar_session_seconds", "sso_session", "services", "endpoint_url"]
NAMES = ["default", "a", "b", "base", "project-dev", "tray-managed", "x y", ""]
VALUES = ["arn:aws:iam::111111111111:role/r", "arn:aws:iam::1:role/bad", "a", "b", "base",
          "arn:aws:iam::000000000000:mfa/m", "3600", "7200", "-1", "0x10", "99999999999",
          "", "echo 123456", "'unbalanced", "session", "direct", "Ec2InstanceMetadata",
          "AKIAIOSFODNN7EXAMPLE", "s/e+c=r"]

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_header = st.builds(lambda kind, name: f"[{kind}{name}]",
                    st.sampled_from(["profile ", "", "sso-session ", "services ", "profile  "]),
                    st.sampled_from(NAMES) | _text)
_pair = st.builds(lambda k, sep, v: f"{k}{sep}{v}", st.sampled_from(KEYS) | _text,
                  st.sampled_from([" = ", "=", "\t=\t", " : ", " "]),
                  st.sampled_from(VALUES) | _text)
_line = st.one_of(_header, _pair, st.sampled_from(SEED_LINES),
                  st.sampled_from(["", "  nested = 1", "# c", "; c", "\t", "[", "]"]), _text)


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        lines = draw(st.sampled_from(SEEDS)).split("\n")
        cut = draw(st.integers(0, len(lines)))
        lines[cut:cut] = draw(st.lists(_line, max_size=8))
    else:
        lines = draw(st.lists(_line, max_size=25))
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    return text


def _write(path: Path, text: str, raw: bool) -> None:
    path.write_bytes(text.encode("latin-1", "replace") if raw else text.encode("utf-8"))


_FOLDER = tempfile.mkdtemp(prefix="rolebar-fuzz-")  # reused: one mkdir, not 10,000
atexit.register(shutil.rmtree, _FOLDER, True)


def check_profiles(config: str, credentials: str, raw: bool) -> None:
    cfg, creds = Path(_FOLDER, "config"), Path(_FOLDER, "credentials")
    _write(cfg, config, raw)
    _write(creds, credentials, False)
    env = {"AWS_CONFIG_FILE": str(cfg), "AWS_SHARED_CREDENTIALS_FILE": str(creds)}
    try:
        catalog = Catalog.load(env)
    except ConfigError as exc:  # a file botocore cannot read: one line naming it
        assert exc.exit_code == 2 and "\n" not in str(exc)
        assert exc.subject in (str(cfg), str(creds)) or exc.subject.startswith("profile ")
        return
    catalog.assumable()  # never raises: broken profiles are left out
    for name in [*catalog.names, "missing"]:
        try:
            plan = catalog.plan(name)
        except ConfigError as exc:
            assert exc.exit_code == 2 and "\n" not in str(exc)
            continue
        assert isinstance(plan, Plan)
        assert plan.route in ("session", "direct", "none", "sso")
        if plan.sso is None:
            assert plan.source.access_key_id and plan.source.secret_access_key
            assert (plan.device is None) == (plan.route == "none")
        else:  # an IAM Identity Center role: no keys, no MFA session
            assert plan.route == ("sso" if not plan.roles else
                                  "none" if plan.device is None else "direct")
        plan.fingerprint  # noqa: B018 - must be computable for any plan


_profiles = given(config_texts(), config_texts(), st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@_profiles
def test_profiles_give_a_plan_or_a_config_error(config: str, credentials: str,
                                                raw: bool) -> None:
    check_profiles(config, credentials, raw)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@_profiles
def test_profiles_fuzz_10000(config: str, credentials: str, raw: bool) -> None:
    check_profiles(config, credentials, raw)


def test_corpus_seeds_load() -> None:
    for seed in SEEDS:
        check_profiles(seed, SEEDS[0], False)


# -- the section writer ------------------------------------------------------------------------


def _sections(text: str) -> dict[str, dict[str, str]] | None:
    """What botocore reads (RawConfigParser on a file opened with universal newlines and
    no BOM stripping), or None if it cannot."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_file(io.StringIO(text, newline=None))
    except configparser.Error:
        return None
    return {name: dict(parser.items(name)) for name in parser.sections()}


_values = st.dictionaries(
    st.sampled_from(["aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                     "region", "credential_process"]),
    st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1,
            max_size=40),
    max_size=5,
)
_section_name = st.sampled_from(["tray-managed", "tray-managed-project-dev", "default", "a"])


def check_section_writer(text: str, name: str, values: dict[str, str] | None) -> None:
    from rolebar.core.credfile import replace_section, text_status

    missing = text_status(text, name) == "missing"
    try:
        new = replace_section(text, name, values)
    except RolebarError:
        return  # SectionError / UnmanagedSectionError: refused with a reason
    before, after = _sections(text), _sections(new)
    if missing:  # nothing to replace: the old text stays, byte for byte, in front
        assert new == text if values is None else new.startswith(text.rstrip("\r\n"))
    if before is None:
        return
    assert after is not None, "rolebar turned a readable file into an unreadable one"
    others_before = {k: v for k, v in before.items() if k != name}
    others_after = {k: v for k, v in after.items() if k != name}
    assert others_after == others_before
    if values is None:
        assert name not in after
    else:
        assert after.get(name) == {k.lower(): v.strip() for k, v in values.items()}


_writer = given(config_texts(), _section_name, st.none() | _values)


@settings(max_examples=150, deadline=None)
@_writer
def test_section_writer_refuses_or_keeps_everything_else(
        text: str, name: str, values: dict[str, str] | None) -> None:
    pytest.importorskip("rolebar.core.credfile")
    check_section_writer(text, name, values)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@_writer
def test_section_writer_fuzz_10000(text: str, name: str, values: dict[str, str] | None) -> None:
    pytest.importorskip("rolebar.core.credfile")
    check_section_writer(text, name, values)
