"""The checkpoint's schema (pure): the store's state as plain msgspec Structs, and the mapping both ways.

A checkpoint names no class of the store: it is these Structs encoded with
msgpack, so reading one runs no code from the disk, and renaming or reshaping
a class of the store changes only the mapping here, never the bytes already
written.  Floats are msgpack float64 (bit for bit, ``-inf`` included) and the
numpy rings their raw little-endian memory.

Evolving it: every field has a default, so a checkpoint written before a
field existed decodes with that default (``tests/unit/test_checkpoint_schema.py``
enforces both this and that every attribute a bot's constructor sets has a
field).  A new *simple* attribute of :class:`BotState` (a number, a string,
None, or a dict/list of them) is one line in :class:`BotSchema`: the mapping
copies every field it does not convert explicitly (:data:`_BOT_CONVERTED`) as
it is.  Anything else (a new container, a new nested object) gets its converter
in ``_BOT_CONVERTED`` and, if old checkpoints cannot have it, a default.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from typing import Any

import msgspec
import numpy as np

from collectors.events import Fill, Order, OrderBody
from core.accounting import Book, RoundTrip
from core.accounting import Position as BookPosition
from core.config import CoreConfig
from core.documents import ErrorEntry, RejectEntry, RoundTripEntry
from core.safety import SafetyState
from core.series import EquitySeries
from core.store import RECENT_ROUND_TRIPS, BotState
from core.windows import ErrorLog, LatencyWindow, _Samples

_INF = float("inf")
UNSET = msgspec.UNSET
Unset = msgspec.UnsetType


class RingSchema(msgspec.Struct, array_like=True):
    """A numpy ring (:class:`core.windows._Samples`): its arrays as raw float64 / int64 memory."""

    cap: int = 0
    count: int = 0
    next: int = 0
    ts: bytes = b""
    ms: bytes = b""
    key: bytes | None = None


class LatencySchema(msgspec.Struct, kw_only=True):
    window_s: float = 0.0
    max_samples: int = 0
    all: RingSchema = msgspec.field(default_factory=RingSchema)
    ops: dict[str, int] = {}
    next_id: int = 0


class ErrorsSchema(msgspec.Struct, kw_only=True):
    total: int = 0
    by_component: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    times: RingSchema = msgspec.field(default_factory=RingSchema)
    recent: list[ErrorEntry] = []
    recent_max: int = 20
    last_critical: ErrorEntry | None = None


class TripSchema(msgspec.Struct, array_like=True):
    symbol: str = ""
    side: str = "long"
    opened_ts: float = 0.0
    gross: float = 0.0
    fees: float = 0.0
    qty: float = 0.0
    closed_ts: float | None = None


class PositionSchema(msgspec.Struct, array_like=True):
    qty: float = 0.0
    avg_price: float = 0.0
    trip: TripSchema | None = None


class BookSchema(msgspec.Struct, kw_only=True):
    positions: dict[str, PositionSchema] = {}
    realized: float = 0.0
    fees: float = 0.0
    closed_trades: int = 0
    wins: int = 0
    losses: int = 0
    gross_wins: float = 0.0
    gross_losses: float = 0.0
    sum_trip_pnl: float = 0.0


class SeriesSchema(msgspec.Struct, kw_only=True):
    curve: list[tuple[float, float, float]] = []
    curve_cap: int = 4096
    interval: int = 60
    window_buckets: int = 1
    buckets: list[tuple[int, float]] = []
    first_bucket: int | None = None
    last: tuple[float, float] | None = None
    peak: float = -_INF
    max_drawdown: float = 0.0
    day_start: float = -_INF
    baseline: tuple[float, float] | None = None
    first_today: tuple[float, float] | None = None
    day_peak: float = -_INF
    day_max_drawdown: float = 0.0


class OpenOrdersSchema(msgspec.Struct, kw_only=True):
    """A bot's open orders in their order: ``kinds`` says, per order, b"o" (an Order) or b"b" (a body)."""

    ids: list[str] = []
    numbers: list[float] = []
    kinds: bytes = b""
    orders: list[Order] = []
    bodies: list[OrderBody] = []


class BotSchema(msgspec.Struct, kw_only=True):
    """One :class:`BotState`: one field per attribute, named alike.

    Every field defaults to ``UNSET``: a field absent from the bytes (a checkpoint
    written before it existed) leaves the attribute as a new bot's constructor sets it.
    """

    bot: str | Unset = UNSET
    starting_equity: float | Unset = UNSET
    book: BookSchema | Unset = UNSET
    marks: dict[str, float] | Unset = UNSET
    source: str | Unset = UNSET
    series: SeriesSchema | Unset = UNSET
    cash: float | Unset | None = UNSET
    currency: str | Unset | None = UNSET
    latency: LatencySchema | Unset = UNSET
    errors: ErrorsSchema | Unset = UNSET
    open_orders: OpenOrdersSchema | Unset = UNSET
    max_open_orders: int | Unset = UNSET
    recent_fills: list[tuple[Fill, float]] | Unset = UNSET
    recent_fills_max: int | Unset | None = UNSET
    trips_today: list[RoundTripEntry] | Unset = UNSET
    received: int | Unset = UNSET
    rejected: int | Unset = UNSET
    lost: int | Unset = UNSET
    seq_resets: int | Unset = UNSET
    position_mismatches: int | Unset = UNSET
    recovered: int | Unset = UNSET
    run: str | Unset | None = UNSET
    last_seq: int | Unset | None = UNSET
    first_ts: float | Unset | None = UNSET
    now: float | Unset = UNSET
    last_event_ts: float | Unset | None = UNSET
    last_arrival: float | Unset | None = UNSET
    day_start: float | Unset = UNSET
    fills_today: int | Unset = UNSET
    round_trips_today: int | Unset = UNSET
    wins_today: int | Unset = UNSET
    losses_today: int | Unset = UNSET
    apis: dict[str, str] | Unset = UNSET
    symbols: list[str] | Unset = UNSET
    circuit_breaker: str | Unset | None = UNSET
    kill_switch: str | Unset | None = UNSET
    realized_today: float | Unset = UNSET
    fees_today: float | Unset = UNSET
    largest_loss_today: float | Unset | None = UNSET
    lost_before_today: int | Unset = UNSET
    stale_today_s: float | Unset = UNSET
    rejected_by_reason: dict[str, int] | Unset = UNSET
    safety: SafetyState | Unset = UNSET


class StateSchema(msgspec.Struct, kw_only=True):
    """The whole store: its bots and the store-wide reject counters."""

    bots: dict[str, BotSchema] = {}
    received: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = {}
    recent_rejects: list[RejectEntry] = []


# ---- store -> schema --------------------------------------------------------
def to_schema(state: dict[str, Any]) -> StateSchema:
    """A captured state (``checkpoint.capture_state``) as the schema."""
    return StateSchema(
        bots={name: _bot_to(b) for name, b in state["bots"].items()},
        received=state["received"],
        rejected=state["rejected"],
        rejected_by_reason=dict(state["rejected_by_reason"]),
        recent_rejects=list(state["recent_rejects"]),
    )


def _ring_to(r: _Samples) -> RingSchema:
    key = None if getattr(r, "key", None) is None else _raw(r.key, "<i8")
    return RingSchema(
        cap=r.cap, count=r.count, next=r.next, ts=_raw(r.ts, "<f8"), ms=_raw(r.ms, "<f8"), key=key
    )


def _raw(a: np.ndarray, dtype: str) -> bytes:
    return np.ascontiguousarray(a, dtype=dtype).tobytes()


def _latency_to(w: LatencyWindow) -> LatencySchema:
    return LatencySchema(
        window_s=w.window_s,
        max_samples=w.max_samples,
        all=_ring_to(w.all),
        ops=dict(w.ops),
        next_id=w._next_id,
    )


def _errors_to(e: ErrorLog) -> ErrorsSchema:
    return ErrorsSchema(
        total=e.total,
        by_component=dict(e.by_component),
        by_severity=dict(e.by_severity),
        times=_ring_to(e.times),
        recent=list(e.recent),
        recent_max=e.recent.maxlen or 20,
        last_critical=e.last_critical,
    )


def _trip_to(t: RoundTrip | None) -> TripSchema | None:
    if t is None:
        return None
    return TripSchema(t.symbol, t.side, t.opened_ts, t.gross, t.fees, t.qty, t.closed_ts)


def _book_to(b: Book) -> BookSchema:
    return BookSchema(
        positions={s: PositionSchema(p.qty, p.avg_price, _trip_to(p.trip)) for s, p in b.positions.items()},
        **{name: getattr(b, name) for name in _BOOK_NUMBERS},
    )


_BOOK_NUMBERS = (
    "realized",
    "fees",
    "closed_trades",
    "wins",
    "losses",
    "gross_wins",
    "gross_losses",
    "sum_trip_pnl",
)
_SERIES_PLAIN = ("interval", "window_buckets", "first_bucket", "last", "peak", "max_drawdown", "day_start")
_SERIES_PLAIN += ("baseline", "first_today")
_SERIES_PLAIN += ("day_peak", "day_max_drawdown")


def _series_to(s: EquitySeries) -> SeriesSchema:
    return SeriesSchema(
        curve=s.curve,
        curve_cap=s._curve_cap,
        buckets=list(s.buckets),
        **{n: getattr(s, n) for n in _SERIES_PLAIN},
    )


def _orders_to(orders: OrderedDict) -> OpenOrdersSchema:
    values = list(orders.values())
    events = [v[0] for v in values]
    numbers = [v[1] for v in values]
    if set(map(type, events)) <= {Order}:  # the usual case, decided in C (thousands of orders)
        return OpenOrdersSchema(ids=list(orders), numbers=numbers, kinds=b"o" * len(events), orders=events)
    kinds = bytes(ord("o") if type(e) is Order else ord("b") for e in events)
    return OpenOrdersSchema(
        ids=list(orders),
        numbers=numbers,
        kinds=kinds,
        orders=[e for e in events if type(e) is Order],
        bodies=[e for e in events if type(e) is not Order],
    )


#: BotState attributes with a converter each way; every other field of BotSchema is copied as it is.
_BOT_CONVERTED: dict[str, Any] = {
    "book": _book_to,
    "series": _series_to,
    "latency": _latency_to,
    "errors": _errors_to,
    "open_orders": _orders_to,
    "recent_fills": list,
    "trips_today": list,
    "symbols": sorted,
}
BOT_FIELDS: tuple[str, ...] = BotSchema.__struct_fields__
#: Schema fields that are not attributes of BotState (facts about one, such as a deque's bound).
BOT_DERIVED = frozenset({"recent_fills_max"})


def _bot_to(b: BotState) -> BotSchema:
    attrs = vars(b)
    values: dict[str, Any] = {}
    for name in BOT_FIELDS:
        if name in BOT_DERIVED:
            continue
        value = attrs[name] if name in attrs else getattr(type(b), name, _ABSENT)
        if value is _ABSENT:
            continue  # an older state without it: the schema's default
        convert = _BOT_CONVERTED.get(name)
        values[name] = value if convert is None else convert(value)
    values["recent_fills_max"] = getattr(attrs.get("recent_fills"), "maxlen", UNSET)
    return BotSchema(**values)


_ABSENT = object()


# ---- schema -> store ----------------------------------------------------------
def from_schema(schema: StateSchema, config: CoreConfig) -> dict[str, Any]:
    """The store fields a checkpoint holds (``bots``, counters, recent rejects) as the store's objects."""
    return {
        "bots": {name: _bot_from(name, b, config) for name, b in schema.bots.items()},
        "received": schema.received,
        "rejected": schema.rejected,
        "rejected_by_reason": dict(schema.rejected_by_reason),
        "recent_rejects": deque(schema.recent_rejects, maxlen=config.recent_rejects),
    }


def _ring_from(r: RingSchema) -> _Samples:
    ring = object.__new__(_Samples)
    ring.cap, ring.count, ring.next = r.cap, r.count, r.next
    ring.ts = np.frombuffer(r.ts, dtype="<f8").astype(np.float64)
    ring.ms = np.frombuffer(r.ms, dtype="<f8").astype(np.float64)
    ring.key = None if r.key is None else np.frombuffer(r.key, dtype="<i8").astype(np.int64)
    return ring


def _latency_from(s: LatencySchema) -> LatencyWindow:
    w = object.__new__(LatencyWindow)
    w.window_s, w.max_samples, w.all, w.ops, w._next_id = (
        s.window_s,
        s.max_samples,
        _ring_from(s.all),
        s.ops,
        s.next_id,
    )
    return w


def _errors_from(s: ErrorsSchema) -> ErrorLog:
    e = object.__new__(ErrorLog)
    e.total, e.times, e.last_critical = s.total, _ring_from(s.times), s.last_critical
    e.by_component, e.by_severity = Counter(s.by_component), Counter(s.by_severity)
    e.recent = deque(s.recent, maxlen=s.recent_max)
    return e


def _trip_from(t: TripSchema | None) -> RoundTrip | None:
    if t is None:
        return None
    return RoundTrip(t.symbol, t.side, t.opened_ts, t.gross, t.fees, t.qty, t.closed_ts)


def _book_from(s: BookSchema) -> Book:
    b = Book()
    b.positions = {
        sym: BookPosition(p.qty, p.avg_price, _trip_from(p.trip)) for sym, p in s.positions.items()
    }
    for name in _BOOK_NUMBERS:
        setattr(b, name, getattr(s, name))
    return b


def _series_from(s: SeriesSchema) -> EquitySeries:
    e = object.__new__(EquitySeries)
    e.curve, e._curve_cap, e.buckets = s.curve, s.curve_cap, deque(s.buckets)
    for name in _SERIES_PLAIN:
        setattr(e, name, getattr(s, name))
    return e


def _orders_from(s: OpenOrdersSchema) -> OrderedDict:
    if not s.bodies:
        return OrderedDict(zip(s.ids, zip(s.orders, s.numbers, strict=True), strict=True))
    orders, bodies = iter(s.orders), iter(s.bodies)
    events = [next(orders) if k == ord("o") else next(bodies) for k in s.kinds]
    return OrderedDict(zip(s.ids, zip(events, s.numbers, strict=True), strict=True))


_BOT_FROM: dict[str, Any] = {
    "book": _book_from,
    "series": _series_from,
    "latency": _latency_from,
    "errors": _errors_from,
    "open_orders": _orders_from,
    "symbols": set,
}


def _bot_from(name: str, s: BotSchema, config: CoreConfig) -> BotState:
    """A new bot as the constructor makes it, then every attribute the checkpoint holds."""
    bot = BotState(name, config)
    for field in BOT_FIELDS:
        value = getattr(s, field)
        if field in BOT_DERIVED or value is UNSET:
            continue
        convert = _BOT_FROM.get(field)
        setattr(bot, field, value if convert is None else convert(value))
    if s.recent_fills is not UNSET:
        fills_max = s.recent_fills_max if s.recent_fills_max is not UNSET else config.metrics.recent_fills
        bot.recent_fills = deque(s.recent_fills, maxlen=fills_max)
    if s.trips_today is not UNSET:
        bot.trips_today = deque(s.trips_today, maxlen=RECENT_ROUND_TRIPS)
    bot.bot = name
    return bot
