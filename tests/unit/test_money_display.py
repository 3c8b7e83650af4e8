"""Money as the trader reads it: currency, one precision per kind, one drawdown sign, a true latency card."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.dashboard import fmt
from app.dashboard.charts import CHARTS
from app.dashboard.health_tab import Rates
from app.dashboard.sections import build_sections
from app.dashboard.view_input import ALL, ViewInput
from app.hub import Hub
from collectors.events import Account, Fill, Latency, Mark
from core.config import CoreConfig
from core.store import StateStore

T0 = 1_800_000_000.0


def hub_of(*events) -> Hub:
    hub = Hub(StateStore(CoreConfig(stale_after_s=1e6), clock=lambda: T0 + 100))
    for ev in events:
        hub.apply(ev)
    return hub


def sections(hub: Hub, view: str = ALL) -> dict:
    metrics = hub.metrics()
    bots = list(metrics.bots) if view == ALL else [view]
    inp = ViewInput(
        view=view,
        metrics=metrics,
        states={b: st for b in bots if (st := hub.state(b)) is not None},
        now=T0 + 100,
        stale_after_s=1e6,
        listen_info={},
    )
    return build_sections(inp, Rates())


def acct(bot: str, seq: int, equity: float, currency: str | None, dt: float = 0.0) -> Account:
    return Account(v=1, bot=bot, seq=seq, ts=T0 + dt, equity=equity, currency=currency)


def fill(bot: str, seq: int, fee: float, price: float = 100.0, dt: float = 1.0) -> Fill:
    return Fill(
        v=1, bot=bot, seq=seq, ts=T0 + dt, fill_id=f"f{seq}", order_id="o", symbol="BTC-USD",
        side="buy", qty=1.0, price=price, fee=fee,
    )  # fmt: skip


def cards(s: dict) -> dict[str, list[str]]:
    return {c[0]: c[1:] for c in s["cards-risk"]}


def items(s: dict) -> dict[str, list[str]]:
    return {i[0]: i[1:] for i in s["status"]["items"]}


# ---- currency ----------------------------------------------------------------------------
def test_the_currency_the_bot_reports_goes_with_its_money() -> None:
    hub = hub_of(acct("b1", 0, 10_500.0, "USD"), fill("b1", 1, 0.25))
    s = sections(hub, "b1")
    assert items(s)["Equity"][0] == "10,500.00 USD"
    assert items(s)["Daily P&L"][0] == "0.00 USD"
    shown = cards(s)
    assert shown["Equity"][0] == "10,500.00 USD" and shown["Fees"][0] == "0.2500 USD"
    assert shown["Realized P&L"][0] == "-0.25 USD"
    head = s["tb-fills"]["head"]
    assert "Fee (USD)" in head and "Realized P&L (USD)" in head
    assert "Unrealized P&L (USD)" in s["tb-positions"]["head"]
    assert "P&L (USD)" in s["tb-trips"]["head"]


def test_all_bots_in_one_currency_add_up_with_it() -> None:
    hub = hub_of(acct("a", 0, 10_000.0, "USD"), acct("b", 0, 5_000.0, "USD"))
    assert items(sections(hub))["Equity"][0] == "15,000.00 USD"


def test_all_bots_in_different_currencies_are_never_added_up() -> None:
    hub = hub_of(
        acct("a", 0, 10_000.0, "USD"),
        acct("b", 0, 5_000.0, "EUR"),
        acct("c", 0, 2_000.0, "USD"),
        fill("a", 1, 0.5),
        fill("b", 1, 0.25),
    )
    s = sections(hub)
    assert hub.metrics().total.equity == 17_000.0  # what the document's sum says...
    equity = items(s)["Equity"][0]
    assert equity == "5,000.00 EUR + 12,000.00 USD"  # ...and what the page says instead
    shown = cards(s)
    assert shown["Equity"][0] == equity and "per currency" in shown["Equity"][2]
    assert shown["Fees"][0] == "0.2500 EUR + 0.5000 USD"
    assert shown["Leverage"][:1] == ["n/a"] and "mixed currencies" in shown["Leverage"][2]
    assert shown["Expectancy"][0] == "n/a"
    head, rows = s["tb-fills"]["head"], s["tb-fills"]["rows"]
    assert "Fee" in head and "Fee (USD)" not in head
    fees = {row[0]: row[head.index("Fee")] for row in rows}
    assert fees == {"a": "0.5000 USD", "b": "0.2500 EUR"}


def test_a_bot_without_a_currency_is_added_but_no_currency_is_claimed_for_the_sum() -> None:
    hub = hub_of(acct("a", 0, 10_000.0, "USD"), fill("b", 0, 0.0))  # b: derived equity, no currency
    s = sections(hub)
    assert items(s)["Equity"][0] == "20,000.00"
    assert "Fee" in s["tb-fills"]["head"] and "Fee (USD)" not in s["tb-fills"]["head"]


def test_a_bot_without_a_currency_shows_plain_numbers() -> None:
    s = sections(hub_of(fill("b1", 0, 0.1)), "b1")
    assert items(s)["Equity"][0] == "9,999.90"  # derived: 10,000 less the fee
    assert "Fee" in s["tb-fills"]["head"]


# ---- one precision per kind --------------------------------------------------------------
def test_fees_have_one_precision_on_cards_and_in_tables() -> None:
    hub = hub_of(fill("b1", 0, 0.1234), fill("b1", 1, 12.5, dt=2.0))
    s = sections(hub, "b1")
    head = s["tb-fills"]["head"]
    fees = [row[head.index("Fee")] for row in s["tb-fills"]["rows"]]
    assert fees == ["12.5000", "0.1234"]
    assert cards(s)["Fees"][0] == "12.6234"


def test_an_entry_price_takes_the_precision_of_its_mark() -> None:
    hub = hub_of(
        fill("b1", 0, 0.0, price=999.99), Mark(v=1, bot="b1", seq=1, ts=T0 + 2, prices={"BTC-USD": 1000.5})
    )
    row = sections(hub, "b1")["tb-positions"]["rows"][0]
    assert row[3:5] == ["999.99", "1,000.50"]


# ---- one drawdown sign ---------------------------------------------------------------------
def test_drawdown_is_positive_below_the_peak_on_cards_status_bar_and_chart() -> None:
    hub = hub_of(acct("b1", 0, 10_000.0, None), acct("b1", 1, 8_760.0, None, dt=1.0))
    s = sections(hub, "b1")
    assert items(s)["Drawdown"][:2] == ["12.40%", "neg"]
    assert cards(s)["Drawdown"][:2] == ["12.40%", "neg"]
    assert cards(s)["Max drawdown"][:2] == ["12.40%", "neg"]
    chart = next(c for c in CHARTS if c.id == "ch-drawdown")
    fig = chart.tracker(100, ZoneInfo("UTC")).figure(chart.data({"b1": hub.state("b1")}))
    assert fig["data"][0]["y"][-1] > 0 and fig["data"][0]["y"][-1] == hub.metrics().bots["b1"].drawdown
    assert fmt.drawdown(0.0) == "0.00%" and fmt.drawdown(None) == fmt.NA


def test_the_worst_drawdown_of_all_bots_names_its_bot() -> None:
    hub = hub_of(
        acct("a", 0, 100.0, None),
        acct("a", 1, 95.0, None, dt=1.0),
        acct("b", 0, 100.0, None),
        acct("b", 1, 80.0, None, dt=1.0),
    )
    s = sections(hub)
    assert items(s)["Worst drawdown"][0] == "20.00%"
    assert cards(s)["Drawdown"][0] == "20.00%" and cards(s)["Drawdown"][2] == "worst: b"


# ---- the latency card says what its chart shows ---------------------------------------------
def test_the_all_bots_latency_card_is_not_n_a_while_the_chart_has_data() -> None:
    hub = hub_of(
        Latency(v=1, bot="a", seq=0, ts=T0, op="submit", ms=10.0),
        Latency(v=1, bot="b", seq=0, ts=T0, op="submit", ms=30.0),
        Latency(v=1, bot="b", seq=1, ts=T0 + 1, op="submit", ms=50.0),
    )
    card = cards(sections(hub))["Latency p95"]
    assert card[0] == fmt.ms(hub.metrics().bots["b"].latency_ms.p95) != fmt.NA
    assert card[2] == "worst: b · avg 30.0 ms (all bots)"
    one = cards(sections(hub, "a"))["Latency p95"]
    assert one[0] == "10.0 ms" and one[2] == "avg 10.0 ms"


def test_a_latency_card_without_a_sample_in_its_window_says_so() -> None:
    hub = hub_of(
        Latency(v=1, bot="a", seq=0, ts=T0, op="submit", ms=10.0),
        Mark(v=1, bot="a", seq=1, ts=T0 + 400, prices={"X": 1.0}),
    )
    card = cards(sections(hub, "a"))["Latency p95"]
    assert card[0] == fmt.NA and card[2] == "no sample in the last 5 min 00 s of event time"


# ---- the new formatters are total like the others --------------------------------------------
def test_fee_drawdown_and_when_answer_n_a_to_what_they_cannot_show() -> None:
    for value in (None, float("nan"), float("inf"), 1e31, "12", True, [], object()):
        assert fmt.fee(value) == fmt.NA and fmt.drawdown(value) == fmt.NA
        assert fmt.when(value, ZoneInfo("UTC"), T0) == fmt.NA
    assert fmt.when(T0, "not a zone", T0) == fmt.NA  # type: ignore[arg-type]
