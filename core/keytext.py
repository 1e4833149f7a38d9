"""A source profile's key lines in the credentials file, as text (DESIGN.md section 5c).

`keys import` takes `aws_access_key_id` and `aws_secret_access_key` out of the profile's
section and leaves `rolebar_keys = keyring` where the first of them stood; `keys export`
does the opposite; a rotation of keys kept in the file replaces their values. Every other
byte of the file stays as it was (the lines are read as botocore reads them: see
credtext.py), and the result is checked to read the same everywhere but in those keys.
The section is the user's, not rolebar's: no marker is needed or added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rolebar.core.credentials import Keys
from rolebar.core.credtext import Text, _Kind, _Line, _parse
from rolebar.core.errors import ConfigError

MARK = "rolebar_keys"
KEYRING = "keyring"
KEY_ID, SECRET, TOKEN = "aws_access_key_id", "aws_secret_access_key", "aws_session_token"


def stored_keys(doc: Text, profile: str) -> Keys | None:
    """The long-term keys the section holds, or None if it holds none."""
    values = _values(doc, profile)
    if not values.get(KEY_ID) or not values.get(SECRET):
        return None
    return Keys(profile, values[KEY_ID], values[SECRET], values.get(TOKEN) or None)


def marked(doc: Text, profile: str) -> bool:
    return _values(doc, profile).get(MARK) == KEYRING


def without_keys(doc: Text, profile: str) -> str:
    """The text with the section's key lines gone and the keyring mark in their place."""
    spans = _key_spans(doc, profile, (KEY_ID, SECRET))
    first = spans[0]
    indent = _indent(doc, first[0])
    changes = {first: f"{indent}{MARK} = {KEYRING}"} | {span: None for span in spans[1:]}
    new = _apply(doc, changes)
    want = {k: v for k, v in _values(doc, profile).items() if k not in (KEY_ID, SECRET)}
    return _checked(doc, new, profile, {**want, MARK: KEYRING})


def with_keys(doc: Text, profile: str, keys: Keys) -> str:
    """The text with the keyring mark replaced by the two key lines."""
    (span,) = _key_spans(doc, profile, (MARK,))
    indent = _indent(doc, span[0])
    eol = _eol(doc, span[1] - 1)
    lines = f"{indent}{KEY_ID} = {keys.access_key_id}{eol}{indent}{SECRET} = " \
            f"{keys.secret_access_key}"
    new = _apply(doc, {span: lines})
    want = {k: v for k, v in _values(doc, profile).items() if k != MARK}
    return _checked(doc, new, profile, {**want, KEY_ID: keys.access_key_id,
                                        SECRET: keys.secret_access_key})


def replaced_keys(doc: Text, profile: str, keys: Keys) -> str:
    """The text with the section's key lines holding `keys` instead."""
    spans = _key_spans(doc, profile, (KEY_ID, SECRET))
    values = {KEY_ID: keys.access_key_id, SECRET: keys.secret_access_key}
    changes: dict[tuple[int, int], str | None] = {}
    for span in spans:
        name = doc.lines[span[0]].name
        changes[span] = f"{_indent(doc, span[0])}{name} = {values[name]}"
    new = _apply(doc, changes)
    return _checked(doc, new, profile, {**_values(doc, profile), **values})


# -- internals ----------------------------------------------------------------------------


def _values(doc: Text, profile: str) -> dict[str, str]:
    found = [values for name, values in _parse(doc.lines) if name == profile]
    return found[0] if found else {}


def _key_spans(doc: Text, profile: str, keys: tuple[str, ...]) -> list[tuple[int, int]]:
    """[start, end) of each of `keys`' lines (with continuations) in `[profile]`, in order."""
    lines = doc.lines
    headers = [i for i, line in enumerate(lines) if line.kind is _Kind.HEADER]
    starts = [i for i in headers if lines[i].name == profile]
    if len(starts) != 1:
        raise ConfigError(f"profile {profile}", "has no single [" + profile + "] section in "
                          "the credentials file")
    end = next((i for i in headers if i > starts[0]), len(lines))
    spans: list[tuple[int, int]] = []
    i = starts[0] + 1
    while i < end:
        line = lines[i]
        j = i + 1
        if line.kind is _Kind.OPTION:
            while j < end and (lines[j].kind is _Kind.CONTINUATION or (
                    lines[j].kind is _Kind.BLANK and _continues(lines, j, end))):
                j += 1
            if line.name in keys:
                spans.append((i, j))
        i = j
    if sorted({lines[s].name for s, _ in spans}) != sorted(keys) or len(spans) != len(keys):
        raise ConfigError(f"profile {profile}", f"its section does not hold {' and '.join(keys)}"
                          " once each")
    return spans


def _continues(lines: Sequence[_Line], j: int, end: int) -> bool:
    """Blank lines belong to a value only when a continuation line follows them."""
    k = j
    while k < end and lines[k].kind is _Kind.BLANK:
        k += 1
    return k < end and lines[k].kind is _Kind.CONTINUATION


def _indent(doc: Text, i: int) -> str:
    body = doc.lines[i].body
    return body[: len(body) - len(body.lstrip())]


def _eol(doc: Text, i: int) -> str:
    return doc.lines[i].ending or next((p[1] for p in doc.pairs if p[1]), "\n")


def _apply(doc: Text, changes: Mapping[tuple[int, int], str | None]) -> str:
    """The text with each span's lines replaced (None: removed), endings kept."""
    out: list[str] = []
    pos = 0
    for (start, end), text in sorted(changes.items()):
        out.extend(line.raw for line in doc.lines[pos:start])
        if text is not None:
            out.append(text + doc.lines[end - 1].ending)
        pos = end
    out.extend(line.raw for line in doc.lines[pos:])
    return doc.bom + "".join(out)


def _checked(doc: Text, new: str, profile: str, want: Mapping[str, str]) -> str:
    """Refuse a result that reads differently anywhere but in the section's keys."""
    before = [(n, v) for n, v in _parse(doc.lines) if n != profile]
    after_doc = Text(new)
    after = [(n, v) for n, v in _parse(after_doc.lines) if n != profile]
    if before != after or _values(after_doc, profile) != dict(want):
        raise ConfigError(f"profile {profile}", "its keys cannot be changed without changing "
                          "how the lines around them read; the file is left alone")
    return new
