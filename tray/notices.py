"""What the tray's notifications say, and which of them still hold (so the notifier lets
one come again only once its state was over)."""

from __future__ import annotations

from rolebar.core.state import Event, KeeperState

TITLES = {
    "code_needed": "rolebar: MFA code needed",
    "session_ending": "rolebar: MFA session ending",
    "refresh_failed": "rolebar: refreshing failed",
    "section_refused": "rolebar: section left alone",
    "signin_needed": "rolebar: sign-in needed",
}


def active_keys(state: KeeperState) -> set[str]:
    """Notification keys whose state still holds; the others may notify again."""
    keys = {f"code_needed {need.device}" for need in state.needs}
    keys |= {f"session_ending {device} {expiry:.0f}" for device, expiry in state.sessions}
    keys |= {f"signin_needed {need.session}" for need in state.signins}
    for sec in state.sections:
        if sec.health == "error" or sec.problem:
            keys |= {f"refresh_failed section {sec.name}", f"section_refused section {sec.name}"}
            if sec.profile:
                keys.add(f"refresh_failed profile {sec.profile}")
    return keys


def event_key(state: KeeperState, event: Event) -> str:
    if event.kind == "session_ending":
        expiry = dict(state.sessions).get(event.subject)
        return f"session_ending {event.subject} {expiry or 0:.0f}"
    return f"{event.kind} {event.subject}"
