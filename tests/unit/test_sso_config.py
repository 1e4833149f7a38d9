"""IAM Identity Center settings from the config file: both forms, and each mistake as one
line naming the profile or session."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rolebar.core.commands.login import chosen_session, login_timeout
from rolebar.core.errors import ConfigError, ProfileNotFound
from rolebar.core.sso import SsoConfig, SsoSession

START = "https://d-0000000000.awsapps.com/start"
CONFIG = f"""\
[profile sso-dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer
region = eu-west-1

[profile sso-prod]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = Admin

[profile old-style]
sso_start_url = https://d-1111111111.awsapps.com/start
sso_region = eu-central-1
sso_account_id = 111111111111
sso_role_name = ReadOnly

[profile plain]
region = us-east-1

[sso-session corp]
sso_start_url = {START}
sso_region = us-east-1
sso_registration_scopes = sso:account:access, codewhisperer:completions
"""


def config(home: Path, text: str = CONFIG) -> SsoConfig:
    (home / ".aws" / "config").write_text(textwrap.dedent(text))
    return SsoConfig.load()


def test_both_forms(home: Path) -> None:
    sso = config(home)
    corp = SsoSession("corp", START, "us-east-1",
                      ("sso:account:access", "codewhisperer:completions"))
    assert sso.session("corp") == corp
    dev = sso.for_profile("sso-dev")
    assert dev == corp and dev.profile == "sso-dev"  # one sign-in, whichever profile
    assert dev.login_command == "rolebar login --sso-session corp"
    role = sso.role("sso-prod")
    assert (role.account_id, role.role_name, role.session) == ("222222222222", "Admin", corp)
    old = sso.for_profile("old-style")
    assert (old.name, old.region, old.cache_key) == (
        None, "eu-central-1", "https://d-1111111111.awsapps.com/start")
    assert old.subject == "profile old-style" and old.login_command == "rolebar login old-style"
    assert old.registration_scopes == () and sso.session("corp").registration_scopes == (
        "sso:account:access", "codewhisperer:completions")
    assert [s.cache_key for s in sso.sessions()] == ["corp", old.cache_key]
    assert sso.is_sso("sso-dev") and not sso.is_sso("plain")


def test_a_session_without_scopes_registers_the_clis_default(home: Path) -> None:
    sso = config(home, f"[sso-session corp]\nsso_start_url = {START}\nsso_region = us-east-1\n")
    assert sso.session("corp").registration_scopes == ("sso:account:access",)


@pytest.mark.parametrize(("text", "call", "message"), [
    ("[profile p]\nsso_session = nope\n", ("for_profile", "p"),
     "profile p: sso_session 'nope' has no [sso-session nope] section in {config}"),
    ("[sso-session s]\nsso_start_url = " + START + "\n", ("session", "s"),
     "sso-session s: sso_region missing in {config}"),
    ("[profile p]\nsso_start_url = " + START + "\n", ("for_profile", "p"),
     "profile p: sso_region missing in {config}"),
    ("[sso-session s]\nsso_region = us-east-1\n", ("session", "s"),
     "sso-session s: sso_start_url missing in {config}"),
    ("[sso-session s]\nsso_start_url = " + START + "\nsso_region = us east\n", ("session", "s"),
     "sso-session s: sso_region 'us east' is not a region name"),
    ("[sso-session s]\nsso_start_url = d-123\nsso_region = us-east-1\n", ("session", "s"),
     "sso-session s: sso_start_url is not a URL (https://...)"),
    ("[profile p]\nregion = us-east-1\n", ("for_profile", "p"),
     "profile p: has no sso_session or sso_start_url (not an IAM Identity Center profile)"),
    ("[profile p]\nsso_session = s\nsso_region = eu-west-1\n[sso-session s]\nsso_start_url = "
     + START + "\nsso_region = us-east-1\n", ("for_profile", "p"),
     "profile p: sso_region differs from sso-session s's"),
    ("[profile p]\nsso_session = s\n[sso-session s]\nsso_start_url = " + START
     + "\nsso_region = us-east-1\n", ("role", "p"), "profile p: sso_account_id and "
     "sso_role_name missing"),
    ("[profile p]\nsso_session = s\nsso_account_id = 12\nsso_role_name = R\n[sso-session s]\n"
     "sso_start_url = " + START + "\nsso_region = us-east-1\n", ("role", "p"),
     "profile p: sso_account_id is not a 12-digit account id"),
    ("", ("session", "s"), "sso-session s: not found in {config}"),
])
def test_each_mistake_is_one_line(home: Path, text: str, call: tuple[str, str],
                                  message: str) -> None:
    sso = config(home, text)
    with pytest.raises(ConfigError) as caught:
        getattr(sso, call[0])(call[1])
    assert str(caught.value) == message.format(config=home / ".aws" / "config")
    assert caught.value.exit_code == 2


def test_unknown_profile(home: Path) -> None:
    with pytest.raises(ProfileNotFound):
        config(home).for_profile("missing")


def test_login_chooses_the_session(home: Path) -> None:
    config(home)
    assert chosen_session("sso-prod", None).name == "corp"
    assert chosen_session(None, "corp").profile is None
    with pytest.raises(ConfigError, match="configured: corp, profile old-style"):
        chosen_session(None, None)
    with pytest.raises(ConfigError, match="not both"):
        chosen_session("sso-dev", "corp")
    config(home, CONFIG.split("[profile old-style]")[0] + CONFIG.split("[profile plain]")[1])
    assert chosen_session(None, None).name == "corp"  # the only one


def test_login_timeout_from_the_environment() -> None:
    assert login_timeout({}) == 600
    assert login_timeout({"ROLEBAR_SSO_LOGIN_TIMEOUT": "2.5"}) == 2.5
    for bad in ("0", "-1", "nan", "inf", "soon"):
        with pytest.raises(ConfigError, match="ROLEBAR_SSO_LOGIN_TIMEOUT: must be"):
            login_timeout({"ROLEBAR_SSO_LOGIN_TIMEOUT": bad})
