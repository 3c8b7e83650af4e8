"""The daily report: the day's figures against the oracle, cut-offs in zones with DST, the report
built from the metrics document, and the scheduler on a fake clock (once per day, late after a
downtime) through a real alert service (real SQLite outbox, a real webhook receiver).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from alerts import report as rep
from alerts.notification import Report, ReportLine
from alerts.read_model import ActiveAlert, HistoryEntry
from app import actions
from app.dashboard.alerts_tab import AlertsTab
from app.operator import Operator
from app.report_scheduler import DailyReports, ReportScheduler
from collectors.events import Fill, Mark
from core import present
from core.config import BotSettings, CoreConfig, MetricsSettings
from core.store import StateStore
from tests.support.alerts import FakeClock, Feed, bodies, make_service, settings, webhook_channel
from tests.support.documents import metrics_of
from tests.support.oracle import PROPS, bot_steps, compare_bot, make_events, reference, run

NY, TOKYO = "America/New_York", "Asia/Tokyo"
DAY_FIGURES = (
    "realized_pnl_today",
    "fees_today",
    "equity_day_start",
    "max_drawdown_today",
    "win_rate_today",
    "largest_loss_today",
    "open_positions",
)


def _local(tz: str, *args: int) -> float:
    return dt.datetime(*args, tzinfo=ZoneInfo(tz)).timestamp()


# ---- the day's figures against the oracle ------------------------------------------------------
@st.composite
def across_midnight(draw):
    """Events of one bot starting up to an hour before a local midnight, with steps that cross it."""
    tz = draw(st.sampled_from(["UTC", NY, TOKYO]))
    day = draw(st.sampled_from([dt.date(2023, 11, 5), dt.date(2024, 3, 10), dt.date(2023, 11, 15)]))
    midnight = _local(tz, day.year, day.month, day.day)
    start = st.integers(0, 7200).map(lambda k: midnight - k / 2)
    steps_dt = st.one_of(
        st.integers(0, 240).map(lambda k: k / 2), st.sampled_from([600.0, 3600.0, 25 * 3600.0])
    )
    account = draw(st.booleans())
    return tz, draw(bot_steps(account=account, dt=steps_dt, t_start=start, max_n=40))


@PROPS
@given(case=across_midnight(), start=st.integers(5000, 100_000).map(float))
def test_the_days_figures_equal_the_oracle(case, start) -> None:
    tz, steps = case
    events = make_events("b1", steps)
    ref = reference(events, start, tz=tz)
    assume(all(e > 0 for _, e in ref.curve()))
    config = CoreConfig(metrics=MetricsSettings(timezone=tz), bots={"b1": BotSettings(starting_equity=start)})
    m = metrics_of(run(config, events))["bots"]["b1"]
    problems = compare_bot(m, ref.metrics(), DAY_FIGURES)
    assert not problems, "\n".join(problems)


def _fill(seq: int, ts: float, side: str, qty: float, price: float, fee: float = 0.0) -> Fill:
    return Fill(
        v=1, bot="b1", seq=seq, ts=ts, fill_id=f"f{seq}", order_id=f"o{seq}",
        symbol="X", side=side, qty=qty, price=price, fee=fee,
    )  # fmt: skip


def test_a_day_by_hand_in_tokyo_resets_at_local_midnight() -> None:
    """Tokyo's midnight is 15:00 UTC: a loss before it is yesterday's, the figures after are today's."""
    midnight = _local(TOKYO, 2024, 3, 10)
    config = CoreConfig(
        metrics=MetricsSettings(timezone=TOKYO), bots={"b1": BotSettings(starting_equity=1000.0)}
    )
    store = StateStore(config, clock=lambda: midnight + 100)
    for ev in (
        _fill(1, midnight - 60, "buy", 1, 100, fee=1),
        _fill(2, midnight - 30, "sell", 1, 90, fee=1),  # -12 yesterday
        _fill(3, midnight + 10, "buy", 2, 100, fee=0.5),
        Mark(v=1, bot="b1", seq=4, ts=midnight + 20, prices={"X": 80}),
        _fill(5, midnight + 30, "sell", 2, 95, fee=0.5),  # trip -11 today
    ):
        store.apply(ev, arrival=midnight + 100)
    m = store.metrics().bots["b1"]
    assert (m.realized_pnl_today, m.fees_today, m.largest_loss_today) == (-11.0, 1.0, -11.0)
    assert m.equity_day_start == 988.0 and m.win_rate_today == 0.0 and m.open_positions == 0
    assert m.max_drawdown_today == pytest.approx((988.0 - 947.5) / 988.0)


def test_stale_time_of_the_day_counts_silences_past_the_threshold_and_the_ongoing_one() -> None:
    clock = FakeClock(_local(NY, 2024, 3, 10, 12))
    store = StateStore(CoreConfig(metrics=MetricsSettings(timezone=NY), stale_after_s=10.0), clock=clock)
    t0 = clock()
    store.apply(Mark(v=1, bot="b1", seq=1, ts=t0, prices={"X": 1}), arrival=t0)
    store.apply(Mark(v=1, bot="b1", seq=2, ts=t0 + 70, prices={"X": 1}), arrival=t0 + 70)  # 60 s stale
    clock.advance(100)  # 30 s since the last arrival: 20 s stale so far
    m = store.metrics().bots["b1"]
    assert m.stale_s_today == pytest.approx(80.0)
    store.apply(Mark(v=1, bot="b1", seq=5, ts=t0 + 90000, prices={"X": 1}), arrival=t0 + 90000)
    m = store.metrics().bots["b1"]
    day = _local(NY, 2024, 3, 11)  # a new day: only its own part of the silence, lost events of it
    assert m.stale_s_today == pytest.approx(t0 + 90000 - day) and m.events_lost_today == 2


# ---- cut-offs ----------------------------------------------------------------------------------
def test_cutoffs_follow_the_wall_clock_of_the_zone_through_dst_changes() -> None:
    ny = ZoneInfo(NY)
    # 2023-11-05: New York leaves DST, a 25-hour day: midnight to midnight is 25 h
    first = rep.next_cutoff(_local(NY, 2023, 11, 4, 12), "00:00", ny)
    second = rep.next_cutoff(first, "00:00", ny)
    assert (first, second - first) == (_local(NY, 2023, 11, 5), 25 * 3600)
    assert rep.report_key(second, ny) == "report:daily:2023-11-05"
    # 2024-03-10: 02:30 does not exist; the cut-off is the instant after the gap, once
    spring = rep.next_cutoff(_local(NY, 2024, 3, 10, 1), "02:30", ny)
    assert dt.datetime.fromtimestamp(spring, ny).strftime("%H:%M") == "03:30"
    assert rep.next_cutoff(spring, "02:30", ny) - spring == 23 * 3600  # to 02:30 the next day
    tokyo = ZoneInfo(TOKYO)
    now = _local(TOKYO, 2024, 3, 10, 8, 59, 59)
    assert rep.latest_cutoff(now, "09:00", tokyo) == _local(TOKYO, 2024, 3, 9, 9)
    assert rep.latest_cutoff(now + 1, "09:00", tokyo) == _local(TOKYO, 2024, 3, 10, 9)
    assert rep.report_key(_local(TOKYO, 2024, 3, 10, 9), tokyo) == "report:daily:2024-03-10"


def test_settings_refuse_a_cutoff_that_is_not_a_time_of_day() -> None:
    for bad in ("24:00", "7:00", "07:60", "noon", "07:00:60", "07:00\n"):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"daily": {"at": bad}}, rep.ReportsSettings)
    assert msgspec.convert({"daily": {"at": "23:59"}}, rep.ReportsSettings).daily.at == "23:59"
    half_past = rep.next_cutoff(_local(TOKYO, 2024, 3, 10), "00:00:30", ZoneInfo(TOKYO))
    assert half_past == _local(TOKYO, 2024, 3, 10, 0, 0, 30)


# ---- the report is the document, worded ---------------------------------------------------------
def test_every_figure_of_the_report_is_a_figure_of_the_document() -> None:
    clock = FakeClock(_local(NY, 2024, 3, 10, 12))
    store = StateStore(CoreConfig(metrics=MetricsSettings(timezone=NY)), clock=clock)
    for bot in ("a<b>", "b"):
        store.apply(_bot_fill(bot, clock()))
    doc = store.metrics()
    report = rep.build(doc, rep.AlertCounts(fired=3, acknowledged=1), "t")
    lines = {x.label: x.value for x in report.lines}
    m = doc.bots["a<b>"]
    assert lines["a<b> P&L"] == (
        f"realized {present.signed(m.realized_pnl_today)} · unrealized {present.signed(m.unrealized_pnl)}"
        f" · fees {present.amount(m.fees_today)}"
    )
    assert lines["a<b> equity"].startswith(
        f"{present.amount(m.equity_day_start)} -> {present.amount(m.equity)}"
    )
    assert present.amount(2 * m.equity_day_start) in lines["Total (no currency)"]
    assert lines["Alerts"] == "fired 3 · acknowledged 1 · silenced 0"


def _bot_fill(bot: str, ts: float) -> Fill:
    return Fill(
        v=1, bot=bot, seq=1, ts=ts, fill_id="f", order_id="o",
        symbol="X", side="buy", qty=2, price=100, fee=0.25,
    )  # fmt: skip


def test_alert_counts_take_the_days_window_and_count_an_alert_once() -> None:
    def alert(i: int, fired: float, acked: float | None = None) -> ActiveAlert:
        return ActiveAlert(
            alert_id=f"a{i}", key=f"k{i}", rule="r", bot="b", severity="warning", status="firing",
            since=fired, fired_at=fired, acked_at=acked,
        )  # fmt: skip

    entry = HistoryEntry(
        key="s", alert_id="a1", kind="alert", event=rep.SILENCED_EVENT, state="", created_at=50.0,
        severity=None, bot=None, rule=None, title="", summary=None, what="", channels={},
    )  # fmt: skip
    alerts = [
        alert(1, 10.0, 20.0),
        alert(1, 10.0, 20.0),
        alert(2, 99.0),
        alert(3, 100.0),
        alert(4, -1.0, 5.0),
    ]
    assert rep.alert_counts(alerts, [entry], 0.0, 100.0) == rep.AlertCounts(
        fired=2, acknowledged=2, silenced=1
    )


# ---- the scheduler on a fake clock, through a real outbox ---------------------------------------
@pytest.fixture
def rig(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock(_local(NY, 2024, 3, 9, 23, 59, 50))  # the night before New York's spring change
    store = StateStore(CoreConfig(metrics=MetricsSettings(timezone=NY), stale_after_s=30.0), clock=clock)
    feed = Feed(clock, store)
    cfg = settings(
        channels={"hook": webhook_channel(httpserver.url_for("/hook"))},
        routes={"warning": {"channels": ["hook"]}},
        events={"stale": False},
    )
    made = []

    def start():
        svc = make_service(feed, cfg, tmp_path)
        made.append(svc)
        reports = DailyReports(svc, feed.hub, NY, clock=clock)
        return svc, ReportScheduler(reports)

    def stop(svc):
        made.remove(svc)
        svc.stop()

    yield SimpleNamespace(clock=clock, feed=feed, server=httpserver, start=start, stop=stop)
    for svc in made:
        svc.stop()


def _reports(server) -> list[dict]:
    return [b for b in bodies(server) if b["kind"] == "report"]


def test_the_report_fires_at_the_cutoff_once_across_a_restart(rig) -> None:
    svc, sched = rig.start()
    rig.feed.account(10_000.0)
    assert sched.catch_up() is False  # a first start owes no report
    assert sched.tick() == pytest.approx(10.0)
    rig.clock.advance(9.9)
    sched.tick()
    svc.deliver()
    assert _reports(rig.server) == []
    rig.clock.advance(0.1)  # 00:00:00 in New York: the cut-off
    at_cutoff = svc.hub.metrics()
    sched.tick()
    svc.deliver()
    (body,) = _reports(rig.server)
    expected = rep.build(at_cutoff, rep.AlertCounts(), rep.daily_title(rig.clock(), ZoneInfo(NY)))
    assert msgspec.convert(body["alert"]["report"], Report) == expected
    assert body["idempotency_key"].startswith("report:daily:2024-03-09:")
    assert "Daily report 2024-03-09" in body["text"]
    rig.stop(svc)
    rig.clock.advance(60)
    svc2, sched2 = rig.start()  # a restart right after the cut-off
    assert sched2.catch_up() is False
    sched2.tick()
    svc2.deliver()
    assert len(_reports(rig.server)) == 1


def test_a_cutoff_missed_while_down_is_sent_late_at_start(rig) -> None:
    svc, _ = rig.start()
    rig.feed.account(10_000.0)
    svc.evaluate()  # the run leaves its heartbeat in the alert store
    rig.stop(svc)
    rig.clock.advance(3 * 3600)  # down over the cut-off
    svc2, sched2 = rig.start()
    assert sched2.catch_up() is True
    svc2.deliver()
    (body,) = _reports(rig.server)
    assert "Daily report 2024-03-09" in body["text"] and "LATE" in body["text"]
    assert sched2.catch_up() is False  # a second start: still one
    svc2.deliver()
    assert len(_reports(rig.server)) == 1


def test_report_so_far_and_send_now_through_the_facade(rig) -> None:
    svc, _ = rig.start()
    rig.feed.account(10_000.0)
    op = Operator(svc, rig.feed.hub, None, timezone=NY, clock=rig.clock)
    so_far = op.report_so_far()
    assert so_far.title.startswith("Report so far, ")
    assert ReportLine("Alerts", "fired 0 · acknowledged 0 · silenced 0") in so_far.lines
    assert op.send_report_now(actions.telegram(42)) == "Report sent to hook."
    page = AlertsTab(op, clock=rig.clock)  # the Alerts tab's "Send report now", within the cooldown
    assert page.send_report().startswith("Report refused: one was sent less than 10 s ago")
    svc.deliver()
    (body,) = _reports(rig.server)
    assert body["alert"]["by"] == "telegram:42"
    (entry,) = [e for e in svc.publish().history if e.kind == "report"]
    assert entry.by == "telegram:42"
    rig.clock.advance(10)
    assert page.send_report() == "Report sent to hook."
    svc.deliver()
    assert [b["alert"]["by"] for b in _reports(rig.server)] == ["telegram:42", "dashboard"]


# ---- every channel: a report, not an alert ------------------------------------------------------
def test_every_channel_renders_a_report_without_severity_icon_and_escapes_bot_names() -> None:
    from alerts.channels import email, slack, sms, telegram, webhook
    from alerts.notices import report as report_notice

    body = rep.build(_doc_of_bot("<b>x</b>*"), rep.AlertCounts(), "Daily report 2024-03-09")
    p = dict(report_notice("report:daily:2024-03-09", body, ["c"], 1.7e9, "http://m.test").payload)
    slack_text = str(slack.message([p], "http://m.test"))
    tele = telegram.message([p], "http://m.test")
    assert "\u2139" not in slack_text + tele and "\U0001f6a8" not in slack_text + tele
    assert "&lt;b&gt;x&lt;/b&gt;" in tele and "<b>x</b>" not in tele.replace("<b>[REPORT]", "")
    assert "&lt;b&gt;x&lt;/b&gt;" in slack_text
    assert "&lt;b&gt;x&lt;/b&gt;" in email.message([p], "http://m.test")[2]
    text = sms.message([p], "http://m.test")
    assert text.startswith("REPORT monitor: Daily report 2024-03-09 | Total (no currency): realized")
    assert len(text) <= sms.MAX_CHARS
    hook = webhook.body(p, "k", "http://m.test")
    assert hook["kind"] == "report" and hook["lines"][2].startswith("<b>x</b>* P&L: realized")


def _doc_of_bot(bot: str):
    store = StateStore(CoreConfig(), clock=lambda: 1.7e9)
    store.apply(_bot_fill(bot, 1.7e9))
    return store.metrics()


# ---- restored after a restart; refused at start-up -----------------------------------------------
def test_the_days_figures_survive_a_checkpoint_and_a_day_change_after_it() -> None:
    from core import checkpoint

    midnight = _local(TOKYO, 2024, 3, 10)
    clock = FakeClock(midnight + 100)
    config = CoreConfig(metrics=MetricsSettings(timezone=TOKYO), stale_after_s=10.0)
    store = StateStore(config, clock=clock)
    for i, ev in enumerate(
        (
            _fill(1, midnight - 60, "buy", 1, 100, fee=1),
            _fill(2, midnight + 10, "sell", 1, 90, fee=1),  # today: -11; its trip -12 (both fees)
            Mark(v=1, bot="b1", seq=5, ts=midnight + 40, prices={"X": 1}),  # 2 lost today
        )
    ):
        store.apply(ev, arrival=midnight + 30 * i)
    clone = checkpoint.decode_state(checkpoint.encode_state(store), config, clock)
    assert metrics_of(clone) == metrics_of(store)
    m = clone.metrics().bots["b1"]
    assert (m.realized_pnl_today, m.largest_loss_today, m.events_lost_today) == (-11.0, -12.0, 2)
    assert m.stale_s_today == pytest.approx(40.0 + 30.0)  # 20 s + 20 s between arrivals, 30 s going on
    day_after = midnight + 86400 + 5
    clone.apply(Mark(v=1, bot="b1", seq=6, ts=day_after, prices={"X": 1}), arrival=day_after)
    m = clone.metrics().bots["b1"]
    assert (m.realized_pnl_today, m.fees_today, m.largest_loss_today, m.events_lost_today) == (0, 0, None, 0)


@pytest.mark.parametrize(
    ("yaml", "key"),
    [
        ("reports:\n  daily:\n    at: '25:00'\n", "reports.daily.at"),
        ("reports:\n  daily:\n    channels: [nowhere]\n", "reports.daily.channels"),
    ],
)
def test_a_bad_report_setting_stops_start_up_naming_file_and_key(tmp_path, yaml: str, key: str) -> None:
    from app.settings import SettingsError, load_settings

    path = tmp_path / "settings.yaml"
    path.write_text(yaml)
    with pytest.raises(SettingsError) as err:
        load_settings(path, env={})
    assert err.value.key == key and str(path) in str(err.value)


def test_without_a_report_channel_nothing_is_queued(rig) -> None:
    svc, sched = rig.start()
    sched.reports.settings = msgspec.convert({"daily": {"channels": []}}, rep.ReportsSettings)
    assert sched.reports.send_daily(rig.clock()) is False
    assert not svc.report_queued(rep.report_key(rig.clock(), ZoneInfo(NY)))


def test_a_report_of_many_bots_fits_one_telegram_message_and_slack_sections() -> None:
    from alerts import notification
    from alerts.channels import slack, telegram
    from alerts.notices import report as report_notice

    store = StateStore(CoreConfig(), clock=lambda: 1.7e9)
    for i in range(80):
        store.apply(_bot_fill(f"bot-{i:02d}-with-a-long-name", 1.7e9))
    body = rep.build(store.metrics(), rep.AlertCounts(), "Daily report 2024-03-09")
    p = dict(report_notice("report:daily:2024-03-09", body, ["c"], 1.7e9, "http://m.test").payload)
    text = telegram.message([p], "http://m.test")
    assert len(text) <= telegram.MAX_CHARS and "more lines" in text
    assert "bot-00-with-a-long-name P&amp;L" in text
    assert "Alerts: fired 0" in text  # the totals and the alerts come first: never the ones cut
    blocks = slack.message([p], "http://m.test")["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) > 1 and all(len(t) <= slack.SECTION_MAX for t in sections)
    lines = [x for t in sections for x in t.split("\n")][1:]  # after the headline: every line, whole
    assert lines == [slack._escape(x) for x in notification.lines(p)]
