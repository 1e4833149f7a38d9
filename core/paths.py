"""Where things live: the AWS files and rolebar's own platform directories.

On Linux ``XDG_CONFIG_HOME``, ``XDG_CACHE_HOME``, ``XDG_STATE_HOME`` and
``XDG_RUNTIME_DIR`` move rolebar's directories (platformdirs reads them at call time).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP = "rolebar"


def aws_config_file(env: Mapping[str, str] = os.environ) -> Path:
    return Path(os.path.expanduser(env.get("AWS_CONFIG_FILE") or "~/.aws/config"))


def aws_credentials_file(env: Mapping[str, str] = os.environ) -> Path:
    return Path(
        os.path.expanduser(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")
    )


def config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir(APP, appauthor=False))


def log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def runtime_dir() -> Path:
    """A private directory for sockets; falls back to the state directory off Linux."""
    import platformdirs

    if os.name == "posix" and os.environ.get("XDG_RUNTIME_DIR"):
        return Path(platformdirs.user_runtime_dir(APP, appauthor=False))
    return state_dir()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and force mode 0700 on it."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path, 0o700)
    return path


# The running engine's credentials endpoint (endpoint.py): its port and pid, and its token
# alone in a 0600 file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE points there; the SDKs send
# the file's bytes as they are, so it holds no newline). Both exist while the engine runs.
def endpoint_file() -> Path:
    return runtime_dir() / "endpoint.json"


def endpoint_token_file() -> Path:
    return runtime_dir() / "endpoint.token"
