"""GET /metrics families come from the document types alone, and their samples from one document read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import msgspec
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from alerts.read_model import AlertStatus, ChannelStatus, StoreStatus, status_of
from app.prometheus import DocumentCollector, Exposition, families
from collectors.events import Account, Fill, Health, Mark
from core.config import CoreConfig, MetricsSettings
from core.documents import BotMetrics, MetricsDocument, PositionsDocument
from core.exposition import counter, gauge, labelled
from core.store import StateStore
from tests.support.documents import bot_metrics, metrics_doc

ROOT = Path(__file__).resolve().parents[2]
T = 1_800_000_000.0
SOURCES = (MetricsDocument, PositionsDocument, AlertStatus)

#: The families the operators' dashboards and rules are written against, with their labels.
REQUIRED = {
    "botmonitor_equity": ("bot", "currency"),
    "botmonitor_daily_pnl": ("bot", "currency"),
    "botmonitor_drawdown_ratio": ("bot",),
    "botmonitor_position_quantity": ("bot", "symbol"),
    "botmonitor_unrealized_pnl": ("bot", "symbol"),
    "botmonitor_events_received": ("bot",),
    "botmonitor_events_rejected": ("bot", "reason"),
    "botmonitor_events_lost": ("bot",),
    "botmonitor_last_event_age_seconds": ("bot",),
    "botmonitor_kill_switch_triggered": ("bot",),
    "botmonitor_alerts_firing": ("severity",),
    "botmonitor_alert_deliveries_failed": ("channel",),
    "botmonitor_collector_rejected": ("reason",),
    "botmonitor_ingest_events_per_second": (),
    "botmonitor_journal_state": ("state",),
    "botmonitor_journal_data_bytes": (),
}


def declared() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {f.name: (f.kind, f.labels) for tp in SOURCES for f in families(tp)}


def test_the_documents_declare_every_required_family_with_its_labels() -> None:
    found = declared()
    assert {name: found[name][1] for name in REQUIRED if name in found} == REQUIRED
    counters = {n for n, (kind, _) in found.items() if kind == "counter"}
    assert {"botmonitor_events_received", "botmonitor_alert_deliveries_failed"} <= counters
    assert all(re.fullmatch(r"botmonitor_[a-z0-9_]+", n) and not n.endswith("_total") for n in found)


def _store() -> StateStore:
    store = StateStore(CoreConfig(metrics=MetricsSettings(), stale_after_s=10.0), lambda: T + 1)
    for bot in ("a", "b"):
        store.apply(Account(v=1, bot=bot, seq=1, ts=T, equity=1000.0, cash=1000.0, currency="USD"))
        store.apply(
            Fill(
                v=1, bot=bot, seq=2, ts=T, fill_id="f", order_id="o", symbol="X", side="buy", qty=2.0,
                price=10.0, fee=0.0,
            )
        )  # fmt: skip
        store.apply(Mark(v=1, bot=bot, seq=3, ts=T, prices={"X": 12.5}))
    store.apply(Health(v=1, bot="b", seq=4, ts=T, kill_switch="triggered"))
    return store


def _sources(store: StateStore, alerts: AlertStatus) -> list:
    return [
        (MetricsDocument, store.metrics),
        (PositionsDocument, store.positions),
        (AlertStatus, lambda: alerts),
    ]


def parsed(text: str) -> dict[str, dict[tuple, float]]:
    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def _scrape(store: StateStore, alerts: AlertStatus) -> dict[str, dict[tuple, float]]:
    return parsed(Exposition(_sources(store, alerts)).render().decode())


def test_a_scrape_shows_the_documents_figures_and_nothing_else() -> None:
    store = _store()
    alerts = status_of((), False, StoreStatus(), {"slack": ChannelStatus(ok=False, failed=3)})
    got = _scrape(store, alerts)
    doc = store.metrics()
    for bot, m in doc.bots.items():
        assert got["botmonitor_equity"][(("bot", bot), ("currency", "USD"))] == m.equity
        assert got["botmonitor_events_received_total"][(("bot", bot),)] == m.events.received
        assert got["botmonitor_unrealized_pnl"][(("bot", bot), ("symbol", "X"))] == 5.0
        assert got["botmonitor_position_quantity"][(("bot", bot), ("symbol", "X"))] == 2.0
    assert got["botmonitor_kill_switch_triggered"] == {(("bot", "a"),): 0.0, (("bot", "b"),): 1.0}
    assert got["botmonitor_alert_deliveries_failed_total"] == {(("channel", "slack"),): 3.0}
    assert got["botmonitor_alerts_firing"] == {
        (("severity", s),): 0.0 for s in ("info", "warning", "critical")
    }
    assert not [n for n in got if n.endswith("_created")]  # no second series per counter
    assert "process_cpu_seconds_total" in got


def test_a_figure_not_yet_known_is_no_sample_rather_than_a_made_up_zero() -> None:
    doc = metrics_doc({"a": bot_metrics(equity=None, daily_pnl=None, last_event_age_s=None)})
    got = {f.name: list(f.read(doc)) for f in families(MetricsDocument)}
    assert got["botmonitor_equity"] == [] and got["botmonitor_daily_pnl"] == []
    assert got["botmonitor_last_event_age_seconds"] == []
    assert got["botmonitor_drawdown_ratio"] == [(("a",), 0.0)]


def families_of(text: str) -> list[tuple]:
    return [
        (
            f.name,
            f.type,
            f.documentation,
            sorted((x.name, sorted(x.labels.items()), x.value) for x in f.samples),
        )
        for f in text_string_to_metric_families(text)
    ]


def test_the_served_text_is_what_prometheus_client_writes_for_the_same_collector() -> None:
    alerts = status_of((), False, StoreStatus(ok=False), {'sl"a\\ck\n': ChannelStatus(ok=True, failed=2)})
    collector = DocumentCollector(_sources(_store(), alerts))
    reg = CollectorRegistry()
    reg.register(collector)
    reference = generate_latest(reg).decode()
    assert families_of(collector.text()) == families_of(reference)
    assert sorted(collector.text().splitlines()) == sorted(_label_order(reference).splitlines())


def _label_order(text: str) -> str:
    """prometheus_client sorts a sample's labels by name; the families here keep their declared order."""
    return text.replace('{currency="USD",bot="a"}', '{bot="a",currency="USD"}').replace(
        '{currency="USD",bot="b"}', '{bot="b",currency="USD"}'
    )


class FreshBot(BotMetrics, frozen=True, kw_only=True):
    """A metric added to a bot's document after the exporter was written."""

    orders_sent: Annotated[int, counter("Orders the bot sent.")] = 7
    queue_age_s: Annotated[
        float | None, gauge("Age of the oldest order.", name="queue_age", unit="seconds")
    ] = 1.5


class FreshDocument(MetricsDocument, frozen=True, kw_only=True):
    bots: Annotated[dict[str, FreshBot], labelled("Per bot.", "bot", prefix="")]


def test_a_metric_added_to_a_document_appears_without_touching_the_exporter() -> None:
    base = metrics_doc({})
    bot = msgspec.convert(msgspec.to_builtins(bot_metrics()), FreshBot)
    doc = FreshDocument(bots={"x": bot}, total=base.total, collector=base.collector)
    got = {f.name: (f.kind, f.help, list(f.read(doc))) for f in families(FreshDocument)}
    assert got["botmonitor_orders_sent"] == ("counter", "Orders the bot sent.", [(("x",), 7.0)])
    assert got["botmonitor_queue_age_seconds"] == ("gauge", "Age of the oldest order.", [(("x",), 1.5)])


def test_two_fields_claiming_one_name_stop_the_exporter_at_start() -> None:
    with pytest.raises(ValueError, match="botmonitor_equity"):
        DocumentCollector([(MetricsDocument, lambda: None), (MetricsDocument, lambda: None)])


def test_the_metric_list_in_the_docs_is_the_exporters() -> None:
    text = (ROOT / "docs" / "prometheus.md").read_text(encoding="utf-8")
    listed = text.split("<!-- families -->")[1]
    assert listed.strip() == metric_table().strip(), (
        "regenerate the table: tests.unit.test_prometheus_families"
    )


def metric_table() -> str:
    """The metric list of docs/prometheus.md, as the exporter derives it."""
    rows = ["| name | type | labels | help |", "|---|---|---|---|"]
    for tp in SOURCES:
        for f in families(tp):
            name = f.name + ("_total" if f.kind == "counter" else "")
            rows.append(f"| `{name}` | {f.kind} | {', '.join(f.labels)} | {f.help} |")
    return "\n".join(rows)


if __name__ == "__main__":  # print the table for docs/prometheus.md
    print(metric_table())
