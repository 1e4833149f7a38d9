"""tray/menu.py's items as pystray's, and the GTK widgets they become.

A group of roles (menu.Item.lazy) becomes a `LazyMenu`: pystray's callable menu, whose
items are made each time they are asked for. On pystray's gtk backend (the XEmbed icon)
the `LazyMenus` mixin goes further: such a submenu's GTK widgets are made the first time
it is highlighted or shown, so a menu over 2,000 roles costs the icon thread only the
widgets of its top level. The AppIndicator backend exports its menu over D-Bus, whose
host may open a submenu without any GTK signal: there the groups are made at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rolebar.tray import menu as menus


def _lazy_menu_class() -> type[Any]:
    import pystray

    class LazyMenu(pystray.Menu):  # type: ignore[misc]
        """A callable menu that is not built to learn whether it is visible."""

        @property
        def visible(self) -> bool:
            return True

        def __bool__(self) -> bool:
            return True

    return LazyMenu


_LAZY: list[type[Any]] = []


def lazy_menu(make: Callable[[], Sequence[Any]]) -> Any:
    if not _LAZY:
        _LAZY.append(_lazy_menu_class())
    return _LAZY[0](lambda: tuple(make()))


def is_lazy(action: Any) -> bool:
    return bool(_LAZY) and isinstance(action, _LAZY[0])


def to_pystray(items: Sequence[menus.Item], click: Callable[[menus.Action], None],
               status: Callable[[], str] | None = None) -> Any:
    """pystray items for `items`; `status` supplies the first item's text at build time."""
    import pystray

    def convert(item: menus.Item) -> Any:
        if item == menus.SEPARATOR:
            return pystray.Menu.SEPARATOR
        if item.lazy is not None:
            roles = item.lazy
            action: Any = lazy_menu(lambda: [convert(i) for i in roles.items()])
        elif item.submenu is not None:
            action = pystray.Menu(*(convert(i) for i in item.submenu))
        elif item.action is not None:
            target = item.action
            action = lambda _icon, _item: click(target)  # noqa: E731
        else:
            action = None
        checked = item.checked
        return pystray.MenuItem(
            item.text, action,
            checked=None if checked is None else (lambda _i: checked),
            radio=item.radio, default=item.default, enabled=item.enabled,
        )

    converted = [convert(i) for i in items]
    if status is not None and items and items[0].submenu is None:
        first = items[0]
        converted[0] = pystray.MenuItem(lambda _i: status(), None, enabled=first.enabled)
    return pystray.Menu(*converted)


def relabel_first_item(icon: Any, text: str) -> bool:
    """Set the label of the menu's first widget in place (GTK backends); False if not here.

    pystray 0.19.5 keeps the Gtk.Menu it built in `_menu_handle`; the descriptor's first
    item reads its text from TrayApp.status, so a later full rebuild shows the same.
    """
    handle: Any = getattr(icon, "_menu_handle", None)
    children = handle.get_children() if hasattr(handle, "get_children") else None
    if not children or not hasattr(children[0], "set_label"):
        return False
    children[0].set_label(text)
    return True


class LazyMenus:
    """Mixin for pystray's gtk icon: a LazyMenu's widgets are made when it first opens."""

    def _create_menu_item(self, descriptor: Any) -> Any:
        action: Any = getattr(descriptor, "_action", None)
        if not is_lazy(action):
            return super()._create_menu_item(descriptor)  # type: ignore[misc]
        from gi.repository import Gtk

        widget = Gtk.MenuItem.new_with_label(descriptor.text)
        submenu = Gtk.Menu.new()
        widget.set_submenu(submenu)
        filled: list[bool] = []

        def fill(*_: Any) -> None:
            if filled:
                return
            filled.append(True)
            for child in action.items:
                submenu.append(self._create_menu_item(child))
            submenu.show_all()

        # Highlighting the item (pointer or arrow keys) comes before its submenu opens;
        # a click activates it.
        widget.connect("select", fill)
        widget.connect("activate", fill)
        submenu.connect("show", fill)
        widget.set_sensitive(descriptor.enabled)
        return widget
