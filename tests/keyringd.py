"""A real Secret Service for tests: gnome-keyring-daemon on a private session D-Bus.

The bus has no service directory, so nothing is activated behind the test's back: a
killed daemon stays gone (the "daemon gone" fault), and a locked collection cannot be
unlocked (no prompter: keyring raises KeyringLocked, as when a person dismisses the
prompt). The daemon is unlocked at start with a password on its stdin, the way a login
session's PAM module does it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.desktop.harness import bus_call, end_pid, pid_alive

SECRETS = "org.freedesktop.secrets"
PASSWORD = "keyring-test-password"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class SecretService:
    address: str
    bus_pid: int
    daemon_pid: int | None
    env: dict[str, str]

    def owner(self) -> int | None:
        try:
            reply = bus_call(self.address, "GetConnectionUnixProcessID", f"string:{SECRETS}")
        except subprocess.CalledProcessError:
            return None
        return int(reply.split()[-1])

    def kill_daemon(self) -> None:
        if self.daemon_pid is not None:
            end_pid(self.daemon_pid)
        deadline = time.monotonic() + 10
        while self.owner() is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    def lock(self) -> None:
        """Lock the default collection (a fresh interpreter: no connection lingers here)."""
        script = ("import secretstorage as s\nc = s.get_default_collection(s.dbus_init())\n"
                  "c.lock()\nprint(c.is_locked())")
        done = subprocess.run([sys.executable, "-c", script], env=self.env, capture_output=True,
                              text=True, timeout=30, check=True)
        assert done.stdout.strip() == "True", done.stderr

    def item(self, profile: str) -> dict[str, str] | None:
        """rolebar's item for `profile`, read with libsecret's secret-tool."""
        done = subprocess.run(["secret-tool", "lookup", "service", "rolebar", "username",
                               profile], env=self.env, capture_output=True, text=True,
                              timeout=30)
        return json.loads(done.stdout) if done.returncode == 0 and done.stdout else None

    def stop(self) -> None:
        self.kill_daemon()
        end_pid(self.bus_pid)


def start(workdir: Path, env: dict[str, str]) -> SecretService:
    """A bus and an unlocked gnome-keyring-daemon (secrets only) for `env`'s HOME."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "bus.conf"
    config.write_text(_BUS_CONFIG)
    base = {k: v for k, v in env.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY",
                                                      "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL")}
    printed = subprocess.run(
        ["dbus-daemon", f"--config-file={config}", "--fork", "--print-address=1",
         "--print-pid=1"], env=base, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=True, timeout=10)
    address, pid = printed.stdout.split()[:2]
    full = {**base, "DBUS_SESSION_BUS_ADDRESS": address}
    done = subprocess.run(
        ["gnome-keyring-daemon", "--daemonize", "--components=secrets", "--unlock"],
        env=full, input=PASSWORD, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    control = re.search(r"GNOME_KEYRING_CONTROL=(\S+)", done.stdout)
    if control:
        full["GNOME_KEYRING_CONTROL"] = control.group(1)
    service = SecretService(address, int(pid), None, full)
    deadline = time.monotonic() + 10
    while (owner := service.owner()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert owner is not None and pid_alive(owner), "gnome-keyring-daemon did not start"
    service.daemon_pid = owner
    return service
