"""A refused text names the field that holds it (docs/events.md: "Anything else is
`invalid_field`, naming the field"), so a bot author reading the Health tab's rejects
knows which field of which event to fix.  Pure: bytes in, the rejection's detail out.
"""

from __future__ import annotations

import json

import pytest

from collectors.events import Rejected, decode

T = 1_700_000_000.0
ENV = {"v": 1, "bot": "b-1", "seq": 4, "ts": T}
ORDER = {"order_id": "o", "symbol": "X", "side": "buy", "type": "limit", "qty": 1.0, "status": "new"}
ORDER = {**ORDER, "filled_qty": 0}
FILL = {"fill_id": "f", "order_id": "o", "symbol": "X", "side": "buy", "qty": 1.0, "price": 10.0, "fee": 0.0}
BAD = "a\x01b"
SNAP = {"positions": [], "open_orders": []}

#: (topic, body with one unprintable text, the field the refusal must name)
CASES = {
    "account.currency": ("account", {"equity": 1.0, "currency": BAD}, "currency"),
    "fill.fill_id": ("fill", {**FILL, "fill_id": BAD}, "fill_id"),
    "fill.order_id": ("fill", {**FILL, "order_id": BAD}, "order_id"),
    "fill.symbol": ("fill", {**FILL, "symbol": BAD}, "symbol"),
    "fill.symbol after a bad order_id": ("fill", {**FILL, "order_id": BAD, "symbol": BAD}, "order_id"),
    "mark.prices key": ("mark", {"prices": {"BTC": 1.0, BAD: 2.0}}, "prices"),
    "order.order_id": ("order", {**ORDER, "order_id": BAD}, "order_id"),
    "order.symbol": ("order", {**ORDER, "symbol": BAD}, "symbol"),
    "order.type": ("order", {**ORDER, "type": BAD}, "type"),
    "snapshot.open_orders.type": ("snapshot", {**SNAP, "open_orders": [{**ORDER, "type": BAD}]}, "type"),
    "snapshot.open_orders.symbol": (
        "snapshot",
        {**SNAP, "open_orders": [{**ORDER, "symbol": BAD}]},
        "symbol",
    ),
}


def _refusal(topic: str, body: dict) -> Rejected:
    with pytest.raises(Rejected) as err:
        decode(topic.encode(), json.dumps({**ENV, **body}).encode())
    return err.value


@pytest.mark.parametrize("case", CASES)
def test_an_unprintable_text_is_refused_naming_its_field(case: str) -> None:
    topic, body, field = CASES[case]
    refusal = _refusal(topic, body)
    assert refusal.reason == "invalid_field"
    assert refusal.detail.startswith(f"{field} must be printable text (no control characters)")


@pytest.mark.parametrize("run", ["a-b", "é", "r\n", "x y"])
def test_a_bad_run_is_refused_naming_the_run_and_its_rule(run: str) -> None:
    refusal = _refusal("heartbeat", {"run": run})
    assert (refusal.reason, refusal.detail) == (
        "invalid_field",
        "run must be 1-64 ASCII letters and digits - at `$.run`",
    )
