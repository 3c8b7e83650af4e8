"""The buttons under Telegram alert messages, the one-poller-per-token rule, and the Health tab's row.

The channel sends through the real python-telegram-bot to the local fake Bot API
(tests/support/channel_fakes.py), which records each message's ``reply_markup``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from alerts import buttons
from alerts.channels import build
from alerts.outbox import Row
from app.dashboard.monitor_panel import _process_rows
from app.runtime import Monitor
from app.settings import load_settings
from app.telegram.links import Links
from core.monitor_documents import MonitorStatus, TelegramLink
from tests.support.alerts import settings
from tests.support.channel_fakes import TG_TOKEN, FakeBotAPI
from tests.support.ports import free_port
from tests.support.waiting import wait_until

BASE = {"severity": "critical", "rule": "max_drawdown", "bot": "b1", "labels": {}, "summary": "dd"}


def _row(alert_id: str, kind: str, i: int = 1, **extra: object) -> Row:
    payload = {"alert_id": alert_id, "kind": kind, "fired_at": 1.7e9, "now": 1.7e9, **BASE, **extra}
    return Row(i, f"{alert_id}:{kind}:{i}", alert_id, "telegram", "-100", kind, 0, payload, 1.7e9, 1)


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI().start()
    yield api
    api.stop()


def _channel(fake: FakeBotAPI, **extra: object):
    cfg = {"type": "telegram", "token": TG_TOKEN, "chat_ids": [-100], "api_url": fake.url, **extra}
    return build(settings(channels={"telegram": cfg}), "http://dash.test")["telegram"]


def _keyboard(sent: dict) -> list[list[tuple[str, str]]]:
    rows = (sent.get("reply_markup") or {}).get("inline_keyboard", [])
    return [[(b["text"], b["callback_data"]) for b in row] for row in rows]


def test_firing_repeat_and_escalation_carry_ack_and_silence_resolve_and_test_do_not(fake):
    ch = _channel(fake, operators=[111])
    try:
        for kind in ("firing", "repeat", "escalation"):
            assert ch.send("-100", [_row("0123456789abcdef", kind)]).status == "delivered"
        ch.send("-100", [_row("0123456789abcdef", "resolved")])
        ch.send("-100", [_row("t1", "test", notification="test")])
        ch.send("-100", [_row("a1", "firing"), _row("a2", "escalation", i=2, bot="<b>x</b>")])
    finally:
        ch.close()
    pair = [("Ack", buttons.ack_data("0123456789abcdef")), ("Silence 1h", "s:0123456789abcdef:3600")]
    assert [_keyboard(s) for s in fake.sent[:3]] == [[pair]] * 3
    assert _keyboard(fake.sent[3]) == [] and _keyboard(fake.sent[4]) == []
    digest = _keyboard(fake.sent[5])
    assert sorted(digest) == [
        [("Ack <b>x</b>/max_drawdown", "a:a2"), ("Silence 1h <b>x</b>/max_drawdown", "s:a2:3600")],
        [("Ack b1/max_drawdown", "a:a1"), ("Silence 1h b1/max_drawdown", "s:a1:3600")],
    ]  # button text is never parsed as markup: the bot's name is shown as it is


def test_send_only_without_operators(fake):
    ch = _channel(fake)
    try:
        ch.send("-100", [_row("0123456789abcdef", "firing")])
    finally:
        ch.close()
    assert "reply_markup" not in fake.sent[0]


class _Poller:
    """Stands in for the polling thread: records what the link manager does with it."""

    made: list[_Poller] = []

    def __init__(self, cfg, operator, offset_file: Path) -> None:
        self.cfg, self.offset_file, self.started, self.stopped = cfg, offset_file, False, False
        _Poller.made.append(self)

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def configure(self, cfg) -> None:
        self.cfg = cfg

    def status(self) -> TelegramLink:
        return TelegramLink(state="polling")


def _alerts(**tg: object):
    cfg = {"type": "telegram", "token": TG_TOKEN, "chat_ids": [-100], "operators": [111], **tg}
    return settings(channels={"telegram": cfg, "copy": {**cfg, "chat_ids": [-200]}})


def test_one_poller_per_token_kept_across_saves(tmp_path):
    _Poller.made = []
    links = Links(operator=None, data_dir=tmp_path, make=_Poller)  # type: ignore[arg-type]
    links.sync(_alerts())
    assert _Poller.made == []  # nothing before the monitor starts
    links.start(_alerts())
    (first,) = _Poller.made  # two channels on one token: one poller
    assert first.started and TG_TOKEN not in first.offset_file.name
    links.sync(_alerts(chat_ids=[-100, -300]))  # a Save that changes the chats: same poller
    assert _Poller.made == [first] and first.cfg.chat_ids == [-100, -300]
    links.sync(_alerts(api_url="http://127.0.0.1:9"))  # a new API URL: a new poller
    assert first.stopped and len(_Poller.made) == 2
    links.sync(_alerts(operators=[]))  # send-only again: no poller
    assert _Poller.made[1].stopped and links.status() is None
    links.stop()


def test_health_tab_shows_the_link_and_a_conflict():
    mon = MonitorStatus(started_at=0.0, uptime_s=1.0, rss_bytes=1, threads=1)
    assert [r[0] for r in _process_rows(mon)] == ["Threads", "Web requests refused"]
    link = TelegramLink(state="conflict", error="another process polls this bot token (409 Conflict)")
    row = _process_rows(msgspec.structs.replace(mon, telegram=link))[-1]
    assert row == [
        "Telegram commands",
        "CONFLICT: another process polls this bot token (409 Conflict)",
        "neg",
    ]


def test_a_save_through_the_monitor_keeps_the_one_poller(tmp_path, fake):
    """The real composition: a Save that rebuilds the channels neither stops nor doubles the link."""
    path = tmp_path / "settings.yaml"
    path.write_text(
        "collector:\n"
        f"  endpoints: [{{url: 'tcp://127.0.0.1:{free_port()}', mode: bind}}]\n"
        "alerts:\n  channels:\n    telegram:\n"
        f"      token: '{TG_TOKEN}'\n      chat_ids: [-100]\n      api_url: '{fake.url}'\n"
        "      operators: [111]\n"
        f"storage:\n  data_dir: {tmp_path / 'data'}\n",
        encoding="utf-8",
    )
    mon = Monitor(load_settings(path))
    try:
        mon.telegram.start(mon.settings.alerts)  # what Monitor.start does for the link
        wait_until(lambda: fake.count("getUpdates") >= 2)
        (poller,) = mon.telegram._pollers.values()
        applied = mon.apply_settings([(("alerts", "channels", "telegram", "chat_ids"), [-100, -300])], {})
        assert applied.saved, applied.message
        assert list(mon.telegram._pollers.values()) == [poller]
        assert poller.gate.chats == {"-100", "-300"}
        assert fake.count("getMe") == 1  # never a second poller, never a restart of this one
    finally:
        mon.stop()
    assert not poller._thread.is_alive()
