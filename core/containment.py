"""Containment: the per-batch copy of a bot that lets a failing event be undone (pure core).

:meth:`StateStore.apply_batch <core.store.StateStore.apply_batch>` copies each
bot once per batch before the batch touches it; when an event raises, the bot is
restored from that copy and its part of the batch re-applied.  The copy is what
makes containment affordable, so it copies only what the batch's kinds of event
can change, shares the sample rings (keeping just the slots the batch may
overwrite) and undoes changes to the open orders from a log instead of copying
them.
"""

from __future__ import annotations

import copy
from collections import OrderedDict, deque
from typing import TYPE_CHECKING

import msgspec
import numpy as np

from collectors.events import TOPIC_OF, Error, Fill, Health, Latency, Mark, Order, Snapshot
from core.accounting import Book
from core.accounting import Position as BookPosition
from core.series import EquitySeries
from core.windows import _Samples

if TYPE_CHECKING:
    from core.store import BotState

_ATOMS = (int, float, str, bool, type(None), tuple, frozenset)


#: in the open orders' undo log: the order was not there before the change
MISSING = object()
#: in the open orders' undo log: a snapshot replaced the whole mapping from here on
REPLACED = object()


class RingSaves:
    """What a batch can overwrite in the sample rings of a bot copy, to put back on a rewind.

    Copying a full ring (100,000 samples, three arrays) for every bot and batch
    would cost more than applying the batch.  A ring is append-only, so the copy
    shares its arrays and keeps only the slots the batch could overwrite (at most
    one per item, from the write position on); rewinding writes them back.  A
    ring that grows during the batch gets new arrays, leaving the shared ones as
    they were.
    """

    def __init__(self, batch_len: int) -> None:
        self.batch_len = batch_len
        self._saved: dict[int, tuple] = {}  # id(ring copy) -> arrays, slots, their old values

    def mark(self, ring: _Samples) -> _Samples:
        c = copy.copy(ring)
        size = len(ring.ts)
        idx = (ring.next + np.arange(min(self.batch_len, size))) % size
        key = None if ring.key is None else ring.key[idx]
        self._saved[id(c)] = (ring.ts, ring.ms, ring.key, idx, ring.ts[idx], ring.ms[idx], key)
        return c

    def rewind(self, bot: BotState) -> None:
        """Put back, in the arrays ``bot``'s rings share, what the batch has overwritten."""
        for name in _WINDOWS:
            window = getattr(bot, name, None)
            if window is not None:
                self._rewind(window)

    def _rewind(self, obj: object) -> None:
        for _, v in _fields(obj):
            if isinstance(v, _Samples):
                saved = self._saved.get(id(v))
                if saved is not None:
                    ts, ms, key, idx, ts_old, ms_old, key_old = saved
                    ts[idx], ms[idx] = ts_old, ms_old
                    if key is not None:
                        key[idx] = key_old
            elif not isinstance(v, (*_ATOMS, *_FLAT, msgspec.Struct)) and (
                hasattr(v, "__dict__") or hasattr(v, "__slots__")
            ):
                self._rewind(v)


def copy_bot(s: BotState, kinds: set[type], rings: RingSaves | None = None) -> BotState:
    """:func:`_fast_copy_bot`, or a deep copy of the whole state should a part defeat it."""
    try:
        return _fast_copy_bot(s, kinds, rings)
    except Exception:
        return copy.deepcopy(s)


def _fast_copy_bot(s: BotState, kinds: set[type], rings: RingSaves | None = None) -> BotState:
    """An independent copy of what events of ``kinds`` can change in a bot's state.

    Cheap enough to take once per bot and batch: a part no event of the batch
    can change (the open orders of a batch without orders, say) is shared, not
    copied; containers of immutable things (events, entries, tuples) are copied
    shallowly, at C speed (the equity series' buckets too);
    anything else (the book, the latency and error windows, any state added
    later) deeply.
    """
    c = object.__new__(type(s))
    for name, v in vars(s).items():
        touched_by = _TOUCHED_BY.get(name)
        if isinstance(v, _ATOMS) or (touched_by is not None and kinds.isdisjoint(touched_by)):
            pass
        elif name in _SHALLOW:
            v = v.copy()
        elif name == "series":
            v = _copy_series(v)
        elif name == "book":
            v = _copy_book(v)
        elif name in _WINDOWS:
            v = _copy_window(v, rings)
        else:
            v = copy.deepcopy(v)
        setattr(c, name, v)
    return c


#: BotState containers whose items are never mutated in place (immutable events and tuples)
_SHALLOW = frozenset({"marks", "apis", "recent_fills", "trips_today", "symbols"})
#: The event kinds whose handlers change a large part of a bot's state (see core.apply.HANDLERS);
#: a part not listed here is copied for every batch.
_TOUCHED_BY: dict[str, frozenset[type]] = {
    "book": frozenset({Fill, Snapshot}),
    "marks": frozenset({Fill, Mark}),
    "symbols": frozenset({Fill, Mark, Snapshot}),
    "recent_fills": frozenset({Fill}),
    "trips_today": frozenset({Fill}),
    "open_orders": frozenset(),  # shared, never copied: see undo_orders
    "latency": frozenset({Latency}),
    "errors": frozenset({Error}),
    "apis": frozenset({Health}),
    "rejected_by_reason": frozenset(),  # replaced on each reject, never changed in place: shared
    "safety": frozenset({Fill, Mark, Order, Health, Snapshot}),
}


#: The latency and error windows: numpy rings, counters and deques of immutable entries.
_WINDOWS = frozenset({"latency", "errors"})
_FLAT = (dict, set, list, deque, np.ndarray)


def _copy_window(window: object, rings: RingSaves | None = None) -> object:
    """A window with its own rings and counters (a deep copy costs about 4x as much).

    Its containers hold only immutable things (numbers, names, frozen entries),
    so one level of copy per container suffices; nested objects (a window's
    rings, slotted or not) are copied alike.
    """
    c = copy.copy(window)
    for name, v in _fields(window):
        if rings is not None and isinstance(v, _Samples):
            setattr(c, name, rings.mark(v))
        elif isinstance(v, _FLAT):
            setattr(c, name, v.copy())
        elif not isinstance(v, (*_ATOMS, msgspec.Struct)) and (
            hasattr(v, "__dict__") or hasattr(v, "__slots__")
        ):
            setattr(c, name, _copy_window(v, rings))
    return c


def _fields(obj: object) -> list[tuple[str, object]]:
    """(name, value) of every attribute an object holds, in its __dict__ or its slots."""
    fields = list(vars(obj).items()) if hasattr(obj, "__dict__") else []
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                fields.append((name, getattr(obj, name)))
    return fields


def _copy_book(book: Book) -> Book:
    """The book with its own positions and open round trips (slotted: a deep copy costs 10x)."""
    c = copy.copy(book)
    c.positions = {
        sym: BookPosition(p.qty, p.avg_price, None if p.trip is None else copy.copy(p.trip))
        for sym, p in book.positions.items()
    }
    return c


def _copy_series(series: EquitySeries) -> EquitySeries:
    c = copy.copy(series)
    c.curve = list(series.curve)
    c.buckets = deque(series.buckets)  # its entries are replaced, never changed: see EquitySeries
    return c


def topic_name(event: object) -> str:
    return TOPIC_OF.get(type(event), type(event).__name__)


def event_excerpt(event: object) -> str:
    try:
        return msgspec.json.encode(event)[:200].decode("utf-8", "replace")
    except Exception:
        return ""


def undo_orders(log: list[tuple], bot: str, orders: OrderedDict) -> list[tuple]:
    """Return ``orders`` (``bot``'s before the batch) to its state before the batch.

    ``log`` holds (bot, order id, previous value or :data:`MISSING`, evicted) per
    change of open orders in the batch.  Changes made after a snapshot replaced
    the open orders went to the new mapping, which is dropped with the failed
    state.  Order is exact except for an order the failed event itself closed:
    it comes back last.  Returns the log without ``bot``'s entries (the replay
    logs them again).
    """
    mine = [u for u in log if u[0] == bot]
    for n, u in enumerate(mine):
        if u[1] is REPLACED:
            mine = mine[:n]
            break
    for _, oid, old, evicted in reversed(mine):
        if old is MISSING:
            orders.pop(oid, None)
        else:
            orders[oid] = old
            if evicted:
                orders.move_to_end(oid, last=False)
    return [u for u in log if u[0] != bot]
