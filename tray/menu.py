"""The tray's menu, tooltip and icon state as plain values computed from KeeperState.

Nothing here touches pystray: `build()` returns a tuple of frozen `Item`s whose actions
are tuples such as ``("select", "dev")``. The app turns them into pystray items and routes
the actions to the keeper; tests compare them directly. Equal states give equal menus,
so the app rebuilds the real menu only when something visible changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rolebar.core.profiles import none_found
from rolebar.core.settings import DEFAULT_SECTION, DEFAULT_STYLE, tray_section
from rolebar.core.state import KeeperState, SectionState
from rolebar.core.timing import span
from rolebar.tray.picker import INLINE_PROFILES, Choices, Group

TRAY_SECTION = DEFAULT_SECTION  # the role chosen in the menu (DESIGN.md section 6)
keep_section = tray_section  # a "Keep fresh" profile P is kept in [tray-managed-P]
# More profiles than INLINE_PROFILES: the picker's roles on top, the rest in groups.
# (style, its name in the menu's label, its entry: what it is for). The default first.
STYLES = (
    ("process", "credential_process",
     "credential_process (default): running apps refresh by themselves"),
    ("keys", "static keys",
     "Static keys: for containers that mount ~/.aws, tools without credential_process"),
)

Action = tuple[str, ...]


@dataclass(frozen=True)
class Item:
    text: str
    action: Action | None = None
    checked: bool | None = None  # None: not checkable
    radio: bool = False
    enabled: bool = True
    default: bool = False
    submenu: tuple[Item, ...] | None = None
    lazy: Roles | None = None  # a submenu made only when it opens, where the backend allows


SEPARATOR = Item("-")
NO_CHOICES = Choices()


@dataclass(frozen=True)
class Roles:
    """The items of a group of roles: radio items choosing the tray's role ("select"), or
    "Keep fresh" checkboxes ("keep"); its subgroups each a lazy submenu again."""

    kind: str
    group: Group
    chosen: frozenset[str] = frozenset()  # the tray's role, or the kept ones

    def items(self) -> tuple[Item, ...]:
        subs = [Item(g.title, lazy=Roles(self.kind, g, self.chosen)) for g in self.group.groups]
        return (*subs, *(_role(self.kind, p, p in self.chosen) for p in self.group.profiles))


def _role(kind: str, profile: str, chosen: bool) -> Item:
    if kind == "select":
        return Item(profile, ("select", profile), checked=chosen, radio=True)
    return Item(profile, ("keep", profile, "off" if chosen else "on"), checked=chosen)


def _on_top(state: KeeperState, choices: Choices, current: str | None) -> list[str]:
    """The tray's role, the kept ones, the pinned ones, the recent ones: once each."""
    known = set(state.profiles)
    kept = [s.profile for s in state.sections if s.profile is not None]
    names = [current] if current is not None else []
    names += [*kept, *choices.pinned, *choices.recent]
    return [p for p in dict.fromkeys(names) if p in known]


def _picker_items(state: KeeperState, current: str | None, choices: Choices) -> list[Item]:
    """Many roles: None, the roles on top, a submenu per group, the chooser, the pin."""
    items = [Item("None", ("unselect",), checked=current is None, radio=True)]
    items += [_role("select", p, p == current) for p in _on_top(state, choices, current)]
    chosen = frozenset([current] if current else [])
    items += [Item(g.title, lazy=Roles("select", g, chosen)) for g in choices.groups]
    items.append(Item("Choose role...", ("choose",)))
    if current is not None:
        pinned = current in choices.pinned
        items.append(Item(f"Pin {current}", ("pin", current, "off" if pinned else "on"),
                          checked=pinned))
    return items


def time_left(expires: float | None, now: float) -> str:
    if expires is None:
        return ""
    seconds = expires - now
    return f"{span(seconds)} left" if seconds > 0 else "expired"


def section(state: KeeperState, name: str = TRAY_SECTION) -> SectionState | None:
    return next((s for s in state.sections if s.name == name), None)


def describe(sec: SectionState | None, now: float) -> str:
    """One line: the profile and how it is doing ("dev: 47 min left")."""
    if sec is None or sec.profile is None:
        return "No role selected"
    if sec.switching and sec.problem:  # "switching to P: waiting for a one-time code"
        return sec.problem[0].upper() + sec.problem[1:]
    if sec.health == "needs_code":
        detail = "needs an MFA code"
    elif sec.health == "refreshing":
        detail = "refreshing…"
    elif sec.health == "error":
        detail = sec.problem or "refreshing failed"
    else:
        detail = time_left(sec.expires, now) or ("waiting" if sec.health == "idle" else "")
    return f"{sec.profile}: {detail}" if detail else sec.profile


def tooltip(state: KeeperState, now: float) -> str:
    # Windows cuts tooltips at 127 characters; the sign-in first, so it is never cut off.
    signin = f"sign in to {state.signins[0].name}; " if state.signins else ""
    return f"rolebar: {signin}{describe(section(state), now)}"[:127]


_RANK = {"idle": 0, "fresh": 1, "refreshing": 2, "error": 3, "needs_code": 4}


def icon_state(state: KeeperState) -> str:
    """The worst health of any kept section; a person needed (a code, or a sign-in that
    cannot be renewed, even while the credentials still serve) wins over everything."""
    if state.needs or state.signins:
        return "needs_code"
    worst = "idle"
    for sec in state.sections:
        if sec.profile is not None and _RANK[sec.health] > _RANK[worst]:
            worst = sec.health
    return worst


def _code_items(state: KeeperState) -> list[Item]:
    if not state.needs:
        return []
    if len(state.needs) == 1:
        need = state.needs[0]
        return [Item("Enter MFA code...", ("code", need.device, need.profile), default=True)]
    return [Item(f"Enter MFA code for {need.profile}...", ("code", need.device, need.profile),
                 default=(i == 0)) for i, need in enumerate(state.needs)]


def _signin_items(state: KeeperState) -> list[Item]:
    """An IAM Identity Center sign-in that cannot be renewed: the person starts it."""
    return [Item(f"Sign in to {need.name}...", ("signin", need.profile))
            for need in state.signins]


def _no_profile_items() -> list[Item]:
    """With no profile to assume, a lone "None" says nothing: say what is missing,
    where rolebar looked, and what to try."""
    return [Item(line[:1].upper() + line[1:], enabled=False) for line in none_found()]


def _role_items(state: KeeperState, current: str | None,
                choices: Choices = NO_CHOICES) -> list[Item]:
    if not state.profiles and current is None:
        return _no_profile_items()
    if len(state.profiles) > INLINE_PROFILES and choices.groups:
        return _picker_items(state, current, choices)
    items = [Item("None", ("unselect",), checked=current is None, radio=True)]
    if not state.profiles:
        items += _no_profile_items()
    items += [Item(p, ("select", p), checked=p == current, radio=True) for p in state.profiles]
    if len(state.profiles) <= INLINE_PROFILES:
        return items
    return [Item(f"Role: {current or 'none'}", submenu=tuple(items))]


def _keep_items(state: KeeperState, choices: Choices = NO_CHOICES) -> Item:
    kept = {s.profile for s in state.sections
            if s.profile is not None and s.name == keep_section(s.profile)}
    if len(state.profiles) > INLINE_PROFILES and choices.groups:
        top = [p for p in dict.fromkeys([*sorted(kept), *choices.pinned, *choices.recent])
               if p in set(state.profiles)]
        groups = [Item(g.title, lazy=Roles("keep", g, frozenset(kept))) for g in choices.groups]
        return Item("Keep fresh", submenu=(*(_role("keep", p, p in kept) for p in top),
                                           *groups))
    entries = tuple(Item(p, ("keep", p, "off" if p in kept else "on"), checked=p in kept)
                    for p in state.profiles)
    return Item("Keep fresh", submenu=entries or (Item("No profiles", enabled=False),))


def console_profiles(state: KeeperState) -> list[str]:
    """The roles "Open console" offers: [tray-managed]'s first, then each kept section's."""
    names: list[str] = []
    tray = section(state)
    first = [tray] if tray is not None else []
    for sec in first + [s for s in state.sections if s is not tray]:
        if sec.profile is not None and sec.profile not in names:
            names.append(sec.profile)
    return names


def _console_items(state: KeeperState) -> list[Item]:
    """One item for one role, a submenu for several; none while no role is kept."""
    profiles = console_profiles(state)
    if len(profiles) == 1:
        return [Item(f"Open console for {profiles[0]}", ("console", profiles[0]))]
    if not profiles:
        return []
    return [Item("Open console", submenu=tuple(Item(p, ("console", p)) for p in profiles))]


def _style_item(sec: SectionState | None) -> Item:
    current = sec.style if sec is not None else DEFAULT_STYLE
    entries = tuple(Item(text, ("style", style), checked=style == current, radio=True,
                         enabled=sec is not None and sec.profile is not None)
                    for style, _, text in STYLES)
    label = next(name for style, name, _ in STYLES if style == current)
    return Item(f"Style: {label}", submenu=entries)


def build(state: KeeperState, now: float, autostart: bool | None,
          keys: tuple[Item, ...] = (), choices: Choices = NO_CHOICES) -> tuple[Item, ...]:
    """The menu of DESIGN.md section 6 for `state`; `autostart` None means unsupported;
    `keys`: the key items (tray/keymenu.py), after the role's own items; `choices`: the
    picker's (tray/picker.py) for many roles."""
    tray = section(state)
    current = tray.profile if tray is not None else None
    items: list[Item] = [Item(describe(tray, now), enabled=False)]
    problems = [s for s in state.sections if s.problem and s.name != TRAY_SECTION]
    items += [Item(f"[{s.name}]: {s.problem}", enabled=False) for s in problems]
    items += [SEPARATOR, *_code_items(state), *_signin_items(state), SEPARATOR]
    items += _role_items(state, current, choices)
    items += [
        SEPARATOR,
        Item("Refresh now", ("refresh",), enabled=any(s.profile for s in state.sections)),
        *_console_items(state),
        _style_item(tray),
        _keep_items(state, choices),
        *keys,
        SEPARATOR,
        Item("Start at login", ("autostart", "off" if autostart else "on"),
             checked=bool(autostart), enabled=autostart is not None),
        Item("Open log", ("log",)),
        Item("Quit", ("quit",)),
    ]
    return tuple(items)
