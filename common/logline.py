"""One log line per operational event, as ``event key=value ...`` (logfmt).

An operator running the monitor headless (under systemd, in a container) reads
and greps its log; every package writes its lines through :func:`line` so the
shape is the same everywhere.  Values with spaces, quotes or ``=`` are quoted,
and control characters are escaped, so a bot's text can never forge a second
line or a second key.
"""

from __future__ import annotations

import json
import re

_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+\-,%]+")


def value(v: object) -> str:
    """One value: bare when it is one plain word, JSON-quoted otherwise."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    text = str(v)
    if text and _PLAIN.fullmatch(text):
        return text
    return json.dumps(text)  # escapes every control character: one record, one line


def line(event: str, **fields: object) -> str:
    """``event`` followed by ``key=value`` pairs in the order given."""
    return " ".join([f"event={value(event)}", *(f"{k}={value(v)}" for k, v in fields.items())])
