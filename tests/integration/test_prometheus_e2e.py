"""A real Prometheus scrapes a real monitor fed by the demo bots: it stores the figures the API serves.

The demo bots run in the test (``collectors.demo.run_demo``, as ``--demo`` runs them) so they
can be paused: once they stop, every figure holds still, and Prometheus's next scrape must
hold exactly what ``/api/metrics`` says, per bot; nothing here waits for a fixed time.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from collectors.demo import run_demo
from tests.support.monitor_process import ROOT, MonitorProcess
from tests.support.ports import free_port
from tests.support.prometheus import binary
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read()


class PrometheusServer:
    """``/usr/bin/prometheus`` scraping one target every second, its data in a temp directory."""

    def __init__(self, tmp: Path, target: str) -> None:
        tmp.mkdir()
        shutil.copy(ROOT / "docs" / "prometheus" / "rules.yml", tmp / "rules.yml")
        config = tmp / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yml]\n"
            f"scrape_configs:\n  - job_name: botmonitor\n    static_configs: [{{targets: ['{target}']}}]\n",
            encoding="utf-8",
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = (tmp / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def query(self, expr: str) -> list[dict[str, Any]]:
        try:
            body = json.loads(_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        except OSError:
            return []
        return body["data"]["result"]

    def by_bot(self, expr: str) -> dict[str, float]:
        return {r["metric"]["bot"]: float(r["value"][1]) for r in self.query(expr)}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def _status(mon: MonitorProcess, path: str, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", mon.port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def _api(mon: MonitorProcess) -> dict[str, Any]:
    return json.loads(_get(mon.url + "/api/metrics"))


def _both(figures: dict[str, float]) -> dict[str, float] | None:
    return figures if set(figures) == {"demo-alpha", "demo-beta"} else None


def _same(prom: PrometheusServer, mon: MonitorProcess) -> bool:
    """Whether Prometheus's latest scrape holds, for every bot, the figures the API serves now."""
    bots = _api(mon)["bots"]
    want = {
        "botmonitor_equity": {b: m["equity"] for b, m in bots.items()},
        "botmonitor_daily_pnl": {b: m["daily_pnl"] for b, m in bots.items()},
        "botmonitor_events_received_total": {b: m["events"]["received"] for b, m in bots.items()},
    }
    return all(prom.by_bot(name) == figures for name, figures in want.items())


def test_prometheus_stores_per_bot_the_figures_of_the_api(tmp_path: Path) -> None:
    promtool = binary("promtool")
    mon = MonitorProcess(tmp_path).start()
    prom = PrometheusServer(tmp_path / "prometheus", f"127.0.0.1:{mon.port}")
    stop = threading.Event()
    demo = threading.Thread(target=run_demo, args=(mon.zmq, stop), kwargs={"period_s": 0.05}, daemon=True)
    demo.start()
    try:
        scraped = wait_until(lambda: _both(prom.by_bot("botmonitor_events_received_total")), timeout=60)
        assert [float(r["value"][1]) for r in prom.query('up{job="botmonitor"}')] == [1.0]
        # every bot moves on after a scrape, so a stale figure at /metrics could not pass below
        wait_until(
            lambda: all(m["events"]["received"] > scraped[b] for b, m in _api(mon)["bots"].items()),
            timeout=60,
            interval=0.1,
        )
        stop.set()  # the bots pause: from now on the figures hold still
        demo.join(10)
        wait_until(lambda: _same(prom, mon), timeout=30, interval=0.2)
        assert set(prom.by_bot("botmonitor_equity")) == {"demo-alpha", "demo-beta"}
        with urllib.request.urlopen(mon.url + "/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            live = r.read()
        check = subprocess.run([promtool, "check", "metrics"], input=live, capture_output=True, timeout=30)
        assert (check.returncode, check.stdout + check.stderr) == (0, b"")
        assert _status(mon, "/metrics", host="attacker.example") == 400  # the web guard's Host rule
    finally:
        stop.set()
        prom.stop()
        mon.stop()
