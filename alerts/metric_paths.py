"""Metric paths: what a rule's dotted metric names in a bot's metrics document (pure).

A rule names its metric by path (``latency_ms.by_op.submit.p95``).  At run time
:func:`lookup` reads the value there; when the settings load,
:func:`metric_problem` walks the document's *type* so a mistyped path, or a
value of the wrong kind, is refused at once instead of silently never firing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import inspect

from core.documents import BotMetrics


def lookup(doc: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path of a bot's metrics, or None when a step is missing.

    Each step is a field of a document Struct or a key of one of its mappings
    (``latency_ms.by_op.submit.p95``, ``health.apis.binance``): a key absent
    today (an op not seen in the window) is no data, not an error.
    """
    for part in path:
        if isinstance(doc, msgspec.Struct):
            doc = getattr(doc, part) if part in doc.__struct_fields__ else None
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def metric_problem(path: str, value: float | bool | str) -> str | None:
    """Why a rule on ``path`` compared with ``value`` could never fire, or None if it can.

    Walks the type of a bot's metrics document, so a mistyped path is refused
    when the settings load instead of silently never crossing.  A mapping
    (``latency_ms.by_op``, ``errors.by_component``, ``health.apis``) accepts any
    key; the leaf must be a number for a number, true/false for a bool, a
    string for a string (bool is not a number).
    """
    node: inspect.Type = inspect.type_info(BotMetrics)
    walked: list[str] = []
    for part in path.split("."):
        node = _non_null(node)
        if isinstance(node, inspect.StructType):
            member = next((f for f in node.fields if f.encode_name == part), None)
            if member is None:
                where = ".".join(walked) or "a bot's metrics"
                names = ", ".join(f.encode_name for f in node.fields)
                return f"unknown metric {path!r}: {where} has no {part!r} (it has {names})"
            node = member.type
        elif isinstance(node, inspect.DictType):
            node = node.value_type  # any key: an op, a component, an API
        else:
            return f"unknown metric {path!r}: {'.'.join(walked)} is {_kind(node)}, it has no {part!r}"
        walked.append(part)
    return _leaf_problem(path, _non_null(node), value)


def _non_null(node: inspect.Type) -> inspect.Type:
    """The type without its null alternative (a null value is "no data" at run time).

    A field's metadata (its description, how it is exposed to Prometheus) is no part of its type.
    """
    if isinstance(node, inspect.Metadata):
        node = node.type
    if isinstance(node, inspect.UnionType):
        kept = [t for t in node.types if not isinstance(t, inspect.NoneType)]
        if len(kept) == 1:
            return kept[0]
    return node


def _leaf_problem(path: str, node: inspect.Type, value: float | bool | str) -> str | None:
    if isinstance(value, bool):
        ok, wanted = isinstance(node, inspect.BoolType), "true/false"
    elif isinstance(value, int | float):
        ok, wanted = isinstance(node, inspect.IntType | inspect.FloatType), "a number"
    elif isinstance(node, inspect.LiteralType) and all(isinstance(v, str) for v in node.values):
        if value in node.values:
            return None
        choices = ", ".join(map(str, node.values))
        return f"metric {path!r} is one of {choices}; {_show(value)} never matches"
    else:
        ok, wanted = isinstance(node, inspect.StrType), "a string"
    return (
        None if ok else f"metric {path!r} is {_kind(node)}, not {wanted} like the rule's value {_show(value)}"
    )


def _show(value: float | bool | str) -> str:
    """A rule value as the settings file writes it."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _kind(node: inspect.Type) -> str:
    if isinstance(node, inspect.BoolType):
        return "true/false"
    if isinstance(node, inspect.IntType | inspect.FloatType):
        return "a number"
    if isinstance(node, inspect.StrType | inspect.LiteralType):
        return "a string"
    if isinstance(node, inspect.StructType | inspect.DictType):
        return "a group of metrics"
    if isinstance(node, inspect.ListType):
        return "a list"
    return "not a single value"
