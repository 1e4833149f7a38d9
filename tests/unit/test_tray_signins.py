"""The tray's "Sign in to NAME...": shown while the keeper waits for a sign-in, run off the
dispatcher only when chosen, its outcome a notification and then "Refresh now"."""

from __future__ import annotations

import threading

from rolebar.core.sso.errors import SignInFailed
from rolebar.core.state import Event, KeeperState, SignInNeed
from rolebar.tray import menu
from rolebar.tray.app import TrayApp, active_keys
from rolebar.tray.notify import Notifier
from tests.unit.test_tray_menu import NOW, FakeKeeper, FakePrompts, Sent, find, sec, texts

NEED = SignInNeed("sso-session corp", "corp", "sso-dev", "rolebar login --sso-session corp")


def needing() -> KeeperState:
    return KeeperState((sec(profile="sso-dev"),), ("sso-dev",), (), (), (NEED,))


def app_with(sign_in: object) -> tuple[TrayApp, FakeKeeper, Sent]:
    keeper, sender = FakeKeeper(needing()), Sent()
    app = TrayApp(keeper, autostart=None, notifier=Notifier(sender, background=False),  # type: ignore[arg-type]
                  prompts=FakePrompts(), clock=lambda: NOW, sso_sign_in=sign_in)  # type: ignore[arg-type]
    app._state = needing()
    return app, keeper, sender


def test_the_item_shows_while_a_sign_in_is_needed() -> None:
    items = menu.build(needing(), NOW, autostart=False)
    assert find(items, "Sign in to corp...").action == ("signin", "sso-dev")
    plain = KeeperState((sec(profile="sso-dev"),), ("sso-dev",), (), ())
    assert not any(t.startswith("Sign in") for t in texts(menu.build(plain, NOW, False)))


def test_the_event_notifies_and_never_signs_in_unasked() -> None:
    calls: list[str] = []
    app, _, sender = app_with(calls.append)
    message = 'sso-session corp: sign-in needed (...): choose "Sign in to corp..."'
    app._on_event(needing(), Event("signin_needed", "sso-session corp", message))
    app._on_event(needing(), Event("signin_needed", "sso-session corp", message))
    assert sender.sent == [("rolebar: sign-in needed", message)]  # once per need
    assert calls == [] and app._queue.empty()
    assert "signin_needed sso-session corp" in active_keys(needing())


def test_choosing_it_signs_in_off_the_dispatcher_then_refreshes() -> None:
    release, threads = threading.Event(), []

    def sign_in(profile: str) -> str:
        threads.append((threading.current_thread(), profile))
        assert release.wait(5)
        return "sso-session corp"

    app, keeper, sender = app_with(sign_in)
    app._act(("signin", "sso-dev"))  # returns while the browser is still out
    app._act(("signin", "sso-dev"))  # a second click meanwhile starts no second sign-in
    release.set()
    app._handle(app._queue.get(timeout=5))  # the notification
    app._handle(app._queue.get(timeout=5))  # then "Refresh now"
    assert [(t is not threading.current_thread(), p) for t, p in threads] == [
        (True, "sso-dev")]
    assert sender.sent == [("rolebar: sign-in", "sso-session corp: signed in")]
    assert keeper.calls[-1] == ("refresh_now", None)


def test_a_failed_sign_in_is_one_notification_and_no_refresh() -> None:
    def refuse(profile: str) -> str:
        raise SignInFailed("sso-session corp", "the browser did not come back in 600 s")

    app, keeper, sender = app_with(refuse)
    thread = app.signins.start("sso-dev")
    assert thread is not None
    thread.join(5)
    app._handle(app._queue.get(timeout=5))
    assert sender.sent == [("rolebar: sign-in", "sso-session corp: the browser did not come "
                            "back in 600 s")]
    assert app._queue.empty() and ("refresh_now", None) not in keeper.calls
    again = app.signins.start("sso-dev")  # none left under way
    assert again is not None
    again.join(5)
