"""A sink that loses what arrives while it plays dead: a monitor killed before applying."""

from __future__ import annotations

from app.hub import Hub


class DyingSink:
    """The hub, except that while ``dead`` the batches taken off the socket are never applied.

    That is a monitor killed with events received but not yet applied: they are
    gone from it, and only the bot can give them back.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.dead = False
        self.dropped = 0

    def apply_batch(self, items, received: int = 0) -> None:
        if self.dead:
            self.dropped += sum(1 for item in items if type(item) is not tuple)
            return
        self.hub.apply_batch(items, received)

    def last_seqs(self) -> dict[str, int]:
        return self.hub.last_seqs()

    def last_runs(self) -> dict[str, str]:
        return self.hub.last_runs()
