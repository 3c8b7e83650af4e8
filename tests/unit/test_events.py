"""The wire contract: what decodes, what is rejected and under which reason, the published schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.events import TOPICS, Fill, Health, Rejected, decode, encode, json_schema
from tests.support.documents import metrics_of, schema_meaning

ROOT = Path(__file__).resolve().parents[2]
ENV = {"v": 1, "bot": "bot_1.a-b", "seq": 3, "ts": 1.7e9}
FILL = {
    **ENV,
    "fill_id": "f",
    "order_id": "o",
    "symbol": "BTC",
    "side": "sell",
    "qty": 1,
    "price": 2.5,
    "fee": 0,
}


def dec(topic: str, body: object) -> object:
    return decode(topic.encode(), json.dumps(body).encode())


def reason(topic: str, payload: bytes | object) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with pytest.raises(Rejected) as err:
        decode(topic.encode(), raw)
    return err.value.reason


def test_valid_events_decode_and_ignore_unknown_fields() -> None:
    ev = dec("fill", {**FILL, "venue": "x"})
    assert isinstance(ev, Fill) and ev.qty == 1.0 and ev.side == "sell"
    h = dec("health", {**ENV, "apis": {"binance": "down"}})
    assert isinstance(h, Health) and h.kill_switch is None and h.apis == {"binance": "down"}
    assert decode(*encode(ev)) == ev


@pytest.mark.parametrize(
    ("topic", "body", "expected"),
    [
        ("fill", {**FILL, "side": "Buy"}, "invalid_field"),  # enumerations are lowercase exactly
        ("fill", {**FILL, "qty": 0}, "invalid_field"),
        ("fill", {**FILL, "fee": -0.1}, "invalid_field"),
        ("fill", {**FILL, "qty": "1"}, "invalid_field"),  # no silent string->number
        ("fill", {k: v for k, v in FILL.items() if k != "fill_id"}, "invalid_field"),
        ("fill", {**FILL, "bot": "a b"}, "invalid_field"),
        ("fill", {**FILL, "bot": "x" * 65}, "invalid_field"),
        ("fill", {**FILL, "seq": -1}, "invalid_field"),
        ("fill", {**FILL, "seq": True}, "invalid_field"),
        ("fill", {**FILL, "v": 2}, "bad_version"),
        ("mark", {**ENV, "prices": {"X": -1}}, "invalid_field"),
        ("health", {**ENV, "circuit_breaker": "tripped"}, "invalid_field"),
        (
            "order",
            {
                **ENV,
                "order_id": "o",
                "symbol": "X",
                "side": "buy",
                "type": "limit",
                "qty": 1,
                "status": "open",
                "filled_qty": 0,
            },
            "invalid_field",
        ),
        ("error", {**ENV, "component": "c", "message": "m", "severity": "fatal"}, "invalid_field"),
        ("trade", FILL, "unknown_topic"),
        ("fill", [FILL], "not_object"),
        ("fill", b'{"v": 1, "ts": NaN}', "non_finite"),
        ("fill", json.dumps(FILL).replace('"price": 2.5', '"price": 1e999').encode(), "non_finite"),
        ("heartbeat", json.dumps(ENV).replace("1700000000.0", "-1e999").encode(), "non_finite"),
        ("fill", b"\xff\xfe", "not_utf8"),
        ("fill", b"{'single': 'quotes'}", "not_json"),
        ("fill", json.dumps({**FILL, "pad": "x" * 70000}).encode(), "too_large"),
    ],
)
def test_bad_input_is_rejected_with_its_reason(topic: str, body: object, expected: str) -> None:
    assert reason(topic, body) == expected


def test_reject_recovers_bot_and_seq_for_sequence_tracking() -> None:
    with pytest.raises(Rejected) as err:
        dec("fill", {**FILL, "qty": -5})
    assert (err.value.bot, err.value.seq) == ("bot_1.a-b", 3)


def test_published_schema_is_current() -> None:
    on_disk = json.loads((ROOT / "docs" / "events.schema.json").read_text())
    assert schema_meaning(on_disk) == schema_meaning(json.loads(json.dumps(json_schema())))
    assert set(on_disk["topics"]) == set(TOPICS)


def test_docs_raw_pyzmq_example_is_valid_python() -> None:
    text = (ROOT / "docs" / "events.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    for block in blocks:
        compile(block, "docs/events.md", "exec")
    assert any("XPUB" in b and "SNDHWM" in b for b in blocks)


def test_demo_module_runs_standalone_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "collectors.demo", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "--endpoint" in out.stdout


def test_docs_raw_pyzmq_example_delivers_to_a_real_collector(ingest) -> None:
    from tests.support.waiting import wait_until

    text = (ROOT / "docs" / "events.md").read_text()
    example = next(b.split("```", 1)[0] for b in text.split("```python\n")[1:] if "XPUB" in b)
    exec(example.replace("tcp://127.0.0.1:5556", ingest.endpoint), {})
    wait_until(
        lambda: (
            "my-bot" in metrics_of(ingest.hub)["bots"]
            and metrics_of(ingest.hub)["bots"]["my-bot"]["events"]["received"] == 3
        )
    )
    bot = metrics_of(ingest.hub)["bots"]["my-bot"]
    assert bot["equity"] == 10250.0 and bot["health"]["apis"] == {"binance": "up"}
