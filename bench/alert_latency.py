"""Alert latency and flood benchmark (prints figures; run: .venv/bin/python bench/alert_latency.py).

1. Latency: a ``health`` event with ``kill_switch: triggered`` is published over
   ZeroMQ (BotPublisher -> real collector -> Hub -> AlertService evaluator ->
   SQLite outbox -> webhook worker) to the request arriving at a local HTTP
   server; 200 trials, p50/p99 (target p99 < 250 ms).
2. Flood: 10,000 threshold crossings in 10 s (200 bots toggling their circuit
   breaker); checks Slack-style 1 msg/s is respected, every notification row is
   delivered, and the webhook saw no duplicate idempotency key.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.config import AlertsSettings
from alerts.service import AlertService
from app.hub import Hub
from collectors.publisher import BotPublisher
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
from core.config import CoreConfig
from core.storage_settings import StorageSettings
from core.store import StateStore
from tests.support.ports import free_port


class Receiver:
    """A local HTTP server recording (arrival perf_counter, path, headers, body) of every POST."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, dict, dict]] = []
        self.cond = threading.Condition()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with outer.cond:
                    outer.log.append((at, self.path, dict(self.headers), json.loads(body or b"{}")))
                    outer.cond.notify_all()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def wait(self, pred, timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: pred(self.log), timeout)


def build(cfg: dict, data_dir: str):
    hub = Hub(StateStore(CoreConfig(), time.time))
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    sup = CollectorSupervisor(Collector(hub, [Endpoint(endpoint)], 65536), restart_delay_s=0.1)
    svc = AlertService(
        hub,
        msgspec.convert(cfg, AlertsSettings),
        StorageSettings(data_dir=data_dir),
        dashboard_url="http://dash",
        stale_after_s=3600,
    )
    sup.start()
    svc.start()
    return hub, sup, svc, endpoint


def latency(trials: int = 200) -> None:
    rx = Receiver()
    cfg = {
        "channels": {"hook": {"type": "webhook", "urls": [rx.url + "/hook"]}},
        "routes": {"critical": {"channels": ["hook"]}},
        "events": {"stale": False},
    }
    with tempfile.TemporaryDirectory() as d:
        _hub, sup, svc, endpoint = build(cfg, d)
        ms: list[float] = []
        with BotPublisher("lat", endpoint) as pub:
            for i in range(trials):
                n = len(rx.log)
                t0 = time.perf_counter()
                pub.health(kill_switch="triggered")
                if not rx.wait(lambda log, n=n: len(log) > n):
                    raise SystemExit(f"trial {i}: no webhook request within 10 s")
                ms.append((rx.log[n][0] - t0) * 1000)
                pub.health(kill_switch="armed")
                rx.wait(lambda log, n=n: len(log) > n + 1)
                time.sleep(0.02)
        svc.stop()
        sup.stop()
    q = statistics.quantiles(ms, n=100)
    print(
        f"latency ZeroMQ health(kill_switch=triggered) -> webhook request, {trials} trials: "
        f"p50 {statistics.median(ms):.1f} ms, p99 {q[98]:.1f} ms, max {max(ms):.1f} ms "
        f"({'PASS' if q[98] < 250 else 'FAIL'} target p99 < 250 ms)"
    )


def flood(bots: int = 200, crossings: int = 10_000, seconds: float = 10.0) -> None:
    rx = Receiver()
    cfg = {
        "channels": {
            "hook": {"type": "webhook", "urls": [rx.url + "/hook"]},
            "slack": {"type": "slack", "webhook_url": rx.url + "/slack"},
        },
        "routes": {"critical": {"channels": ["hook", "slack"]}},
        "events": {"stale": False},
    }
    with tempfile.TemporaryDirectory() as d:
        _hub, sup, svc, endpoint = build(cfg, d)
        ctx = zmq.Context.instance()
        pubs = [BotPublisher(f"f{i:03d}", endpoint, context=ctx) for i in range(bots)]
        per_bot = crossings // bots
        t_start = time.perf_counter()
        for k in range(per_bot):  # each round flips every bot's breaker: `bots` crossings
            state = "open" if k % 2 == 0 else "closed"
            for p in pubs:
                p.health(circuit_breaker=state)
            time.sleep(max(0.0, t_start + (k + 1) * seconds / per_bot - time.perf_counter()))
        for p in pubs:
            p.health(circuit_breaker="closed")
        sent_s = time.perf_counter() - t_start
        db = Path(d) / "alerts.sqlite3"

        def pending() -> int:
            with sqlite3.connect(db, timeout=10) as c:
                return c.execute("SELECT COUNT(*) FROM notifications WHERE status!='sent'").fetchone()[0]

        deadline = time.perf_counter() + 120
        time.sleep(1.0)
        while pending() and time.perf_counter() < deadline:
            time.sleep(0.2)
        with sqlite3.connect(db) as c:
            rows = c.execute(
                "SELECT channel, status, COUNT(*) FROM notifications GROUP BY channel, status"
            ).fetchall()
            idems = {r[0] for r in c.execute("SELECT idem FROM notifications WHERE channel='hook'")}
        svc.stop()
        sup.stop()
        for p in pubs:
            p.close(0)
    hook = [h.get("Idempotency-Key") for _, path, h, _ in rx.log if path == "/hook"]
    slack_t = sorted(at for at, path, _, _ in rx.log if path == "/slack")
    worst = max((sum(1 for t in slack_t if s <= t < s + 1.0) for s in slack_t), default=0)
    slack_alerts = sum(
        len([b for b in body["blocks"] if b["type"] == "section"])
        for _, path, _, body in rx.log
        if path == "/slack"
    )
    print(f"flood: {crossings} crossings by {bots} bots published in {sent_s:.1f} s; outbox rows {rows}")
    print(
        f"  webhook: {len(hook)} requests, {len(set(hook))} distinct keys, "
        f"duplicates {len(hook) - len(set(hook))}, "
        f"missing {len(idems - set(hook))}"
    )
    print(
        f"  slack: {len(slack_t)} digest messages, max {worst} in any 1 s window (limit 1/s), "
        f"{slack_alerts} alert sections shown (the rest counted as '... and N more')"
    )


if __name__ == "__main__":
    latency()
    flood()
