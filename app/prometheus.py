"""``GET /metrics``: the Prometheus exposition of the monitor's typed documents (an edge: HTTP).

Nothing here knows a metric.  The families are derived from the document types
(core/documents.py, alerts/read_model.py), where each metric field states its
kind, unit and help once (core/exposition.py); a field added there with that
metadata appears here without an edit.  A scrape reads the documents the way the
API does (``hub.metrics()``, the same cached document and lock hold as
``/api/metrics``; ``hub.positions()``, one short hold for every bot's positions;
the published alert snapshot, one attribute read), so no figure has a second copy.

The families are a prometheus_client collector (:class:`DocumentCollector`); the route
writes them with a faster writer held equal to prometheus_client's by a test, then the
process collector (CPU, memory, file descriptors) from a ``CollectorRegistry`` of its own,
never prometheus_client's global one.  The route sits behind the web guard's Host rules
like every route; it is read-only, so no CSRF token.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from types import NoneType, UnionType
from typing import Any

import msgspec
from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from core.exposition import KEY

PREFIX = "botmonitor_"
#: The text format Prometheus scrapes (version 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: A metric or label name as Prometheus's text format takes it without quoting.
NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Labels = tuple[str, ...]
Sample = tuple[Labels, float]
#: Yields (label values, object) pairs from a document: where a family's samples sit.
Source = Callable[[Any], Iterator[tuple[Labels, Any]]]


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family as the types declare it; ``read`` gives its samples from a document."""

    name: str  # full exposition name, without the counter's ``_total``
    kind: str  # "gauge" | "counter"
    help: str
    unit: str | None
    labels: Labels
    read: Callable[[Any], Iterator[Sample]]


def _root(doc: Any) -> Iterator[tuple[Labels, Any]]:
    yield (), doc


def _annotation(hint: Any) -> tuple[dict[str, Any], str]:
    """The exposition metadata and help text of a field's annotation (empty: not a metric)."""
    if typing.get_origin(hint) is not typing.Annotated:
        return {}, ""
    for meta in typing.get_args(hint)[1:]:
        if isinstance(meta, msgspec.Meta) and meta.extra and KEY in meta.extra:
            return dict(meta.extra[KEY]), " ".join((meta.description or "").split())
    return {}, ""


def _bare(hint: Any) -> Any:
    """The type under Annotated, without None or UNSET."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        rest = [a for a in typing.get_args(hint) if a not in (NoneType, msgspec.UnsetType)]
        return rest[0] if len(rest) == 1 else hint
    return hint


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _present(value: Any) -> bool:
    return value is not None and value is not msgspec.UNSET


def _child(source: Source, field: str) -> Source:
    def read(doc: Any) -> Iterator[tuple[Labels, Any]]:
        for labels, parent in source(doc):
            value = getattr(parent, field)
            if _present(value):
                yield labels, value

    return read


def _keyed(source: Source, item_label: str | None) -> Source:
    """A dict's values labelled by their key (and, for lists, each item by its ``item_label`` field)."""

    def read(doc: Any) -> Iterator[tuple[Labels, Any]]:
        for labels, mapping in source(doc):
            for key, value in mapping.items():
                if item_label is None:
                    yield (*labels, str(key)), value
                    continue
                for item in value:
                    yield (*labels, str(key), str(getattr(item, item_label))), item

    return read


def _number(value: Any) -> float | None:
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def _samples(info: dict[str, Any], field: str, source: Source) -> Callable[[Any], Iterator[Sample]]:
    """How a leaf field's value becomes samples: one number, one per key, or 0/1 per state."""
    siblings, keyed = tuple(info.get("labels", ())), info.get("key_label") is not None
    states, when = tuple(info.get("states", ())), info.get("when")

    def read(doc: Any) -> Iterator[Sample]:
        for labels, parent in source(doc):
            own = tuple(_label_value(getattr(parent, name)) for name in siblings)
            value = getattr(parent, field)
            if when is not None:
                yield (*labels, *own), float(value == when)
            elif not _present(value):
                continue
            elif states:
                yield from (((*labels, *own, s), float(value == s)) for s in states)
            elif keyed:
                for key, v in value.items():
                    if (n := _number(v)) is not None:
                        yield (*labels, *own, str(key)), n
            elif (n := _number(value)) is not None:
                yield (*labels, *own), n

    return read


def _label_value(value: Any) -> str:
    return "" if not _present(value) else str(value)


def _leaf(
    field: str, info: dict[str, Any], help_text: str, path: Labels, labels: Labels, source: Source
) -> Family:
    name = info.get("name") or "_".join((*path, field))
    unit = info.get("unit")
    if unit and not name.endswith("_" + unit):
        name = f"{name}_{unit}"
    names = (*labels, *info.get("labels", ()))
    names += (info["key_label"],) if info.get("key_label") else ()
    names += ("state",) if info.get("states") else ()
    bad = [n for n in (PREFIX + name, *names) if not NAME.fullmatch(n)]
    if bad:
        raise ValueError(f"{field}: not a Prometheus name: {bad}")
    return Family(PREFIX + name, info["type"], help_text or name, unit, names, _samples(info, field, source))


def _walk(cls: type, path: Labels, labels: Labels, source: Source) -> Iterator[Family]:
    hints = typing.get_type_hints(cls, include_extras=True)
    for field in cls.__struct_fields__:
        info, help_text = _annotation(hints[field])
        base = _bare(hints[field])
        if "type" in info:
            yield _leaf(field, info, help_text, path, labels, source)
        elif "key_label" in info:  # a labelled container: its keys (and items) label what is inside
            inner = typing.get_args(base)[1]
            item_label = info.get("item_label")
            below = typing.get_args(inner)[0] if item_label else inner
            prefix = info.get("prefix")
            sub = (*path, field) if prefix is None else (*path, prefix) if prefix else path
            names = (*labels, info["key_label"], *((item_label,) if item_label else ()))
            yield from _walk(below, sub, names, _keyed(_child(source, field), item_label))
        elif _is_struct(base):
            yield from _walk(base, (*path, field), labels, _child(source, field))


@cache
def families(root: type) -> tuple[Family, ...]:
    """Every family a document type declares, in field order (derived once per type)."""
    return tuple(_walk(root, (), (), _root))


def metric(family: Family, doc: Any) -> Metric:
    """One family's prometheus_client metric with its samples read from ``doc``."""
    kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
    out = kind(family.name, family.help, labels=family.labels, unit=family.unit or "")
    for labels, value in family.read(doc):
        out.add_metric(labels, value)
    return out


def _escape(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def text(family: Family, doc: Any) -> str:
    """One family in the text format (0.0.4), as prometheus_client's ``generate_latest`` writes it.

    Written here because that writer re-validates every label name of every sample, which
    makes it most of a scrape at 100 bots; these names were checked once, when the family
    was declared.  A test holds the two outputs equal.
    """
    name = family.name + "_total" if family.kind == "counter" else family.name
    help_text = family.help.replace("\\", r"\\").replace("\n", r"\n")
    out = [f"# HELP {name} {help_text}\n# TYPE {name} {family.kind}\n"]
    keys = [f'{label}="' for label in family.labels]
    for labels, value in family.read(doc):
        if labels:
            pairs = ",".join(f'{k}{_escape(v)}"' for k, v in zip(keys, labels, strict=True))
            out.append(f"{name}{{{pairs}}} {floatToGoString(value)}\n")
        else:
            out.append(f"{name} {floatToGoString(value)}\n")
    return "".join(out)


class DocumentCollector:
    """A prometheus_client collector of the documents: each one read once per scrape.

    ``collect()`` is prometheus_client's protocol (any registry can hold it); ``text()``
    is the same families in the text format, faster, which ``GET /metrics`` serves.
    """

    def __init__(self, sources: Sequence[tuple[type, Callable[[], Any]]]) -> None:
        self._sources = [(families(tp), read) for tp, read in sources]
        names = [f.name for fams, _ in self._sources for f in fams]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"metric names declared twice in the documents: {twice}")

    def collect(self) -> Iterator[Metric]:
        for fams, read in self._sources:
            doc = read()
            for family in fams:
                yield metric(family, doc)

    def text(self) -> str:
        out = []
        for fams, read in self._sources:
            doc = read()
            out.extend(text(family, doc) for family in fams)
        return "".join(out)


class Exposition:
    """What ``GET /metrics`` serves: the documents' families, then this process's metrics."""

    def __init__(self, sources: Sequence[tuple[type, Callable[[], Any]]]) -> None:
        self.documents = DocumentCollector(sources)
        # A registry of its own (never prometheus_client's global one), for the process collector.
        self.process = CollectorRegistry()
        ProcessCollector(registry=self.process)

    def render(self) -> bytes:
        return self.documents.text().encode() + generate_latest(self.process)


def create_exporter(exposition: Exposition) -> Blueprint:
    """The blueprint serving ``GET /metrics``."""
    bp = Blueprint("prometheus", __name__)

    def scrape() -> Response:
        return Response(exposition.render(), mimetype=None, content_type=CONTENT_TYPE)

    bp.add_url_rule("/metrics", "metrics", scrape, methods=["GET"])
    return bp
