"""Event contract v1: the typed shape of everything a bot may publish.

This module is pure (no I/O): it turns one ZeroMQ message ``[topic, payload]``
into a validated, immutable event object, or raises :class:`Rejected` with a
stable reason code.  msgspec does the parsing and the field constraints in C,
which is what keeps validation at about a microsecond per event.  Non-finite
numbers cannot get through: JSON has no NaN/Infinity tokens and msgspec
refuses a literal that overflows a double (``1e999``) as out of range, which
is reported as ``non_finite``.  Only the version is checked here afterwards.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

import msgspec

#: A bot id, and any other name a trader types (channels, rules): 1-64 characters of
#: ``A-Za-z0-9_.-`` and nothing more.  msgspec checks patterns with ``re.search``, where ``$``
#: also matches before a final newline (``"bot\n"`` would pass); ``(?!\n)`` rules that out.
#: ``\Z`` would too, but this form means the same in the ECMA-262 dialect of the published
#: JSON Schema, where ``\Z`` is not an anchor.
ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$(?!\n)"
BotId = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
#: Bounds of every number a bot sends (docs/events.md, "Bounds").  Each is far beyond any real
#: price, size or balance, yet small enough that every derived value (exposure = qty x price,
#: totals over bots and symbols, P&L over billions of fills) stays a finite double: a bot cannot
#: turn the monitor's metrics into inf or NaN.  msgspec checks them in C, on the fast path.
MAX_AMOUNT = 1e12  # a price, a quantity, a fee
MAX_BALANCE = 1e15  # equity, cash
MAX_LATENCY_MS = 1e7  # about 2.8 hours
#: ``ts`` is seconds since the epoch, within [2000-01-01, 2100-01-01) UTC.
TS_MIN = 946_684_800.0
TS_MAX = 4_102_444_800.0
Timestamp = Annotated[float, msgspec.Meta(ge=TS_MIN, lt=TS_MAX)]
Price = Annotated[float, msgspec.Meta(gt=0, lt=MAX_AMOUNT)]
Quantity = Annotated[float, msgspec.Meta(gt=0, lt=MAX_AMOUNT)]
SignedQuantity = Annotated[float, msgspec.Meta(gt=-MAX_AMOUNT, lt=MAX_AMOUNT)]
Amount = Annotated[float, msgspec.Meta(ge=0, lt=MAX_AMOUNT)]
Balance = Annotated[float, msgspec.Meta(gt=-MAX_BALANCE, lt=MAX_BALANCE)]
Millis = Annotated[float, msgspec.Meta(ge=0, lt=MAX_LATENCY_MS)]
#: Text a bot names things with (symbols, ids, ops, components, API names, currency): 1-256
#: printable characters.  The length is checked by msgspec in C; "printable" (no control, format
#: or line-separator characters: nothing that rewrites a log line or a table cell) by the
#: classes' ``__post_init__``: one ``str.isprintable`` over the event's texts joined, inline
#: (about 0.3 us an event in all, measured on the ingest mix), where a msgspec ``pattern`` costs
#: about a microsecond per string on the ingest hot path.  The schema states it as a pattern.
MAX_TEXT = 256
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]{1,256}$(?!\n)"
NonEmptyStr = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_TEXT, extra_json_schema={"pattern": TEXT_PATTERN})
]
#: An error message: up to 4096 characters; tab and line breaks allowed, other control characters not.
MAX_MESSAGE = 4096
MESSAGE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
Message = Annotated[str, msgspec.Meta(max_length=MAX_MESSAGE, extra_json_schema={"pattern": MESSAGE_PATTERN})]
#: The publisher's run id: new at each start of a bot's publisher, seq counts within it.
RUN_PATTERN = r"^[A-Za-z0-9]{1,64}$(?!\n)"
RunId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, extra_json_schema={"pattern": RUN_PATTERN})]
Side = Literal["buy", "sell"]
OrderStatus = Literal["new", "partially_filled", "filled", "canceled", "rejected", "expired"]
ApiStatus = Literal["up", "degraded", "down"]
BreakerState = Literal["closed", "open", "half_open"]
KillSwitchState = Literal["armed", "triggered", "disabled"]
ErrorSeverity = Literal["warning", "error", "critical"]

OPEN_ORDER_STATUSES = frozenset({"new", "partially_filled"})

#: Reject reason codes, stable strings shown on the Health tab and in the API.
REASONS = (
    "not_multipart",
    "unknown_topic",
    "too_large",
    "not_utf8",
    "not_json",
    "not_object",
    "bad_version",
    "invalid_field",
    "non_finite",
    "too_many_bots",
    "unknown_bot",
    "too_many_symbols",
    "too_many_ops",
    "too_many_components",
    "too_many_apis",
    "undecodable",
    "internal_error",
    "key_not_for_bot",
)


#: The largest seq: every JSON parser reads integers up to 2**53 exactly.
MAX_SEQ = 2**53


class Rejected(Exception):
    """A message that is not a valid v1 event; ``reason`` is one of REASONS."""

    def __init__(self, reason: str, detail: str, bot: str | None = None, seq: int | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.bot = bot
        self.seq = seq


_MESSAGE_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _check_run(run: str) -> None:
    if not (run.isascii() and run.isalnum()):
        raise ValueError("run must be 1-64 ASCII letters and digits - at `$.run`")


def _unprintable(obj: msgspec.Struct) -> None:
    """Refuse ``obj``, naming its first field that holds a text that is not printable (slow path).

    Called only once a text of ``obj`` was found unprintable, so one of its fields always is.
    """
    for field in obj.__struct_fields__:
        value = getattr(obj, field)
        texts = list(value) if isinstance(value, dict) else [value]
        if any(isinstance(t, str) and not t.isprintable() for t in texts):
            raise ValueError(f"{field} must be printable text (no control characters)")


class _Envelope(msgspec.Struct, frozen=True, kw_only=True):
    v: int
    bot: BotId
    seq: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
    ts: Timestamp
    #: The publisher's run (optional): seq is per run; a new run is a restart of the bot.
    run: RunId | None = None

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)


class Heartbeat(_Envelope, frozen=True, kw_only=True):
    """Proof of life; carries nothing else."""


class Account(_Envelope, frozen=True, kw_only=True):
    """The broker's view of the account; when present, it defines equity."""

    equity: Balance
    cash: Balance | None = None
    currency: NonEmptyStr | None = None

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)
        if self.currency is not None and not self.currency.isprintable():
            _unprintable(self)


class Fill(_Envelope, frozen=True, kw_only=True):
    fill_id: NonEmptyStr
    order_id: NonEmptyStr
    symbol: NonEmptyStr
    side: Side
    qty: Quantity
    price: Price
    fee: Amount

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)
        if not (self.fill_id + self.order_id + self.symbol).isprintable():
            _unprintable(self)


class Mark(_Envelope, frozen=True, kw_only=True):
    prices: dict[NonEmptyStr, Price]

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)
        if not "".join(self.prices).isprintable():
            _unprintable(self)


class OrderBody(msgspec.Struct, frozen=True, kw_only=True):
    """An order as it appears inside an `order` event or a snapshot."""

    order_id: NonEmptyStr
    symbol: NonEmptyStr
    side: Side
    type: NonEmptyStr
    qty: Quantity
    price: Price | None = None
    status: OrderStatus
    filled_qty: Amount

    def __post_init__(self) -> None:
        if not (self.order_id + self.symbol + self.type).isprintable():
            _unprintable(self)


class Order(_Envelope, frozen=True, kw_only=True):
    order_id: NonEmptyStr
    symbol: NonEmptyStr
    side: Side
    type: NonEmptyStr
    qty: Quantity
    price: Price | None = None
    status: OrderStatus
    filled_qty: Amount

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)
        if not (self.order_id + self.symbol + self.type).isprintable():
            _unprintable(self)


class Latency(_Envelope, frozen=True, kw_only=True):
    op: NonEmptyStr
    ms: Millis
    order_id: NonEmptyStr | None = None

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)
        if not (self.op + (self.order_id or "")).isprintable():
            _unprintable(self)


class Error(_Envelope, frozen=True, kw_only=True):
    component: NonEmptyStr
    message: Message
    severity: ErrorSeverity

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)
        if not self.component.isprintable():
            _unprintable(self)
        if _MESSAGE_BAD.search(self.message) is not None:
            raise ValueError("message: control characters other than tab and line breaks - at `$.message`")


class Health(_Envelope, frozen=True, kw_only=True):
    apis: dict[NonEmptyStr, ApiStatus] | None = None
    circuit_breaker: BreakerState | None = None
    kill_switch: KillSwitchState | None = None

    def __post_init__(self) -> None:
        if self.run is not None:
            _check_run(self.run)
        if self.apis and not "".join(self.apis).isprintable():
            _unprintable(self)


class SnapshotPosition(msgspec.Struct, frozen=True, kw_only=True):
    symbol: NonEmptyStr
    qty: SignedQuantity
    avg_price: Amount

    def __post_init__(self) -> None:
        if not self.symbol.isprintable():
            _unprintable(self)


class SnapshotAccount(msgspec.Struct, frozen=True, kw_only=True):
    equity: Balance
    cash: Balance | None = None
    currency: NonEmptyStr | None = None

    def __post_init__(self) -> None:
        if self.currency is not None and not self.currency.isprintable():
            _unprintable(self)


class Snapshot(_Envelope, frozen=True, kw_only=True):
    positions: list[SnapshotPosition]
    open_orders: list[OrderBody]
    account: SnapshotAccount | None = None


Event = Heartbeat | Account | Fill | Mark | Order | Latency | Error | Health | Snapshot

TOPICS: dict[str, type[_Envelope]] = {
    "heartbeat": Heartbeat,
    "account": Account,
    "fill": Fill,
    "mark": Mark,
    "order": Order,
    "latency": Latency,
    "error": Error,
    "health": Health,
    "snapshot": Snapshot,
}
TOPIC_OF: dict[type, str] = {cls: name for name, cls in TOPICS.items()}

#: topic bytes -> typed decoder (the collector's hot loop uses these directly)
DECODERS = {name.encode(): msgspec.json.Decoder(cls) for name, cls in TOPICS.items()}
_LOOSE = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


def decode(topic: bytes, payload: bytes, max_bytes: int = 65536) -> Event:
    """Validate one message; raise :class:`Rejected` naming why it is bad."""
    decoder = DECODERS.get(topic)
    if decoder is None:
        raise Rejected("unknown_topic", f"topic {topic[:64]!r} is not part of contract v1")
    if len(payload) > max_bytes:
        raise Rejected("too_large", f"payload of {len(payload)} bytes exceeds {max_bytes}")
    try:
        event = decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise _classify(payload, str(exc)) from None
    except UnicodeDecodeError:
        raise Rejected("not_utf8", "payload is not valid UTF-8") from None
    except msgspec.DecodeError as exc:
        raise _malformed(payload, str(exc)) from None
    if event.v != 1:
        raise Rejected("bad_version", f"v={event.v}, only 1 is accepted", event.bot, event.seq)
    return event


def encode(event: Event) -> tuple[bytes, bytes]:
    """The wire form of an event: ``(topic, payload)``; used by publishers."""
    return TOPIC_OF[type(event)].encode(), _ENCODER.encode(event)


def _malformed(payload: bytes, message: str) -> Rejected:
    """Name a payload msgspec could not read as JSON at all."""
    if "out of range" in message or b"NaN" in payload or b"Infinity" in payload:
        bot, seq = _readable_bot_seq(payload)
        return Rejected("non_finite", f"NaN, Infinity or a number beyond a double ({message})", bot, seq)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return Rejected("not_utf8", "payload is not valid UTF-8")
    return Rejected("not_json", f"payload is not JSON ({message})")


def _classify(payload: bytes, message: str) -> Rejected:
    """Name a schema failure; also recover bot and seq so seq tracking stays exact."""
    try:
        raw = _LOOSE.decode(payload)
    except msgspec.DecodeError as exc:  # 1e999 anywhere: no double holds it
        return _malformed(payload, str(exc))
    except RecursionError:  # [[[[...]]]]: the typed decoder stopped at the first bracket, this one cannot
        return Rejected("undecodable", "JSON nested too deeply")
    if not isinstance(raw, dict):
        return Rejected("not_object", f"payload is JSON {type(raw).__name__}, not an object")
    bot, seq = _bot_seq(raw)
    if "v" in raw and raw["v"] != 1 and isinstance(raw["v"], int):
        return Rejected("bad_version", f"v={raw['v']}, only 1 is accepted", bot, seq)
    if message.endswith("`$.ts`") and _looks_like_ms(raw.get("ts")):
        message = f"ts looks like milliseconds; send seconds ({message})"
    return Rejected("invalid_field", message, bot, seq)


def _looks_like_ms(ts: object) -> bool:
    """A ``ts`` beyond the range in seconds that lands in it once divided by 1000.

    Exchanges and JavaScript bots often count milliseconds; naming that mistake
    saves the bot's author a search.
    """
    ok = isinstance(ts, int | float) and not isinstance(ts, bool)
    return ok and ts >= TS_MAX and TS_MIN <= ts / 1000 < TS_MAX


def _readable_bot_seq(payload: bytes) -> tuple[str | None, int | None]:
    """Bot and seq of a payload with a non-finite number, which only a lenient parser reads.

    Python's json accepts NaN, Infinity and 1e999 (as infinity); it runs only on this
    rejected path, so the hot path keeps msgspec's strict parser.
    """
    try:
        raw = json.loads(payload)
    except (ValueError, RecursionError):
        return None, None
    return _bot_seq(raw) if isinstance(raw, dict) else (None, None)


def _bot_seq(raw: dict) -> tuple[str | None, int | None]:
    bot, seq = raw.get("bot"), raw.get("seq")
    bot = bot if isinstance(bot, str) and _ID.search(bot) is not None else None
    seq = seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_SEQ else None
    return bot, seq


_ID = re.compile(ID_PATTERN)


Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]


class ReplayRange(msgspec.Struct, frozen=True, kw_only=True):
    """``{"bot", "run", "from", "to"}``, both ends included: a replay request, or an unavailable answer.

    ``run`` null asks whatever run the bot is in (a bot whose run the monitor never saw);
    a catch-up asks up to ``MAX_SEQ``, and the bot answers it first with ``replay_last``.
    """

    bot: BotId
    run: RunId | None = None
    first: Seq = msgspec.field(name="from")
    last: Seq | None = msgspec.field(default=None, name="to")


class ReplayLast(msgspec.Struct, frozen=True, kw_only=True):
    """``{"bot", "run", "last"}``: the run's last seq sent so far (-1: none); the replay follows."""

    bot: BotId
    run: RunId | None = None
    last: Annotated[int, msgspec.Meta(ge=-1, le=MAX_SEQ)]


#: The replay protocol's messages (docs/events.md, "Recovering missed events"): the monitor's
#: request goes up to the bot, the two answers come back with its events.
REPLAY_TOPICS: dict[str, type[msgspec.Struct]] = {
    "replay": ReplayRange,
    "replay_unavailable": ReplayRange,
    "replay_last": ReplayLast,
}


def json_schema() -> dict:
    """Machine-readable schema of contract v1 (written to docs/events.schema.json)."""
    types = [*TOPICS.values(), ReplayRange, ReplayLast]
    schemas, components = msgspec.json.schema_components(types)
    by_type = dict(zip(types, schemas, strict=True))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Trading bot monitor event contract v1",
        "description": "ZeroMQ multipart [topic, payload]; payload schema by topic.",
        "topics": {name: by_type[cls] for name, cls in TOPICS.items()},
        "replay": {name: by_type[cls] for name, cls in REPLAY_TOPICS.items()},
        "$defs": components,
    }
