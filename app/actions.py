"""The vocabulary of operator actions, shared by the facade (app/operator.py) and its front ends.

Pure and small: who acted (the *actor*, recorded in the alert history with the
action), what a Test Alert became, and the server-side cooldown that limits it.
Each front end (the page, the API, a chat bot) declares the narrow Protocol it
needs of the facade next to its own code; this module holds only what both sides
must name alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: The actor of an action taken on the dashboard page.
DASHBOARD = "dashboard"
#: The actor of an action taken through the HTTP API.
API = "api"


def telegram(user_id: int | str) -> str:
    """The actor of an action taken by a Telegram user: ``telegram:<user id>``."""
    return f"telegram:{user_id}"


@dataclass(frozen=True, slots=True)
class TestSent:
    """What became of a Test Alert: its id and channels when sent, else why it was refused."""

    test_id: str | None
    channels: tuple[str, ...] = ()
    refused: str = ""


class Cooldown:
    """At most one press per ``seconds`` per key, whichever front end presses (server-side)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when allowed (and recorded), else the seconds still to wait."""
        with self._lock:
            now = self.clock()
            wait = self._last.get(key, -1e18) + self.seconds - now
            if wait > 0:
                return wait
            self._last[key] = now
            return 0.0
