"""What an operator running the monitor headless reads in its log: one key=value line per event.

A real ``python -m app`` process with a real ZeroMQ bot: the bot's first event,
its silence past the stale threshold, its return and the SIGTERM each leave
their line on the process's output.  Saving settings and a dying collector
thread are driven in-process (the same code paths the form and the
supervisor take), with the lines captured from the logging module.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.runtime import Monitor
from app.settings import load_settings
from collectors.publisher import BotPublisher
from tests.support.ingest import Ingest
from tests.support.monitor_process import ROOT, MonitorProcess
from tests.support.ports import free_port
from tests.support.settings_form import submit
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def fields(text: str) -> dict[str, str]:
    """``event=x a=1 b="two words"`` -> ``{"event": "x", "a": "1", "b": "two words"}``."""
    return {k: json.loads(v) if v.startswith('"') else v for k, v in _PAIR.findall(text)}


def events(text: str) -> list[dict[str, str]]:
    """Every structured line of a log, parsed, in order."""
    return [fields(ln[ln.index("event=") :]) for ln in text.splitlines() if "event=" in ln]


def named(log: Callable[[], str], event: str, **match: str) -> Callable[[], dict[str, str] | None]:
    """A wait condition: the first line of ``event`` whose fields include ``match``."""

    def find() -> dict[str, str] | None:
        for line in events(log()):
            if line["event"] == event and all(line.get(k) == v for k, v in match.items()):
                return line
        return None

    return find


def test_a_headless_monitor_logs_bots_arriving_going_stale_coming_back_and_its_shutdown(
    tmp_path: Path,
) -> None:
    mon = MonitorProcess(tmp_path, stale_after_s=1.0)
    mon.config.write_text(mon.config.read_text().replace("level: WARNING", "level: INFO"))
    mon.start()
    log = mon.log.read_text
    try:
        listening = wait_until(named(log, "monitor_listening"))
        assert listening["zmq"] == f"bind {mon.zmq}"
        assert listening["dashboard"] == mon.url
        with BotPublisher("op-bot", mon.zmq) as pub:
            pub.heartbeat()
            first = wait_until(named(log, "bot_first_seen", bot="op-bot"))
            assert first == {
                "event": "bot_first_seen",
                "bot": "op-bot",
                "first_seq": "0",
                "endpoint": mon.zmq,
            }
            stale = wait_until(named(log, "bot_stale", bot="op-bot"))
            assert stale["threshold_s"] == "1"
            assert float(stale["last_event_age_s"]) > 1.0
            pub.heartbeat()
            back = wait_until(named(log, "bot_back", bot="op-bot"))
            assert float(back["silent_s"]) > 1.0
        assert mon.stop() == 0
    finally:
        mon.stop()
    names = [e["event"] for e in events(log())]
    shutdown = [n for n in names if n in ("shutdown_requested", "shutdown_flushed", "exit")]
    assert shutdown == ["shutdown_requested", "shutdown_flushed", "exit"]
    assert named(log, "shutdown_requested", signal="SIGTERM")()
    assert names[-1] == "exit"
    flushed = named(log, "shutdown_flushed")()
    assert flushed is not None
    assert (flushed["journal"], flushed["uncommitted"]) == ("ok", "0")
    assert int(flushed["committed_batch"]) >= 2  # both heartbeats are on disk
    assert named(log, "exit", code="0")()
    assert [e["event"] for e in events(log())].count("bot_first_seen") == 1


SETTINGS = """\
# settings of the operator log test
collector:
  endpoints:
    - {{url: "tcp://127.0.0.1:{port}", mode: bind}}
  stale_after_s: 30
storage:
  data_dir: {data}
"""


def test_a_saved_settings_change_names_its_keys_never_a_secret_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(SETTINGS.format(port=free_port(), data=tmp_path / "data"))
    monitor = Monitor(load_settings(path))
    caplog.set_level(logging.INFO, logger="app.runtime")
    try:
        secret = "https://hooks.slack.com/services/T000/B000/very-secret-token"
        writer = monitor._require_writer()
        parsed = submit(writer, stale_after_s="45", ch__slack__enabled=True, ch__slack__webhook_url=secret)
        assert parsed.errors == {}, parsed.errors
        applied = monitor.apply_settings(parsed.changes, parsed.secrets)
        assert applied.saved, applied.message
        refused = monitor.apply_settings([(("collector", "stale_after_s"), secret)], {})
        assert not refused.saved
    finally:
        monitor.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "app.runtime"]
    assert all("very-secret-token" not in ln for ln in lines), lines
    saved = [fields(ln) for ln in lines if "event=settings_saved" in ln]
    assert len(saved) == 1
    keys = set(saved[0]["keys"].split(","))
    assert {"collector.stale_after_s", "alerts.channels.slack"} <= keys
    assert saved[0]["file"] == str(path)
    assert saved[0]["secrets"] == "ALERTS_SLACK_WEBHOOK_URL"  # its name; the value is in secrets.yaml
    reloaded = [fields(ln) for ln in lines if "event=settings_reloaded" in ln]
    assert reloaded == [
        {
            "event": "settings_reloaded",
            "source": "dashboard",
            "stale_after_s": "45",
            "rules": "0",
            "channels": "1",
        }
    ]
    not_saved = [fields(ln) for ln in lines if "event=settings_not_saved" in ln]
    assert not_saved == [{"event": "settings_not_saved", "file": str(path), "key": "collector.stale_after_s"}]


def test_a_collector_thread_that_dies_is_logged_and_its_restart_too(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="collectors.zmq_collector")
    ingest.fail_first_apply(monkeypatch)
    with BotPublisher("b1", ingest.endpoint) as pub:
        pub.heartbeat()
        wait_until(lambda: ingest.supervisor.restarts == 1)
    lines = [fields(r.getMessage()) for r in caplog.records if "event=" in r.getMessage()]
    died = [ln for ln in lines if ln["event"] == "collector_died"]
    assert died and died[0]["error"] == "RuntimeError: injected failure"
    assert {"event": "collector_restarted", "restarts": "1"} in lines


def _demo_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def test_the_demo_says_where_it_publishes_and_reports_every_few_seconds(
    ingest: Ingest, tmp_path: Path
) -> None:
    out = tmp_path / "demo.log"
    cmd = [sys.executable, "-m", "collectors.demo", "--endpoint", ingest.endpoint, "--status-every", "1"]
    with out.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_demo_env(), stdout=fh, stderr=subprocess.STDOUT)
    try:
        publishing = wait_until(named(out.read_text, "demo_publishing"), timeout=20)
        assert publishing == {
            "event": "demo_publishing",
            "endpoint": ingest.endpoint,
            "bots": "demo-alpha,demo-beta",
        }
        status = wait_until(named(out.read_text, "demo_status", bot="demo-beta"), timeout=20)
        assert int(status["sent"]) > 0
        assert float(status["equity"]) > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def test_the_monitor_demo_says_where_it_publishes_and_reports(tmp_path: Path) -> None:
    """``python -m app --demo``: the simulated bots' lines are in the monitor's own log."""
    mon = MonitorProcess(tmp_path)
    mon.config.write_text(mon.config.read_text().replace("level: WARNING", "level: INFO"))
    cmd = [sys.executable, "-m", "app", "--demo", "--config", str(mon.config), "--port", str(mon.port)]
    cmd += ["--zmq", mon.zmq]
    with mon.log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_demo_env(), stdout=fh, stderr=subprocess.STDOUT)
    try:
        publishing = wait_until(named(mon.log.read_text, "demo_publishing"), timeout=30)
        assert publishing["endpoint"] == mon.zmq
        assert publishing["bots"] == "demo-alpha,demo-beta"
        status = wait_until(named(mon.log.read_text, "demo_status", bot="demo-alpha"), timeout=15)
        assert int(status["sent"]) > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


def test_a_closed_terminal_sighup_stops_the_monitor_gracefully_with_everything_committed(
    tmp_path: Path,
) -> None:
    mon = MonitorProcess(tmp_path)
    mon.config.write_text(mon.config.read_text().replace("level: WARNING", "level: INFO"))
    mon.start()
    log = mon.log.read_text
    try:
        with BotPublisher("hup-bot", mon.zmq) as pub:
            pub.heartbeat()
            wait_until(named(log, "bot_first_seen", bot="hup-bot"))
        assert mon.stop(sig=signal.SIGHUP) == 0
    finally:
        mon.stop()
    assert named(log, "shutdown_requested", signal="SIGHUP")()
    flushed = named(log, "shutdown_flushed")()
    assert flushed is not None and flushed["uncommitted"] == "0"
