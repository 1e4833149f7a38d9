"""An STS double on loopback and the seed's AWS files pointing at it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rolebar.core.stsdouble import StsDouble, User

VENV_BIN = Path(sys.executable).parent
ROLEBAR = str(VENV_BIN / "rolebar")
DEV_ROLE = "arn:aws:iam::111111111111:role/developer"
OPS_ROLE = "arn:aws:iam::111111111111:role/operator"
PLAIN_ROLE = "arn:aws:iam::222222222222:role/readonly"

# Prints the device's current code, as `op item get ... --otp` would; the secret is read
# from a 0600 file, never passed in argv.
TOKEN_SCRIPT = """\
import sys
from rolebar.core.stsdouble import totp
print(totp(open(sys.argv[1]).read().strip()))
"""


@dataclass
class Aws:
    """The seed's setup: [my-company] keys, [project-dev] behind MFA, all on the double."""

    home: Path
    double: StsDouble
    user: User
    token_command: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.home / ".aws" / "config"

    @property
    def credentials(self) -> Path:
        return self.home / ".aws" / "credentials"

    def secrets(self) -> list[str]:
        return [*self.double.secrets(), self.user.secret_access_key, str(self.user.totp_secret)]

    def code(self) -> str:
        return self.user.code()

    def write_config(self, *, generate_token: bool = True, extra: str = "") -> None:
        token = f"generate_token = {self.token_command}\n" if generate_token else ""
        self.config.write_text(textwrap.dedent(f"""\
            [profile my-company]
            region = ap-northeast-1

            [profile project-dev]
            role_arn = {DEV_ROLE}
            mfa_serial = {self.user.mfa_serial}
            source_profile = my-company
            region = ap-northeast-1
            """) + token + textwrap.dedent(f"""
            [profile project-ops]
            role_arn = {OPS_ROLE}
            mfa_serial = {self.user.mfa_serial}
            source_profile = my-company
            """) + token + textwrap.dedent(f"""
            [profile readonly]
            role_arn = {PLAIN_ROLE}
            source_profile = my-company
            """) + extra)

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real `rolebar` with no terminal; check stderr holds no secret."""
        done = subprocess.run(
            [ROLEBAR, *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
            timeout=timeout, input=input, start_new_session=True,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        assert_no_secret(done.stderr, self.secrets())
        return done


def assert_no_secret(text: str, secrets: list[str]) -> None:
    leaked = [s[:4] for s in secrets if s and s in text]
    assert not leaked, f"secret(s) starting {leaked} in output"


@pytest.fixture
def double() -> Iterator[StsDouble]:
    d = StsDouble()
    d.add_role(DEV_ROLE, require_mfa=True)
    d.add_role(OPS_ROLE, require_mfa=True)
    d.add_role(PLAIN_ROLE, require_mfa=False)
    d.start()
    yield d
    d.stop()


@pytest.fixture
def aws(home: Path, double: StsDouble, monkeypatch: pytest.MonkeyPatch) -> Aws:
    user = double.add_user("member", account="000000000000")
    secret_file = home / ".totp-secret"
    secret_file.write_text(str(user.totp_secret))
    secret_file.chmod(0o600)
    script = home / "otp_code.py"
    script.write_text(TOKEN_SCRIPT)
    (home / ".aws" / "credentials").write_text(textwrap.dedent(f"""\
        [my-company]
        aws_access_key_id = {user.access_key_id}
        aws_secret_access_key = {user.secret_access_key}
        """))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", double.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    aws = Aws(home, double, user, f"{sys.executable} {script} {secret_file}", dict(os.environ))
    aws.write_config()
    return aws
