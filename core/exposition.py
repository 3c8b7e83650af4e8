"""How a document field is exposed to Prometheus: said once, on the field itself (pure).

A field of a typed document (core/documents.py, alerts/read_model.py) that is a
metric carries its kind, unit and help text in its annotation::

    equity: Annotated[float | None, gauge("Equity of the bot.", labels=("currency",))]

and the exporter (app/prometheus.py) derives its families from the types alone, so a
metric added to a document appears at ``GET /metrics`` without touching the exporter.
The help text is the field's ``description`` (the JSON Schema shows it too); the rest
sits in ``msgspec.Meta.extra["prometheus"]``, which the schema leaves out.

* :func:`gauge` / :func:`counter`: a number (or bool, 0/1) is one sample; a
  ``dict[str, number]`` is one sample per key, the key under ``key_label``; ``labels``
  name sibling fields whose values label the sample; ``states`` turns a text field into
  one 0/1 sample per listed state (label ``state``); ``when`` makes it one 0/1 sample,
  1 while the field equals it.
* :func:`labelled`: a ``dict[str, Struct]`` (or ``dict[str, list[Struct]]``, each item
  labelled by its ``item_label`` field) whose key, under ``key_label``, labels everything
  below it; ``prefix`` replaces the field's name in the names below.

Names: ``botmonitor_`` + the path of field names (or ``name``), the unit appended when
missing, ``_total`` for counters (docs/prometheus.md).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

#: The extra key the exporter reads.
KEY = "prometheus"
Kind = Literal["gauge", "counter"]


def _meta(description: str, info: dict[str, Any]) -> msgspec.Meta:
    return msgspec.Meta(description=description, extra={KEY: {k: v for k, v in info.items() if v}})


def gauge(
    description: str,
    *,
    unit: str | None = None,
    name: str | None = None,
    labels: tuple[str, ...] = (),
    key_label: str | None = None,
    states: tuple[str, ...] = (),
    when: str | None = None,
) -> msgspec.Meta:
    """A value that goes up and down (money, a ratio, an age, a 0/1 state)."""
    info = {"type": "gauge", "unit": unit, "name": name, "labels": labels, "key_label": key_label}
    return _meta(description, {**info, "states": states, "when": when})


def counter(
    description: str,
    *,
    unit: str | None = None,
    name: str | None = None,
    labels: tuple[str, ...] = (),
    key_label: str | None = None,
) -> msgspec.Meta:
    """A count that only grows while the process runs (events, failures)."""
    info = {"type": "counter", "unit": unit, "name": name, "labels": labels, "key_label": key_label}
    return _meta(description, info)


def labelled(
    description: str, key_label: str, *, prefix: str | None = None, item_label: str | None = None
) -> msgspec.Meta:
    """A container whose keys label the metrics inside it; ``item_label``: a list item's field too."""
    info = {"key_label": key_label, "prefix": prefix, "item_label": item_label}
    return msgspec.Meta(description=description, extra={KEY: info})
