"""Plans built from config snippets, and broken configs that must give one clear error."""

from __future__ import annotations

import errno
import os
import textwrap
from pathlib import Path

import pytest

from rolebar.core.errors import ConfigError, ProfileNotFound
from rolebar.core.profiles import Catalog
from tests.aging import settle

SEED_CREDENTIALS = """\
[my-company]
aws_access_key_id = AKIAEXAMPLEEXAMPLE01
aws_secret_access_key = seed/secret/0000000000000000000000000000
"""

SEED_CONFIG = """\
[profile my-company]
region = ap-northeast-1

[profile project-dev]
role_arn = arn:aws:iam::111111111111:role/developer
mfa_serial = arn:aws:iam::000000000000:mfa/member
source_profile = my-company
region = ap-northeast-1
generate_token = op item get "AWS Account" --otp
"""


def catalog(home: Path, config: str, credentials: str = SEED_CREDENTIALS) -> Catalog:
    (home / ".aws" / "config").write_text(textwrap.dedent(config))
    (home / ".aws" / "credentials").write_text(textwrap.dedent(credentials))
    return Catalog.load()


def test_seed_config_plans_the_mfa_session_route(home: Path) -> None:
    plan = catalog(home, SEED_CONFIG).plan("project-dev")
    assert plan.route == "session"
    assert plan.source.profile == "my-company"
    assert plan.source.access_key_id == "AKIAEXAMPLEEXAMPLE01"
    assert [r.role_arn for r in plan.roles] == ["arn:aws:iam::111111111111:role/developer"]
    assert plan.device == "arn:aws:iam::000000000000:mfa/member"
    assert plan.code_command == ("op", "item", "get", "AWS Account", "--otp")
    assert plan.region == "ap-northeast-1"
    assert plan.session_seconds == 12 * 3600


def test_credentials_file_keys_override_config_keys(home: Path) -> None:
    config = SEED_CONFIG + "\n[profile other]\nregion = eu-west-1\n"
    creds = SEED_CREDENTIALS + "\n[project-dev]\nregion = us-west-2\n"
    assert catalog(home, config, creds).plan("project-dev").region == "us-west-2"


def test_aws_config_file_variables_move_the_files(home: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "c").write_text(SEED_CONFIG)
    (tmp_path / "k").write_text(SEED_CREDENTIALS)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "c"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "k"))
    assert Catalog.load().plan("project-dev").files == (str(tmp_path / "c"), str(tmp_path / "k"))


def test_direct_route_for_long_durations_and_when_configured(home: Path) -> None:
    config = SEED_CONFIG + textwrap.dedent("""
        [profile long]
        role_arn = arn:aws:iam::111111111111:role/long
        mfa_serial = arn:aws:iam::000000000000:mfa/member
        source_profile = my-company
        duration_seconds = 7200

        [profile asked]
        role_arn = arn:aws:iam::111111111111:role/asked
        mfa_serial = arn:aws:iam::000000000000:mfa/member
        source_profile = my-company
        rolebar_route = direct
    """)
    c = catalog(home, config)
    long = c.plan("long")
    assert long.route == "direct"
    assert long.reason == "direct AssumeRole: duration_seconds 7200 > 3600"
    assert c.plan("asked").route == "direct"


def test_role_chaining_and_roles_without_mfa(home: Path) -> None:
    config = SEED_CONFIG + textwrap.dedent("""
        [profile hop]
        role_arn = arn:aws:iam::222222222222:role/hop
        source_profile = project-dev
        role_session_name = me.hop
        external_id = ext-1

        [profile plain]
        role_arn = arn:aws:iam::333333333333:role/plain
        source_profile = my-company
    """)
    c = catalog(home, config)
    hop = c.plan("hop")
    assert [r.profile for r in hop.roles] == ["project-dev", "hop"]
    assert hop.device == "arn:aws:iam::000000000000:mfa/member"
    assert hop.route == "session"
    assert hop.code_command == ("op", "item", "get", "AWS Account", "--otp")
    assert (hop.roles[1].session_name, hop.roles[1].external_id) == ("me.hop", "ext-1")
    plain = c.plan("plain")
    assert (plain.route, plain.device, plain.code_command) == ("none", None, None)


def test_generate_token_found_along_the_source_chain_and_mfa_process_synonym(
        home: Path) -> None:
    config = textwrap.dedent("""
        [profile my-company]
        mfa_process = ykman oath accounts code --single aws
        [profile dev]
        role_arn = arn:aws:iam::111111111111:role/developer
        mfa_serial = arn:aws:iam::000000000000:mfa/member
        source_profile = my-company
    """)
    plan = catalog(home, config).plan("dev")
    assert plan.code_command == ("ykman", "oath", "accounts", "code", "--single", "aws")


def test_session_only_profile(home: Path) -> None:
    creds = SEED_CREDENTIALS.replace("[my-company]", "[mfa-only]")
    config = "[profile mfa-only]\nmfa_serial = arn:aws:iam::000000000000:mfa/member\n"
    plan = catalog(home, config, creds).plan("mfa-only")
    assert (plan.route, plan.roles) == ("session", ())


def test_assumable_lists_roles_and_skips_broken_ones(home: Path) -> None:
    config = SEED_CONFIG + "\n[profile broken]\nrole_arn = nope\nsource_profile = my-company\n"
    names = [p.name for p in catalog(home, config).assumable()]
    assert names == ["project-dev"]


BROKEN = [
    ("missing", "", "profile missing: not found in"),
    ("loop", "[profile loop]\nrole_arn = arn:aws:iam::111111111111:role/a\nsource_profile = b\n"
     "[profile b]\nrole_arn = arn:aws:iam::111111111111:role/b\nsource_profile = loop\n",
     "profile loop: source_profile cycle: loop -> b -> loop"),
    ("nokeys", "[profile nokeys]\nrole_arn = arn:aws:iam::111111111111:role/a\n"
     "source_profile = empty\n[profile empty]\nregion = us-east-1\n",
     "profile nokeys: source empty: has no aws_access_key_id and aws_secret_access_key"),
    ("badarn", "[profile badarn]\nrole_arn = arn:aws:iam::12:role/x\nsource_profile = my-company\n",
     "profile badarn: malformed role_arn 'arn:aws:iam::12:role/x'"),
    ("baddur", "[profile baddur]\nrole_arn = arn:aws:iam::111111111111:role/a\n"
     "source_profile = my-company\nduration_seconds = 12h\n",
     "profile baddur: duration_seconds must be a number, not '12h'"),
    ("shortdur", "[profile shortdur]\nrole_arn = arn:aws:iam::111111111111:role/a\n"
     "source_profile = my-company\nduration_seconds = 60\n",
     "profile shortdur: duration_seconds 60 is outside 900..43200"),
    ("nosrc", "[profile nosrc]\nrole_arn = arn:aws:iam::111111111111:role/a\n"
     "source_profile = ghost\n", "profile nosrc: source_profile ghost does not exist"),
    ("ec2", "[profile ec2]\nrole_arn = arn:aws:iam::111111111111:role/a\n"
     "credential_source = Ec2InstanceMetadata\n",
     "profile ec2: credential_source is not supported"),
]


@pytest.mark.parametrize(("profile", "config", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_configs_give_one_line_naming_the_profile(
        home: Path, profile: str, config: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        catalog(home, config).plan(profile)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_unknown_profile_is_its_own_error(home: Path) -> None:
    with pytest.raises(ProfileNotFound):
        catalog(home, SEED_CONFIG).plan("nope")


def test_malformed_ini_names_the_file(home: Path) -> None:
    (home / ".aws" / "config").write_text("[profile x\nregion = 1\n")
    with pytest.raises(ConfigError) as caught:
        Catalog.load()
    assert caught.value.subject == str(home / ".aws" / "config")
    assert "malformed" in caught.value.cause


# -- `rolebar profiles` with nothing to list ------------------------------------------------


@pytest.mark.parametrize("json_form", [False, True])
def test_profiles_with_no_aws_config_says_why_on_stderr(
    home: Path, capsys: pytest.CaptureFixture[str], json_form: bool,
) -> None:
    """It printed nothing at all: stdout stays the (empty) list, stderr explains."""
    from rolebar.core.cli import main

    assert main(["profiles", *(["--json"] if json_form else [])]) == 0
    out, err = capsys.readouterr()
    assert out == ("[]\n" if json_form else "")
    assert err.count("\n") == 1 and err.startswith("rolebar: no AWS profile to assume")
    assert f"looked in {home}/.aws/config and {home}/.aws/credentials" in err
    assert "`rolebar demo`" in err and "quick start" in err


def test_profiles_with_only_source_keys_says_why_and_lists_nothing(
    home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from rolebar.core.cli import main

    (home / ".aws" / "credentials").write_text(SEED_CREDENTIALS)
    assert main(["profiles"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "no AWS profile to assume" in err


def test_profiles_found_means_nothing_on_stderr(
    home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from rolebar.core.cli import main

    catalog(home, SEED_CONFIG)
    assert main(["profiles"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("project-dev\t") and err == ""


@pytest.mark.parametrize("which", ["config", "credentials"])
def test_a_file_that_cannot_be_opened_names_the_file_and_the_cause(
        home: Path, monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    # botocore skips a file it cannot open, as if it were empty ("profile not found",
    # "no keys" later); as root, modes stop nobody, so the refusal is simulated.
    catalog(home, SEED_CONFIG)
    path = home / ".aws" / which
    real_open = open

    def denied(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", denied)
    with pytest.raises(ConfigError) as caught:
        Catalog.load().plan("project-dev")
    assert str(caught.value) == f"{path}: cannot be read (permission denied)"


def test_a_symlink_loop_names_the_file_and_the_cause(home: Path) -> None:
    catalog(home, SEED_CONFIG)
    creds = home / ".aws" / "credentials"
    creds.unlink()
    creds.symlink_to(home / ".aws" / "loop")
    (home / ".aws" / "loop").symlink_to(creds)
    with pytest.raises(ConfigError) as caught:
        Catalog.load()
    assert str(caught.value) == f"{creds}: cannot be read (too many levels of symbolic links)"


# -- parsed once per change of the files ----------------------------------------------------


def test_the_files_are_parsed_again_only_when_they_change(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.configloader

    parsed: list[str] = []
    real_load, real_raw = botocore.configloader.load_config, botocore.configloader.raw_config_parse

    def load(path: str, *args: object, **kwargs: object) -> object:
        parsed.append(f"config {path}")
        return real_load(path, *args, **kwargs)  # type: ignore[arg-type]

    (home / ".aws" / "config").write_text(textwrap.dedent(SEED_CONFIG))
    (home / ".aws" / "credentials").write_text(SEED_CREDENTIALS)
    settle(home / ".aws" / "config", home / ".aws" / "credentials", ago=60)
    monkeypatch.setattr(botocore.configloader, "load_config", load)
    for _ in range(3):
        Catalog.load().plan("project-dev")
    assert parsed == [f"config {home}/.aws/config"]
    # A change of either file: that file alone is read again, once.
    monkeypatch.setattr(botocore.configloader, "raw_config_parse", lambda path, *a, **k:
                        parsed.append(f"raw {path}") or real_raw(path, *a, **k))
    creds = home / ".aws" / "credentials"
    creds.write_text(SEED_CREDENTIALS.replace("seed/secret", "new1/secret"))  # same size
    settle(creds, ago=30)
    for _ in range(3):
        plan = Catalog.load().plan("project-dev")
    assert plan.source.secret_access_key.startswith("new1/secret")
    assert parsed == [f"config {home}/.aws/config", f"raw {creds}"]


def test_a_file_changed_just_now_is_read_again_even_with_the_same_stamp(home: Path) -> None:
    """The AWS CLI rewrites in place: same inode, same size, and a coarse mtime may not move."""
    creds = home / ".aws" / "credentials"
    catalog(home, SEED_CONFIG)
    mtime = creds.stat().st_mtime_ns
    Catalog.load().plan("project-dev")
    creds.write_text(SEED_CREDENTIALS.replace("seed/secret", "new2/secret"))  # same size
    os.utime(creds, ns=(mtime, mtime))  # the same tick of the clock
    assert Catalog.load().plan("project-dev").source.secret_access_key.startswith("new2/")


def test_a_file_changed_just_now_is_parsed_once_while_its_bytes_stay(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the settling time the bytes are compared, not parsed again: a keeper that
    just wrote the credentials file, or a tray started after the config was generated,
    would otherwise parse thousands of profiles on every call."""
    import botocore.configloader

    parsed: list[str] = []
    real = botocore.configloader.load_config
    monkeypatch.setattr(botocore.configloader, "load_config",
                        lambda path, *a, **k: parsed.append(path) or real(path, *a, **k))
    (home / ".aws" / "config").write_text(textwrap.dedent(SEED_CONFIG))  # not settled
    (home / ".aws" / "credentials").write_text(SEED_CREDENTIALS)
    for _ in range(3):
        Catalog.load().plan("project-dev")
    config = home / ".aws" / "config"
    assert parsed == [str(config)]
    mtime = config.stat().st_mtime_ns
    config.write_text(textwrap.dedent(SEED_CONFIG).replace("developer", "developez"))
    os.utime(config, ns=(mtime, mtime))  # same size, same tick: only the bytes differ
    assert Catalog.load().plan("project-dev").roles[-1].role_arn.endswith("developez")
    assert parsed == [str(config)] * 2


def test_the_merged_config_is_botocores(home: Path) -> None:
    import botocore.session

    config = SEED_CONFIG + "\n[services corp]\nsts =\n  endpoint_url = https://sts.example\n"
    creds = SEED_CREDENTIALS + "\n[project-dev]\nregion = us-west-2\n[keys-only]\nregion = x\n"
    merged = catalog(home, config, creds).full_config()
    assert merged == botocore.session.Session().full_config
    assert merged["profiles"]["project-dev"]["region"] == "us-west-2"
    merged["profiles"].clear()  # a copy: the catalog's own values stay as they were
    assert Catalog.load().plan("project-dev").region == "us-west-2"


LINEAGES = [
    ("[profile a]\nsource_profile = b\n[profile b]\nregion = x\n", "top", ["a", "b"], None),
    ("[profile a]\nsource_profile = a\n", "self", ["a"], None),
    ("[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n", "cycle", ["a", "b"],
     "a"),
    ("[profile a]\nsource_profile = ghost\n", "missing", ["a"], "ghost"),
    ("", "missing", [], "a"),
]


@pytest.mark.parametrize(("config", "end", "names", "next_"), LINEAGES)
def test_one_walker_of_source_profile(home: Path, config: str, end: str, names: list[str],
                                      next_: str | None) -> None:
    walk = catalog(home, config, "").lineage("a")
    assert ([p for p, _ in walk.profiles], walk.end, walk.next) == (names, end, next_)
