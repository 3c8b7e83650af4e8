"""A bot's refused messages by reason, from real ZeroMQ messages to the ``GET /metrics`` text.

Three bots publish over real TCP; some of their messages are refused for different reasons, one
message names no bot and one names a bot the monitor never heard from. The scrape must show
``botmonitor_events_rejected_total{bot,reason}`` with each bot's exact counts, summing to the
bot's ``events.rejected`` of ``/api/metrics``.
"""

from __future__ import annotations

import json

import zmq
from flask import Flask

from app.prometheus import Exposition, create_exporter
from core.documents import MetricsDocument, PositionsDocument
from tests.support.documents import metrics_of
from tests.support.ingest import Ingest
from tests.support.waiting import wait_until
from tests.unit.test_prometheus_families import parsed

T = 1_700_000_000.0


def _heartbeat(bot: str, seq: int, **extra: object) -> list[bytes]:
    return [b"heartbeat", json.dumps({"v": 1, "bot": bot, "seq": seq, "ts": T + seq, **extra}).encode()]


def _fill(bot: str, seq: int, qty: float) -> list[bytes]:
    body = {
        "v": 1, "bot": bot, "seq": seq, "ts": T + seq, "fill_id": f"f{seq}", "order_id": "o",
        "symbol": "X", "side": "buy", "qty": qty, "price": 10.0, "fee": 0.0,
    }  # fmt: skip
    return [b"fill", json.dumps(body).encode()]


#: (message, bot, reason it is refused for); None: accepted
MESSAGES = [
    *((_heartbeat(bot, 0), bot, None) for bot in ("a", "b", "c")),
    (_fill("a", 1, -1.0), "a", "invalid_field"),
    (_fill("a", 2, -2.0), "a", "invalid_field"),
    (_heartbeat("a", 3, v=2), "a", "bad_version"),
    (_heartbeat("b", 1, v=7), "b", "bad_version"),
    ([b"heartbeat", b'{"v": 1, "bot": "c", "seq": 1, "ts": NaN}'], "c", "non_finite"),
    (_fill("c", 2, 0.0), "c", "invalid_field"),
    ([b"heartbeat", b"not json"], None, "not_json"),
    (_fill("ghost", 1, -1.0), "ghost", "invalid_field"),
]


def test_metrics_shows_each_bots_rejects_by_reason(ingest: Ingest) -> None:
    raw = zmq.Context.instance().socket(zmq.XPUB)
    raw.connect(ingest.endpoint)
    assert raw.poll(5000)  # the monitor's subscription arrived
    raw.recv()
    for parts, _, _ in MESSAGES:
        raw.send_multipart(parts)
    wait_until(lambda: metrics_of(ingest.hub)["collector"]["received"] == len(MESSAGES))
    raw.close()
    app = Flask("scrape")
    exposition = Exposition(
        [(MetricsDocument, ingest.hub.metrics), (PositionsDocument, ingest.hub.positions)]
    )
    app.register_blueprint(create_exporter(exposition))
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    got = parsed(response.get_data(as_text=True))["botmonitor_events_rejected_total"]
    assert got == {
        (("bot", "a"), ("reason", "bad_version")): 1.0,
        (("bot", "a"), ("reason", "invalid_field")): 2.0,
        (("bot", "b"), ("reason", "bad_version")): 1.0,
        (("bot", "c"), ("reason", "invalid_field")): 1.0,
        (("bot", "c"), ("reason", "non_finite")): 1.0,
    }
    bots = metrics_of(ingest.hub)["bots"]
    for bot in ("a", "b", "c"):
        mine = sum(n for labels, n in got.items() if ("bot", bot) in labels)
        assert mine == bots[bot]["events"]["rejected"]
    assert "ghost" not in bots
    by_reason = metrics_of(ingest.hub)["collector"]["rejected_by_reason"]
    assert by_reason == {"invalid_field": 4, "bad_version": 2, "non_finite": 1, "not_json": 1}
