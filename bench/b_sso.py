"""IAM Identity Center: the cached `credential_process` answer of an SSO role profile, and
what a kept SSO section costs.

- A signed-in `[sso-session]` (a device-code sign-in against the double, filed as the AWS
  CLI files it), one `rolebar -j` (GetRoleCredentials once), then interleaved `rolebar
  process` runs against `python -c pass`: the same fast path as any role (`.answer` twin),
  with no portal call and no botocore import.
- `rolebar keep` for a minute with 20 s role credentials and 30 s access tokens: portal
  calls per role lifetime (so per hour with real 1 h credentials), refresh grants, and new
  sign-ins (none: the refresh token carries the sign-in until the session ends, so one
  sign-in per 8-hour day with IAM Identity Center's default 8 h session).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import interleaved, log, rolebar_venv, run, scrubbed_env, sts_double

ROUNDS = 30
KEPT_FOR, ROLE_LIFETIME, TOKEN_LIFETIME = 60, 20, 30
ACCOUNT = "111111111111"
START_URL = "https://d-0000000000.awsapps.com/start"
CONFIG = f"""\
[profile sso-dev]
sso_session = corp
sso_account_id = {ACCOUNT}
sso_role_name = Developer
region = us-east-1

[sso-session corp]
sso_start_url = {START_URL}
sso_region = us-east-1
"""


def _sign_in(double: object, home: Path) -> None:
    """Register, authorize a device code, approve it as a person would, file the token."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    oidc = boto3.client("sso-oidc", region_name="us-east-1", config=Config(
        signature_version=UNSIGNED), endpoint_url=double.endpoint)  # type: ignore[attr-defined]
    client = oidc.register_client(clientName="bench", clientType="public",
                                  scopes=["sso:account:access"])
    device = oidc.start_device_authorization(clientId=client["clientId"],
                                             clientSecret=client["clientSecret"],
                                             startUrl=START_URL)
    double.services.approve(device["userCode"])  # type: ignore[attr-defined]
    token = oidc.create_token(clientId=client["clientId"], clientSecret=client["clientSecret"],
                              grantType="urn:ietf:params:oauth:grant-type:device_code",
                              deviceCode=device["deviceCode"])

    def stamp(epoch: float) -> str:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    folder = home / ".aws" / "sso" / "cache"
    folder.mkdir(parents=True)
    path = folder / f"{hashlib.sha1(b'corp').hexdigest()}.json"  # noqa: S324 - the CLI's name
    path.write_text(json.dumps({
        "startUrl": START_URL, "region": "us-east-1", "accessToken": token["accessToken"],
        "expiresAt": stamp(time.time() + token["expiresIn"]), "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "registrationExpiresAt": stamp(client["clientSecretExpiresAt"]),
        "refreshToken": token["refreshToken"]}))
    path.chmod(0o600)


def measure() -> list[dict[str, object]]:
    rb = rolebar_venv()
    py, rolebar = str(rb / "bin" / "python"), str(rb / "bin" / "rolebar")
    home = Path(tempfile.mkdtemp(prefix="rolebar-bench-"))
    try:
        with sts_double(roles=()) as double:
            double.services.add_sso_account(ACCOUNT, "dev", ("Developer",))  # type: ignore[attr-defined]
            (home / ".aws").mkdir()
            (home / ".aws" / "config").write_text(CONFIG)
            env = scrubbed_env(home, double.endpoint)  # type: ignore[attr-defined]
            env["AWS_ENDPOINT_URL_SSO"] = env["AWS_ENDPOINT_URL_SSO_OIDC"] = \
                double.endpoint  # type: ignore[attr-defined]
            double.services.sso.access_token_lifetime = TOKEN_LIFETIME  # type: ignore[attr-defined]
            _sign_in(double, home)
            first = json.loads(run([rolebar, "-j", "sso-dev"], env))
            calls = double.counts["GetRoleCredentials"]  # type: ignore[attr-defined]
            log(f"b_sso: {ROUNDS} interleaved rounds")
            times = interleaved({"floor": ([py, "-c", "pass"], env),
                                 "cached": ([rolebar, "process", "sso-dev"], env)}, ROUNDS)
            hit = json.loads(run([rolebar, "process", "sso-dev"], env))
            after = double.counts["GetRoleCredentials"]  # type: ignore[attr-defined]
            if hit["AccessKeyId"] != first["AccessKeyId"] or after != calls or calls != 1:
                raise RuntimeError(f"the cached path called the portal ({calls} -> {after})")
            kept = _kept(double, rolebar, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return [*kept, {"name": "sso: cached credential_process, an IAM Identity Center role",
             "value": times["cached"] * 1000, "unit": "ms",
             "baseline": f"floor {times['floor'] * 1000:.1f} ms",
             "ratio": times["cached"] / times["floor"],
             "note": f"median of {ROUNDS}; 1 GetRoleCredentials in all (the first `-j`); "
                     "the same fast path as any role (target <= 1.15x floor)"}]


def _counts(double: object) -> tuple[int, int, int]:
    grants = double.services.oidc.grants_issued  # type: ignore[attr-defined]
    signins = sum(n for grant, n in grants.items() if grant != "refresh_token")
    return (double.counts.get("GetRoleCredentials", 0),  # type: ignore[attr-defined]
            grants["refresh_token"], signins)


def _kept(double: object, rolebar: str, env: dict[str, str]) -> list[dict[str, object]]:
    """`rolebar keep sso-dev` for KEPT_FOR seconds with short role and token lifetimes."""
    from rolebar.core.timing import deadlines

    double.services.sso.role_lifetime = ROLE_LIFETIME  # type: ignore[attr-defined]
    run([rolebar, "forget"], env)
    before = _counts(double)
    log(f"b_sso: keeping an SSO section for {KEPT_FOR} s")
    started = time.monotonic()
    keep = subprocess.Popen([rolebar, "keep", "sso-dev", "--style", "keys"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(KEPT_FOR)
    finally:
        keep.terminate()
        keep.wait(30)
    elapsed = time.monotonic() - started
    portal, refresh, signins = (a - b for a, b in zip(_counts(double), before, strict=True))
    soft, _ = deadlines(0, ROLE_LIFETIME)
    real_soft, _ = deadlines(0, 3600)
    return [
        {"name": f"sso: portal calls per hour per kept SSO section ({ROLE_LIFETIME} s "
                 "credentials)", "value": portal * 3600 / elapsed, "unit": "calls/h",
         "note": f"{portal} GetRoleCredentials in {elapsed:.0f} s; deadlines() predicts "
                 f"{3600 / soft:.0f}/h (refresh every {soft:.1f} s)"},
        {"name": "sso: portal calls per hour per kept SSO section (1 h credentials)",
         "value": 3600 / real_soft, "unit": "calls/h",
         "note": f"GetRoleCredentials every {real_soft / 60:.1f} min, from the deadlines() "
                 "checked above"},
        {"name": "sso: new sign-ins while kept (refresh grants renew the access token)",
         "value": signins, "unit": "sign-ins",
         "note": f"{refresh} refresh grants for {TOKEN_LIFETIME} s access tokens (inside "
                 "the 15 min renewal window: renewed at each fetch and each sign-in check); "
                 "one sign-in per 8 h session (goal: 1 per 8-hour day)"},
    ]
