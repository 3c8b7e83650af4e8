"""Hostile names over real ZeroMQ into a real ``python -m app``: bounded memory, nothing uncounted.

One publisher sends 100,000 distinct symbols, latency ops, error components,
API names and bot ids, interleaved with the events of a well-behaved bot.
Every message must end up counted as applied or rejected (under the reason of
the bound it hit), the good bot loses nothing, the collector never restarts,
and the process's RSS grows by no more than the documented budget
(docs/metrics.md, "Memory budget") for what these bounds let it hold.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import psutil
import websocket

from tests.support.durability import RawBot
from tests.support.http import get_json
from tests.support.monitor_process import MonitorProcess
from tests.support.waiting import wait_until

N = 100_000  # distinct names of each kind
T0 = 1_800_000_000.0
GOOD_EVERY = 50  # one event of the good bot per this many hostile messages
MB = 1024 * 1024
#: docs/metrics.md, "Memory budget": growth for max_bots bots and one bot at every per-bot name cap.
BUDGET_PER_BOT = 64 * 1024
BUDGET_NAMES = 16 * MB


def _hostile() -> Iterator[tuple[str, dict]]:
    """(topic, body) of 100k distinct names of each kind, all from the bot ``hostile`` but the bot ids."""
    seq = 0
    for kind in ("symbols", "ops", "components", "apis", "bots"):
        for i in range(N):
            ts = T0 + seq * 1e-4
            bot = f"hb-{i:06d}" if kind == "bots" else "hostile"
            body: dict = {"v": 1, "bot": bot, "seq": 0 if kind == "bots" else seq, "ts": ts}
            if kind == "symbols":
                yield "mark", {**body, "prices": {f"S{i:06d}": 1.0}}
            elif kind == "ops":
                yield "latency", {**body, "op": f"op{i:06d}", "ms": 1.0}
            elif kind == "components":
                yield "error", {**body, "component": f"c{i:06d}", "message": "x", "severity": "error"}
            elif kind == "apis":
                yield "health", {**body, "apis": {f"api{i:06d}": "down"}}
            else:
                yield "heartbeat", body
            seq += 1


class PageReader(threading.Thread):
    """A page's WebSocket, read as fast as frames come: how often the page updates under attack."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.ws = websocket.create_connection(url.replace("http://", "ws://") + "/ws", timeout=1)
        self.frames: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketException, OSError):
                return
            self.frames.append(time.monotonic())

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.frames if start <= t <= end)

    def close(self) -> None:
        self.done.set()
        self.join(5)
        self.ws.close()


def _metrics(url: str) -> dict:
    return get_json(url + "/api/metrics")[1]


def test_100k_distinct_names_of_each_kind_are_bounded_counted_and_lose_no_good_event(
    tmp_path: Path,
) -> None:
    monitor = MonitorProcess(tmp_path, extra_yaml="alerts:\n  events:\n    stale: false\n").start()
    bot = RawBot(monitor.zmq)
    enc = msgspec.json.encode
    try:
        bot.wait_subscribed()
        bot.send(b"heartbeat", enc({"v": 1, "bot": "good", "seq": 0, "ts": T0}))
        wait_until(lambda: "good" in _metrics(monitor.url)["bots"], timeout=20)
        proc = psutil.Process(monitor.proc.pid)
        rss_before = proc.memory_info().rss
        page = PageReader(monitor.url)
        page.start()
        flood_start = time.monotonic()
        sent, good = 1, 1
        for n, (topic, body) in enumerate(_hostile(), start=1):
            bot.send(topic.encode(), enc(body))
            sent += 1
            if n % GOOD_EVERY == 0:
                ts = T0 + n * 1e-4
                bot.send(
                    b"latency", enc({"v": 1, "bot": "good", "seq": good, "ts": ts, "op": "submit", "ms": 5.0})
                )
                sent, good = sent + 1, good + 1
            if n % 20_000 == 0:  # keep the monitor's socket queue short: nothing is dropped on the way
                wait_until(lambda n=sent: _metrics(monitor.url)["collector"]["received"] >= n, timeout=60)
        wait_until(lambda: _metrics(monitor.url)["collector"]["received"] == sent, timeout=60)
        flood_end = time.monotonic()
        doc = _metrics(monitor.url)
        rss_after = proc.memory_info().rss
        page.close()
    finally:
        bot.close()
        monitor.stop()  # the monitor process must not outlive the test
    frames = page.between(flood_start, flood_end)
    print(f"page frames during the flood: {frames} in {flood_end - flood_start:.1f} s")
    # the server pushes at least one frame per refresh_s (1 s): a page that froze would get none
    assert frames >= int(flood_end - flood_start) // 2
    collector = doc["collector"]
    reasons = collector["rejected_by_reason"]
    applied = sum(b["events"]["received"] for b in doc["bots"].values())
    assert applied + collector["rejected"] == sent == collector["received"]
    assert reasons == {
        "too_many_symbols": N - 1000,
        "too_many_ops": N - 100,
        "too_many_components": N - 100,
        "too_many_apis": N - 50,
        "too_many_bots": N - (1000 - 2),  # "good" and "hostile" hold two of the 1000 places
    }
    good_doc = doc["bots"]["good"]
    counts = {k: good_doc["events"][k] for k in ("received", "rejected", "lost", "seq_resets", "recovered")}
    assert counts == {"received": good, "rejected": 0, "lost": 0, "seq_resets": 0, "recovered": 0}
    assert collector["restarts"] == 0 and collector["alive"] is True
    hostile = doc["bots"]["hostile"]
    assert len(hostile["errors"]["by_component"]) == 100 and len(hostile["health"]["apis"]) == 50
    assert len(doc["bots"]) == 1000
    budget = 1000 * BUDGET_PER_BOT + BUDGET_NAMES
    growth = rss_after - rss_before
    print(
        f"RSS {rss_before / MB:.1f} -> {rss_after / MB:.1f} MB (+{growth / MB:.1f}, budget {budget / MB:.0f})"
    )
    assert growth <= budget


def _alert_keys(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "alerts.sqlite3") as db:
        return sorted(k for (k,) in db.execute("SELECT key FROM alerts"))


def test_400_apis_down_in_each_of_10_health_messages_make_one_aggregated_alert(tmp_path: Path) -> None:
    yaml = "limits:\n  max_apis: 10000\nalerts:\n  events:\n    stale: false\n"
    monitor = MonitorProcess(tmp_path, extra_yaml=yaml).start()
    bot = RawBot(monitor.zmq)
    try:
        bot.wait_subscribed()
        for n in range(10):
            apis = {f"api{n}-{i:03d}": "down" for i in range(400)}
            body = {"v": 1, "bot": "flood", "seq": n, "ts": T0 + n, "apis": apis}
            bot.send(b"health", msgspec.json.encode(body))
        wait_until(lambda: _metrics(monitor.url)["collector"]["received"] == 10, timeout=20)
        wait_until(lambda: _alert_keys(tmp_path / "data") != [], timeout=20)
        doc = _metrics(monitor.url)
    finally:
        bot.close()
        monitor.stop()
    assert len(doc["bots"]["flood"]["health"]["apis"]) == 4000
    # one alert for 4000 APIs down, and its escalation (pending until 120 s of it)
    assert _alert_keys(tmp_path / "data") == ["api_down_critical|flood|api=*", "api_down|flood|api=*"]
