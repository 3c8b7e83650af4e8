"""Catch-up after a sequence gap: the replay protocol's messages and the per-bot sequencer (pure).

ZeroMQ PUB/SUB drops what is published while nobody listens (the monitor
restarting, a network blip), so a bot keeps its recent events and the monitor
asks for the ones it missed, as in the ZeroMQ guide's reliable pub-sub (Clone)
pattern: sequence numbers to notice a gap, and a request sent back up the same
connection (the monitor's XSUB to the bot's XPUB) to fill it.  Wire formats:
docs/events.md, "Recovering missed events".

:class:`Sequencer` decides, per bot, what may be applied now: events in
sequence order go straight through (one dict lookup, on the collector's hot
path); after a gap, the later events are held while the bot is asked for the
missing range, the replayed ones are applied first, and whatever the bot
cannot provide (it said so, or it stayed silent for ``timeout_s``) is given up
so the store counts it as lost.  No I/O, no threads: the collector owns the
socket and the clock is injected.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

#: Topic of the monitor's request, sent upstream to every connected publisher.
REQUEST_TOPIC = b"replay"
#: Topic of a bot's answer for the part of a range it no longer holds.
UNAVAILABLE_TOPIC = b"replay_unavailable"
#: Never a valid seq: marks a bot whose events are being held behind a gap.
HOLDING = -1
#: Bots whose sequence is tracked (memory bound; the store itself keeps at most 1000).
MAX_TRACKED_BOTS = 10_000
_ASKED_RANGES = 16  # spans of recent gaps remembered per bot, to drop late duplicates


class ReplayRange(msgspec.Struct, frozen=True, kw_only=True):
    """``{"bot": ..., "from": first, "to": last}``, both ends included (request and answer)."""

    bot: str
    first: int = msgspec.field(name="from")
    last: int = msgspec.field(name="to")


_encode = msgspec.json.Encoder().encode
_decode_range = msgspec.json.Decoder(ReplayRange).decode


def encode_request(bot: str, first: int, last: int) -> list[bytes]:
    """The two frames of a replay request for seqs ``first..last`` of ``bot``."""
    return [REQUEST_TOPIC, _encode(ReplayRange(bot=bot, first=first, last=last))]


def encode_unavailable(bot: str, first: int, last: int) -> list[bytes]:
    """The two frames saying seqs ``first..last`` of ``bot`` can no longer be replayed."""
    return [UNAVAILABLE_TOPIC, _encode(ReplayRange(bot=bot, first=first, last=last))]


def decode_range(payload: bytes) -> ReplayRange | None:
    """The range of a request or an unavailable answer; None when it is not one."""
    try:
        r = _decode_range(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return r if 0 <= r.first <= r.last else None


class _Gap:
    """A bot's pending gap: ``next`` is the lowest seq not applied yet, ``top`` the highest seen."""

    __slots__ = ("deadline", "gone", "held", "next", "start", "top")

    def __init__(self, nxt: int, top: int, deadline: float) -> None:
        self.start = nxt
        self.next = nxt
        self.top = top
        self.deadline = deadline
        self.held: dict[int, tuple[Any, bool]] = {}  # seq -> (item, was it replayed)
        self.gone: list[tuple[int, int]] = []  # ranges the bot said it cannot replay


class Sequencer:
    """Orders each bot's items by seq across gaps; asks for what is missing; gives up on time.

    Items are opaque (events or rejects): the caller passes each with its bot and
    seq and applies what comes back, in that order.  ``expected`` maps a bot to
    the seq that may pass straight through (``HOLDING`` while a gap is pending);
    the collector reads it inline, which is the whole cost of the common case.
    """

    def __init__(self, timeout_s: float, max_held: int, clock: Callable[[], float]) -> None:
        self.timeout_s = timeout_s
        self.max_held = max_held
        self.clock = clock
        self.expected: dict[str, int] = {}
        self._gaps: dict[str, _Gap] = {}
        self._asked: dict[str, deque[tuple[int, int]]] = {}
        self._answered: set[str] = set()  # bots known to speak the replay protocol
        #: (bot, first, last) to send, drained by the collector after each batch.
        self.requests: list[tuple[str, int, int]] = []
        #: events recovered per bot since the last drain (the collector reports them).
        self.recovered: dict[str, int] = {}
        #: (bot, first, last, why) given up since the last drain, for the log.
        self.given_up: list[tuple[str, int, int, str]] = []
        self.duplicates = 0

    # ---- state --------------------------------------------------------
    def resume(self, last_seqs: dict[str, int]) -> None:
        """Start from the seqs already applied (the store's, after a restart): a gap shows at once."""
        for bot, seq in last_seqs.items():
            if bot not in self._gaps:
                self.expected[bot] = seq + 1

    @property
    def pending(self) -> bool:
        return bool(self._gaps)

    def next_deadline(self) -> float | None:
        return min((g.deadline for g in self._gaps.values()), default=None)

    def held(self) -> int:
        return sum(len(g.held) for g in self._gaps.values())

    # ---- the slow path: everything but the next seq of a bot ----------
    def offer(self, bot: str, seq: int, item: Any) -> list[Any]:
        """Take one item whose seq is not the expected one; return what may be applied now."""
        gap = self._gaps.get(bot)
        if gap is None:
            return self._offer_in_order(bot, seq, item)
        if seq == gap.next:
            out = [item]
            gap.next += 1
            self._count_recovered(bot)
            gap.deadline = self.clock() + self.timeout_s  # progress: the bot is answering
            self._release(bot, gap, out)
            return out
        if seq > gap.next:
            return self._hold(bot, gap, seq, item)
        if seq == 0 or not self._was_asked(bot, seq):
            out = self._flush(bot, "sequence restarted")  # the bot restarted during the gap
            self.expected[bot] = seq + 1
            out.append(item)
            return out
        self.duplicates += 1
        return []

    def _offer_in_order(self, bot: str, seq: int, item: Any) -> list[Any]:
        nxt = self.expected.get(bot)
        if nxt is None and len(self.expected) >= MAX_TRACKED_BOTS:
            return [item]  # hostile numbers of bot ids: passed on untracked (the store refuses them)
        if nxt is None or seq == 0 or seq == nxt or (seq < nxt and not self._was_asked(bot, seq)):
            self.expected[bot] = seq + 1  # first sight, or a restart: nothing to ask for
            if seq == 0:
                self._asked.pop(bot, None)
            return [item]
        if seq < nxt:
            self.duplicates += 1  # replayed after it was applied or given up
            return []
        gap = self._gaps[bot] = _Gap(nxt, seq, self.clock() + self.timeout_s)
        gap.held[seq] = (item, False)
        self.expected[bot] = HOLDING
        self._ask(bot, nxt, seq - 1)
        return []

    def _hold(self, bot: str, gap: _Gap, seq: int, item: Any) -> list[Any]:
        if seq in gap.held:
            self.duplicates += 1
            return []
        if seq > gap.top:
            if seq > gap.top + 1:
                self._ask(bot, gap.top + 1, seq - 1)
                gap.deadline = max(gap.deadline, self.clock() + self.timeout_s)
            gap.top = seq
            gap.held[seq] = (item, False)
        else:
            gap.held[seq] = (item, True)  # fills a later hole
            gap.deadline = self.clock() + self.timeout_s
        if len(gap.held) > self.max_held:
            out: list[Any] = []
            self._skip(bot, gap, "too many events held")
            self._release(bot, gap, out)
            return out
        return []

    # ---- answers and time ----------------------------------------------
    def unavailable(self, bot: str, first: int, last: int) -> list[Any]:
        """The bot cannot replay ``first..last``: skip it, apply what follows."""
        self._answered.add(bot)
        gap = self._gaps.get(bot)
        if gap is None or last < gap.next:
            return []
        gap.gone.append((first, last))
        out: list[Any] = []
        self._release(bot, gap, out)
        return out

    def expire(self) -> list[Any]:
        """Give up on the gaps whose bot stayed silent for ``timeout_s``; return what they held."""
        now = self.clock()
        out: list[Any] = []
        for bot in [b for b, g in self._gaps.items() if g.deadline <= now]:
            out.extend(self._flush(bot, f"no replay within {self.timeout_s:g}s"))
        return out

    def stop(self) -> list[Any]:
        """On shutdown: what to apply now; held events of a replaying bot are left to be asked again."""
        out: list[Any] = []
        for bot in list(self._gaps):
            if bot in self._answered:
                del self._gaps[bot]  # the store's last seq stays before the gap
                self.expected.pop(bot, None)
            else:
                out.extend(self._flush(bot, "collector stopped"))
        return out

    # ---- helpers ---------------------------------------------------------
    def note_replayed(self, bot: str) -> None:
        """The bot answered with events: it speaks the protocol."""
        self._answered.add(bot)

    def _ask(self, bot: str, first: int, last: int) -> None:
        self.requests.append((bot, first, last))

    def _close(self, bot: str, gap: _Gap) -> None:
        """The gap is over; remember its span so late replays of it are dropped, not applied."""
        del self._gaps[bot]
        self.expected[bot] = gap.next
        asked = self._asked.get(bot)
        if asked is None:
            asked = self._asked[bot] = deque(maxlen=_ASKED_RANGES)
        asked.append((gap.start, gap.top))

    def _was_asked(self, bot: str, seq: int) -> bool:
        gap = self._gaps.get(bot)
        if gap is not None and gap.start <= seq <= gap.top:
            return True
        return any(a <= seq <= b for a, b in self._asked.get(bot, ()))

    def _count_recovered(self, bot: str) -> None:
        self.recovered[bot] = self.recovered.get(bot, 0) + 1
        self._answered.add(bot)

    def _release(self, bot: str, gap: _Gap, out: list[Any]) -> None:
        """Append every held item that is now in order; close the gap when nothing is missing."""
        held = gap.held
        while True:
            entry = held.pop(gap.next, None)
            if entry is not None:
                out.append(entry[0])
                if entry[1]:
                    self._count_recovered(bot)
                gap.next += 1
                continue
            gone = next((b for a, b in gap.gone if a <= gap.next <= b), None)
            if gone is None:
                break
            self.given_up.append((bot, gap.next, min(gone, gap.top), "not available at the bot"))
            gap.next = gone + 1
        if gap.next > gap.top:
            self._close(bot, gap)

    def _skip(self, bot: str, gap: _Gap, why: str) -> None:
        """Give up the lowest missing range: the store will count it as lost."""
        if gap.held:
            nxt = min(gap.held)
            self.given_up.append((bot, gap.next, nxt - 1, why))
            gap.next = nxt

    def _flush(self, bot: str, why: str) -> list[Any]:
        gap = self._gaps.get(bot)
        out: list[Any] = []
        while gap is not None and bot in self._gaps:
            if not gap.held:  # nothing after the gap: nothing to apply, nothing to count yet
                self._close(bot, gap)
                break
            self._skip(bot, gap, why)
            self._release(bot, gap, out)
        return out
