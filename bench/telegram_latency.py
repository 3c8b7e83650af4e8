"""Telegram command and button latency (prints figures; run: .venv/bin/python bench/telegram_latency.py).

A real ``python -m app`` with a two-way Telegram channel whose ``api_url`` is the
local fake Bot API (tests/support/channel_fakes.py), through the real
python-telegram-bot long polling, and 20 bots in a drawdown (20 firing alerts).

1. Command -> reply: ``/status`` injected into the fake's update queue to the reply's
   ``sendMessage`` arriving at the fake; 200 trials, p50/p99 (target p99 <= 200 ms).
2. Press -> edited message: an Ack pressed on each of the 20 alerts to the
   ``editMessageText`` that says who acknowledged it; and press -> answer for 200
   presses on acknowledged alerts (the "already acknowledged" path).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts import buttons
from collectors.publisher import BotPublisher
from tests.support.channel_fakes import TG_TOKEN, FakeBotAPI
from tests.support.monitor_process import MonitorProcess
from tests.support.waiting import wait_until

OPERATOR, CHAT, BOTS, TRIALS = 111, -100, 20, 200


def _yaml(api_url: str) -> str:
    return (
        "alerts:\n  channels:\n    telegram:\n"
        f"      token: '{TG_TOKEN}'\n      chat_ids: [{CHAT}]\n      api_url: '{api_url}'\n"
        f"      operators: [{OPERATOR}]\n"
        "  routes:\n    critical: {channels: [telegram], repeat_interval_s: 3600}\n"
        "    warning: {channels: []}\n    info: {channels: []}\n"
    )


def _publish(endpoint: str, stop: threading.Event) -> None:
    pubs = [BotPublisher(f"bot{i:02d}", endpoint, connect_timeout=30) for i in range(BOTS)]
    try:
        for pub in pubs:
            pub.account(100_000.0, currency="USD")
        while not stop.is_set():
            for pub in pubs:
                pub.account(80_000.0, currency="USD")  # a 20 % drawdown: critical
            stop.wait(0.5)
    finally:
        for pub in pubs:
            pub.close(0)


def _alerts(url: str) -> list[dict]:
    with urllib.request.urlopen(url + "/api/alerts", timeout=5) as resp:
        return json.loads(resp.read())["active"]


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _print(label: str, samples_s: list[float]) -> None:
    ms = [s * 1000 for s in samples_s]
    print(
        f"{label}: n={len(ms)} p50={statistics.median(ms):.1f} ms p99={_pct(ms, 0.99):.1f} ms "
        f"max={max(ms):.1f} ms"
    )


def _commands(fake: FakeBotAPI) -> list[float]:
    out = []
    for _ in range(TRIALS):
        n = len(fake.sent)
        update = fake.message(OPERATOR, CHAT, "/status")
        wait_until(lambda n=n: len(fake.sent) > n, timeout=10, interval=0.001)
        out.append(fake.sent[n]["at"] - fake.injected_at[update["update_id"]])
    return out


def _presses(fake: FakeBotAPI, alert_ids: list[str]) -> tuple[list[float], list[float]]:
    edits, answers = [], []
    for aid in alert_ids:
        n = len(fake.edited)
        update = fake.press(OPERATOR, CHAT, buttons.ack_data(aid) or "")
        wait_until(lambda n=n: len(fake.edited) > n, timeout=10, interval=0.001)
        edits.append(fake.edited[n]["at"] - fake.injected_at[update["update_id"]])
    for i in range(TRIALS):
        n = len(fake.answered)
        update = fake.press(OPERATOR, CHAT, buttons.ack_data(alert_ids[i % len(alert_ids)]) or "")
        wait_until(lambda n=n: len(fake.answered) > n, timeout=10, interval=0.001)
        answers.append(fake.answered[n]["at"] - fake.injected_at[update["update_id"]])
    return edits, answers


def main() -> None:
    fake = FakeBotAPI(max_poll_s=25).start()
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        mon = MonitorProcess(Path(tmp), extra_yaml=_yaml(fake.url)).start()
        feeder = threading.Thread(target=_publish, args=(mon.zmq, stop), daemon=True)
        feeder.start()
        try:
            wait_until(lambda: len([a for a in _alerts(mon.url) if a["status"] == "firing"]) >= BOTS, 60)
            wait_until(lambda: fake.sent, 30)  # the alert messages went out: the link is polling
            _print("command /status -> reply", _commands(fake))
            ids = [a["alert_id"] for a in _alerts(mon.url) if a["status"] == "firing"]
            edits, answers = _presses(fake, ids)
            _print("button Ack -> edited message", edits)
            _print("button press on an acknowledged alert -> answer", answers)
        finally:
            stop.set()
            feeder.join(10)
            mon.stop()
            fake.stop()


if __name__ == "__main__":
    main()
