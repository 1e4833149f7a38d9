"""The tray's menu model and dispatcher, without a display: KeeperState in, items out."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import replace
from typing import Any

import pytest

from rolebar.core.codes import REUSED
from rolebar.core.errors import ConfigError
from rolebar.core.state import CodeNeed, Event, KeeperState, SectionState, SignInNeed
from rolebar.tray import menu
from rolebar.tray.app import TrayApp, active_keys, event_key
from rolebar.tray.menu import SEPARATOR, Item
from rolebar.tray.notify import Notifier

NOW = 1_700_000_000.0
DEVICE = "arn:aws:iam::123456789012:mfa/alice"


def sec(name: str = "tray-managed", profile: str | None = "dev", health: str = "fresh",
        expires: float | None = NOW + 47 * 60 - 5, style: str = "keys",
        problem: str | None = None) -> SectionState:
    return SectionState(name, profile, style, health, expires, problem)  # type: ignore[arg-type]


def state(*sections: SectionState, profiles: tuple[str, ...] = ("dev", "prod"),
          needs: tuple[CodeNeed, ...] = (), sessions: tuple[tuple[str, float], ...] = ()
          ) -> KeeperState:
    return KeeperState(tuple(sections), profiles, needs, sessions)


def texts(items: tuple[Item, ...]) -> list[str]:
    return [i.text for i in items]


def find(items: tuple[Item, ...], text: str) -> Item:
    for item in items:
        if item.text == text:
            return item
        if item.submenu and (found := _find_in(item.submenu, text)):
            return found
    raise AssertionError(f"no item {text!r} in {texts(items)}")


def _find_in(items: tuple[Item, ...], text: str) -> Item | None:
    try:
        return find(items, text)
    except AssertionError:
        return None


# -- the menu of DESIGN.md section 6 ---------------------------------------------------------


def test_full_menu_in_order() -> None:
    items = menu.build(state(sec()), NOW, autostart=False)
    assert texts(items) == [
        "dev: 47 min left", "-", "-", "None", "dev", "prod", "-", "Refresh now",
        "Open console for dev", "Style: static keys", "Keep fresh", "-", "Start at login",
        "Open log", "Quit",
    ]
    assert items[0].enabled is False  # the status line is not clickable


def test_profiles_are_a_radio_group_writing_tray_managed() -> None:
    items = menu.build(state(sec(profile="prod")), NOW, autostart=False)
    radios = [i for i in items if i.radio]
    assert [(i.text, i.checked, i.action) for i in radios] == [
        ("None", False, ("unselect",)),
        ("dev", False, ("select", "dev")),
        ("prod", True, ("select", "prod")),
    ]


def test_no_selection() -> None:
    items = menu.build(state(), NOW, autostart=False)
    assert items[0].text == "No role selected"
    assert find(items, "None").checked is True
    assert find(items, "Refresh now").enabled is False


def test_no_profile_says_what_is_missing_where_rolebar_looked_and_what_to_try(
    home: Any,
) -> None:
    """With no AWS config the menu showed only "None"."""
    items = menu.build(state(profiles=()), NOW, autostart=False)
    assert texts(items)[:7] == [
        "No role selected", "-", "-",
        "No AWS profile to assume (one with role_arn or mfa_serial)",
        f"Looked in {home}/.aws/config and {home}/.aws/credentials",
        "Try `rolebar demo`, or set one up as in the README's quick start",
        "-",
    ]
    assert [i.enabled for i in items[3:6]] == [False, False, False]
    assert not [i for i in items if i.radio], "nothing to choose, not even None"


def test_no_profile_left_but_one_still_selected_can_be_unselected() -> None:
    items = menu.build(state(sec(profile="gone"), profiles=()), NOW, autostart=False)
    assert find(items, "None").action == ("unselect",)
    assert find(items, "No AWS profile to assume (one with role_arn or mfa_serial)")


def test_code_item_only_when_a_code_is_needed() -> None:
    assert "Enter MFA code..." not in texts(menu.build(state(sec()), NOW, False))
    need = CodeNeed(DEVICE, "dev")
    items = menu.build(state(sec(health="needs_code"), needs=(need,)), NOW, False)
    item = find(items, "Enter MFA code...")
    assert item.action == ("code", DEVICE, "dev")
    assert item.default  # the GTK backend's left click
    assert items[0].text == "dev: needs an MFA code"


def test_one_code_item_per_device() -> None:
    needs = (CodeNeed(DEVICE, "dev"), CodeNeed(DEVICE + "2", "prod"))
    items = menu.build(state(sec(), needs=needs), NOW, False)
    assert [i.text for i in items if i.action and i.action[0] == "code"] == [
        "Enter MFA code for dev...", "Enter MFA code for prod..."]


def test_style_submenu_names_the_default_and_when_to_use_each() -> None:
    items = menu.build(state(sec(style="process")), NOW, False)
    style = find(items, "Style: credential_process")
    assert style.submenu is not None
    assert [(i.text, i.checked, i.action) for i in style.submenu] == [
        ("credential_process (default): running apps refresh by themselves", True,
         ("style", "process")),
        ("Static keys: for containers that mount ~/.aws, tools without credential_process",
         False, ("style", "keys")),
    ]
    # Nothing selected yet: the style a new section gets is shown (and greyed out).
    style = find(menu.build(state(), NOW, False), "Style: credential_process")
    assert style.submenu is not None and not any(i.enabled for i in style.submenu)


def test_a_switch_says_the_new_role_is_not_there_yet() -> None:
    """Issue 15: during a switch the menu names the new role and what it waits for."""
    switching = replace(sec(profile="prod", health="needs_code", expires=None),
                        problem="switching to prod: waiting for a one-time code",
                        switching=True)
    items = menu.build(state(switching, needs=(CodeNeed(DEVICE, "prod"),)), NOW, False)
    assert items[0].text == "Switching to prod: waiting for a one-time code"
    assert menu.tooltip(state(switching), NOW) == \
        "rolebar: Switching to prod: waiting for a one-time code"
    assert find(items, "prod").checked is True


def test_keep_fresh_checkbox_per_profile() -> None:
    kept = sec(name="tray-managed-prod", profile="prod")
    items = menu.build(state(sec(), kept), NOW, False)
    keep = find(items, "Keep fresh")
    assert keep.submenu is not None
    assert [(i.text, i.checked, i.action) for i in keep.submenu] == [
        ("dev", False, ("keep", "dev", "on")),
        ("prod", True, ("keep", "prod", "off")),
    ]
    assert menu.keep_section("prod") == "tray-managed-prod"


def test_open_console_for_the_tray_role_alone() -> None:
    item = find(menu.build(state(sec()), NOW, False), "Open console for dev")
    assert (item.action, item.enabled, item.submenu) == (("console", "dev"), True, None)


def test_open_console_offers_each_kept_role_once_the_tray_role_first() -> None:
    kept = (sec(name="tray-managed-prod", profile="prod"),
            sec(name="tray-managed-dev", profile="dev"), sec(name="ci", profile="ops"))
    items = menu.build(state(*kept, sec(profile="dev")), NOW, False)
    console = find(items, "Open console")
    assert console.submenu is not None
    assert [(i.text, i.action) for i in console.submenu] == [
        ("dev", ("console", "dev")), ("prod", ("console", "prod")), ("ops", ("console", "ops"))]
    # Only kept roles: [tray-managed] unselected, one kept section: one item for it.
    only = menu.build(state(sec(profile=None), kept[0]), NOW, False)
    assert find(only, "Open console for prod").action == ("console", "prod")


def test_no_console_item_while_no_role_is_kept() -> None:
    items = menu.build(state(sec(profile=None)), NOW, False)
    assert not [t for t in texts(items) if t.startswith("Open console")]
    assert menu.console_profiles(state()) == []


def test_start_at_login_checkbox() -> None:
    on = find(menu.build(state(), NOW, True), "Start at login")
    off = find(menu.build(state(), NOW, False), "Start at login")
    unsupported = find(menu.build(state(), NOW, None), "Start at login")
    assert (on.checked, on.action) == (True, ("autostart", "off"))
    assert (off.checked, off.action) == (False, ("autostart", "on"))
    assert unsupported.enabled is False


def test_many_profiles_go_to_a_submenu() -> None:
    profiles = tuple(f"p{i:04d}" for i in range(2000))
    items = menu.build(state(sec(profile="p0007"), profiles=profiles), NOW, False)
    role = find(items, "Role: p0007")
    assert role.submenu is not None and len(role.submenu) == 2001
    assert len(items) < 20


def test_problems_of_other_sections_are_shown() -> None:
    bad = sec(name="tray-managed-prod", profile="prod", health="error",
              problem="the section has no rolebar marker")
    items = menu.build(state(sec(), bad), NOW, False)
    assert "[tray-managed-prod]: the section has no rolebar marker" in texts(items)


@pytest.mark.parametrize(("seconds", "text"), [
    (None, ""), (-1, "expired"), (30, "1 min left"), (59 * 60 + 1, "60 min left"),
    (60 * 60, "60 min left"), (65 * 60, "1 h 05 min left"), (11 * 3600, "11 h 00 min left"),
])
def test_time_left(seconds: float | None, text: str) -> None:
    assert menu.time_left(None if seconds is None else NOW + seconds, NOW) == text


@pytest.mark.parametrize(("health", "problem", "line"), [
    ("refreshing", None, "dev: refreshing…"),
    ("error", "STS refused: AccessDenied", "dev: STS refused: AccessDenied"),
    ("idle", None, "dev: 47 min left"),
])
def test_status_line(health: str, problem: str | None, line: str) -> None:
    assert menu.describe(sec(health=health, problem=problem), NOW) == line


def test_tooltip_names_profile_and_time_left() -> None:
    assert menu.tooltip(state(sec()), NOW) == "rolebar: dev: 47 min left"
    long = sec(profile="x" * 300)
    assert len(menu.tooltip(state(long), NOW)) == 127


@pytest.mark.parametrize(("sections", "needs", "icon"), [
    ((), (), "idle"),
    ((sec(),), (), "fresh"),
    ((sec(), sec("tray-managed-prod", "prod", "refreshing")), (), "refreshing"),
    ((sec(health="error"), sec("tray-managed-prod", "prod", "refreshing")), (), "error"),
    ((sec(health="error"),), (CodeNeed(DEVICE, "dev"),), "needs_code"),
    ((sec(profile=None, health="error"),), (), "idle"),
])
def test_icon_state(sections: tuple[SectionState, ...], needs: tuple[CodeNeed, ...],
                    icon: str) -> None:
    assert menu.icon_state(state(*sections, needs=needs)) == icon


def test_a_sign_in_needed_ahead_of_time_shows_on_the_icon_and_tooltip() -> None:
    """The credentials still serve (the section is fresh), but only a person can renew the
    sign-in: the icon asks for attention until the sign-in is done."""
    need = SignInNeed("sso-session corp", "corp", "dev", "rolebar login --sso-session corp")
    waiting = replace(state(sec()), signins=(need,))
    assert menu.icon_state(waiting) == "needs_code"
    assert menu.tooltip(waiting, NOW) == "rolebar: sign in to corp; dev: 47 min left"
    assert menu.icon_state(state(sec())) == "fresh"


def test_equal_states_give_equal_menus() -> None:
    a = menu.build(state(sec()), NOW, False)
    b = menu.build(state(sec()), NOW + 5, False)
    assert a == b and SEPARATOR in a


# -- the dispatcher, with a fake keeper ----------------------------------------------------------


class FakeKeeper:
    def __init__(self, st: KeeperState) -> None:
        self.st = st
        self.calls: list[tuple[Any, ...]] = []
        self.fail: Exception | None = None

    def subscribe(self, listener: object) -> object:
        return lambda: None

    def state(self) -> KeeperState:
        return self.st

    def _call(self, *call: Any) -> None:
        self.calls.append(call)
        if self.fail:
            raise self.fail

    def select(self, profile: str, section: str = "tray-managed", style: Any = None) -> None:
        self._call("select", profile, section)

    def unselect(self, section: str) -> None:
        self._call("unselect", section)

    def set_style(self, section: str, style: Any) -> None:
        self._call("set_style", section, style)

    def refresh_now(self, section: str | None = None) -> None:
        self._call("refresh_now", section)

    def submit_code(self, device: str, code: str) -> None:
        self._call("submit_code", device, code)


class FakeAutostart:
    def __init__(self) -> None:
        self.on = False

    def enable(self) -> None:
        self.on = True

    def disable(self) -> None:
        self.on = False

    @property
    def enabled(self) -> bool:
        return self.on

    def describe(self) -> str:
        return "fake"


class FakePrompts:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.reasons: list[str | None] = []

    def ask(self, device: str, profile: str, reason: str | None = None) -> bool:
        self.asked.append((device, profile))
        self.reasons.append(reason)
        return True

    def close_all(self) -> None:
        pass


class Sent:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, title: str, body: str) -> None:
        self.sent.append((title, body))


def make_app(st: KeeperState) -> tuple[TrayApp, FakeKeeper, FakeAutostart, FakePrompts, Sent]:
    keeper, autostart, prompts, sender = FakeKeeper(st), FakeAutostart(), FakePrompts(), Sent()
    opened: list[str] = []
    app = TrayApp(keeper, autostart=autostart, notifier=Notifier(sender, background=False),
                  prompts=prompts, clock=lambda: NOW, open_file=opened.append)  # type: ignore[arg-type]
    app._state = st
    app.opened = opened  # type: ignore[attr-defined]
    return app, keeper, autostart, prompts, sender


@pytest.mark.parametrize(("action", "call"), [
    (("select", "prod"), ("select", "prod", "tray-managed")),
    (("unselect",), ("unselect", "tray-managed")),
    (("style", "process"), ("set_style", "tray-managed", "process")),
    (("keep", "prod", "on"), ("select", "prod", "tray-managed-prod")),
    (("keep", "prod", "off"), ("unselect", "tray-managed-prod")),
    (("refresh",), ("refresh_now", None)),
])
def test_actions_reach_the_keeper(action: tuple[str, ...], call: tuple[Any, ...]) -> None:
    app, keeper, *_ = make_app(state(sec()))
    app._act(action)
    assert keeper.calls == [call]


def test_start_at_login_toggles_the_adapter() -> None:
    app, _, autostart, *_ = make_app(state(sec()))
    app._act(("autostart", "on"))
    assert autostart.on
    assert find(app.look().items, "Start at login").checked is True
    app._act(("autostart", "off"))
    assert not autostart.on
    assert find(app.look().items, "Start at login").checked is False


def test_start_at_login_failure_is_notified_not_raised() -> None:
    app, _, autostart, _, sender = make_app(state(sec()))

    def refuse() -> None:
        raise ConfigError("autostart", "not supported on plan9")

    autostart.enable = refuse  # type: ignore[method-assign]
    app._act(("autostart", "on"))
    assert sender.sent == [("rolebar", "autostart: not supported on plan9")]


def test_open_log_and_code_item() -> None:
    app, _, _, prompts, _ = make_app(state(sec()))
    app._act(("log",))
    app._act(("code", DEVICE, "dev"))
    assert app.opened[0].endswith("rolebar.log")  # type: ignore[attr-defined]
    assert prompts.asked == [(DEVICE, "dev")]


def test_code_needed_notifies_once_and_opens_the_prompt() -> None:
    need = CodeNeed(DEVICE, "dev")
    st = state(sec(health="needs_code"), needs=(need,))
    app, _, _, prompts, sender = make_app(st)
    event = Event("code_needed", DEVICE, f"profile dev needs a one-time code for {DEVICE}")
    app._on_event(st, event)
    app._on_event(st, event)  # the same need: no second notification
    assert sender.sent == [("rolebar: MFA code needed", event.message)]
    assert prompts.asked == [(DEVICE, "dev"), (DEVICE, "dev")]  # Prompts itself dedupes
    app._on_event(state(sec()), Event("state", "section tray-managed", ""))  # need met
    app._on_event(st, event)  # a new need: notify again
    assert len(sender.sent) == 2


def test_a_prompt_opened_again_says_why() -> None:
    """After a refused code the keeper's need carries the reason; the prompt shows it."""
    st = state(sec(health="needs_code"), needs=(CodeNeed(DEVICE, "dev", REUSED),))
    app, _, _, prompts, _ = make_app(st)
    app._on_event(st, Event("code_needed", DEVICE, "profile dev: that code was already used"))
    app._act(("code", DEVICE, "dev"))  # "Enter MFA code..." in the menu: the same reason
    assert prompts.asked == [(DEVICE, "dev"), (DEVICE, "dev")]
    assert prompts.reasons == [REUSED, REUSED]
    app._state = state(sec(health="needs_code"), needs=(CodeNeed(DEVICE, "dev"),))
    app._act(("code", DEVICE, "dev"))
    assert prompts.reasons[-1] is None


def test_session_ending_notifies_without_prompting() -> None:
    st = state(sec(), needs=(CodeNeed(DEVICE, "dev"),), sessions=((DEVICE, NOW + 500),))
    app, _, _, prompts, sender = make_app(st)
    app._on_event(st, Event("session_ending", DEVICE, "the MFA session ends in 8 min"))
    assert sender.sent == [("rolebar: MFA session ending", "the MFA session ends in 8 min")]
    assert prompts.asked == []
    assert event_key(st, Event("session_ending", DEVICE, "")) in active_keys(st)


def test_dispatcher_applies_bursts_once_and_stops() -> None:
    app, keeper, *_ = make_app(state(sec()))
    applied: list[Any] = []
    app._apply = lambda: applied.append(app._state)  # type: ignore[method-assign]
    for profile in ("a", "b", "c"):
        app._queue.put(("event", state(sec(profile=profile)), Event("state", "", "")))
    app._queue.put(("action", ("refresh",)))
    app._queue.put(("stop",))
    app._dispatch()
    assert applied == []  # the stop came in the same burst
    assert keeper.calls == [("refresh_now", None)]
    assert app._queue.empty()


def test_quit_from_menu_stops_at_once_and_other_clicks_queue() -> None:
    app, *_ = make_app(state(sec()))
    app.click(("select", "prod"))
    assert app._queue.get_nowait() == ("action", ("select", "prod"))
    app.click(("quit",))
    assert app._stopping.is_set()
    assert app._queue.get_nowait() == ("stop",)
    with pytest.raises(queue.Empty):
        app._queue.get_nowait()


def test_look_changes_only_with_what_is_shown() -> None:
    app, *_ = make_app(state(sec()))
    first = app.look()
    app._state = state(replace(sec(), expires=NOW + 47 * 60 - 20))  # same minute
    assert app.look() == first
    app._state = state(sec(health="refreshing"))
    assert app.look() != first


# -- "Open console": off the dispatcher, the URL only to the browser ----------------------------

URL = "https://signin.example/federation?Action=login&SigninToken=SECRET-TOKEN"


class Browser:
    def __init__(self) -> None:
        self.opened: list[tuple[str, str]] = []
        self.done = threading.Event()

    def __call__(self, url: str, profile: str) -> None:
        self.opened.append((url, profile))
        self.done.set()


def console_app(sign_in: Any) -> tuple[TrayApp, Browser, Sent]:
    browser, sender = Browser(), Sent()
    app = TrayApp(FakeKeeper(state(sec())), autostart=None,  # type: ignore[arg-type]
                  notifier=Notifier(sender, background=False), prompts=FakePrompts(),  # type: ignore[arg-type]
                  clock=lambda: NOW, sign_in=sign_in, open_url=browser)
    app._state = state(sec())
    return app, browser, sender


def test_open_console_signs_in_off_the_dispatcher_and_opens_the_browser(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rolebar")
    release, threads = threading.Event(), []

    def sign_in(profile: str) -> str:
        threads.append(threading.current_thread())
        assert release.wait(5)
        return f"{URL}-{profile}"

    app, browser, sender = console_app(sign_in)
    app._act(("console", "dev"))  # returns while the sign-in still waits
    assert browser.opened == []
    app._act(("console", "dev"))  # a second click meanwhile starts no second sign-in
    release.set()
    assert browser.done.wait(5)
    assert browser.opened == [(f"{URL}-dev", "dev")]
    assert len(threads) == 1 and threads[0] is not threading.current_thread()
    assert sender.sent == [] and app._queue.empty()
    assert "a sign-in is already under way" in caplog.text
    assert "SECRET-TOKEN" not in caplog.text


def test_a_failed_sign_in_is_a_notification_and_a_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    def refuse(profile: str) -> str:
        raise ConfigError(f"profile {profile}", "is not a role: the console takes role "
                          "credentials only")

    app, browser, sender = console_app(refuse)
    thread = app.consoles.open("dev")
    assert thread is not None
    thread.join(5)
    app._handle(app._queue.get(timeout=5))  # the dispatcher shows it
    assert sender.sent == [("rolebar: console", "profile dev: is not a role: the console "
                            "takes role credentials only")]
    assert browser.opened == []
    assert "tray: console: profile dev: is not a role" in caplog.text
    assert app.consoles.open("dev") is not None  # no sign-in left under way


def test_an_unexpected_failure_is_named_by_its_type_only(
        caplog: pytest.LogCaptureFixture) -> None:
    app, _, sender = console_app(lambda profile: URL)

    def browser_fails(url: str, profile: str) -> None:
        raise RuntimeError(f"cannot open {url}")

    app.consoles._open_url = browser_fails
    thread = app.consoles.open("dev")
    assert thread is not None
    thread.join(5)
    app._handle(app._queue.get(timeout=5))
    assert sender.sent == [("rolebar: console", "profile dev: the console could not be "
                            "opened; see rolebar's log")]
    assert "console for profile dev failed (RuntimeError)" in caplog.text
    assert "SECRET-TOKEN" not in caplog.text + repr(sender.sent)


# -- many roles: the picker (tray/picker.py) ----------------------------------------------------


def _catalog(profiles: dict[str, dict[str, str]]) -> Any:
    from pathlib import Path

    from rolebar.core.profiles import Catalog

    return Catalog(profiles, (Path("config"), Path("credentials")), stamp=())


def _children(item: Item) -> tuple[Item, ...]:
    assert item.lazy is not None, item
    return item.lazy.items()


def test_roles_are_grouped_by_sso_session_then_account_named_where_the_config_says() -> None:
    from rolebar.tray.picker import Group, group

    catalog = _catalog({
        "a-admin": {"role_arn": "arn:aws:iam::111111111111:role/admin", "source_profile": "k",
                    "rolebar_account_name": "Billing"},
        "a-read": {"role_arn": "arn:aws:iam::111111111111:role/read", "source_profile": "k"},
        "b-read": {"role_arn": "arn:aws:iam::222222222222:role/read", "source_profile": "k"},
        "sso-dev": {"sso_session": "corp", "sso_account_id": "333333333333",
                    "sso_role_name": "Dev"},
        "sso-ops": {"sso_session": "corp", "sso_account_id": "333333333333",
                    "sso_role_name": "Ops", "rolebar_account_name": "Tools"},
        "mfa-only": {"mfa_serial": DEVICE},
    })
    names = ("a-admin", "a-read", "b-read", "gone", "mfa-only", "sso-dev", "sso-ops")
    assert group(names, catalog) == (
        Group("SSO corp", groups=(Group("Tools (333333333333)", ("sso-dev", "sso-ops")),)),
        Group("Accounts", groups=(Group("Billing (111111111111)", ("a-admin", "a-read")),
                                  Group("222222222222", ("b-read",)))),
        Group("Other roles", ("gone", "mfa-only")),
    )


def _many(n: int = 2000, accounts: int = 400) -> tuple[tuple[str, ...], Any]:
    from rolebar.tray.picker import Choices, Group

    profiles = tuple(f"p{i:04d}" for i in range(n))
    per = n // accounts
    groups = tuple(Group(f"{a:012d}", profiles[a * per:(a + 1) * per]) for a in range(accounts))
    return profiles, (lambda **kw: Choices(groups=(Group("Accounts", groups=groups),), **kw))


def test_many_roles_the_chosen_kept_pinned_and_recent_on_top_then_groups() -> None:
    profiles, choices = _many()
    st = state(sec(profile="p0007"), sec("tray-managed-p0100", "p0100"), profiles=profiles)
    picks = choices(pinned=("p0500", "p0007", "unknown"), recent=("p0042", "p0500", "p0001"))
    items = menu.build(st, NOW, False, choices=picks)
    assert len(items) < 30  # not 2,000
    start = texts(items).index("None")
    assert texts(items)[start:start + 9] == [
        "None", "p0007", "p0100", "p0500", "p0042", "p0001", "Accounts", "Choose role...",
        "Pin p0007"]
    top = items[start + 1]
    assert (top.action, top.checked, top.radio) == (("select", "p0007"), True, True)
    assert items[start + 2].checked is False
    assert find(items, "Choose role...").action == ("choose",)
    pin = find(items, "Pin p0007")
    assert (pin.action, pin.checked) == (("pin", "p0007", "off"), True)
    # Accounts > 400 account submenus > their roles, each made only when asked for.
    accounts = find(items, "Accounts")
    assert accounts.submenu is None and len(_children(accounts)) == 400
    first = _children(accounts)[0]
    assert first.text == "000000000000"
    roles = _children(first)
    assert texts(roles) == ["p0000", "p0001", "p0002", "p0003", "p0004"]
    assert roles[0].action == ("select", "p0000") and roles[0].radio
    assert [r.checked for r in _children(_children(accounts)[1])] == [False, False, True, False,
                                                                       False]


def test_many_roles_an_unpinned_role_offers_pin_and_none_selected_offers_no_pin() -> None:
    profiles, choices = _many()
    items = menu.build(state(sec(profile="p0003"), profiles=profiles), NOW, False,
                       choices=choices())
    pin = find(items, "Pin p0003")
    assert (pin.action, pin.checked) == (("pin", "p0003", "on"), False)
    items = menu.build(state(profiles=profiles), NOW, False, choices=choices())
    assert not [t for t in texts(items) if t.startswith("Pin ")]
    assert find(items, "None").checked is True


def test_many_roles_keep_fresh_shows_kept_pinned_recent_then_groups_of_checkboxes() -> None:
    profiles, choices = _many()
    st = state(sec("tray-managed-p0100", "p0100"), profiles=profiles)
    keep = find(menu.build(st, NOW, False, choices=choices(pinned=("p0200",))), "Keep fresh")
    assert keep.submenu is not None
    assert texts(keep.submenu) == ["p0100", "p0200", "Accounts"]
    assert keep.submenu[0].action == ("keep", "p0100", "off") and keep.submenu[0].checked
    assert keep.submenu[1].action == ("keep", "p0200", "on") and not keep.submenu[1].checked
    group20 = _children(keep.submenu[2])[20]
    assert [(r.action, r.checked, r.radio) for r in _children(group20)][0] == (
        ("keep", "p0100", "off"), True, False)


def test_few_roles_stay_a_flat_radio_list_whatever_the_picker_holds() -> None:
    from rolebar.tray.picker import Choices, Group

    profiles = tuple(f"p{i}" for i in range(15))
    picks = Choices(("p3",), ("p4",), (Group("Accounts", groups=(Group("1", profiles),)),))
    items = menu.build(state(sec(profile="p1"), profiles=profiles), NOW, False, choices=picks)
    assert items == menu.build(state(sec(profile="p1"), profiles=profiles), NOW, False)
    assert "Choose role..." not in texts(items) and "p14" in texts(items)


def test_settings_remember_recent_roles_newest_first_and_pins() -> None:
    from rolebar.core.settings import RECENT, Settings

    settings = Settings()
    settings.select("dev")
    for name in ("a", "b", "a", *(f"r{i}" for i in range(RECENT))):
        settings.used(name)
    recent, pinned = settings.picks()
    assert recent == tuple(f"r{i}" for i in reversed(range(RECENT)))
    settings.used("b")
    assert settings.picks()[0][:2] == ("b", f"r{RECENT - 1}")
    settings.pin("zeta", True)
    settings.pin("alpha", True)
    settings.pin("alpha", True)
    assert settings.picks()[1] == ("alpha", "zeta")
    settings.pin("zeta", False)
    assert settings.picks()[1] == ("alpha",)
    assert settings.get("tray-managed") is not None  # the kept sections untouched


def test_settings_picks_read_a_hand_edited_file_leniently() -> None:
    from rolebar.core.settings import Settings

    settings = Settings()
    settings.path.parent.mkdir(parents=True, exist_ok=True)
    settings.path.write_text('{"sections": {}, "recent": ["a", 3, "", "a", "b"], '
                             '"pinned": "x"}')
    assert settings.picks() == (("a", "b"), ())


def test_picker_groups_the_home_files_once_per_change_and_reads_picks(home: Any) -> None:
    from rolebar.core.settings import Settings
    from rolebar.tray.picker import Picker

    lines = ["[profile k]", "region = us-east-1"]
    for i in range(20):
        lines += [f"[profile r{i:02d}]", f"role_arn = arn:aws:iam::{100000000000 + i // 5}:role/x",
                  "source_profile = k"]
    (home / ".aws" / "config").write_text("\n".join(lines) + "\n")
    Settings().used("r03")
    picker = Picker(lambda action: None)
    st = state(profiles=tuple(f"r{i:02d}" for i in range(20)))
    choices = picker.choices(st)
    assert choices.recent == ("r03",)
    accounts = choices.groups[0]
    assert [g.title for g in accounts.groups] == [str(100000000000 + a) for a in range(4)]
    assert picker.choices(st).groups is choices.groups  # files unchanged: not grouped again
    assert picker.choices(state(profiles=("dev",))) == menu.NO_CHOICES


def test_tray_select_records_recent_pin_toggles_and_choose_posts_the_pick() -> None:
    import sys

    from rolebar.core.settings import Settings
    from rolebar.tray.picker import Picker

    app, keeper, *_ = make_app(state(sec(), profiles=("dev", "prod")))
    app._act(("select", "prod"))
    assert keeper.calls[-1] == ("select", "prod", "tray-managed")
    assert Settings().picks()[0] == ("prod",)
    app._act(("pin", "prod", "on"))
    assert Settings().picks()[1] == ("prod",)
    app._act(("pin", "prod", "off"))
    assert Settings().picks()[1] == ()
    # The chooser reads the names on stdin and prints one: here, the last.
    posted: queue.Queue[tuple[str, ...]] = queue.Queue()
    script = "import sys; print(sys.stdin.read().split()[-1])"
    picker = Picker(posted.put, argv=lambda: [sys.executable, "-c", script])
    assert picker.choose(["dev", "prod"])
    assert posted.get(timeout=30) == ("select", "prod")


def test_chooser_matches_every_word_in_any_case() -> None:
    from rolebar.tray.chooser import matching

    names = ["prod-admin", "prod-read", "dev-Admin", "staging"]
    assert matching(names, "") == names
    assert matching(names, "ADMIN") == ["prod-admin", "dev-Admin"]
    assert matching(names, "admin prod") == ["prod-admin"]
    assert matching(names, "nothing") == []
