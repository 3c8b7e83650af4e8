"""Every text pattern of the settings and the event contract ends where the text ends.

Python's ``re`` lets ``$`` match before a trailing newline, so ``^name$`` accepts ``"name\\n"``:
a Host entry or a key could carry a line break into a header or a log line.  Each pattern must
end with ``$(?!\\n)`` (or ``\\Z``); the walk finds every pattern declared in the types, so a new
one is checked without being listed here.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from app.settings import Settings, SettingsError, validate
from collectors.events import json_schema as event_schema


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for v in node.values() for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


SCHEMAS = {"settings": msgspec.json.schema(Settings), "events": event_schema()}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_pattern_refuses_a_trailing_newline(name: str) -> None:
    patterns = _patterns(SCHEMAS[name])
    assert patterns, "the walk found no pattern: the schema shape changed"
    for pattern in patterns:
        if re.search(pattern, "a\nb"):
            continue  # line breaks are part of this text (an error message): one at the end is too
        assert pattern.endswith(("$(?!\\n)", "\\Z")), f"{pattern!r} lets a trailing newline through"


def test_an_allowed_host_with_a_line_break_is_refused() -> None:
    with pytest.raises(SettingsError, match="allowed_hosts"):
        validate({"server": {"allowed_hosts": ["monitor.example.org\n"]}}, "settings.yaml")
    ok = validate({"server": {"allowed_hosts": ["monitor.example.org"]}}, "settings.yaml")
    assert ok.server.allowed_hosts == ["monitor.example.org"]
    assert re.search(r"^[a-z.]+$", "a.b\n"), "Python's $ still matches before a newline"
