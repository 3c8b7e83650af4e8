"""What the collector writes into: the one interface between ingest and whatever keeps the state.

The collector is an edge that knows sockets and the event contract, nothing
of the monitor's state.  It hands each drained batch to an :class:`EventSink`;
the monitor's hub satisfies it structurally (no inheritance, no import of the
app from here), and a test or another tool can pass anything with the same
method.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import msgspec

from collectors.events import Event, Rejected

#: A message the collector refused: (why, its topic if readable, its payload).
RejectedMessage = tuple[Rejected, str | None, bytes]


class Recovered(msgspec.Struct, frozen=True, kw_only=True):
    """``count`` events of ``bot`` in this batch came from a replay, not the live stream.

    The replayed events themselves are ordinary items of the batch (in seq
    order, before the events that followed the gap); this note only feeds the
    bot's ``events.recovered`` counter.  A Struct, so a journal can keep it
    like any other item.
    """

    bot: str
    count: int


class EventSink(Protocol):
    """Receives what was taken off the socket, in arrival order."""

    def apply_batch(self, items: Iterable[Event | RejectedMessage | Recovered], received: int = 0) -> None:
        """Apply events and rejects in the order they arrived; ``received`` counts raw messages.

        Order matters to the receiver: a rejected message still used up a
        sequence number, so applying it after later events would misreport a gap.
        """
        ...

    def last_seqs(self) -> dict[str, int]:
        """The last seq applied per bot (restored ones included): where catch-up starts."""
        ...

    def last_runs(self) -> dict[str, str]:
        """The run each of those seqs belongs to, for the bots that send one."""
        ...
