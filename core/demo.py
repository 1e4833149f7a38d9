"""`rolebar demo`: the whole product against the built-in STS double, in a temporary home.

Anyone can try the tray, the notification and the code prompt without an AWS account.
The demo makes a home of its own (HOME, the XDG directories, AWS_CONFIG_FILE,
AWS_SHARED_CREDENTIALS_FILE, AWS_ENDPOINT_URL_STS) before anything reads a path, so
neither rolebar nor any program it starts sees the user's real AWS files or rolebar
settings. The double runs in this process on 127.0.0.1.

Two role profiles behind one MFA device:
- `project-dev` has a `generate_token` (this module's `token` command, which prints the
  double's current code): it refreshes silently, like the quick start's 1Password setup;
- `project-prd` has none and takes the direct route, so each refresh needs a code: the
  notification and the prompt. `rolebar demo --code` prints the code to type.

The double also answers the console's federation endpoint (AWS_ENDPOINT_URL_SIGNIN), so
the tray's "Open console" works here too: the browser gets the double's login page, which
says where a real console would open.

`python -m rolebar.core.demo token STATE` is the generate_token of the demo config.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rolebar.core import atomic, demosso, paths
from rolebar.core.errors import ConfigError

if TYPE_CHECKING:
    from rolebar.core.stsdouble import StsDouble

log = logging.getLogger(__name__)

MARK = ".rolebar-demo"  # a folder with this file is a demo home and may be reused
POINTER = "demo.json"  # in the user's real runtime dir: where `--code` finds the demo
SOURCE = "my-company"
ROLES = {
    "project-dev": "arn:aws:iam::111111111111:role/developer",
    "project-prd": "arn:aws:iam::222222222222:role/operator",
}
REGION = "ap-northeast-1"
# Variables of the user's shell that must not reach the demo or what it starts.
SCRUB = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CA_BUNDLE",
    "ROLEBAR_TOKEN_TIMEOUT",
)
BANNER = (
    "Demo: STS double on 127.0.0.1, no AWS account",
    "Your own ~/.aws files are not read or written",
)


@dataclass(frozen=True)
class DemoHome:
    root: Path

    @property
    def aws(self) -> Path:
        return self.root / ".aws"

    @property
    def config(self) -> Path:
        return self.aws / "config"

    @property
    def credentials(self) -> Path:
        return self.aws / "credentials"

    @property
    def state(self) -> Path:
        return self.root / "double.json"

    def environment(self, endpoint: str) -> dict[str, str]:
        """What the demo sets for itself and its children."""
        root = self.root
        runtime = root / "run"
        return {
            "HOME": str(root),
            "USERPROFILE": str(root),
            "XDG_CONFIG_HOME": str(root / ".config"),
            "XDG_CACHE_HOME": str(root / ".cache"),
            "XDG_STATE_HOME": str(root / ".local" / "state"),
            "XDG_DATA_HOME": str(root / ".local" / "share"),
            "XDG_RUNTIME_DIR": str(runtime),
            "AWS_CONFIG_FILE": str(self.config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
            "AWS_ENDPOINT_URL_STS": endpoint,
            "AWS_ENDPOINT_URL_SIGNIN": endpoint,  # the double's /federation: "Open console"
            "AWS_ENDPOINT_URL_SSO": endpoint,  # the double's portal and OIDC: the SSO profile
            "AWS_ENDPOINT_URL_SSO_OIDC": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def make_home(wanted: Path | None) -> tuple[DemoHome, bool]:
    """A fresh temporary home, or `wanted` if it is empty or an earlier demo home.

    Returns the home and whether it is temporary (removed at the end).
    """
    if wanted is None:
        root = Path(tempfile.mkdtemp(prefix="rolebar-demo-"))
        (root / MARK).touch()
        return DemoHome(root), True
    root = wanted.expanduser().absolute()
    try:
        check_home(root)
    except OSError as exc:
        raise ConfigError(f"demo home {root}", f"cannot be read ({exc.strerror})") from None
    paths.private_dir(root)
    (root / MARK).touch()
    return DemoHome(root), False


def check_home(root: Path) -> None:
    """Refuse a home the demo must not write: the user's own, anything but a folder that
    is empty or an earlier demo's, and one holding a symlink anywhere (the demo writes
    its AWS files, settings and sections there: a link to the real ~/.aws would send
    them into the user's own files)."""
    def refuse(cause: str) -> ConfigError:
        return ConfigError(f"demo home {root}", cause)

    if root.is_symlink():
        raise refuse("is a symlink; the demo writes through none (give the folder itself)")
    real_home = Path.home().resolve()
    if root.resolve() == real_home or root.resolve() in real_home.parents:
        raise refuse("is your own home; pick an empty folder")
    if not root.exists():
        return
    if not root.is_dir():
        raise refuse("is not a folder; pick an empty folder")
    if any(root.iterdir()) and not (root / MARK).is_file():
        raise refuse("is not empty and not an earlier demo home")
    for folder, folders, files in os.walk(root):
        for name in (*folders, *files):
            if os.path.islink(os.path.join(folder, name)):
                inside = Path(folder, name).relative_to(root)
                raise refuse(f"holds a symlink, {inside}; the demo writes through none "
                             "(remove it, or pick an empty folder)")


def write_private(path: Path, text: str) -> None:
    """Atomically, 0600. Never through a symlink (check_home found none; one may have
    come since): the new file replaces a link at `path`, whatever it points to."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic.write_private(path, text)


def token_command(state: Path) -> str:
    """The demo's generate_token line: this module's `token` command with the state file."""
    return shlex.join([sys.executable, "-m", "rolebar.core.demo", "token", str(state)])


def write_aws_files(home: DemoHome, user: dict[str, str]) -> None:
    """The quick start's layout: keys of an IAM user, roles in two project accounts."""
    write_private(home.credentials, (
        f"[{SOURCE}]\n"
        f"aws_access_key_id = {user['access_key_id']}\n"
        f"aws_secret_access_key = {user['secret_access_key']}\n"
    ))
    write_private(home.config, (
        "# rolebar demo: written by `rolebar demo`, removed when it ends\n"
        f"[profile {SOURCE}]\nregion = {REGION}\n\n"
        "# generate_token prints the current code: refreshes need nobody\n"
        f"[profile project-dev]\nrole_arn = {ROLES['project-dev']}\n"
        f"mfa_serial = {user['mfa_serial']}\nsource_profile = {SOURCE}\n"
        f"region = {REGION}\ngenerate_token = {token_command(home.state)}\n\n"
        "# no generate_token, direct route: every refresh asks for a code\n"
        f"[profile project-prd]\nrole_arn = {ROLES['project-prd']}\n"
        f"mfa_serial = {user['mfa_serial']}\nsource_profile = {SOURCE}\n"
        f"region = {REGION}\nrolebar_route = direct\n"
        f"{demosso.config_text(REGION)}"
    ))


@dataclass
class Demo:
    """The double, the temporary home and the environment switch; a context manager."""

    home: DemoHome
    temporary: bool
    role_lifetime: int = 900
    session_lifetime: int = 3600

    def __post_init__(self) -> None:
        self._saved: dict[str, str | None] = {}
        self._double: StsDouble | None = None
        self._pointer: Path | None = None
        self.endpoint = ""

    def __enter__(self) -> Demo:
        from rolebar.core.stsdouble import StsDouble
        from rolebar.core.stsdouble.process import state

        double = StsDouble(role_lifetime=self.role_lifetime,
                           session_lifetime=self.session_lifetime, port=0)
        user = double.add_user("member", account="000000000000")
        roles = [double.add_role(arn) for arn in ROLES.values()]
        demosso.add_account(double)
        self.endpoint = double.start()
        self._double = double
        info = state(double, user, roles)
        write_private(self.home.state, json.dumps(info, indent=2) + "\n")
        write_aws_files(self.home, info["user"])
        pointer_dir = paths.runtime_dir()  # the user's own, where `--code` looks
        self._switch(self.home.environment(self.endpoint))
        self._pointer = self._write_pointer(pointer_dir)
        paths.private_dir(Path(os.environ["XDG_RUNTIME_DIR"]))
        _restart_logging()
        demosso.sign_in()
        log.info("demo: STS double at %s, home %s", self.endpoint, self.home.root)
        return self

    def __exit__(self, *exc: object) -> None:
        log.info("demo: ending")
        _close_logging()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self._double is not None:
            self._double.stop()
        if self._pointer is not None:
            with contextlib.suppress(OSError):
                self._pointer.unlink()
        if self.temporary:
            shutil.rmtree(self.home.root, ignore_errors=True)

    def _switch(self, env: dict[str, str]) -> None:
        for name in (*SCRUB, *env):
            self._saved.setdefault(name, os.environ.get(name))
        for name in SCRUB:
            os.environ.pop(name, None)
        os.environ.update(env)

    def _write_pointer(self, folder: Path) -> Path | None:
        """Tell `rolebar demo --code` (run in the user's own environment) where we are,
        and where the demo remembers the codes it used (its cache: already switched)."""
        try:
            pointer = paths.private_dir(folder) / POINTER
            write_private(pointer, json.dumps({"state": str(self.home.state),
                                               "cache": str(paths.cache_dir()),
                                               "pid": os.getpid()}) + "\n")
        except OSError:
            return None
        return pointer

    def try_line(self) -> str:
        """What to run in another terminal against the demo's [tray-managed]: the demo's
        whole environment (a `process` section runs rolebar, which needs the demo's
        settings and cache too) and the AWS CLI by a path that works."""
        aws = how_to_run("aws")
        if aws is None:
            pip = how_to_run("pip") or "pip"
            return f"install the AWS CLI first ({pip} install awscli), then run it again"
        env = [f"{k}={v}" for k, v in self.home.environment(self.endpoint).items()]
        return " ".join([shlex.join(["env", *env, "AWS_PROFILE=tray-managed"]), aws,
                         "sts", "get-caller-identity"])


def _restart_logging() -> None:
    """The log moves into the demo home, so "Open log" shows the demo's own log."""
    from rolebar.core import logs

    root = logging.getLogger("rolebar")
    debug = root.level == logging.DEBUG
    _close_logging()
    logs.setup(debug=debug)


def _close_logging() -> None:
    root = logging.getLogger("rolebar")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


def current_code(pointer_dir: Path | None = None, clock: Callable[[], float] = time.time
                 ) -> tuple[str, int] | None:
    """A code the running demo has not used yet, for `rolebar demo --code`, and the seconds
    until it is the current one (0: it is); None while the current and the next were both
    used (wait for the next step).

    The demo spends codes itself (project-dev's generate_token, codes typed before), and a
    code is accepted once: the current step's code only while unused, else the next
    step's, which STS (and the double) accept one step early.
    """
    from rolebar.core.cache import Cache
    from rolebar.core.codes import STEP, Guard
    from rolebar.core.stsdouble import totp

    pointer = (pointer_dir or paths.runtime_dir()) / POINTER
    try:
        where = json.loads(pointer.read_text("utf-8"))
        user = json.loads(Path(where["state"]).read_text("utf-8"))["user"]
        secret, device = str(user["totp_secret"]), str(user["mfa_serial"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError("demo", "no demo is running; start one with `rolebar demo`") from None
    guard = Guard(Cache(Path(where["cache"])), clock) if where.get("cache") else None
    now = clock()
    for ahead in (0, 1):
        code = totp(secret, now + ahead * STEP)
        if guard is None or not guard.was_used(device, code):
            return code, math.ceil(STEP - now % STEP) if ahead else 0
    return None


def how_to_run(name: str) -> str | None:
    """What to type in another terminal to run `name`: the bare name when PATH finds this
    very program, else its absolute path (`bash scripts/setup` puts nothing on PATH);
    None when it is not installed at all."""
    mine = _installed(name)
    found = shutil.which(name)
    if mine is None:
        return name if found else None
    if found and os.path.samefile(found, mine):
        return name
    if os.name == "posix":
        return shlex.quote(str(mine))
    return f'"{mine}"' if " " in str(mine) else str(mine)


def _installed(name: str) -> Path | None:
    """`name` as installed beside the running rolebar (a venv's bin folder, a pipx venv)."""
    if name == "rolebar" and getattr(sys, "frozen", False):  # a PyInstaller build
        return Path(sys.executable)
    exe = f"{name}.exe" if sys.platform == "win32" else name
    candidate = Path(sys.executable).parent / exe
    return candidate.absolute() if candidate.is_file() else None


@contextlib.contextmanager
def running(home: Path | None = None, *, role_lifetime: int = 900,
            session_lifetime: int = 3600) -> Iterator[Demo]:
    demo_home, temporary = make_home(home)
    with Demo(demo_home, temporary, role_lifetime, session_lifetime) as demo:
        yield demo


def token_main(argv: Sequence[str]) -> int:
    """`python -m rolebar.core.demo token STATE`: print the double's current code."""
    from rolebar.core.stsdouble import totp

    if len(argv) != 2 or argv[0] != "token":
        sys.stderr.write("usage: python -m rolebar.core.demo token STATE\n")
        return 2
    try:
        secret = json.loads(Path(argv[1]).read_text("utf-8"))["user"]["totp_secret"]
    except (OSError, ValueError, KeyError, TypeError):
        sys.stderr.write("rolebar demo: cannot read the demo's state\n")
        return 1
    sys.stdout.write(totp(str(secret)) + "\n")
    return 0


def wait(seconds: float | None, done: threading.Event) -> None:
    """Until `done` is set, or `seconds` passed."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not done.wait(1.0):
        if deadline is not None and time.monotonic() >= deadline:
            return


if __name__ == "__main__":
    raise SystemExit(token_main(sys.argv[1:]))
