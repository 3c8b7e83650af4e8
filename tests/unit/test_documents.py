"""The typed /api/metrics and /api/state documents: same JSON as recorded, schema current, metric paths.

The recorded JSON under tests/unit/data/documents was produced by the dict-built
documents the typed ones replaced, from the scenario below; the typed documents
must encode to the very same bytes.  A deliberate change of a document (a new
metric) updates both the schema and these files: ``.venv/bin/python -m
tests.support.rerecord_documents`` writes both; review the diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from alerts.rules import RuleSet, lookup, metric_problem
from app.dashboard.alerts_sections import rules_rows
from app.hub import Hub
from app.settings import SettingsError, load_settings, validate
from collectors.events import (
    Account,
    Error,
    Event,
    Fill,
    Health,
    Heartbeat,
    Latency,
    Mark,
    Order,
    OrderBody,
    Snapshot,
    SnapshotPosition,
)
from core.config import BotSettings, CoreConfig, MetricsSettings
from core.documents import MetricsDocument, StateDocument, json_schema
from core.monitor_documents import CollectorThread, EdgeStatus, MonitorStatus
from core.store import StateStore
from tests.support.alerts import settings
from tests.support.clock import FakeClock
from tests.support.documents import bot_metrics, metrics_doc, schema_meaning

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "documents"
T0 = 1_800_000_000.0
COLLECTOR = {
    "alive": True,
    "restarts": 1,
    "last_failure": {
        "at": T0 - 50.0,
        "error": "ZMQError: boom",
        "trace": "Traceback (most recent call last):\n  ...\nzmq.error.ZMQError: boom\n",
    },
    "endpoints": ["bind tcp://127.0.0.1:5556"],
}
REGENERATE = (
    '.venv/bin/python -c "import json; from core.documents import json_schema; '
    "open('docs/documents.schema.json', 'w').write("
    "json.dumps(json_schema(), indent=2, sort_keys=True) + '\\n')\""
)
MONITOR = {"started_at": T0 - 100.0, "uptime_s": 112.0, "rss_bytes": 123456789, "threads": 9}


# ---- the recorded scenario -----------------------------------------------------------
class _Events:
    """Numbered events of two bots: ``acct`` reports its account, ``drv`` has derived equity."""

    def __init__(self) -> None:
        self.seq = {"acct": 0, "drv": 0}

    def env(self, bot: str, dt: float) -> dict[str, Any]:
        seq = self.seq[bot]
        self.seq[bot] += 1
        return {"v": 1, "bot": bot, "seq": seq, "ts": T0 + dt}

    def fill(self, bot: str, dt: float, n: int, side: str, qty: float, price: float, **kw: Any) -> Fill:
        kw = {"fee": 0.1, "symbol": "BTC", **kw}
        return Fill(
            **self.env(bot, dt), fill_id=f"f{n}", order_id=f"o{n}", side=side, qty=qty, price=price, **kw
        )

    def order(
        self, dt: float, oid: str, status: str, filled: float = 0.0, price: float | None = 99.5
    ) -> Order:
        return Order(
            **self.env("acct", dt),
            order_id=oid,
            symbol="BTC",
            side="buy",
            type="limit",
            qty=2.0,
            price=price,
            status=status,
            filled_qty=filled,
        )


def _acct(e: _Events) -> list[Event]:
    """Account equity, a round trip, orders, latency by op, errors incl. a critical one, health."""
    env = e.env
    return [
        Heartbeat(**env("acct", 0)),
        Account(**env("acct", 1), equity=10000.0, cash=9000.0, currency="USD"),
        e.fill("acct", 2, 1, "buy", 1.0, 100.0),
        e.fill("acct", 3, 2, "buy", 1.0, 102.0, fee=0.2),
        Mark(**env("acct", 30), prices={"BTC": 104.5, "ETH": 10.0}),
        e.fill("acct", 61, 3, "sell", 1.5, 105.0),
        Account(**env("acct", 62), equity=10007.25, cash=9100.0, currency="USD"),
        e.fill("acct", 90, 4, "sell", 1.0, 99.0, symbol="ETH"),
        e.fill("acct", 91, 5, "buy", 1.0, 101.0, symbol="ETH"),
        Account(**env("acct", 121), equity=10001.0, cash=None, currency=None),
        e.order(122, "o10", "new"),
        e.order(123, "o11", "partially_filled", filled=0.5, price=None),
        e.order(124, "o12", "new"),
        e.order(125, "o12", "canceled"),
        Latency(**env("acct", 126), op="submit", ms=3.0, order_id="o10"),
        Latency(**env("acct", 127), op="submit", ms=5.5),
        Latency(**env("acct", 128), op="cancel", ms=12.25),
        Error(**env("acct", 129), component="exchange", message="timeout", severity="error"),
        Error(**env("acct", 130), component="risk", message="limit hit", severity="critical"),
        Error(**env("acct", 131), component="exchange", message="slow", severity="warning"),
        Health(
            **env("acct", 132),
            apis={"kraken": "up", "binance": "degraded"},
            circuit_breaker="closed",
            kill_switch="armed",
        ),
        Health(**env("acct", 133), apis={"binance": "down"}),
        Account(**env("acct", 181), equity=9990.5, cash=8000.0, currency="USD"),
    ]


def _drv(e: _Events) -> list[Event]:
    """Derived equity, a snapshot that disagrees with the fills, a sequence gap."""
    env = e.env
    events: list[Event] = [
        e.fill("drv", 0, 20, "sell", 2.0, 50.0),
        Mark(**env("drv", 40), prices={"SOL": 48.0}),
        e.fill("drv", 70, 21, "buy", 1.0, 49.0, symbol="SOL"),
        e.fill("drv", 71, 22, "buy", 1.0, 52.0, symbol="SOL"),
        e.fill("drv", 72, 23, "sell", 2.0, 51.0, symbol="BTC"),
        Snapshot(
            **env("drv", 100),
            positions=[
                SnapshotPosition(symbol="BTC", qty=-3.0, avg_price=50.5),
                SnapshotPosition(symbol="ADA", qty=10.0, avg_price=0.5),
            ],
            open_orders=[
                OrderBody(
                    order_id="s1",
                    symbol="ADA",
                    side="sell",
                    type="limit",
                    qty=5.0,
                    price=0.6,
                    status="new",
                    filled_qty=0.0,
                )
            ],
        ),
        Latency(**env("drv", 101), op="submit", ms=8.0),
        Error(**env("drv", 102), component="feed", message="gap", severity="warning"),
    ]
    e.seq["drv"] += 3  # three events lost
    events.append(Mark(**env("drv", 150), prices={"BTC": 49.0, "ADA": 0.55}))
    positions = [SnapshotPosition(symbol="BTC", qty=-3.0, avg_price=50.5)]
    events.append(Snapshot(**env("drv", 160), positions=positions, open_orders=[], account=None))
    return events


def scenario() -> StateStore:
    """Both bots, two rejects, ingest counted over time; ``acct`` stale and ``drv`` live at the end."""
    clock = FakeClock(T0)
    config = CoreConfig(
        metrics=MetricsSettings(sharpe_interval_s=60, sharpe_window_s=3600, sharpe_min_returns=2),
        bots={"drv": BotSettings(starting_equity=5000.0)},
        stale_after_s=10.0,
        recent_rejects=5,
    )
    store = StateStore(config, clock)
    e = _Events()
    acct, drv = _acct(e), _drv(e)
    store.count_received(10)
    for i, ev in enumerate(acct):
        clock.t = T0 + 0.1 * i
        store.apply(ev)
    store.count_received(len(acct) + len(drv) - 10)
    clock.t = T0 + 5.0
    for ev in drv:
        store.apply(ev, arrival=T0 + 5.0)
    clock.t = T0 + 6.0
    store.count_received(1)
    store.reject(
        "invalid_field",
        "Expected `float`, got `str` - at `$.qty`",
        topic="fill",
        excerpt='{"v":1,"bot":"acct","seq":999,"qty":"x"}',
        bot="acct",
        seq=len(acct) + 1,
    )
    store.reject("bad_json", "malformed", topic=None, excerpt="\x00garbage")
    for t, n in ((10.0, 4), (12.5, 6)):
        clock.t = T0 + t
        store.count_received(n)
    clock.t = T0 + 14.0
    return store


def _edge() -> EdgeStatus:
    return EdgeStatus(collector=msgspec.convert(COLLECTOR, CollectorThread), monitor=MonitorStatus(**MONITOR))


def _pretty(doc: object) -> bytes:
    return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"


# ---- same JSON as recorded ----------------------------------------------------------------
#: Each recorded file and the document it holds (tests/support/rerecord_documents.py writes them).
RECORDED: dict[str, Callable[[], object]] = {
    "metrics_store.json": lambda: scenario().metrics(),
    "metrics.json": lambda: Hub(scenario(), extras=_edge).metrics(),
    "state_acct.json": lambda: scenario().state("acct"),
    "state_drv.json": lambda: scenario().state("drv"),
}


@pytest.mark.parametrize(("name", "build"), list(RECORDED.items()))
def test_documents_encode_to_the_recorded_json(name: str, build) -> None:
    recorded = (DATA / name).read_bytes()
    assert _pretty(build()) == recorded
    # whitespace aside, the very bytes the API sends
    assert msgspec.json.encode(build()) == msgspec.json.encode(msgspec.json.decode(recorded))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("metrics.json", MetricsDocument),
        ("metrics_store.json", MetricsDocument),
        ("state_acct.json", StateDocument),
        ("state_drv.json", StateDocument),
    ],
)
def test_recorded_documents_fit_their_types(name: str, kind: type) -> None:
    recorded = (DATA / name).read_bytes()
    typed = msgspec.json.decode(recorded, type=kind, strict=True)
    assert _pretty(typed) == recorded


def test_edge_status_is_merged_only_when_known() -> None:
    bare = Hub(scenario()).metrics()
    assert bare.collector.alive is msgspec.UNSET and bare.monitor is msgspec.UNSET
    assert "monitor" not in json.loads(msgspec.json.encode(bare))
    only_collector = Hub(scenario(), extras=lambda: EdgeStatus(collector=_edge().collector)).metrics()
    assert only_collector.collector.restarts == 1 and only_collector.monitor is msgspec.UNSET


def test_liveness_is_refreshed_per_read_while_the_rest_is_cached() -> None:
    store = scenario()
    first = store.metrics()
    store.clock.t -= 10.0  # type: ignore[attr-defined]  (the scenario's FakeClock)
    second = store.metrics()
    assert first.bots["acct"].stale and not second.bots["acct"].stale
    assert second.bots["acct"].last_event_age_s == pytest.approx(first.bots["acct"].last_event_age_s - 10.0)
    assert second.bots["acct"].latency_ms is first.bots["acct"].latency_ms  # same version: not recomputed


# ---- the schema --------------------------------------------------------------------------
def test_published_schema_is_current() -> None:
    on_disk = json.loads((ROOT / "docs" / "documents.schema.json").read_text())
    current = json.loads(json.dumps(json_schema()))
    assert schema_meaning(on_disk) == schema_meaning(current), f"out of date; regenerate with {REGENERATE}"
    assert set(on_disk["documents"]) == {"/api/metrics", "/api/state"}
    bot = on_disk["$defs"]["BotMetrics"]
    assert set(bot["required"]) == set(json.loads((DATA / "metrics.json").read_text())["bots"]["drv"])


# ---- custom rule metric paths --------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("latency_ms.p95", 200.0),
        ("latency_ms.by_op.submit.p95", 50.0),  # any op
        ("errors.by_component.exchange", 3.0),  # any component
        ("health.apis.binance", "down"),  # any API, compared with a string
        ("equity", -1.0),  # nullable numbers are fine: null is "no data"
        ("events.lost", 0.0),
        ("stale", True),
        ("equity_source", "account"),
        ("errors.last_critical.component", "risk"),
    ],
)
def test_metric_paths_that_can_fire(path: str, value: float | bool | str) -> None:
    assert metric_problem(path, value) is None


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("latency_ms.p96", 1.0, "unknown metric 'latency_ms.p96': latency_ms has no 'p96'"),
        ("drawdwn", 0.1, "a bot's metrics has no 'drawdwn'"),
        ("drawdown.today", 0.1, "drawdown is a number, it has no 'today'"),
        ("latency_ms", 1.0, "is a group of metrics, not a number"),
        ("latency_ms.by_op", 1.0, "is a group of metrics, not a number"),
        ("equity_source", 1.0, "is a string, not a number"),
        ("stale", 1.0, "is true/false, not a number"),  # bool is not a number...
        ("equity", True, "is a number, not true/false"),  # ...nor a number a bool
        ("currency", 1.0, "is a string, not a number"),
        ("health.kill_switch", "trigered", "one of armed, disabled, triggered; 'trigered' never matches"),
        ("equity", "high", "is a number, not a string"),
    ],
)
def test_metric_paths_that_could_never_fire(path: str, value: float | bool | str, words: str) -> None:
    problem = metric_problem(path, value)
    assert problem is not None and words in problem


def _rules_file(tmp_path: Path, metric: str, value: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(
        "alerts:\n  rules:\n"
        "    - {name: fine, metric: latency_ms.p95, op: '>', value: 100}\n"
        f"    - {{name: typo, metric: {metric}, op: '>', value: {value}}}\n"
    )
    return path


def test_start_up_refuses_a_rule_on_a_metric_that_does_not_exist(tmp_path: Path) -> None:
    path = _rules_file(tmp_path, "latency_ms.p59", "100")
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert (err.value.path, err.value.key) == (str(path), "alerts.rules[1].metric")
    assert "latency_ms has no 'p59'" in err.value.reason
    assert (
        load_settings(_rules_file(tmp_path, "latency_ms.p50", "100")).alerts.rules[1].metric
        == "latency_ms.p50"
    )


def test_the_form_validation_refuses_a_non_numeric_metric_for_a_number() -> None:
    data = {"alerts": {"rules": [{"name": "r", "metric": "equity_source", "op": ">", "value": 5}]}}
    with pytest.raises(SettingsError) as err:
        validate(data, "settings.yaml")
    assert err.value.key == "alerts.rules[0].metric"
    assert "is a string, not a number" in err.value.reason


# ---- null at run time: no crossing, "no data" in the Rules table ----------------------------
def test_a_null_metric_is_no_crossing_and_shows_as_no_data() -> None:
    cfg = settings(rules=[{"name": "slow", "metric": "latency_ms.p95", "op": ">", "value": 100}])
    rs = RuleSet(cfg, stale_after_s=10)
    idle, busy = bot_metrics(), bot_metrics(latency_ms={"count": 2, "p95": 150.0})
    active = rs.evaluate(metrics_doc({"idle": idle, "busy": busy}), 0).active
    assert "slow|busy" in active and "slow|idle" not in active
    [row] = [r for r in rules_rows(cfg, 10.0, metrics_doc({"idle": idle, "busy": busy})) if r[0] == "slow"]
    assert row[-1] == "busy: 150 ms, idle: no data"


def test_lookup_walks_fields_and_any_mapping_key() -> None:
    doc = bot_metrics(
        latency_ms={"by_op": {"submit": {"count": 1, "avg": 3.0, "p50": 3.0, "p95": 3.0, "max": 3.0}}},
        health={"apis": {"x": "up"}},
    )
    assert lookup(doc, ("latency_ms", "by_op", "submit", "p95")) == 3.0
    assert lookup(doc, ("latency_ms", "by_op", "cancel", "p95")) is None  # an op not seen lately
    assert lookup(doc, ("health", "apis", "x")) == "up"
    assert lookup(doc, ("errors", "last_critical", "ts")) is None
    assert lookup(doc, ("equity", "x")) is None
