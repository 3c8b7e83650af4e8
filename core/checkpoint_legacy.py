"""Reading the first checkpoint format (pure): a pickle of the store's objects, through an allow-list.

Checkpoint format 1 pickled the store's own objects.  A plain unpickler would
run whatever callable the bytes name, so whoever could write the data
directory would run code as the monitor; this one resolves only the names of
:data:`ALLOWED` (the store's own classes by module and name, the containers of
builtins and collections, numpy's array reconstruction, msgspec's Struct
rebuild and the open-order packing of format 1) and refuses anything else as
corrupt data.  What it yields is then mapped through the checkpoint schema
like a live state (``core.checkpoint``), so a format 1 checkpoint becomes a
store exactly like a current one.
"""

from __future__ import annotations

import io
import pickle
from collections import Counter, OrderedDict, deque
from typing import Any

import msgspec
import msgspec._utils
import numpy as np

from collectors import events
from core import accounting, documents, series, store, windows

_RAW_LIST = msgspec.msgpack.Decoder(list[msgspec.Raw])
_EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in events.TOPICS.values()}
_EVENT_TYPES["OrderBody"] = events.OrderBody
_DECODERS = {name: msgspec.msgpack.Decoder(cls) for name, cls in _EVENT_TYPES.items()}


def _unpack_event_pairs(keys: list, names: list[str], packed: bytes, numbers: list[Any]) -> OrderedDict:
    """Format 1's packed open orders: ``(keys, type names, msgpack of the events, numbers)``."""
    if not isinstance(packed, bytes | bytearray):
        raise pickle.UnpicklingError("packed open orders are not bytes")
    raws = _RAW_LIST.decode(packed)
    try:
        evs = [_DECODERS[name].decode(raw) for name, raw in zip(names, raws, strict=True)]
    except KeyError as exc:
        raise pickle.UnpicklingError(f"packed open orders name an unknown type {exc}") from None
    return OrderedDict(zip(keys, zip(evs, numbers, strict=True), strict=True))


def _numpy_names() -> dict[tuple[str, str], Any]:
    """numpy's array reconstruction under the module names numpy 1.x and 2.x pickle them with."""
    from numpy._core import multiarray, numeric

    out: dict[tuple[str, str], Any] = {("numpy", "dtype"): np.dtype, ("numpy", "ndarray"): np.ndarray}
    for package in ("numpy.core", "numpy._core"):
        out[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
        out[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
    return out


#: Every global a format 1 checkpoint may name, and what it resolves to.  The module names are
#: those the first format wrote, when the pure core still lived in ``app.core``.
ALLOWED: dict[tuple[str, str], Any] = {
    ("app.core.store", "BotState"): store.BotState,
    ("app.core.accounting", "Book"): accounting.Book,
    ("app.core.accounting", "Position"): accounting.Position,
    ("app.core.accounting", "RoundTrip"): accounting.RoundTrip,
    ("app.core.series", "EquitySeries"): series.EquitySeries,
    ("app.core.windows", "LatencyWindow"): windows.LatencyWindow,
    ("app.core.windows", "ErrorLog"): windows.ErrorLog,
    ("app.core.windows", "_Samples"): windows._Samples,
    ("app.core.documents", "ErrorEntry"): documents.ErrorEntry,
    ("app.core.documents", "RejectEntry"): documents.RejectEntry,
    ("app.core.documents", "RoundTripEntry"): documents.RoundTripEntry,
    ("app.core.checkpoint", "_unpack_event_pairs"): _unpack_event_pairs,
    ("msgspec._utils", "rebuild"): msgspec._utils.rebuild,
    ("collections", "OrderedDict"): OrderedDict,
    ("collections", "deque"): deque,
    ("collections", "Counter"): Counter,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    **{("collectors.events", name): cls for name, cls in _EVENT_TYPES.items()},
    **_numpy_names(),
}


class _AllowListUnpickler(pickle.Unpickler):
    """An unpickler that resolves the names of :data:`ALLOWED` and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: not a class of the store"
            ) from None


def load(payload: bytes | memoryview) -> dict[str, Any]:
    """The state dict a format 1 checkpoint holds (raises on anything not allowed or malformed)."""
    state = _AllowListUnpickler(io.BytesIO(payload)).load()
    if not isinstance(state, dict) or not isinstance(state.get("bots"), dict):
        raise pickle.UnpicklingError("not a state")
    for bot in state["bots"].values():
        if type(bot) is not store.BotState:
            raise pickle.UnpicklingError(f"a bot of type {type(bot).__name__}")
    return state
