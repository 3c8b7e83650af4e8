"""The safety invariants and the fleet-wide limits, judged against the settings (pure).

The facts are kept by the pure core as events are applied (core/safety.py, in each
bot's ``safety`` metrics and the document's ``fleet`` totals); here they meet
``alerts.safety`` and ``alerts.fleet`` and become conditions, worded so that the text
names the culprit: the order, its side, size and symbol, how long after the stop.
Each condition is one keyword set of an :class:`alerts.rules.Observation` (built there,
so this module and the rule set do not import each other).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from alerts import catalog, messages, safety_catalog
from alerts.rule_settings import Threshold
from alerts.thresholds import OPS
from core.documents import NO_CURRENCY, BotMetrics, FleetTotals, StopBreach

if TYPE_CHECKING:
    from alerts.config import AlertsSettings

Found = dict[str, Any]  # the keywords of one Observation, without its bot

_SEVERITY = {r.name: r.severity for r in safety_catalog.SAFETY}
_STOP_WORDS = {"kill_switch": "kill switch TRIGGERED", "circuit_breaker": "circuit breaker OPEN"}
#: A re-sent order id keeps the runaway alert firing this long (event time).
DUPLICATE_HOLD_S = 60.0
_LISTED = 5


def _drawdown_limit(settings: AlertsSettings) -> float | None:
    """``alerts.safety.max_drawdown``, else the max drawdown threshold's value (None: off)."""
    own = settings.safety.max_drawdown
    if own is not None:
        return own
    spec = settings.thresholds.max_drawdown
    if isinstance(spec, Threshold):
        return spec.value if spec.enabled else None
    return spec


class SafetyRules:
    """The enabled invariants and fleet limits of one AlertsSettings."""

    def __init__(self, settings: AlertsSettings) -> None:
        self.cfg = settings.safety
        self.fleet = settings.fleet
        self.drawdown_limit = _drawdown_limit(settings)
        self.fleet_on = any(getattr(self.fleet, r.name) is not None for r in safety_catalog.FLEET)

    def rule_names(self) -> set[str]:
        names = {r.name for r in safety_catalog.SAFETY if getattr(self.cfg, r.name)}
        names.update(
            safety_catalog.FLEET_PREFIX + r.name
            for r in safety_catalog.FLEET
            if getattr(self.fleet, r.name) is not None
        )
        return names

    # ---- per bot ------------------------------------------------------------
    def observe(self, doc: BotMetrics) -> Iterator[Found]:
        """The invariants one bot breaks now."""
        c = self.cfg
        checks = (
            (c.trading_after_stop, self._trading_after_stop),
            (c.orders_open_after_kill, self._orders_open),
            (c.protection_missed and self.drawdown_limit is not None, self._protection),
            (c.runaway_orders, self._runaway),
            (c.stale_mark, self._stale_marks),
            (c.book_disagrees, self._disagrees),
        )
        for on, check in checks:
            found = check(doc) if on else None
            if found is not None:
                yield found

    def _trading_after_stop(self, doc: BotMetrics) -> Found | None:
        s = doc.safety
        late = [b for b in s.breaches if b.after_s > self.cfg.grace_s]
        if not late or s.stopped_by is None:
            return None
        newest = late[0]
        more = f"; {s.new_risk_after_stop:,} orders/fills added risk since the stop" if len(late) > 1 else ""
        exits = f", {s.exits_after_stop:,} exits allowed" if s.exits_after_stop else ""
        stop = _STOP_WORDS[s.stopped_by]
        text = f"trading {newest.after_s:.1f} s after {stop}: {breach_words(newest)}{more}{exits}"
        return _found("trading_after_stop", text, s.new_risk_after_stop, 0, ">")

    def _orders_open(self, doc: BotMetrics) -> Found | None:
        s, limit = doc.safety, self.cfg.orders_open_after_stop_s
        if s.since_kill_switch_s is None:
            return None
        since = s.since_kill_switch_s + _silent(doc)
        if since < limit or not s.open_orders_after_kill:
            return None
        n = s.open_orders_after_kill
        listed = ", ".join(s.open_order_ids) + (", ..." if n > len(s.open_order_ids) else "")
        text = (
            f"{n:,} order{'s' if n != 1 else ''} still open {messages.duration(since)} after kill switch"
            f" TRIGGERED (limit {messages.duration(limit)}): {listed}"
        )
        return _found("orders_open_after_kill", text, n, 0, ">")

    def _protection(self, doc: BotMetrics) -> Found | None:
        limit = self.drawdown_limit
        switch = doc.health.kill_switch
        if limit is None or not doc.drawdown > limit or switch in (None, "triggered"):
            return None  # a bot that never reported a kill switch has no protection of its own to check
        text = (
            f"drawdown {doc.drawdown:.2%} > limit {limit:.2%} on the monitor's own equity (unrealized P&L"
            f" included) and no kill switch within {messages.duration(self.cfg.grace_s)}: the bot's own"
            " protection did not act"
        )
        return _found("protection_missed", text, doc.drawdown, limit, ">", for_s=self.cfg.grace_s)

    def _runaway(self, doc: BotMetrics) -> Found | None:
        s, limit = doc.safety, self.cfg.max_orders_per_min
        resent = s.since_duplicate_s is not None and s.since_duplicate_s + _silent(doc) < DUPLICATE_HOLD_S
        if s.orders_per_min <= limit and not resent:
            return None
        parts = []
        if s.orders_per_min > limit:
            parts.append(f"{s.orders_per_min:,} new orders in the last minute > limit {limit:,.0f}")
        if resent:
            parts.append(f"order {s.last_duplicate} re-sent as new ({s.duplicate_orders:,} re-sends)")
        return _found("runaway_orders", "runaway loop: " + "; ".join(parts), s.orders_per_min, limit, ">")

    def _stale_marks(self, doc: BotMetrics) -> Found | None:
        limit, silent = self.cfg.mark_stale_after_s, _silent(doc)
        stale = sorted((a + silent, sym) for sym, a in doc.safety.mark_age_s.items() if a + silent > limit)
        if not stale:
            return None
        shown = ", ".join(f"{sym} {messages.duration(a)}" for a, sym in reversed(stale[-_LISTED:]))
        more = ", ..." if len(stale) > _LISTED else ""
        text = (
            f"no price for an open position (limit {messages.duration(limit)}): {shown}{more};"
            " its unrealized P&L and the equity figures that use it are stale"
        )
        return _found("stale_mark", text, stale[-1][0], limit, ">")

    def _disagrees(self, doc: BotMetrics) -> Found | None:
        s = doc.safety
        if not s.book_disagreements:
            return None
        shown = "; ".join(
            f"{d.symbol} monitor {d.monitor_qty:g}, bot {d.bot_qty:g}" for d in s.disagreements[:_LISTED]
        )
        more = "; ..." if s.book_disagreements > _LISTED else ""
        text = f"snapshot disagrees with the fills on {s.book_disagreements:,} symbol(s): {shown}{more}"
        return _found("book_disagrees", text, s.book_disagreements, 0, ">")

    def all_clear(self, rule: str, doc: BotMetrics) -> str | None:
        """The end of a safety alert in words, as it is now."""
        s = doc.safety
        if rule == "trading_after_stop":
            return (
                "re-armed: trading is allowed again" if s.stopped_by is None else "no late order or fill now"
            )
        if rule == "orders_open_after_kill":
            return (
                "no order open any more"
                if s.open_orders_after_kill == 0
                else "kill switch no longer triggered"
            )
        if rule == "protection_missed":
            if doc.health.kill_switch == "triggered":
                return "kill switch TRIGGERED: the bot's protection acted"
            return f"drawdown {doc.drawdown:.2%} back within the limit"
        if rule == "runaway_orders":
            return f"{s.orders_per_min:,} new orders in the last minute, no order re-sent"
        if rule == "stale_mark":
            return "every open position has a fresh price again"
        if rule == "book_disagrees":
            return "snapshot agrees with the fills again"
        return None

    # ---- the fleet ------------------------------------------------------------
    def observe_fleet(self, fleet: dict[str, FleetTotals]) -> Iterable[Found]:
        """The fleet limits each currency's "All bots" totals cross (one alert per rule and currency)."""
        for rule in safety_catalog.FLEET:
            for currency, totals in fleet.items():
                limit = self.fleet_limit(rule.name, currency)
                value = getattr(totals, rule.metric or "")
                if limit is None or not OPS[rule.op](value, limit):
                    continue
                text = messages.crossed(_fleet_name(rule), value, rule.op, limit, rule.unit, _money(currency))
                yield {
                    **_found(
                        safety_catalog.FLEET_PREFIX + rule.name, f"{currency} {text}", value, limit, rule.op
                    ),
                    "severity": rule.severity,
                    "labels": (("currency", currency),),
                }

    def fleet_limit(self, name: str, currency: str) -> float | None:
        spec = getattr(self.fleet, name)
        return spec.get(currency) if isinstance(spec, dict) else spec

    def fleet_clear(self, rule: str, labels: dict[str, str], fleet: dict[str, FleetTotals]) -> str | None:
        currency = labels.get("currency", "")
        row = next((r for r in safety_catalog.FLEET if safety_catalog.FLEET_PREFIX + r.name == rule), None)
        totals = fleet.get(currency)
        if row is None or totals is None:
            return f"{currency}: no bot in this currency any more" if row is not None else None
        value = getattr(totals, row.metric or "")
        limit = self.fleet_limit(row.name, currency)
        words = messages.back_within(_fleet_name(row), value, row.op, limit, row.unit, _money(currency))
        return f"{currency} {words}"


def _fleet_name(rule: catalog.ThresholdRule) -> str:
    return "total " + catalog.metric(rule.metric or "").name


def _money(currency: str) -> str | None:
    return None if currency == NO_CURRENCY else currency


def _silent(doc: BotMetrics) -> float:
    """Wall-clock time since the bot's newest event: a bot silent after its stop does not stop the clocks."""
    return doc.last_event_age_s or 0.0


def breach_words(b: StopBreach) -> str:
    """``BUY 0.5 BTC-USD, order o-17``: the culprit of a stop's breach."""
    return f"{b.side.upper()} {b.qty:g} {messages.one_line(b.symbol)}, {b.kind} {messages.one_line(b.id)}"


def _found(rule: str, summary: str, value: Any, threshold: Any, op: str, for_s: float = 0.0) -> Found:
    return {
        "rule": rule,
        "severity": _SEVERITY.get(rule, "critical"),
        "summary": summary,
        "value": value,
        "threshold": threshold,
        "op": op,
        "for_s": for_s,
    }
