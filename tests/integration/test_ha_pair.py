"""A highly available pair: two monitors, one bot, an Alertmanager cluster of two, one receiver.

Everything is real: two ``python -m app`` processes subscribed to the same bot (its
``BotPublisher`` binds, both monitors connect: one socket serves both), two
``prometheus-alertmanager`` processes gossiping as a cluster, and a local HTTP server as
their webhook receiver.  Each kill switch reaches the receiver exactly once, and so does
its resolve, while one Alertmanager and then one monitor is SIGKILLed in turn: nothing
lost (both monitors post to both peers), nothing doubled (Alertmanager's dedup: the same
labels from both monitors are one alert; the cluster's notification log is one send).

Both monitors are CURVE servers with one shared key pair (the bot's socket has one server key),
the bot's public key authorized in both, as docs/ha.md sets the pair up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import zmq

from collectors import curve
from collectors.publisher import BotPublisher
from tests.support.http import get_json
from tests.support.monitor_process import MonitorProcess
from tests.support.ports import free_port
from tests.support.waiting import wait_until

AM_BIN = "/usr/bin/prometheus-alertmanager"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(AM_BIN) is None, reason="prometheus-alertmanager is not installed"),
]

#: How long the second peer waits before it sends what the first did not (the cluster's dedup).
PEER_TIMEOUT_S = 2

AM_CONFIG = """\
route:
  receiver: hook
  group_by: ['...']           # every label set its own group: two label sets would be two notifications
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


class Receiver:
    """The Alertmanagers' webhook receiver: every notification they send, in order."""

    def __init__(self) -> None:
        self.got: list[dict] = []
        received = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, rule: str, status: str) -> int:
        """Notifications of ``rule``'s alert with ``status`` (firing | resolved)."""
        return sum(
            1 for n in self.got if n["status"] == status and n["commonLabels"].get("alertname") == rule
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Alertmanager:
    """One ``prometheus-alertmanager`` of the cluster, on loopback ports."""

    def __init__(self, tmp: Path, receiver: str) -> None:
        self.port, self.cluster_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tmp
        tmp.mkdir()
        (tmp / "am.yml").write_text(AM_CONFIG.format(url=receiver), encoding="utf-8")
        self.proc: subprocess.Popen | None = None

    def start(self, peer: int) -> None:
        cmd = [
            AM_BIN,
            f"--config.file={self.dir / 'am.yml'}",
            f"--storage.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--cluster.listen-address=127.0.0.1:{self.cluster_port}",
            f"--cluster.peer=127.0.0.1:{peer}",
            f"--cluster.peer-timeout={PEER_TIMEOUT_S}s",
            "--cluster.gossip-interval=100ms",
            "--cluster.pushpull-interval=1s",
            "--log.level=warn",
        ]
        with (self.dir / "am.log").open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        try:
            return get_json(self.url + "/api/v2/status")[1]["cluster"]["status"] == "ready"
        except (OSError, KeyError, ValueError):
            return False

    def peers(self) -> int:
        return len(get_json(self.url + "/api/v2/status")[1]["cluster"].get("peers") or [])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _monitor_yaml(ams: list[Alertmanager]) -> str:
    urls = ", ".join(f"'{a.url}'" for a in ams)
    return (
        "alerts:\n"
        "  instance: ha-pair\n"
        "  events: {stale: false}\n"
        "  routes: {critical: {channels: [am]}, warning: {channels: [am]}}\n"
        f"  channels: {{am: {{type: alertmanager, urls: [{urls}], resend_s: 2}}}}\n"
        "  delivery: {backoff_max_s: 1}\n"
    )


def _shared_curve_keys(monitors: list[MonitorProcess]) -> dict[str, bytes]:
    """One monitor key pair for both (a bot's socket has one server key), the bot's pair authorized.

    The first monitor's pair is made as its first start would make it, then copied to the
    second's data directory (docs/ha.md); the bot's keys, for the publisher.
    """
    server_public, _secret = curve.load_or_create_server_keys(monitors[0].config.parent / "data")
    shutil.copytree(monitors[0].config.parent / "data", monitors[1].config.parent / "data")
    bot_public, bot_secret = zmq.curve_keypair()
    keys = f"  curve: {{enabled: true, authorized_keys: {{'{bot_public.decode()}': [b1]}}}}\n"
    for m in monitors:
        m.config.write_text(m.config.read_text().replace("collector:\n", "collector:\n" + keys, 1))
    return {
        "curve_public_key": bot_public,
        "curve_secret_key": bot_secret,
        "monitor_public_key": server_public,
    }


def _firing_in(monitor: MonitorProcess, rule: str) -> bool:
    """The monitor's own alert of ``rule`` is firing (it has decided, and enqueued, the notice)."""
    alerts = get_json(monitor.url + "/api/alerts")[1].get("active", [])
    return any(a.get("rule") == rule and a.get("status") == "firing" for a in alerts)


#: One alert per phase, each of another rule: a new label set, as the next alert of a real day is.
EPISODES = {
    "kill_switch": ({"kill_switch": "triggered"}, {"kill_switch": "armed"}),
    "circuit_breaker": ({"circuit_breaker": "open"}, {"circuit_breaker": "closed"}),
    "api_down": ({"apis": {"exchange": "down"}}, {"apis": {"exchange": "up"}}),
}


def _episode(bot: BotPublisher, receiver: Receiver, rule: str, monitors: list[MonitorProcess]) -> None:
    """One alert and its resolve: the receiver gets each exactly once."""
    fire, clear = EPISODES[rule]
    bot.health(**fire)
    wait_until(lambda: all(_firing_in(m, rule) for m in monitors), timeout=20)
    wait_until(lambda: receiver.count(rule, "firing"), timeout=40)
    # the second peer sends its copy one peer timeout after the first, unless the notification log
    # shows it sent: an alert resolved before then would be announced firing by that peer too
    time.sleep(PEER_TIMEOUT_S + 1.0)
    bot.health(**clear)
    wait_until(lambda: not any(_firing_in(m, rule) for m in monitors), timeout=20)
    wait_until(lambda: receiver.count(rule, "resolved"), timeout=40)
    # the cluster gossips what it sent (every 100 ms here): an Alertmanager killed before its peer
    # heard of a notification leaves that peer to send it again (docs/ha.md, failure matrix)
    time.sleep(1.0)
    assert (receiver.count(rule, "firing"), receiver.count(rule, "resolved")) == (1, 1), rule


def _diagnostics(receiver: Receiver, ams: list[Alertmanager], monitors: list[MonitorProcess]) -> str:
    """What each process said, for a failure's message (the temporary directory may be gone by then)."""
    got = [(n["status"], [a["labels"].get("alertname") for a in n["alerts"]]) for n in receiver.got]
    logs = [f"{p.dir.name}: {(p.dir / 'am.log').read_text()[-6000:]}" for p in ams]
    logs += [f"{p.dir.name} holds {get_json(p.url + '/api/v2/alerts')[1]}" for p in ams if p.ready()]
    logs += [f"{m.log.parent.name}: {m.log.read_text()[-3000:]}" for m in monitors]
    return f"receiver got {got}\n" + "\n".join(logs)


def test_either_monitor_or_either_alertmanager_can_die_and_each_alert_arrives_once(tmp_path) -> None:
    for name in ("m1", "m2"):
        (tmp_path / name).mkdir()
    receiver = Receiver()
    ams = [Alertmanager(tmp_path / "am1", receiver.url), Alertmanager(tmp_path / "am2", receiver.url)]
    bot_endpoint = f"tcp://127.0.0.1:{free_port()}"
    monitors = [
        MonitorProcess(tmp_path / name, connect_to=bot_endpoint, extra_yaml=_monitor_yaml(ams))
        for name in ("m1", "m2")
    ]
    bot = BotPublisher("b1", bot_endpoint, bind=True, connect_timeout=0, **_shared_curve_keys(monitors))
    try:
        ams[0].start(ams[1].cluster_port)
        ams[1].start(ams[0].cluster_port)
        wait_until(lambda: all(a.ready() for a in ams) and all(a.peers() == 2 for a in ams), timeout=30)
        for m in monitors:
            m.start()

        def both_hear() -> bool:
            bot.heartbeat()
            return all("b1" in (get_json(m.url + "/api/metrics")[1].get("bots") or {}) for m in monitors)

        wait_until(both_hear, timeout=30, interval=0.2)
        _episode(bot, receiver, "kill_switch", monitors)
        ams[0].kill()
        _episode(bot, receiver, "circuit_breaker", monitors)
        monitors[0].kill()
        _episode(bot, receiver, "api_down", monitors[1:])
        # both monitors' copies, their state re-sends and the cluster's second peer added nothing:
        # a second peer's copy would come one peer timeout after the first's
        time.sleep(2 * PEER_TIMEOUT_S)
        counts = {
            rule: (receiver.count(rule, "firing"), receiver.count(rule, "resolved")) for rule in EPISODES
        }
        assert counts == dict.fromkeys(EPISODES, (1, 1))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnostics(receiver, ams, monitors)}") from None
    finally:
        for m in monitors:
            m.stop()
        for a in ams:
            a.stop()
        bot.close(linger_s=0)
        receiver.stop()
