"""Broken configurations, generated: exit status 2 (or 1), one `rolebar:` line, nothing
written, no traceback — through the real `main`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rolebar.core.cli import main

NAMES = st.sampled_from(["a", "b", "c", "dev", "my-company"])
VALUES = {
    "role_arn": st.sampled_from(["arn:aws:iam::111111111111:role/dev", "arn:aws:iam::1:role/x",
                                 "nope", ""]),
    "source_profile": NAMES,
    "mfa_serial": st.sampled_from(["arn:aws:iam::000000000000:mfa/me", ""]),
    "duration_seconds": st.sampled_from(["900", "3600", "7200", "60", "1h", "99999", ""]),
    "role_session_name": st.sampled_from(["ok-name", "bad name!", "x"]),
    "credential_source": st.just("Environment"),
    "aws_access_key_id": st.just("AKIAEXAMPLEEXAMPLE01"),
    "generate_token": st.sampled_from(["false", "'unterminated"]),
    "rolebar_route": st.sampled_from(["direct", "session", "sideways"]),
}
PROFILE = st.tuples(NAMES, st.dictionaries(st.sampled_from(sorted(VALUES)), st.just(""),
                                           max_size=5))


@st.composite
def configs(draw: st.DrawFn) -> str:
    lines = []
    for name, keys in draw(st.lists(PROFILE, max_size=4)):
        lines.append(f"[profile {name}]")
        lines.extend(f"{key} = {draw(VALUES[key])}" for key in keys)
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(
            ["[profile broken", "key_without_section = 1", "  indented = x", "[]"])))
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs(), profile=NAMES)
def test_broken_configs_end_in_one_line_and_write_nothing(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        config: str, profile: str) -> None:
    # Nothing listens there: a config that happens to be good fails fast with exit 1.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
    (home / ".aws" / "config").write_text(config)
    credentials = home / ".aws" / "credentials"
    credentials.write_text("[my-company]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\n"
                           "aws_secret_access_key = example/secret\n")
    before = credentials.read_bytes()
    status = main(["-t", "123456", "-j", profile])
    out, err = capsys.readouterr()
    assert status in (1, 2)
    assert out == ""
    assert err.startswith("rolebar: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert credentials.read_bytes() == before
    assert not list((home / ".cache").glob("rolebar/role-*"))
