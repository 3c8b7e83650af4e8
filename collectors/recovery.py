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
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from collectors.events import MAX_SEQ, ReplayLast, ReplayRange

#: Topic of the monitor's request, sent upstream to every connected publisher.
REQUEST_TOPIC = b"replay"
#: Topic of a bot's answer for the part of a range it no longer holds.
UNAVAILABLE_TOPIC = b"replay_unavailable"
#: Topic of a bot's first answer to a request reaching beyond what its run sent: "my last seq is ``last``".
LAST_TOPIC = b"replay_last"
#: Never a valid seq: marks a bot whose events are being held behind a gap.
HOLDING = -1
#: Bots whose sequence is tracked (memory bound; the store itself keeps at most 1000).
MAX_TRACKED_BOTS = 10_000
#: Catch-up requests are sent again this often until the bot answers: at start, no bot may be
#: connected yet (ZeroMQ drops what an XSUB sends to no peer), and a bot that connects later
#: must still be asked.
RESEND_S = 0.5
_ASKED_RANGES = 16  # spans of recent gaps remembered per bot, to drop late duplicates


_encode = msgspec.json.Encoder().encode
_decode_range = msgspec.json.Decoder(ReplayRange).decode
_decode_last = msgspec.json.Decoder(ReplayLast).decode


def encode_request(bot: str, first: int, last: int | None, run: str | None = None) -> list[bytes]:
    """The two frames of a replay request for seqs ``first..last`` of ``bot``'s ``run``.

    ``last`` None (a catch-up: everything after ``first``) goes on the wire as ``MAX_SEQ``, so
    a bot written to the recipe without runs answers it too (with all it holds from ``first``).
    """
    to = MAX_SEQ if last is None else last
    return [REQUEST_TOPIC, _encode(ReplayRange(bot=bot, run=run, first=first, last=to))]


def encode_unavailable(bot: str, first: int, last: int, run: str | None = None) -> list[bytes]:
    """The two frames saying seqs ``first..last`` of ``bot``'s ``run`` can no longer be replayed."""
    return [UNAVAILABLE_TOPIC, _encode(ReplayRange(bot=bot, run=run, first=first, last=last))]


def encode_last(bot: str, last: int, run: str | None = None) -> list[bytes]:
    """The two frames saying ``bot``'s ``run`` has sent seqs up to ``last`` so far."""
    return [LAST_TOPIC, _encode(ReplayLast(bot=bot, run=run, last=last))]


def decode_range(payload: bytes, open_end: bool = False) -> ReplayRange | None:
    """The range of a request (``open_end``: ``to`` may be null) or an unavailable answer; None if not one."""
    try:
        r = _decode_range(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if r.last is None:
        return r if open_end and r.first >= 0 else None
    return r if 0 <= r.first <= r.last else None


def decode_last(payload: bytes) -> ReplayLast | None:
    """The ``replay_last`` answer; None when it is not one."""
    try:
        r = _decode_last(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return r if r.last >= -1 else None


class CatchUp:
    """One bot's catch-up after a start: asked for everything after its last applied seq."""

    __slots__ = ("answered", "asked", "last_ask", "lost", "received", "state")

    def __init__(self) -> None:
        self.state = "asking"  # -> "done" (the bot answered) or "lost" (it never did, or its run ended)
        self.answered = False
        self.asked = 0  # requests sent (the end is open, so events asked for are not known)
        self.received = 0  # events applied from its replay
        self.lost = 0  # events it could not provide
        self.last_ask = float("-inf")


class _Gap:
    """A bot's pending gap: ``next`` is the lowest seq not applied yet, ``top`` the highest known.

    ``open``: a catch-up whose top the bot has not said yet (its ``replay_last`` closes that).
    """

    __slots__ = ("deadline", "gone", "held", "next", "open", "start", "top")

    def __init__(self, nxt: int, top: int, deadline: float, open_end: bool = False) -> None:
        self.start = nxt
        self.next = nxt
        self.top = top
        self.deadline = deadline
        self.open = open_end
        self.held: dict[int, tuple[Any, bool]] = {}  # seq -> (item, was it replayed)
        self.gone: list[tuple[int, int]] = []  # ranges the bot said it cannot replay


class Sequencer:
    """Orders each bot's items by seq across gaps; asks for what is missing; gives up on time.

    Items are opaque (events or rejects): the caller passes each with its bot, seq
    and run, and applies what comes back, in that order.  ``expected`` maps a bot
    to the seq that may pass straight through (``HOLDING`` while a gap is pending)
    and ``runs`` to the run that may; the collector reads both inline, which is the
    whole cost of the common case.  Seq is per run: an item of another run is never
    ordered, asked for or applied under the current run's numbers.
    """

    def __init__(self, timeout_s: float, max_held: int, clock: Callable[[], float]) -> None:
        self.timeout_s = timeout_s
        self.max_held = max_held
        self.clock = clock
        self.expected: dict[str, int] = {}
        self.runs: dict[str, str | None] = {}
        self._gaps: dict[str, _Gap] = {}
        self._asked: dict[str, deque[tuple[int, int]]] = {}
        self._answered: set[str] = set()  # bots known to speak the replay protocol
        #: (bot, first, last or None for an open end, run) to send, drained by the collector.
        self.requests: list[tuple[str, int, int | None, str | None]] = []
        #: events recovered per bot since the last drain (the collector reports them).
        self.recovered: dict[str, int] = {}
        #: (bot, first, last, why) given up since the last drain, for the log.
        self.given_up: list[tuple[str, int, int, str]] = []
        #: per bot asked to catch up after a start; entries are only added before the collector runs
        self.catch_up: dict[str, CatchUp] = {}
        self.duplicates = 0

    # ---- state --------------------------------------------------------
    def resume(self, last_seqs: dict[str, int], runs: dict[str, str] | None = None) -> None:
        """Start from the seqs already applied (the store's, after a restart): a gap shows at once."""
        for bot, seq in last_seqs.items():
            if bot not in self._gaps:
                self.expected[bot] = seq + 1
                self.runs[bot] = (runs or {}).get(bot)

    def start_catch_up(
        self, last_seqs: dict[str, int], runs: dict[str, str], extra: Iterable[str] = ()
    ) -> None:
        """Ask every known bot for all it sent after its last applied seq (sent by :meth:`resend`).

        ``extra`` names bots known elsewhere (alerts) but not to the state: asked from seq 0 of
        whatever run they are in.  Until a bot answers, its events are held like after a gap.
        """
        self.resume(last_seqs, runs)
        for bot in [*last_seqs, *(b for b in extra if b not in last_seqs)]:
            if bot in self._gaps or bot in self.catch_up or len(self.catch_up) >= MAX_TRACKED_BOTS:
                continue
            nxt = last_seqs[bot] + 1 if bot in last_seqs else 0
            self.runs[bot] = runs.get(bot)
            self._gaps[bot] = _Gap(nxt, nxt - 1, float("inf"), open_end=True)
            self.expected[bot] = HOLDING
            self.catch_up[bot] = CatchUp()

    def resend(self) -> None:
        """Queue the catch-up requests not answered yet (again every ``RESEND_S``)."""
        now = self.clock()
        for bot, cu in self.catch_up.items():
            gap = self._gaps.get(bot)
            if cu.state != "asking" or cu.answered or gap is None or now - cu.last_ask < RESEND_S:
                continue
            if cu.asked == 0:
                gap.deadline = now + self.timeout_s  # the time-out runs from the first request
            cu.asked += 1
            cu.last_ask = now
            self.requests.append((bot, gap.next, None, self.runs.get(bot)))

    @property
    def catching_up(self) -> bool:
        return any(cu.state == "asking" and not cu.answered for cu in self.catch_up.values())

    @property
    def pending(self) -> bool:
        return bool(self._gaps)

    def next_deadline(self) -> float | None:
        return min((g.deadline for g in self._gaps.values() if g.deadline != float("inf")), default=None)

    def held(self) -> int:
        return sum(len(g.held) for g in self._gaps.values())

    # ---- the slow path: everything but the next seq of a bot's run ----
    def offer(self, bot: str, seq: int, item: Any, run: str | None = None) -> list[Any]:
        """Take one item whose seq or run is not the expected one; return what may be applied now."""
        if run != self.runs.get(bot) and self._new_run(bot, run):
            return self._start_run(bot, seq, item, run)
        gap = self._gaps.get(bot)
        if gap is None:
            return self._offer_in_order(bot, seq, item, run)
        if seq == gap.next:
            out = [item]
            gap.next += 1
            if seq <= gap.top:
                self._count_recovered(bot)
                gap.deadline = self.clock() + self.timeout_s  # progress: the bot is answering
            else:
                gap.top = seq  # a live event right after what was applied (a catch-up's open end)
            self._release(bot, gap, out)
            return out
        if seq > gap.next:
            return self._hold(bot, gap, seq, item)
        if run is None and (seq == 0 or not self._was_asked(bot, seq)):
            out = self._flush(bot, "sequence restarted")  # a bot without runs restarted during the gap
            self.expected[bot] = seq + 1
            out.append(item)
            return out
        self.duplicates += 1
        return []

    def _new_run(self, bot: str, run: str | None) -> bool:
        """Is ``run`` a new run of ``bot``? A bot whose run was never seen adopts it instead."""
        if self.runs.get(bot) is None:
            self.runs[bot] = run
            return False
        return True

    def _start_run(self, bot: str, seq: int, item: Any, run: str | None) -> list[Any]:
        """The bot restarted: its old run ends (what it still owed is lost); the new one is asked from 0."""
        cu = self.catch_up.get(bot)
        if cu is not None and cu.state == "asking":
            cu.state = "lost"  # its old run can no longer answer
        out = self._flush(bot, "the bot started a new run")
        self.runs[bot] = run
        self._asked.pop(bot, None)
        if seq == 0:
            self.expected[bot] = 1
            out.append(item)
            return out
        gap = self._gaps[bot] = _Gap(0, seq, self.clock() + self.timeout_s)
        gap.held[seq] = (item, False)
        self.expected[bot] = HOLDING
        self._ask(bot, 0, seq - 1)
        return out

    def _offer_in_order(self, bot: str, seq: int, item: Any, run: str | None) -> list[Any]:
        nxt = self.expected.get(bot)
        if nxt is None and len(self.expected) >= MAX_TRACKED_BOTS:
            return [item]  # hostile numbers of bot ids: passed on untracked (the store refuses them)
        back = nxt is not None and seq < nxt and not self._was_asked(bot, seq)
        restart = run is None and (seq == 0 or back)
        if nxt is None or seq == nxt or restart:
            self.expected[bot] = seq + 1  # first sight, or a restart of a bot without runs
            self.runs[bot] = run
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
            if seq > gap.top + 1 and not gap.open:  # an open catch-up already asks for all of it
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
    def _answer_of(self, bot: str, run: str | None) -> _Gap | None:
        """The gap an answer of ``bot``'s ``run`` is about (None: none, or another run's answer)."""
        current = self.runs.get(bot)
        if current is None and run is not None and bot in self.catch_up:
            self.runs[bot] = current = run  # asked without knowing the run: this is it
        if (run is not None and current is not None and run != current) or bot not in self.expected:
            return None  # another run's answer, or a bot not tracked (memory: any id may be named)
        self._answered.add(bot)
        cu = self.catch_up.get(bot)
        if cu is not None:
            cu.answered = True
        return self._gaps.get(bot)

    def last(self, bot: str, last: int, run: str | None = None) -> list[Any]:
        """The bot's answer to an open request: its run has sent up to ``last``; the replay follows."""
        gap = self._answer_of(bot, run)
        if gap is None or not gap.open:
            return []
        gap.open = False
        gap.top = max(gap.top, last)
        gap.deadline = self.clock() + self.timeout_s
        out: list[Any] = []
        self._release(bot, gap, out)
        return out

    def unavailable(self, bot: str, first: int, last: int, run: str | None = None) -> list[Any]:
        """The bot cannot replay ``first..last``: skip it, apply what follows."""
        gap = self._answer_of(bot, run)
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
            cu = self.catch_up.get(bot)
            if cu is not None and cu.state == "asking":
                cu.state = "lost"
            if bot in self._answered or self._gaps[bot].open:
                del self._gaps[bot]  # the store's last seq stays before the gap
                self.expected.pop(bot, None)
            else:
                out.extend(self._flush(bot, "collector stopped"))
        return out

    # ---- helpers ---------------------------------------------------------
    def _ask(self, bot: str, first: int, last: int) -> None:
        self.requests.append((bot, first, last, self.runs.get(bot)))

    def _close(self, bot: str, gap: _Gap) -> None:
        """The gap is over; remember its span so late replays of it are dropped, not applied."""
        del self._gaps[bot]
        self.expected[bot] = gap.next
        asked = self._asked.get(bot)
        if asked is None:
            asked = self._asked[bot] = deque(maxlen=_ASKED_RANGES)
        asked.append((gap.start, gap.top))
        cu = self.catch_up.get(bot)
        if cu is not None and cu.state == "asking":
            cu.state = "done" if cu.answered else "lost"

    def _was_asked(self, bot: str, seq: int) -> bool:
        gap = self._gaps.get(bot)
        if gap is not None and gap.start <= seq <= gap.top:
            return True
        return any(a <= seq <= b for a, b in self._asked.get(bot, ()))

    def _count_recovered(self, bot: str) -> None:
        self.recovered[bot] = self.recovered.get(bot, 0) + 1
        self._answered.add(bot)
        cu = self.catch_up.get(bot)
        if cu is not None and cu.state == "asking":
            cu.received += 1
            cu.answered = True

    def _give_up(self, bot: str, first: int, last: int, why: str) -> None:
        self.given_up.append((bot, first, last, why))
        cu = self.catch_up.get(bot)
        if cu is not None and (cu.state == "asking" or why == "the bot started a new run"):
            cu.lost += last - first + 1

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
            if gone is None or gap.next > gap.top:
                break
            self._give_up(bot, gap.next, min(gone, gap.top), "not available at the bot")
            gap.next = gone + 1
        if gap.next > gap.top and not gap.open:
            self._close(bot, gap)

    def _skip(self, bot: str, gap: _Gap, why: str) -> None:
        """Give up the lowest missing range: the store will count it as lost."""
        if gap.held:
            nxt = min(gap.held)
            self._give_up(bot, gap.next, nxt - 1, why)
            gap.next = nxt

    def _flush(self, bot: str, why: str) -> list[Any]:
        """Give the gap up: apply what it held, count the rest lost, close it."""
        gap = self._gaps.get(bot)
        out: list[Any] = []
        if gap is not None:
            gap.open = False
        while gap is not None and bot in self._gaps:
            if not gap.held:  # nothing after the gap: nothing to apply
                self._close(bot, gap)
                break
            self._skip(bot, gap, why)
            self._release(bot, gap, out)
        return out
