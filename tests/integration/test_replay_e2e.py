"""A real ``python -m app`` killed with SIGKILL while a BotPublisher keeps trading, then started again.

The restarted monitor restores its journal, and the bot replays what the monitor
never applied or never committed (it died with them) and what it published while
the monitor was down: the numbers then equal an uninterrupted run, nothing lost.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from collectors.publisher import BotPublisher
from tests.support.http import get_json
from tests.support.monitor_process import MonitorProcess
from tests.support.recording_bot import RecordingBot
from tests.support.waiting import wait_until

VOLATILE = ("last_event_age_s", "stale")


def _bot_doc(url: str, bot: str) -> dict | None:
    return get_json(url + "/api/metrics")[1]["bots"].get(bot)


def _builtins(doc: object) -> dict:
    return msgspec.json.decode(msgspec.json.encode(doc))


def _seen(url: str, bot: str) -> int:
    doc = _bot_doc(url, bot)
    return doc["events"]["received"] + doc["events"]["lost"] if doc else 0


def test_sigkill_outage_recovered_over_real_zeromq(tmp_path: Path) -> None:
    monitor = MonitorProcess(tmp_path).start()
    pub = BotPublisher("e2e-bot", monitor.zmq)
    bot = RecordingBot(pub)
    try:
        for _ in range(300):
            bot.emit()
        wait_until(lambda: _seen(monitor.url, "e2e-bot") == 300)
        for _ in range(200):  # some of these die with the monitor, unapplied or uncommitted
            bot.emit()
        monitor.kill()
        outage_end = time.monotonic() + 2.0
        while time.monotonic() < outage_end:
            for _ in range(20):
                bot.emit()
            time.sleep(0.05)  # the bot's own pace, not a wait for the monitor
        monitor.start()

        def caught_up() -> bool:
            if _seen(monitor.url, "e2e-bot") >= len(bot.sent):
                return True
            bot.heartbeat()
            return False

        wait_until(caught_up, timeout=30, interval=0.05)
        live = _bot_doc(monitor.url, "e2e-bot")
        reference = bot.reference()
        expected = _builtins(reference.metrics().bots["e2e-bot"])
        assert live["events"]["lost"] == 0
        assert live["events"]["received"] == len(bot.sent)
        for doc in (live, expected):
            for key in VOLATILE:
                doc.pop(key)
            doc["events"].pop("recovered")
        assert live == expected
        state = get_json(monitor.url + "/api/state?bot=e2e-bot")[1]
        assert state == _builtins(reference.state("e2e-bot"))
    finally:
        pub.close(linger_s=0)
        monitor.stop()
