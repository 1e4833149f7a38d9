"""The state and events cross ipc as dicts: the round trip is exact, other shapes refused."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolebar.core.state import CodeNeed, Event, KeeperState, SectionState

text = st.text(max_size=20)
sections = st.builds(
    SectionState, name=text, profile=st.none() | text, style=st.sampled_from(["keys", "process"]),
    health=st.sampled_from(["idle", "fresh", "refreshing", "needs_code", "error"]),
    expires=st.none() | st.floats(0, 2e9), problem=st.none() | text, switching=st.booleans())
states = st.builds(
    KeeperState, sections=st.tuples(sections, sections), profiles=st.tuples(text),
    needs=st.tuples(st.builds(CodeNeed, text, text, st.none() | text)),
    sessions=st.tuples(st.tuples(text, st.floats(0, 2e9))))


@given(states)
def test_a_state_survives_json(state: KeeperState) -> None:
    assert KeeperState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_an_event_survives_json() -> None:
    event = Event("code_needed", "profile p", "a code is needed")
    assert Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event


@pytest.mark.parametrize("bad", [
    {},
    {"sections": [{"name": "s"}], "profiles": [], "needs": [], "sessions": []},
    {"sections": [], "profiles": [1], "needs": [], "sessions": []},
    {"sections": [{"name": "s", "profile": None, "style": "other", "health": "idle",
                   "expires": None, "problem": None}], "profiles": [], "needs": [],
     "sessions": []},
])
def test_other_shapes_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        KeeperState.from_dict(bad)


def test_an_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        Event.from_dict({"kind": "party", "subject": "s", "message": "m"})
