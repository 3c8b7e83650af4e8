"""The shape of a chat reply: escaped text, and Telegram's 4,096-character limit (pure).

Every reply is Telegram HTML.  Whatever a bot or a user supplied (a bot id, a
symbol, an alert summary, a comment) goes through :func:`esc` before it is placed
in a reply, so ``<b>x</b>`` as a bot name reads as those characters and never as
markup.  A reply longer than one message is split between lines, never inside one
(a tag is always opened and closed on the same line), and at most
:data:`MAX_MESSAGES` messages are sent for one command; the rest is counted.
"""

from __future__ import annotations

import html

#: Telegram's limit on one message's text, in characters.
MAX_CHARS = 4096
#: Messages one command may answer with; beyond, "... and N more lines".
MAX_MESSAGES = 4
#: Characters kept free in each message for the "and N more" note.
_NOTE_ROOM = 64


def esc(value: object) -> str:
    """Text from a bot or a user, safe inside Telegram HTML."""
    return html.escape(str(value), quote=False)


def _cut(line: str, limit: int) -> str:
    """One line longer than a message: cut, on plain text only (it is whole escaped entities)."""
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    amp = cut.rfind("&")
    if amp > cut.rfind(";"):  # never leave half an entity such as "&am"
        cut = cut[:amp]
    return cut + "\u2026"


def split(text: str, limit: int = MAX_CHARS, max_messages: int = MAX_MESSAGES) -> list[str]:
    """``text`` as messages of at most ``limit`` characters, split between lines.

    Beyond ``max_messages`` the last message ends with "... and N more lines", so a
    reply about a thousand positions is still four messages, never a flood.
    """
    room = limit - _NOTE_ROOM
    messages: list[str] = []
    current: list[str] = []
    size = 0
    lines = text.split("\n")
    for i, raw in enumerate(lines):
        line = _cut(raw, room)
        if current and size + 1 + len(line) > room:
            if len(messages) + 1 == max_messages:
                current.append(f"... and {len(lines) - i} more lines")
                messages.append("\n".join(current))
                return messages
            messages.append("\n".join(current))
            current, size = [], 0
        size += len(line) + (1 if current else 0)
        current.append(line)
    if current or not messages:
        messages.append("\n".join(current))
    return messages
