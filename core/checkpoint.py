"""Durable forms of the store (pure): its whole state <-> bytes, one applied batch <-> bytes.

No I/O: :mod:`app.persistence` owns the files, this module only turns state
into bytes and back, and says loudly when bytes are not what they claim.

* A **checkpoint** is the whole :class:`StateStore` state (every bot's book,
  equity series, windows, counters, last seq and last arrival; the store-wide
  reject counters) in an explicit schema of plain msgspec Structs
  (:mod:`core.checkpoint_schema`) encoded with msgpack, framed by a magic,
  a format version and a CRC32.  Reading one runs no code from the disk:
  msgpack yields only numbers, strings, bytes and the schema's own types, and
  the mapping to the store's objects is written out in the schema module.
  Floats are copied bit for bit, numpy rings as raw memory.  Format 1 (a
  pickle of the store's objects, written by the first release) still reads,
  but only through an unpickler that admits an explicit allow-list of names
  (:mod:`core.checkpoint_legacy`).
* A **journal record** is one batch as the hub applied it: its number, its
  arrival time, the raw message count and the items in applied order, each
  tagged with its type name and encoded with msgpack (events, rejects and any
  other item a collector hands the sink, as long as it is a registered
  msgspec Struct).  Framing is ``length, crc32, number, payload``; a reader
  stops at the first record that does not check out.

The format version is written in every file; a reader refuses a newer or an
unknown one rather than guessing (:class:`UnsupportedFormat`).
"""

from __future__ import annotations

import copy
import itertools
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import msgspec
import numpy as np

from collectors import sink
from collectors.events import TOPICS, OrderBody
from core import checkpoint_legacy
from core import checkpoint_schema as schema
from core.config import CoreConfig
from core.forget import ForgetBot
from core.store import AppliedReject, StateStore

#: Bump when the bytes of a checkpoint change meaning (1: the pickle of the first release).
CHECKPOINT_VERSION = 2
#: Bump when the bytes of a journal segment or record change meaning.
JOURNAL_VERSION = 1
FORMAT_VERSION = CHECKPOINT_VERSION
_CHECKPOINT_READS = (1, 2)
CHECKPOINT_MAGIC = b"TBMCKPT\n"
JOURNAL_MAGIC = b"TBMJRNL\n"
_VERSION = struct.Struct("<H")
_CKPT_HEAD = struct.Struct("<8sHI")  # magic, version, crc32 of the payload
_JRNL_HEAD = struct.Struct("<8sH")  # magic, version
_RECORD = struct.Struct("<IIQ")  # payload length, crc32 of (number + payload), batch number
JOURNAL_HEADER_SIZE = _JRNL_HEAD.size
RECORD_OVERHEAD = _RECORD.size


class CorruptData(ValueError):
    """Bytes that are not a valid checkpoint or record (torn write, bit rot)."""


class UnsupportedFormat(ValueError):
    """A file written by a newer or unknown format version: never guessed at."""


# ---- checkpoints ----------------------------------------------------------
_STORE_FIELDS = ("bots", "received", "rejected", "rejected_by_reason", "recent_rejects")


def capture_state(store: StateStore) -> dict[str, Any]:
    """A private copy of the store's state, cheap enough to take under the hub's lock.

    Immutable leaves (events, documents, numbers, strings, tuples of them) are
    shared, containers and mutable objects are copied, numpy rings are copied as
    raw memory.  Serializing the copy (:func:`encode_captured`) can then happen
    outside the lock, while ingest goes on.
    """
    return {name: _copy(getattr(store, name)) for name in _STORE_FIELDS}


def encode_captured(state: dict[str, Any]) -> bytes:
    """A captured state as checkpoint bytes (slow part; run it outside the hub's lock)."""
    payload = _ENCODER.encode(schema.to_schema(state))
    return _CKPT_HEAD.pack(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, zlib.crc32(payload)) + payload


def encode_state(store: StateStore) -> bytes:
    """The store's whole state as one checkpoint, in one step."""
    return encode_captured(capture_state(store))


_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})


def _copy(obj: Any) -> Any:
    """Structural copy sharing what can never change (see capture_state)."""
    t = type(obj)
    if _leaf(t):
        return obj  # numbers, strings, events and document entries: never mutated once built
    if t is tuple:
        return obj if _all_immutable(obj) else tuple(_copy(x) for x in obj)
    if t is list:
        return list(obj) if _all_immutable(obj) else [_copy(x) for x in obj]
    if t is deque:
        items = obj if _all_immutable(obj) else [_copy(x) for x in obj]
        return deque(items, maxlen=obj.maxlen)
    if t is np.ndarray:
        return obj.copy()
    if isinstance(obj, dict):  # dict, OrderedDict, Counter: same type, values copied
        new = copy.copy(obj)
        if not _all_immutable(obj.values()):
            for key, value in obj.items():
                if not _immutable(value):
                    new[key] = _copy(value)
        return new
    new = copy.copy(obj)  # an object of the store (a bot, its book, series, windows)
    for name in _attributes(obj):
        value = getattr(obj, name)
        if not _immutable(value):
            setattr(new, name, _copy(value))
    return new


_LEAF: dict[type, bool] = dict.fromkeys(_ATOMIC, True)
_LEAF_TYPES: set[type] = set(_ATOMIC)  # the types _leaf() found immutable so far


def _leaf(t: type) -> bool:
    """An immutable type: atomic, or a frozen msgspec Struct (cached per type)."""
    known = _LEAF.get(t)
    if known is None:
        known = _LEAF[t] = issubclass(t, msgspec.Struct) and bool(t.__struct_config__.frozen)
        if known:
            _LEAF_TYPES.add(t)
    return known


def _immutable(x: Any) -> bool:
    t = type(x)
    return _leaf(t) or (t is tuple and all(_leaf(type(y)) for y in x))


def _all_immutable(items: Iterable[Any]) -> bool:
    """Every item immutable (a leaf, or a tuple of leaves), decided on sets of types.

    The state holds containers of thousands of items (a bot's open orders, its
    windows' samples) and is captured under the hub's lock: type sets are built
    in C, where asking each item would cost a Python call per item.
    """
    items = items if isinstance(items, list | tuple | deque) else list(items)
    types = set(map(type, items))
    if not types <= _LEAF_TYPES:
        if not all(_leaf(t) for t in types - {tuple}):
            return False
        if tuple not in types:
            return True
    if tuple in types:
        tuples = items if len(types) == 1 else [x for x in items if type(x) is tuple]
        inner = set(map(type, itertools.chain.from_iterable(tuples)))
        return inner <= _LEAF_TYPES or all(_leaf(t) for t in inner)
    return True


def _attributes(obj: Any) -> list[str]:
    names = list(getattr(obj, "__dict__", ()))
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return [n for n in names if hasattr(obj, n) and n not in ("__dict__", "__weakref__")]


def decode_state(data: bytes, config: CoreConfig, clock: Callable[[], float]) -> StateStore:
    """A store holding exactly the state of a checkpoint; raises CorruptData / UnsupportedFormat."""
    if len(data) < _CKPT_HEAD.size:
        raise CorruptData(f"checkpoint of {len(data)} bytes is shorter than its header")
    magic, version, crc = _CKPT_HEAD.unpack_from(data)
    if magic != CHECKPOINT_MAGIC:
        raise CorruptData("not a checkpoint (bad magic)")
    _check_version(version, "checkpoint", _CHECKPOINT_READS, CHECKPOINT_VERSION)
    payload = memoryview(data)[_CKPT_HEAD.size :]
    if zlib.crc32(payload) != crc:
        raise CorruptData("checkpoint checksum mismatch")
    try:
        if version == 1:
            decoded = schema.to_schema(checkpoint_legacy.load(payload))
        else:
            decoded = _STATE_DECODER.decode(payload)
        state = schema.from_schema(decoded, config)
    except Exception as exc:  # a checksum collision on garbage, a refused name: corrupt, never a crash
        raise CorruptData(f"checkpoint does not decode: {type(exc).__name__}: {exc}") from None
    store = StateStore(config, clock)
    for name in _STORE_FIELDS:
        setattr(store, name, state[name])
    store.version += 1
    return store


def _check_version(version: int, what: str, readable: tuple[int, ...], current: int) -> None:
    if version not in readable:
        raise UnsupportedFormat(
            f"{what} format version {version} is not supported (this monitor reads version "
            f"{current}); start the monitor version that wrote it, or move the data directory away"
        )


_STATE_DECODER = msgspec.msgpack.Decoder(schema.StateSchema)


# ---- journal records ------------------------------------------------------
def _item_types() -> dict[str, type]:
    """Every item type a batch may hold: the events, rejects, the operator's command, the sink's Structs."""
    types: dict[str, type] = {cls.__name__: cls for cls in TOPICS.values()}
    types[AppliedReject.__name__] = AppliedReject
    types[ForgetBot.__name__] = ForgetBot  # its tag in journals written before it moved, unchanged
    types[OrderBody.__name__] = OrderBody  # an open order as a snapshot gives it (checkpoints)
    for value in vars(sink).values():
        if isinstance(value, type) and issubclass(value, msgspec.Struct) and value is not msgspec.Struct:
            types.setdefault(value.__name__, value)
    return types


_TYPES = _item_types()
_NAMES = {cls: name for name, cls in _TYPES.items()}
_ITEM_DECODERS = {name: msgspec.msgpack.Decoder(cls) for name, cls in _TYPES.items()}
_BATCH_DECODER = msgspec.msgpack.Decoder(tuple[float, int, list[tuple[str, msgspec.Raw]]])
_ENCODER = msgspec.msgpack.Encoder()


def journal_header() -> bytes:
    """The first bytes of every journal segment."""
    return _JRNL_HEAD.pack(JOURNAL_MAGIC, JOURNAL_VERSION)


def check_journal_header(head: bytes) -> None:
    """Raise CorruptData / UnsupportedFormat unless ``head`` starts a journal segment."""
    if len(head) < _JRNL_HEAD.size:
        raise CorruptData("journal segment shorter than its header")
    magic, version = _JRNL_HEAD.unpack_from(head)
    if magic != JOURNAL_MAGIC:
        raise CorruptData("not a journal segment (bad magic)")
    _check_version(version, "journal", (JOURNAL_VERSION,), JOURNAL_VERSION)


def encode_record(number: int, arrival: float, received: int, items: Sequence[Any]) -> bytes:
    """One framed journal record of an applied batch."""
    # (name, item) pairs built by map/zip in C: this runs in the journal writer, whose every
    # Python-level step per event is taken from the collector thread under the interpreter lock
    pairs = list(zip(map(_NAMES.__getitem__, map(type, items)), items, strict=True))
    payload = _ENCODER.encode((arrival, received, pairs))
    number_bytes = number.to_bytes(8, "little")
    crc = zlib.crc32(payload, zlib.crc32(number_bytes))
    return _RECORD.pack(len(payload), crc, number) + payload


def iter_records(buf: bytes, offset: int) -> Iterator[tuple[int, int, memoryview]]:
    """``(number, end, payload)`` of each intact record from ``offset``; stops at the first bad one."""
    view = memoryview(buf)
    size = len(buf)
    while offset + _RECORD.size <= size:
        length, crc, number = _RECORD.unpack_from(buf, offset)
        start = offset + _RECORD.size
        end = start + length
        if end > size:
            return
        payload = view[start:end]
        if zlib.crc32(payload, zlib.crc32(number.to_bytes(8, "little"))) != crc:
            return
        yield number, end, payload
        offset = end


def decode_record(payload: bytes | memoryview) -> tuple[float, int, list[Any]]:
    """``(arrival, received, items)`` of a record's payload."""
    arrival, received, raw_items = _BATCH_DECODER.decode(payload)
    try:
        items = [_decode_item(name, raw) for name, raw in raw_items]
    except KeyError as exc:
        raise UnsupportedFormat(f"journal item type {exc} is unknown to this monitor") from None
    return arrival, received, items


def _decode_item(name: str, raw: msgspec.Raw) -> Any:
    """One journaled item; an event beyond today's contract bounds replays as the reject it now is.

    A journal written before a bound existed may hold such an event (a ``ts`` in
    milliseconds, say); replaying must neither stop nor apply it.
    """
    decoder = _ITEM_DECODERS[name]
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        loose = msgspec.msgpack.decode(raw)
        loose = loose if isinstance(loose, dict) else {}
        bot, seq = loose.get("bot"), loose.get("seq")
        return AppliedReject(
            reason="invalid_field",
            detail=f"journaled event beyond the contract's bounds: {exc}",
            topic=_TOPIC_NAMES.get(name),
            bot=bot if isinstance(bot, str) else None,
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        )


_TOPIC_NAMES = {cls.__name__: topic for topic, cls in TOPICS.items()}


def replay(store: StateStore, batches: Iterable[tuple[float, int, list[Any]]]) -> int:
    """Apply decoded batches through the store's own write path; return the items applied."""
    n = 0
    for arrival, received, items in batches:
        store.apply_batch(items, arrival, received)
        n += len(items)
    return n
