"""Every string of the contract has its documented bound, and text holds no control characters.

docs/events.md: strings up to 256 characters (error messages 4096), printable; the
published schema states the same, so a bot author can check a payload before sending.
"""

from __future__ import annotations

import json
import re

import pytest

from collectors.events import Rejected, decode, json_schema

T = 1_700_000_000.0
ENV = {"v": 1, "bot": "b-1", "seq": 4, "ts": T}
ORDER = {
    "order_id": "o",
    "symbol": "X",
    "side": "buy",
    "type": "limit",
    "qty": 1.0,
    "status": "new",
    "filled_qty": 0,
}
FILL = {"fill_id": "f", "order_id": "o", "symbol": "X", "side": "buy", "qty": 1.0, "price": 10.0, "fee": 0.0}

#: (topic, body builder taking the text under test): one per string field of the contract
FIELDS = {
    "account.currency": ("account", lambda t: {"equity": 1.0, "currency": t}),
    "fill.fill_id": ("fill", lambda t: {**FILL, "fill_id": t}),
    "fill.order_id": ("fill", lambda t: {**FILL, "order_id": t}),
    "fill.symbol": ("fill", lambda t: {**FILL, "symbol": t}),
    "mark.prices key": ("mark", lambda t: {"prices": {t: 1.0}}),
    "order.order_id": ("order", lambda t: {**ORDER, "order_id": t}),
    "order.symbol": ("order", lambda t: {**ORDER, "symbol": t}),
    "order.type": ("order", lambda t: {**ORDER, "type": t}),
    "latency.op": ("latency", lambda t: {"op": t, "ms": 1.0}),
    "latency.order_id": ("latency", lambda t: {"op": "submit", "ms": 1.0, "order_id": t}),
    "error.component": ("error", lambda t: {"component": t, "message": "m", "severity": "error"}),
    "health.apis key": ("health", lambda t: {"apis": {t: "up"}}),
    "snapshot.positions.symbol": (
        "snapshot",
        lambda t: {"positions": [{"symbol": t, "qty": 1.0, "avg_price": 1.0}], "open_orders": []},
    ),
    "snapshot.open_orders.type": (
        "snapshot",
        lambda t: {"positions": [], "open_orders": [{**ORDER, "type": t}]},
    ),
    "snapshot.account.currency": (
        "snapshot",
        lambda t: {"positions": [], "open_orders": [], "account": {"equity": 1.0, "currency": t}},
    ),
}


def _decode(topic: str, body: dict) -> object:
    return decode(topic.encode(), json.dumps({**ENV, **body}).encode(), max_bytes=1 << 20)


@pytest.mark.parametrize("field", FIELDS)
def test_a_text_of_256_characters_passes_and_one_more_is_refused(field: str) -> None:
    topic, body = FIELDS[field]
    _decode(topic, body("é" * 256))
    with pytest.raises(Rejected) as err:
        _decode(topic, body("x" * 257))
    assert (err.value.reason, err.value.bot, err.value.seq) == ("invalid_field", "b-1", 4)


@pytest.mark.parametrize("field", FIELDS)
def test_64_kb_of_text_is_refused(field: str) -> None:
    topic, body = FIELDS[field]
    with pytest.raises(Rejected, match="invalid_field"):
        _decode(topic, body("A" * 65536))


@pytest.mark.parametrize(
    "bad", ["a\x00b", "line\n", "\x1b[31mred", "tab\there", "del\x7f", "c1\x85", "sep\u2028"]
)
@pytest.mark.parametrize("field", FIELDS)
def test_control_characters_in_text_are_refused(field: str, bad: str) -> None:
    topic, body = FIELDS[field]
    with pytest.raises(Rejected) as err:
        _decode(topic, body(bad))
    assert err.value.reason == "invalid_field", err.value.detail


def test_an_error_message_keeps_line_breaks_and_tabs_but_no_other_control_character() -> None:
    ok = _decode("error", {"component": "c", "message": "Traceback:\n\tline 1\r\n", "severity": "error"})
    assert ok.message.startswith("Traceback")  # type: ignore[attr-defined]
    _decode("error", {"component": "c", "message": "m" * 4096, "severity": "error"})
    for bad in ("\x1b[2J", "bell\x07", "m" * 4097):
        with pytest.raises(Rejected, match="invalid_field"):
            _decode("error", {"component": "c", "message": bad, "severity": "error"})


@pytest.mark.parametrize("run", ["", "a-b", "x" * 65, "r\n", "é"])
def test_a_run_id_is_1_to_64_ascii_letters_and_digits(run: str) -> None:
    with pytest.raises(Rejected, match="invalid_field"):
        _decode("heartbeat", {"run": run})
    assert _decode("heartbeat", {"run": "k3x9Q" + "0" * 59}).run == "k3x9Q" + "0" * 59  # type: ignore[attr-defined]


def _strings(node: object, path: str, out: list[tuple[str, dict]]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string":
            out.append((path, node))
        for key, value in node.items():
            _strings(value, f"{path}.{key}", out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _strings(value, f"{path}[{i}]", out)


def test_every_string_of_the_published_schema_is_bounded() -> None:
    found: list[tuple[str, dict]] = []
    _strings(json_schema(), "$", found)
    assert len(found) > 20
    bounded_by_pattern = re.compile(r"^\^\[[^\]]+\]\{1,\d+\}\$")  # ^[A-Za-z...]{1,64}$: the bot id
    unbounded = [
        p
        for p, s in found
        if "enum" not in s and "maxLength" not in s and not bounded_by_pattern.match(s.get("pattern", ""))
    ]
    assert unbounded == []
    no_pattern = [p for p, s in found if "enum" not in s and "pattern" not in s]
    assert no_pattern == []
