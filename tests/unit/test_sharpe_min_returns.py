"""Sharpe a trader can use: null until metrics.sharpe_min_returns returns are in the window, and the
card says how far it is.  (Against the oracle and empyrical: tests/unit/test_metrics_props.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.dashboard.health_tab import Rates
from app.dashboard.sections import build_sections
from app.dashboard.view_input import ALL, ViewInput
from app.settings import SettingsError, validate
from collectors.events import Account
from core.config import CoreConfig, MetricsSettings
from core.store import StateStore
from tests.support.clock import FakeClock

T0 = 1_800_000_000.0 - 1_800_000_000.0 % 60  # a bucket boundary
EQUITIES = [100.0, 101.0, 100.5, 102.0, 101.0, 103.0, 102.5, 104.0]  # 7 one-minute returns


def store_with(n_points: int, **metrics: object) -> StateStore:
    store = StateStore(CoreConfig(metrics=MetricsSettings(**metrics)), FakeClock(T0))
    for i, equity in enumerate(EQUITIES[:n_points]):
        store.apply(Account(v=1, bot="b", seq=i, ts=T0 + 60 * i, equity=equity))
    return store


def test_sharpe_is_null_until_the_minimum_of_returns_then_the_formula() -> None:
    for points in range(1, len(EQUITIES) + 1):
        m = store_with(points, sharpe_min_returns=5).metrics().bots["b"]
        assert m.sharpe_returns == points - 1
        assert (m.sharpe is None) == (points - 1 < 5), (points, m.sharpe)
    r = np.array(EQUITIES[1:]) / np.array(EQUITIES[:-1]) - 1
    expected = r.mean() / r.std(ddof=1) * math.sqrt(365 * 86400 / 60)
    assert store_with(len(EQUITIES), sharpe_min_returns=5).metrics().bots["b"].sharpe == pytest.approx(
        expected
    )


def test_the_default_minimum_is_30_returns() -> None:
    assert MetricsSettings().sharpe_min_returns == 30
    m = store_with(len(EQUITIES)).metrics().bots["b"]
    assert m.sharpe is None and m.sharpe_returns == 7


def test_a_minimum_below_two_still_needs_two_returns() -> None:
    assert store_with(2, sharpe_min_returns=1).metrics().bots["b"].sharpe is None
    assert store_with(3, sharpe_min_returns=1).metrics().bots["b"].sharpe is not None


def _sharpe_card(store: StateStore, view: str = "b", **inp: object) -> list[str]:
    metrics = store.metrics()
    view_input = ViewInput(
        view=view,
        metrics=metrics,
        states={b: store.state(b) for b in metrics.bots},
        now=T0,
        stale_after_s=1e9,
        listen_info={},
        **inp,
    )
    return next(c for c in build_sections(view_input, Rates())["cards-risk"] if c[0] == "Sharpe")


def test_the_card_says_how_many_returns_it_has_and_needs_and_how_long_that_is() -> None:
    card = _sharpe_card(store_with(5), sharpe_min_returns=30, sharpe_interval_s=60)
    assert card[1:] == ["n/a", "neutral", "needs 30 returns: 4 of 30 (~26 min 00 s more)"]
    ready = _sharpe_card(store_with(len(EQUITIES), sharpe_min_returns=5), sharpe_min_returns=5)
    assert ready[1] != "n/a" and ready[3] == "7 returns"
    assert _sharpe_card(store_with(5), view=ALL)[1:] == ["n/a", "neutral", "select a bot"]


def test_flat_equity_with_enough_returns_says_why_there_is_no_sharpe() -> None:
    store = StateStore(CoreConfig(metrics=MetricsSettings(sharpe_min_returns=2)), FakeClock(T0))
    for i in range(4):
        store.apply(Account(v=1, bot="b", seq=i, ts=T0 + 60 * i, equity=100.0))
    card = _sharpe_card(store, sharpe_min_returns=2)
    assert card[1] == "n/a" and "flat equity" in card[3]


def test_settings_refuse_a_minimum_the_window_can_never_hold() -> None:
    ok = {"metrics": {"sharpe_interval_s": 60, "sharpe_window_s": 1800, "sharpe_min_returns": 30}}
    assert validate(ok, "settings.yaml").metrics.sharpe_min_returns == 30
    too_many = {"metrics": {"sharpe_interval_s": 60, "sharpe_window_s": 1800, "sharpe_min_returns": 31}}
    with pytest.raises(SettingsError) as err:
        validate(too_many, "settings.yaml")
    assert err.value.key == "metrics.sharpe_min_returns" and "30 returns" in err.value.reason
    for bad in (0, -1, 2.5, "30"):
        with pytest.raises(SettingsError) as err:
            validate({"metrics": {"sharpe_min_returns": bad}}, "settings.yaml")
        assert err.value.key == "metrics.sharpe_min_returns"
