"""End to end: a separate process publishes a scripted session over real ZeroMQ TCP;
the values are read back through the real HTTP Metrics API and checked by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import BotSettings, CoreConfig
from tests.support.documents import metrics_of
from tests.support.http import get_json
from tests.support.scripted_session import MIDNIGHT, T0
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
approx = pytest.approx


def test_scripted_session_two_bots_across_midnight(ingest_factory) -> None:
    ingest = ingest_factory(CoreConfig(bots={"deriv": BotSettings(starting_equity=5000.0)}))
    subprocess.run(
        [sys.executable, "-m", "tests.support.scripted_session", ingest.endpoint],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    wait_until(lambda: metrics_of(ingest.hub)["collector"]["received"] == 22)
    code, doc = get_json(ingest.url + "/api/metrics")
    assert code == 200
    d, a = doc["bots"]["deriv"], doc["bots"]["acct"]

    # derived bot: average cost, a flip with its fee split, a losing short
    assert d["equity_source"] == "derived"
    assert d["realized_pnl"] == approx(4.4)
    assert d["fees"] == approx(0.6)
    assert d["unrealized_pnl"] == approx(0.0)
    assert d["equity"] == approx(5004.4)
    assert d["daily_pnl"] == approx(5004.4 - 5039.7)  # baseline: last point before midnight
    assert d["drawdown"] == approx((5039.7 - 5004.4) / 5039.7)
    assert d["max_drawdown"] == approx((5039.7 - 5004.4) / 5039.7)
    assert (d["closed_trades"], d["wins"], d["losses"]) == (2, 1, 1)
    assert d["win_rate"] == approx(0.5)
    assert d["profit_factor"] == approx(9.6 / 5.2)
    assert d["expectancy"] == approx((9.6 - 5.2) / 2)
    assert (d["fills_today"], d["round_trips_today"], d["wins_today"], d["losses_today"]) == (2, 2, 1, 1)
    assert (d["exposure_gross"], d["exposure_net"]) == (0.0, 0.0)
    lat = d["latency_ms"]
    assert (lat["count"], lat["avg"], lat["p50"], lat["max"]) == (3, approx(15.0), 10.0, 30.0)
    assert lat["p95"] == approx(28.0)
    assert lat["by_op"]["submit"] == {"count": 2, "avg": 20.0, "p50": 20.0, "p95": approx(29.0), "max": 30.0}
    assert d["errors"]["total"] == 1 and d["errors"]["by_component"] == {"ws": 1}
    counts = {k: d["events"][k] for k in ("received", "rejected", "lost", "seq_resets", "recovered")}
    assert counts == {"received": 11, "rejected": 0, "lost": 0, "seq_resets": 0, "recovered": 0}
    assert d["last_event_ts"] == T0 + 162 and d["stale"] is False

    # account bot: equity is what the broker says; exposure from its position
    assert a["equity_source"] == "account"
    assert a["equity"] == 1080.0
    assert a["daily_pnl"] == approx(1080.0 - 1100.0)
    assert a["drawdown"] == approx(20 / 1100)
    assert a["max_drawdown"] == approx(50 / 1100)
    assert a["unrealized_pnl"] == approx(2.0)
    assert (a["exposure_gross"], a["exposure_net"]) == (approx(12.0), approx(12.0))
    assert a["leverage"] == approx(12.0 / 1080.0)
    assert a["fills_today"] == 0  # its fill was yesterday
    assert a["health"] == {
        "apis": {"binance": "up", "kraken": "down"},
        "circuit_breaker": "closed",
        "kill_switch": "armed",
    }

    total = doc["total"]
    assert total["equity"] == approx(5004.4 + 1080.0)
    assert total["daily_pnl"] == approx(-35.3 - 20.0)
    assert total["exposure_gross"] == approx(12.0)
    assert doc["collector"]["received"] == 22 and doc["collector"]["rejected"] == 0

    code, st = get_json(ingest.url + "/api/state?bot=deriv")
    assert code == 200
    assert st["positions"] == []
    assert [f["fill_id"] for f in st["recent_fills"]] == ["f4", "f3", "f2", "f1"]
    assert st["equity_curve"][0] == [T0, 5000.0]
    assert st["equity_curve"][-1] == [T0 + 150, approx(5004.4)]
    assert [t["pnl"] for t in st["round_trips_today"]] == [approx(-5.2), approx(9.6)]
    assert st["recent_errors"][0]["message"] == "<img src=x onerror=alert(1)> disconnected"

    code, st = get_json(ingest.url + "/api/state?bot=acct")
    assert st["positions"] == [
        {"symbol": "ETH", "qty": 1.0, "avg_price": 10.0, "mark": 12.0, "unrealized_pnl": 2.0}
    ]
    assert [o["order_id"] for o in st["open_orders"]] == ["a2"]
    assert [p[1] for p in st["equity_curve"]] == [1000.0, 1100.0, 1050.0, 1080.0]
    assert st["equity_curve"][1][0] < MIDNIGHT
