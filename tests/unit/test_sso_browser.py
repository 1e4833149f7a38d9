"""The browser a frozen (PyInstaller) rolebar opens loads the system's libraries: the
loader path PyInstaller set for rolebar is swapped for the saved one during the call."""

from __future__ import annotations

import os
import sys

import pytest

from rolebar.core.sso import signin


@pytest.mark.parametrize(("saved", "seen"), [("/usr/lib", "/usr/lib"), (None, None)])
def test_a_frozen_rolebar_opens_the_browser_with_the_systems_loader_path(
        monkeypatch: pytest.MonkeyPatch, saved: str | None, seen: str | None) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/rolebar/_internal")
    if saved is None:
        monkeypatch.delenv("LD_LIBRARY_PATH_ORIG", raising=False)
    else:
        monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", saved)
    during: list[str | None] = []
    monkeypatch.setattr(signin.webbrowser, "open_new_tab",
                        lambda url: during.append(os.environ.get("LD_LIBRARY_PATH")) or True)
    assert signin.open_browser("https://device.sso.example/")
    assert during == [seen]
    assert os.environ["LD_LIBRARY_PATH"] == "/opt/rolebar/_internal"  # rolebar's own again


def test_a_plain_python_leaves_the_loader_path_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/mine")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/other")
    during: list[str | None] = []
    monkeypatch.setattr(signin.webbrowser, "open_new_tab",
                        lambda url: during.append(os.environ.get("LD_LIBRARY_PATH")) or True)
    assert signin.open_browser("https://device.sso.example/")
    assert during == ["/mine"]
