"""Two-way Telegram against a local Bot API, through the real python-telegram-bot and a real monitor.

A real ``python -m app`` with a Telegram channel whose ``api_url`` is the local
fake (tests/support/channel_fakes.py ``FakeBotAPI``), ``operators: [111]`` and
``chat_ids: [-100]``; a real ``BotPublisher`` bot.  Every reply is checked against
``/api/metrics`` worded by the presenter, as the dashboard words it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from alerts import buttons
from collectors.publisher import BotPublisher
from core import present
from tests.support.channel_fakes import TG_TOKEN, FakeBotAPI, too_many_requests
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

OPERATOR, CHAT = 111, -100
STRANGER, FOREIGN_CHAT = 222, -999
ONCALL_CHAT = -200  # the escalation's channel: the same bot, another chat, no operators


def _yaml(api_url: str, escalate_after_s: float | None = None, repeat_s: float = 3600) -> str:
    escalate = ""
    if escalate_after_s:
        escalate = f", escalate: [{{after_s: {escalate_after_s}, channels: [oncall]}}]"
    return (
        "alerts:\n"
        "  tick_s: 0.2\n"
        # the bot's own protection is not what these tests watch: one drawdown alert, not two
        "  safety: {protection_missed: false}\n"
        "  channels:\n"
        "    telegram:\n"
        f"      token: '{TG_TOKEN}'\n"
        f"      chat_ids: [{CHAT}]\n"
        f"      api_url: '{api_url}'\n"
        f"      operators: [{OPERATOR}]\n"
        "      timeout_s: 5\n"
        "    oncall:\n"
        "      type: telegram\n"
        f"      token: '{TG_TOKEN}'\n"
        f"      chat_ids: [{ONCALL_CHAT}]\n"
        f"      api_url: '{api_url}'\n"
        "  routes:\n"
        f"    critical: {{channels: [telegram], repeat_interval_s: {repeat_s}{escalate}}}\n"
        "    warning: {channels: []}\n"
        "    info: {channels: []}\n"
    )


def _get(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path, timeout=5) as resp:
        return json.loads(resp.read())


class _Bot:
    """A bot publishing its equity and health every 50 ms, with one open BTC position."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.equity, self.kill_switch = endpoint, 100_000.0, "armed"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tg-bot", daemon=True)

    def _run(self) -> None:
        with BotPublisher("b1", self.endpoint, connect_timeout=30) as pub:
            pub.fill("f1", "o1", "BTC", "buy", 0.5, 40_000.0, fee=1.25)
            while not self._stop.is_set():
                pub.mark({"BTC": 40_100.0})
                pub.account(self.equity, currency="USD")
                pub.health(kill_switch=self.kill_switch, circuit_breaker="closed")
                self._stop.wait(0.05)

    def __enter__(self) -> _Bot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI().start()
    yield api
    api.stop()


def _replies(fake: FakeBotAPI, chat: int = CHAT) -> list[str]:
    return [s["text"] for s in fake.sent if int(s["chat_id"]) == chat and not s.get("reply_markup")]


def _ask(fake: FakeBotAPI, text: str) -> str:
    """Send a command as the operator in the operator chat; the reply's text."""
    before = len(_replies(fake))
    fake.message(OPERATOR, CHAT, text)
    wait_until(lambda: len(_replies(fake)) > before, timeout=20)
    return _replies(fake)[before]


def _alert_messages(fake: FakeBotAPI, rule_title: str) -> list[dict]:
    return [s for s in fake.sent if s.get("reply_markup") and f"rule: {rule_title}" in s["text"]]


def _reading_commands(fake: FakeBotAPI, url: str) -> None:
    """Every reading command's figures, as the presenter words /api/metrics."""
    status = _ask(fake, "/status")
    m = _get(url, "/api/metrics")["bots"]["b1"]
    assert f"equity {present.money(m['equity'])} USD" in status
    assert f"drawdown {present.drawdown(m['drawdown'])}" in status
    assert "<b>b1</b> live" in status and "open positions 1 · firing alerts 0" in status
    assert f"USD: equity {present.money(m['equity'])}" in status
    pnl = _ask(fake, "/pnl b1")
    m = _get(url, "/api/metrics")["bots"]["b1"]
    assert f"realized {present.signed(m['realized_pnl'])} USD" in pnl
    assert f"fees {present.fee(m['fees'])}" in pnl
    assert _ask(fake, "/pnl nobody").startswith("Unknown bot nobody")
    positions = _ask(fake, "/positions")
    assert f"BTC {present.qty(0.5)} @ {present.price(40_000.0)}" in positions
    assert "Collector: running" in _ask(fake, "/health")
    assert "Telegram commands: polling · 3 unauthorized attempts" in _ask(fake, "/health")
    assert _ask(fake, "/ack") == "Usage: /ack &lt;alert id&gt;"
    assert _ask(fake, "/alerts") == "No open alert."
    report = _ask(fake, "/report")
    m = _get(url, "/api/metrics")["bots"]["b1"]
    assert report.startswith("<b>Report so far, ")
    assert f"b1 equity: {present.amount(m['equity_day_start'], 'USD')} -&gt; " in report
    assert "Alerts: fired 0" in report


def _strangers_got_nothing(fake: FakeBotAPI, mon) -> None:
    """Nothing at all went to the strangers, their press was not answered; counted, logged once each."""
    assert _replies(fake, FOREIGN_CHAT) == []
    assert fake.answered == []
    assert _get(mon.url, "/api/metrics")["monitor"]["telegram"]["unauthorized"] == 3
    refusals = [x for x in mon.log.read_text().splitlines() if "event=telegram_unauthorized" in x]
    assert len(refusals) == 2  # once per user: the stranger's two attempts are one line


def _ack_button(fake: FakeBotAPI, url: str) -> None:
    """Ack / Silence 1h under the alert; Ack answered, the message edited; a second press changes nothing."""
    wait_until(lambda: _alert_messages(fake, "Max drawdown"), timeout=30)
    (fired,) = _alert_messages(fake, "Max drawdown")
    (alert,) = _get(url, "/api/alerts")["active"]
    keyboard = fired["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [["Ack", "Silence 1h"]]
    assert [b["callback_data"] for b in keyboard[0]] == [
        buttons.ack_data(alert["alert_id"]),
        buttons.silence_data(alert["alert_id"]),
    ]
    assert alert["alert_id"] in _ask(fake, "/alerts")
    fake.press(OPERATOR, CHAT, keyboard[0][0]["callback_data"], fired["message"])
    wait_until(lambda: fake.edited, timeout=20)
    assert fake.answered[-1]["text"] == "Acknowledged."
    (edit,) = fake.edited
    assert f"Acknowledged b1 max_drawdown by telegram:{OPERATOR} at" in edit["text"]
    assert "reply_markup" not in edit or not edit["reply_markup"]["inline_keyboard"]
    (acked,) = _get(url, "/api/alerts")["active"]
    assert acked["acked_by"] == f"telegram:{OPERATOR}"
    fake.press(OPERATOR, CHAT, keyboard[0][0]["callback_data"], fired["message"])
    wait_until(lambda: len(fake.answered) == 2, timeout=20)
    assert fake.answered[-1]["text"].startswith(f"Already acknowledged by telegram:{OPERATOR}")
    assert len(fake.edited) == 1


def test_commands_buttons_and_who_may_use_them(fake, monitor_process):
    mon = monitor_process(extra_yaml=_yaml(fake.url, escalate_after_s=10)).start()
    oncall = lambda: [s["text"] for s in fake.sent if int(s["chat_id"]) == ONCALL_CHAT]  # noqa: E731
    with _Bot(mon.zmq) as bot:
        wait_until(lambda: _get(mon.url, "/api/metrics")["bots"].get("b1", {}).get("equity"), timeout=30)
        # the strangers first: an unknown user in the operator chat, the operator in a foreign chat
        fake.message(STRANGER, CHAT, "/status")
        fake.message(OPERATOR, FOREIGN_CHAT, "/status")
        fake.press(STRANGER, CHAT, "a:0123456789abcdef")
        _reading_commands(fake, mon.url)
        _strangers_got_nothing(fake, mon)
        bot.equity = 80_000.0  # a critical drawdown, escalated to the on-call chat after 10 s
        _ack_button(fake, mon.url)
        # a sentinel alert, raised later: its escalation reaches the on-call chat, and the
        # on-call worker delivers in enqueue order, so the acknowledged one's would be in by then
        bot.kill_switch = "triggered"
        wait_until(lambda: any("rule: Kill switch" in t for t in oncall()), timeout=30)
    assert not [t for t in oncall() if "rule: Max drawdown" in t]  # the acknowledged alert never escalated
    assert len(_alert_messages(fake, "Max drawdown")) == 1


def test_updates_sent_while_down_are_answered_at_start_and_never_twice(fake, monitor_process):
    fake.message(OPERATOR, CHAT, "/help")
    fake.message(OPERATOR, CHAT, "/alerts", date=time.time() - 3600)  # older than max_update_age_s
    fake.press(OPERATOR, CHAT, "s:0123456789abcdef:3600")  # a press is not dated: found waiting, too old
    fake.press(OPERATOR, CHAT, "a:0123456789abcdef")  # an ack is applied if its alert is still open
    mon = monitor_process(extra_yaml=_yaml(fake.url)).start()
    wait_until(lambda: len(_replies(fake)) == 2 and len(fake.answered) == 2, timeout=30)
    assert [a["text"] for a in fake.answered] == [
        "Too old, not applied.",
        "No open alert 0123456789abcdef: resolved or unknown, nothing done.",
    ]
    first, old = _replies(fake)
    assert "/status" in first and "/silence" in first
    assert old.startswith("/alerts: too old (1 h 00 min ago), not applied")

    mon.stop()
    mon.start()  # the same data directory: the offset was kept
    assert _ask(fake, "/ack 0123456789abcdef").startswith("No open alert 0123456789abcdef")
    assert len(_replies(fake)) == 3


def test_conflict_is_shown_and_not_retried_in_a_loop_and_retry_after_is_honoured(fake, monitor_process):
    fake.fail["getUpdates"] = [too_many_requests(2)]
    mon = monitor_process(extra_yaml=_yaml(fake.url)).start()
    _ask(fake, "/help")
    first, second = fake.calls["getUpdates"][:2]
    assert second - first >= 1.9  # waited the 2 s Telegram asked for

    fake.fail["sendMessage"] = [too_many_requests(1)]  # a reply under flood control: sent after 1 s
    before = len(fake.calls.get("sendMessage", []))
    _ask(fake, "/help")
    refused, sent = fake.calls["sendMessage"][before : before + 2]
    assert sent - refused >= 0.9

    fake.conflict = True  # another process now polls the same token
    wait_until(
        lambda: _get(mon.url, "/api/metrics")["monitor"]["telegram"]["state"] == "conflict", timeout=30
    )
    link = _get(mon.url, "/api/metrics")["monitor"]["telegram"]
    assert "409 Conflict" in link["error"]
    calls = fake.count("getUpdates")
    time.sleep(3)
    assert fake.count("getUpdates") == calls  # backs off 30 s, not a tight loop
    assert "telegram_conflict" in mon.log.read_text()


def _silence_commands(fake: FakeBotAPI, url: str, alert: dict) -> None:
    """/ack, /silences, /silence (made, refused, bad duration) and /unsilence, as the API sees them."""
    acked = _ask(fake, f"/ack {alert['alert_id']}")
    assert acked.startswith(f"Acknowledged b1 max_drawdown by telegram:{OPERATOR} at ")
    assert _get(url, "/api/alerts")["active"][0]["acked_by"] == f"telegram:{OPERATOR}"
    assert _ask(fake, f"/ack {alert['alert_id']}").startswith("Already acknowledged by telegram:111")
    listed = _ask(fake, "/silences")
    assert alert["silence_id"] in listed and "bot b1, rule max_drawdown (any severity) until" in listed
    made = _ask(fake, "/silence * kill_switch 2h deploy <b>")
    assert made.startswith("Silenced bot every, rule kill_switch") and "deploy &lt;b&gt;" in made
    assert _ask(fake, "/silence * * 2h").startswith("Not silenced: ")
    bad = _ask(fake, "/silence b1 * soon")
    assert bad.startswith("Usage: /silence") and "\n" not in bad
    listed_now = _get(url, "/api/silences")["silences"]
    other = next(s["id"] for s in listed_now if s["rule"] == "kill_switch")
    assert _ask(fake, f"/unsilence {other}") == f"Silence {other} ended."
    assert _ask(fake, f"/unsilence {other}").startswith(f"No active silence {other}")


def test_silence_button_mutes_the_next_repeat_and_the_silence_commands(fake, monitor_process):
    mon = monitor_process(extra_yaml=_yaml(fake.url, repeat_s=4)).start()
    _ask(fake, "/help")  # the link is live: a press from now on is not one found waiting at start
    with _Bot(mon.zmq) as bot:
        wait_until(lambda: _get(mon.url, "/api/metrics")["bots"].get("b1", {}).get("equity"), timeout=30)
        bot.equity = 80_000.0
        wait_until(lambda: _alert_messages(fake, "Max drawdown"), timeout=30)
        (fired,) = _alert_messages(fake, "Max drawdown")
        ack, silence = fired["reply_markup"]["inline_keyboard"][0]
        fake.press(OPERATOR, CHAT, silence["callback_data"], fired["message"])
        wait_until(lambda: fake.answered, timeout=20)
        assert fake.answered[-1]["text"] == "Silenced."
        wait_until(lambda: fake.edited, timeout=20)
        (edit,) = fake.edited
        assert "Silenced b1 max_drawdown for 1 h 00 min (until " in edit["text"]
        assert f"by telegram:{OPERATOR} at" in edit["text"]
        assert edit["reply_markup"]["inline_keyboard"] == [[ack]]  # Ack stays: the silence only mutes
        (alert,) = _get(mon.url, "/api/alerts")["active"]
        assert alert["silenced_by"] == f"telegram:{OPERATOR}"
        fake.press(OPERATOR, CHAT, silence["callback_data"], fired["message"])  # a second press
        wait_until(lambda: len(fake.answered) == 2, timeout=20)
        assert fake.answered[-1]["text"].startswith(f"Already silenced by telegram:{OPERATOR} until")
        assert len(fake.edited) == 1

        _silence_commands(fake, mon.url, alert)

        # past the repeat interval, a sentinel alert on the same channel: the repeat never came
        time.sleep(max(0.0, alert["fired_at"] + 4 + 1.0 - time.time()))
        bot.kill_switch = "triggered"
        wait_until(lambda: _alert_messages(fake, "Kill switch"), timeout=30)
    assert not [s for s in fake.sent if "STILL FIRING" in s["text"]]
