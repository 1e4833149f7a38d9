"""Which names a kept section may take: one check, for `select`, `keep`, the tray and a
hand-edited settings file (issue 9, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rolebar.core.credfile import MARKER_LINE
from rolebar.core.errors import ConfigError
from rolebar.core.sections import check_section
from rolebar.core.settings import Settings, tray_section

CONFIG = """\
[default]
region = eu-west-1

[profile project-dev]
role_arn = arn:aws:iam::111111111111:role/developer
source_profile = my-company
"""
CREDENTIALS = f"""\
[my-company]
aws_access_key_id = AKIAEXAMPLEEXAMPLE01
aws_secret_access_key = example/secret

{MARKER_LINE}
[tray-managed]
credential_process = /opt/rolebar process --section tray-managed
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "config").write_text(CONFIG)
    (tmp_path / "credentials").write_text(CREDENTIALS)
    return {"AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}


@pytest.mark.parametrize(("name", "why"), [
    ("", "letters, digits"), (" x", "letters, digits"), ("x ", "letters, digits"),
    ("a]b", "letters, digits"), ("a\nb", "letters, digits"), ("#x", "letters, digits"),
    (";x", "letters, digits"), ("a b", "letters, digits"), ("x" * 129, "letters, digits"),
    ("\x1b[31m", "letters, digits"),
    ("-x", "cannot start with '-'"), ("--help", "cannot start with '-'"),
    ("DEFAULT", "defaults section"),
])
def test_names_no_tool_reads_the_same_way_are_refused(name: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_section(name)
    assert caught.value.exit_code == 2
    assert why in caught.value.cause
    assert caught.value.subject.startswith("section ")
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize("name", ["tray-managed", tray_section("project-dev"), "default",
                                  "Default", "x-", "a@b.c", "x" * 128])
def test_ordinary_names_pass_without_the_aws_files(name: str) -> None:
    assert check_section(name) == name


@pytest.mark.parametrize(("name", "why"), [
    ("project-dev", "is a profile in"),
    ("default", "is a profile in"),  # [default] exists in the config file
    ("my-company", "marker"),  # only in the credentials file, not rolebar's
])
def test_a_name_the_aws_files_define_as_a_profile_is_refused(
        env: dict[str, str], name: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_section(name, env)
    assert caught.value.exit_code == 2
    assert caught.value.subject == f"section {name}"
    assert why in caught.value.cause


@pytest.mark.parametrize("name", ["tray-managed", tray_section("project-dev"), "other"])
def test_rolebars_own_and_new_sections_pass_with_the_aws_files(
        env: dict[str, str], name: str) -> None:
    assert check_section(name, env) == name


def test_default_passes_when_the_config_file_has_no_default(
        env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "config").write_text(CONFIG.replace("[default]", "[profile other]"))
    assert check_section("default", env) == "default"


def test_a_hand_edited_settings_file_is_held_to_the_same_names() -> None:
    settings = Settings()
    settings.path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"profile": "dev", "style": "keys"}
    settings.path.write_text(json.dumps({"sections": {
        name: entry for name in ("-x", "DEFAULT", "a b", "a]b", "", "kept")}}))
    assert list(settings.sections()) == ["kept"]
    settings.select("dev", "other")  # the index is derived from the names that passed
    index = (settings.path.parent / "sections.index").read_text()
    assert sorted(line.split("\t")[0] for line in index.splitlines()[1:]) == ["kept", "other"]


@pytest.mark.parametrize("name", ["-x", "DEFAULT"])
def test_settings_select_refuses_them_with_exit_2(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings().select("dev", name)
    assert caught.value.exit_code == 2
