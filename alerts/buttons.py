"""The inline buttons under an alert message: what a press carries, and reading it back (pure).

Telegram gives a button at most 64 bytes of callback data, and whatever comes back
in a press is chat-user input: it is parsed strictly (an action letter, an alert
id of the engine's alphabet, a duration within bounds) and anything else is
refused, never guessed.  The channel that sends the buttons (alerts/channels/
telegram.py) and the front end that answers them (app/telegram/) both use this one
codec, so the format has a single owner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: Telegram's limit on a button's callback data, in bytes.
MAX_DATA_BYTES = 64
#: The duration of the Silence button.
SILENCE_S = 3600
#: Longest silence a button may carry (a crafted press cannot silence for a year).
MAX_SILENCE_S = 7 * 86400
#: Alert ids the engine makes are 16 hex digits; anything of this alphabet up to 40 fits the limit.
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")

Action = Literal["ack", "silence"]


@dataclass(frozen=True, slots=True)
class Press:
    """A decoded button press: acknowledge, or silence for ``seconds``, the alert ``alert_id``."""

    action: Action
    alert_id: str
    seconds: int = 0


def ack_data(alert_id: str) -> str | None:
    """``a:<alert id>``; None for an id that could not round-trip (then no button is shown)."""
    return f"a:{alert_id}" if _ID.fullmatch(alert_id) else None


def silence_data(alert_id: str, seconds: int = SILENCE_S) -> str | None:
    """``s:<alert id>:<seconds>``; None when the id or duration is out of bounds."""
    if not _ID.fullmatch(alert_id) or not 0 < seconds <= MAX_SILENCE_S:
        return None
    return f"s:{alert_id}:{seconds}"


def decode(data: str | None) -> Press | None:
    """The press a callback carries, or None for anything this codec did not write."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_DATA_BYTES:
        return None
    parts = data.split(":")
    if len(parts) == 2 and parts[0] == "a" and _ID.fullmatch(parts[1]):
        return Press("ack", parts[1])
    if len(parts) == 3 and parts[0] == "s" and _ID.fullmatch(parts[1]) and parts[2].isdigit():
        seconds = int(parts[2])
        if 0 < seconds <= MAX_SILENCE_S:
            return Press("silence", parts[1], seconds)
    return None
