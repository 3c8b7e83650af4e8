"""Every numeric bound of the settings, one value just outside and one just inside.

A bound that moved (``ge=1`` become ``ge=0``, a ``le`` dropped) would let a
monitor start with a value its code cannot work with; these cases pin each one.
The last test finds every bound declared in the settings types and fails when
one has no case here, so a new bound comes with its case.  The built-in thresholds'
bounds are not listed: each comes from its catalog row's range, and the tests below
walk every row and check that a settings file and the dashboard's form accept and
refuse the same values, with the same reason, so a new rule's range is checked
without being listed.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
import msgspec.inspect as mi
import pytest

from alerts import catalog, safety_catalog
from app.dashboard.form_checks import check, threshold_kind
from app.settings import Settings, SettingsError, validate
from tests.support import channel_configs

#: The smallest channel of each registered type that works, to carry a bounded field.
CHANNELS: dict[str, dict[str, Any]] = channel_configs.every_type()
_SYMBOL = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


class Bound(NamedTuple):
    owner: str  # the settings Struct that declares the bound
    key: str  # where it sits in settings.yaml (the key an error names)
    kind: str  # ge | gt | le | lt
    outside: Any
    inside: Any
    context: dict[str, Any] = {}  # other settings the case needs to be valid


def _b(owner: str, key: str, kind: str, outside: Any, inside: Any, **context: Any) -> Bound:
    return Bound(owner, key, kind, outside, inside, context)


BOUNDS: list[Bound] = [
    _b("ServerSettings", "server.port", "ge", 0, 1),
    _b("ServerSettings", "server.port", "le", 65536, 65535),
    _b("ServerSettings", "server.threads", "ge", 15, 16, **{"dashboard.max_clients": 8}),
    _b("ServerSettings", "server.threads", "le", 1025, 1024),
    _b("CollectorSettings", "collector.max_message_bytes", "ge", 255, 256),
    _b("CollectorSettings", "collector.max_message_bytes", "le", 16 * 1024 * 1024 + 1, 16 * 1024 * 1024),
    _b("CollectorSettings", "collector.stale_after_s", "gt", 0, 0.001),
    _b("CollectorSettings", "collector.restart_delay_s", "gt", 0, 0.001),
    _b("CollectorSettings", "collector.recovery_timeout_s", "gt", 0, 0.001),
    _b("CollectorSettings", "collector.recovery_timeout_s", "le", 60.001, 60),
    _b("CollectorSettings", "collector.recovery_max_held", "ge", 0, 1),
    _b("CollectorSettings", "collector.recovery_max_held", "le", 10_000_001, 10_000_000),
    _b("MetricsSettings", "metrics.default_starting_equity", "gt", 0, 0.01),
    _b("MetricsSettings", "metrics.sharpe_interval_s", "gt", 0, 1),
    _b(
        "MetricsSettings",
        "metrics.sharpe_window_s",
        "gt",
        0,
        2,
        **{"metrics.sharpe_interval_s": 1, "metrics.sharpe_min_returns": 1},
    ),
    _b("MetricsSettings", "metrics.sharpe_min_returns", "gt", 0, 1),
    _b("MetricsSettings", "metrics.risk_free_rate", "ge", -0.001, 0),
    _b("MetricsSettings", "metrics.risk_free_rate", "le", 1.001, 1),
    _b("MetricsSettings", "metrics.latency_window_s", "gt", 0, 0.001),
    _b("MetricsSettings", "metrics.latency_max_samples", "gt", 0, 1),
    _b("MetricsSettings", "metrics.error_max_samples", "gt", 0, 1),
    _b("MetricsSettings", "metrics.equity_curve_points", "ge", 63, 64),
    _b("MetricsSettings", "metrics.recent_fills", "gt", 0, 1),
    _b("MetricsSettings", "metrics.max_open_orders", "gt", 0, 1),
    _b("LimitsSettings", "limits.max_bots", "ge", 0, 1),
    _b("LimitsSettings", "limits.max_bots", "le", 100_001, 100_000),
    _b("LimitsSettings", "limits.max_symbols", "ge", 0, 1),
    _b("LimitsSettings", "limits.max_symbols", "le", 1_000_001, 1_000_000),
    _b("LimitsSettings", "limits.max_latency_ops", "ge", 0, 1),
    _b("LimitsSettings", "limits.max_latency_ops", "le", 10_001, 10_000),
    _b("LimitsSettings", "limits.max_error_components", "ge", 0, 1),
    _b("LimitsSettings", "limits.max_error_components", "le", 10_001, 10_000),
    _b("LimitsSettings", "limits.max_apis", "ge", 0, 1),
    _b("LimitsSettings", "limits.max_apis", "le", 10_001, 10_000),
    _b("BotSettings", "bots.b1.starting_equity", "gt", 0, 0.01),
    _b("DashboardSettings", "dashboard.push_interval_ms", "ge", 49, 50),
    _b("DashboardSettings", "dashboard.push_interval_ms", "le", 101, 100),
    _b("DashboardSettings", "dashboard.max_chart_points", "ge", 99, 100),
    _b("DashboardSettings", "dashboard.max_chart_points", "le", 100_001, 100_000),
    _b("DashboardSettings", "dashboard.client_queue", "ge", 0, 1),
    _b("DashboardSettings", "dashboard.client_queue", "le", 65, 64),
    _b("DashboardSettings", "dashboard.max_clients", "ge", 0, 1),
    _b("DashboardSettings", "dashboard.max_clients", "le", 1001, 1000, **{"server.threads": 1008}),
    _b("DashboardSettings", "dashboard.fills_rows", "ge", 49, 50),
    _b("DashboardSettings", "dashboard.fills_rows", "le", 1001, 1000),
    _b("DashboardSettings", "dashboard.error_rows", "ge", 0, 1),
    _b("DashboardSettings", "dashboard.error_rows", "le", 201, 200),
    _b("DashboardSettings", "dashboard.refresh_s", "ge", 0.19, 0.2),
    _b("DashboardSettings", "dashboard.refresh_s", "le", 10.01, 10),
    _b("DashboardSettings", "dashboard.ws_ping_interval_s", "ge", 0.99, 1),
    _b("DashboardSettings", "dashboard.ws_ping_interval_s", "le", 300.01, 300),
    _b("DashboardSettings", "dashboard.ws_send_buffer_kb", "ge", 15, 16),
    _b("DashboardSettings", "dashboard.ws_send_buffer_kb", "le", 16385, 16384),
    _b("EventRules", "alerts.events.api_down_critical_after_s", "ge", -0.001, 0),
    _b("EventRules", "alerts.events.critical_error_hold_s", "gt", 0, 0.001),
    _b("EventRules", "alerts.events.counter_hold_s", "gt", 0, 0.001),
    _b("Rule", "alerts.rules[0].for", "ge", -0.001, 0),
    _b("Route", "alerts.routes.critical.repeat_interval_s", "gt", 0, 0.001),
    _b("Escalation", "alerts.routes.critical.escalate[0].after_s", "ge", -0.001, 0),
    _b("Delivery", "alerts.delivery.lease_s", "gt", 0, 0.001),
    _b("Delivery", "alerts.delivery.backoff_initial_s", "gt", 0, 0.001),
    _b("Delivery", "alerts.delivery.backoff_factor", "ge", 0.999, 1),
    _b("Delivery", "alerts.delivery.backoff_max_s", "gt", 0, 0.001),
    _b("Delivery", "alerts.delivery.failover_after_s", "gt", 0, 0.001),
    _b("Delivery", "alerts.delivery.give_up_after_s", "gt", 0, 0.001),
    _b("Delivery", "alerts.delivery.retention_days", "gt", 0, 0.001),
    _b("Delivery", "alerts.delivery.max_batch", "ge", 0, 1),
    _b("Delivery", "alerts.delivery.max_batch", "le", 5001, 5000),
    _b("Watchdog", "alerts.watchdog.interval_s", "gt", 0, 0.001),
    _b("Watchdog", "alerts.watchdog.timeout_s", "gt", 0, 0.001),
    _b("AlertsSettings", "alerts.tick_s", "gt", 0, 0.001),
    _b("AlertsSettings", "alerts.min_interval_s", "ge", -0.001, 0),
    _b("SilencesSettings", "silences.max_duration_s", "gt", 0, 0.001),
    _b("SilencesSettings", "silences.max_duration_s", "le", 366 * 86400 + 1, 366 * 86400),
    _b("JournalSettings", "storage.journal.commit_interval_s", "gt", 0, 0.001),
    _b("JournalSettings", "storage.journal.commit_interval_s", "le", 1.001, 1),
    _b("JournalSettings", "storage.journal.snapshot_interval_s", "ge", 0.999, 1),
    _b("JournalSettings", "storage.journal.snapshot_journal_mb", "gt", 0, 0.001),
    _b("JournalSettings", "storage.journal.queue_events", "ge", 999, 1000),
] + [
    _b(
        f"{kind.capitalize()}Settings",
        f"alerts.channels.c.{field}",
        "gt",
        0,
        0.001,
    )
    for kind in CHANNELS
    for field in ("timeout_s", "rate_per_s")
]
#: How often Alertmanager is told the state of a firing alert.
BOUNDS += [
    _b("AlertmanagerSettings", "alerts.channels.c.resend_s", "ge", 0.999, 1),
    _b("AlertmanagerSettings", "alerts.channels.c.resend_s", "le", 3600.001, 3600),
]
#: Who may command the monitor from Telegram (user ids), and how old a command may be.
BOUNDS += [
    _b("TelegramSettings", "alerts.channels.c.operators[0]", "gt", 0, 1),
    _b("TelegramSettings", "alerts.channels.c.max_update_age_s", "gt", 0, 0.001),
    _b("TelegramSettings", "alerts.channels.c.max_update_age_s", "le", 86400.001, 86400),
]
#: The long form's ``for`` of every built-in threshold (its value in the middle of its range).
BOUNDS += [
    _b(
        f"Threshold_{rule.name}",
        f"alerts.thresholds.{rule.name}.for",
        "ge",
        -0.001,
        0,
        **{f"alerts.thresholds.{rule.name}.value": (rule.range.low + rule.range.high) / 2},
    )
    for rule in catalog.THRESHOLDS
]


def _edge(rng: catalog.Range, kind: str) -> tuple[float, float]:
    """(just outside, just inside) a catalog range's bound of ``kind``."""
    step = 0.001
    return {
        "ge": (rng.low - max(step, abs(rng.low) * 0.01), rng.low),
        "gt": (rng.low, rng.low + step),
        "le": (rng.high + max(step, abs(rng.high) * 0.01), rng.high),
        "lt": (rng.high, rng.high - step),
    }[kind]


#: The safety rules' numbers and the fleet limits: each bound from its catalog row's range.
BOUNDS += [
    _b("SafetySettings", limit.settings_key, kind, *_edge(limit.range, kind))
    for limit in safety_catalog.SAFETY_LIMITS
    for kind in limit.range.bounds()
]
BOUNDS += [
    _b("FleetLimits", f"alerts.fleet.{rule.name}", kind, *_edge(rule.range, kind))
    for rule in safety_catalog.FLEET
    for kind in rule.range.bounds()
]


def _document(bound: Bound, value: Any) -> dict[str, Any]:
    """The settings document with the bounded key (and its context) set, as YAML would give it."""
    doc: dict[str, Any] = {}
    if bound.key.startswith("alerts.rules["):
        doc = {"alerts": {"rules": [{"name": "r", "metric": "drawdown", "value": 0.5}]}}
    elif bound.key.startswith("alerts.routes.critical.escalate["):
        doc = {"alerts": {"routes": {"critical": {"escalate": [{"after_s": 0, "channels": []}]}}}}
    elif bound.key.startswith("alerts.channels.c."):
        kind = next(k for k in CHANNELS if bound.owner.lower() == f"{k}settings")
        doc = {"alerts": {"channels": {"c": {"type": kind, **CHANNELS[kind]}}}}
    for key, v in [*bound.context.items(), (bound.key, value)]:
        _put(doc, key, v)
    return doc


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = doc
    parts = dotted.replace("[0]", ".0").split(".")
    for part, nxt in zip(parts, [*parts[1:], None], strict=True):
        if nxt is None and isinstance(node, list):
            node[int(part) :] = [value]  # a list the case makes holds only this item
        elif nxt is None:
            node[part] = value
        else:
            node = (
                node[int(part)]
                if isinstance(node, list)
                else node.setdefault(part, [] if nxt.isdigit() else {})
            )


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda b: f"{b.key}-{b.kind}")
def test_a_value_just_outside_a_bound_is_refused_with_its_key(bound: Bound) -> None:
    with pytest.raises(SettingsError) as err:
        validate(_document(bound, bound.outside), "settings.yaml")
    assert err.value.key == bound.key
    assert _SYMBOL[bound.kind][0] in err.value.reason, err.value.reason  # msgspec says int > 0 as >= 1


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda b: f"{b.key}-{b.kind}")
def test_a_value_just_inside_a_bound_is_accepted(bound: Bound) -> None:
    settings = validate(_document(bound, bound.inside), "settings.yaml")
    assert _get(msgspec.to_builtins(settings), bound.key) == bound.inside


def _get(doc: Any, dotted: str) -> Any:
    for part in dotted.replace("[0]", ".0").split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def _declared(t: mi.Type, owner: str, field: str, seen: frozenset) -> set[tuple[str, str, str]]:
    """(Struct, field, kind) of every numeric bound reachable from a settings type."""
    if isinstance(t, mi.StructType):
        if t.cls in seen:
            return set()
        return set().union(
            *(_declared(f.type, t.cls.__name__, f.encode_name, seen | {t.cls}) for f in t.fields)
        )
    if isinstance(t, (mi.IntType, mi.FloatType)):
        return {(owner, field, k) for k in _SYMBOL if getattr(t, k) is not None}
    if isinstance(t, mi.UnionType):
        return set().union(*(_declared(u, owner, field, seen) for u in t.types))
    if isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return _declared(t.item_type, owner, field, seen)
    if isinstance(t, mi.DictType):
        return _declared(t.value_type, owner, field, seen)
    return set()


def _from_catalog() -> set[tuple[str, str, str]]:
    """The bounds the built-in thresholds take from their catalog rows (short and long form)."""
    out = set()
    for rule in catalog.THRESHOLDS:
        for kind in rule.range.bounds():
            out |= {("Thresholds", rule.name, kind), (f"Threshold_{rule.name}", "value", kind)}
    return out


def test_every_declared_bound_has_a_case() -> None:
    declared = _declared(mi.type_info(Settings), "Settings", "", frozenset())
    covered = {
        (b.owner, b.key.rsplit(".", 1)[1].removesuffix("[0]"), b.kind) for b in BOUNDS
    } | _from_catalog()
    assert declared - covered == set(), "bounds without a case in BOUNDS"
    assert covered - declared == set(), "cases for bounds that no longer exist"


# ---- the built-in thresholds: one range per catalog row, the file and the form agree ----------
def _probes(rng: catalog.Range) -> list[float]:
    """Values on, just inside and just outside each end of ``rng``, and some no range may hold."""
    ends = [rng.low, rng.high]
    near = [x + d for x in ends for d in (-1e-6 * max(1.0, abs(x)), 1e-6 * max(1.0, abs(x)))]
    return [*ends, *near, -3.0, 0.0, 0.5, 1.0, 1.5, 500.0, float("nan"), float("inf"), -float("inf")]


def _settings_verdict(rule: catalog.ThresholdRule, spec: Any, key: str) -> str | None:
    """None when a settings file with ``spec`` is accepted, else the reason (checked to name ``key``)."""
    try:
        validate({"alerts": {"thresholds": {rule.name: spec}}}, "settings.yaml")
    except SettingsError as err:
        assert err.key == key, (err.key, key)
        return err.reason
    return None


@pytest.mark.parametrize("rule", catalog.THRESHOLDS, ids=lambda r: r.name)
def test_a_threshold_is_accepted_by_the_file_exactly_when_the_form_accepts_it(
    rule: catalog.ThresholdRule,
) -> None:
    key = f"alerts.thresholds.{rule.name}"
    verdicts = set()
    for value in _probes(rule.range):
        _, form_error = check(threshold_kind(rule), repr(value))
        short = _settings_verdict(rule, value, key)
        long = _settings_verdict(rule, {"value": value, "for": 5}, f"{key}.value")
        assert short == long == form_error, (value, short, long, form_error)
        verdicts.add(form_error is None)
    assert verdicts == {True, False}, "the probes must reach both inside and outside the range"


@pytest.mark.parametrize("rule", catalog.THRESHOLDS, ids=lambda r: r.name)
def test_a_thresholds_settings_bounds_are_its_catalog_range(rule: catalog.ThresholdRule) -> None:
    declared = _declared(mi.type_info(Settings), "Settings", "", frozenset())
    mine = {(owner, kind) for owner, field, kind in declared if field in (rule.name, "value")}
    mine = {(o, k) for o, k in mine if o in ("Thresholds", f"Threshold_{rule.name}")}
    kinds = set(rule.range.bounds())
    assert mine == {(o, k) for o in ("Thresholds", f"Threshold_{rule.name}") for k in kinds}


def test_a_negative_latency_limit_is_refused_in_the_words_of_the_form() -> None:
    with pytest.raises(SettingsError) as err:
        validate({"alerts": {"thresholds": {"max_latency_ms": -3}}}, "settings.yaml")
    assert (err.value.key, err.value.reason) == (
        "alerts.thresholds.max_latency_ms",
        "must be a positive number",
    )
    assert check(threshold_kind(catalog.THRESHOLD["max_latency_ms"]), "-3") == (None, err.value.reason)
