"""ZeroMQ CURVE on the collector over real TCP: listed bots get in, nobody else's bytes reach the store.

Every refused attempt is counted (``collector.unauthorized`` in /api/metrics),
both for a CURVE client with an unlisted key (refused by the ZAP handler) and
for a client without CURVE at all (refused by the handshake itself).
"""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
import zmq
import zmq.auth

from app.dashboard.monitor_panel import monitor_kv
from app.dashboard.view_input import ViewInput
from app.hub import Hub
from collectors.curve import CurveConfig, load_or_create_server_keys
from collectors.publisher import BotPublisher
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
from core.config import CoreConfig
from core.documents import MetricsDocument
from core.store import StateStore
from tests.support.documents import metrics_of
from tests.support.dying_sink import DyingSink
from tests.support.http import get_json
from tests.support.ingest import Ingest
from tests.support.ports import free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


#: the bot ids the keys of these tests publish as
NAMES = frozenset({"trusted", "trader", "my-bot", "listed"})


def _config(tmp_path: Path, *keys: bytes) -> CurveConfig:
    public, secret = load_or_create_server_keys(tmp_path / "data")
    return CurveConfig(public, secret, dict.fromkeys(keys, NAMES))


def _events(ingest: Ingest, bot: str) -> int:
    doc = metrics_of(ingest.hub)["bots"].get(bot)
    return doc["events"]["received"] if doc else 0


def test_only_listed_bots_get_in_and_every_refusal_is_counted(tmp_path: Path, ingest_factory) -> None:
    good_public, good_secret = zmq.curve_keypair()
    config = _config(tmp_path, good_public)
    ingest = ingest_factory(curve=config)
    stranger_public, stranger_secret = zmq.curve_keypair()
    intruders = [
        # a CURVE client whose key is not listed
        BotPublisher(
            "intruder-key",
            ingest.endpoint,
            connect_timeout=0,
            curve_public_key=stranger_public,
            curve_secret_key=stranger_secret,
            monitor_public_key=config.public_key,
        ),
        # a bot without CURVE at all
        BotPublisher("intruder-plain", ingest.endpoint, connect_timeout=0),
    ]
    try:
        for pub in intruders:
            for _ in range(20):
                pub.account(equity=-1e6)
        # both kinds of attempt are seen and counted, over the real API
        wait_until(lambda: ingest.metrics()["collector"]["unauthorized"] >= 2)
        with BotPublisher(
            "trusted",
            ingest.endpoint,
            curve_public_key=good_public,
            curve_secret_key=good_secret,
            monitor_public_key=config.public_key,
        ) as pub:
            for i in range(50):
                pub.latency("submit", float(i))
            wait_until(lambda: _events(ingest, "trusted") == 50)
            for intruder in intruders:
                intruder.account(equity=-2e6)  # still sending while the trusted bot is connected
            pub.account(equity=12_345.0)
        wait_until(lambda: _events(ingest, "trusted") == 51)
    finally:
        for pub in intruders:
            pub.close(linger_s=0)
    doc = ingest.metrics()
    assert set(doc["bots"]) == {"trusted"}
    assert doc["bots"]["trusted"]["equity"] == 12_345.0
    assert doc["collector"]["received"] == 51  # nothing of theirs was even received
    assert doc["collector"]["rejected"] == 0
    assert doc["collector"]["curve"] is True


def test_a_collector_without_curve_reports_it(ingest: Ingest) -> None:
    collector = ingest.metrics()["collector"]
    assert collector["curve"] is False and collector["unauthorized"] == 0


def test_the_raw_pyzmq_curve_example_of_the_docs_delivers(tmp_path: Path, ingest_factory) -> None:
    text = (ROOT / "docs" / "events.md").read_text()
    example = next(
        b.split("```", 1)[0] for b in text.split("```python\n")[1:] if "curve_serverkey" in b and "XPUB" in b
    )
    bot_public, _ = zmq.auth.create_certificates(str(tmp_path), "my-bot")
    bot_public = zmq.auth.load_certificate(bot_public)[0]
    ingest = ingest_factory(curve=_config(tmp_path, bot_public))
    script = tmp_path / "bot.py"
    script.write_text(example.replace("tcp://127.0.0.1:5556", ingest.endpoint))
    # as the bot would run it: its own process, in the directory holding its key files
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    wait_until(lambda: _events(ingest, "my-bot") == 1)
    assert metrics_of(ingest.hub)["bots"]["my-bot"]["equity"] == 10250.0
    assert ingest.metrics()["collector"]["unauthorized"] == 0


def _start(sink, endpoint: str, mode: str, curve: CurveConfig) -> CollectorSupervisor:
    sup = CollectorSupervisor(Collector(sink, [Endpoint(endpoint, mode)], curve=curve), restart_delay_s=0.1)

    def started() -> bool:
        try:
            sup.start()
        except zmq.ZMQError:  # the previous socket's port is released asynchronously after close
            return False
        return True

    wait_until(started)
    return sup


@pytest.mark.parametrize("mode", ["bind", "connect"])
def test_replay_requests_travel_over_curve_in_both_directions(tmp_path: Path, mode: str) -> None:
    bot_public, bot_secret = zmq.curve_keypair()
    curve = _config(tmp_path, bot_public)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    hub = Hub(StateStore(CoreConfig(), time.time))
    dying = DyingSink(hub)
    sup = _start(dying, endpoint, "bind" if mode == "bind" else "connect", curve)
    keys = {
        "curve_public_key": bot_public,
        "curve_secret_key": bot_secret,
        "monitor_public_key": curve.public_key,
    }
    if mode == "bind":  # the monitor binds, the bot connects
        pub = BotPublisher("trader", endpoint, **keys)
    else:  # the bot binds, the monitor connects: its socket is still the CURVE server
        pub = BotPublisher("trader", endpoint, bind=True, connect_timeout=0, **keys)
        pub.wait_connected(5.0)

    def seen() -> int:
        doc = hub.metrics().bots.get("trader")
        return doc.events.received + doc.events.lost if doc else 0

    try:
        for i in range(20):
            pub.latency("submit", float(i))
        wait_until(lambda: seen() == 20)
        dying.dead = True  # taken off the socket, never applied: only a replay brings them back
        for i in range(30):
            pub.latency("submit", float(i))
        wait_until(lambda: dying.dropped == 30)
        sup.stop()
        sup = _start(hub, endpoint, "bind" if mode == "bind" else "connect", curve)

        def caught_up() -> bool:
            if seen() >= pub.seq:
                return True
            pub.heartbeat()  # the next event shows the gap; the request goes up the CURVE link
            return False

        wait_until(caught_up, interval=0.05)
        events = hub.metrics().bots["trader"].events
        assert events.lost == 0
        assert events.recovered >= 30  # and any heartbeat sent before the monitor was back
        assert hub.metrics().bots["trader"].latency_ms.count == 50
        assert pub.replays_answered >= 1
        assert msgspec.convert(sup.status(), dict)["unauthorized"] == 0
    finally:
        pub.close(linger_s=0)
        sup.stop()


def test_a_real_monitor_creates_its_keys_and_serves_only_listed_bots(monitor_process) -> None:
    bot_public, bot_secret = zmq.curve_keypair()
    mon = monitor_process()
    settings = mon.config.read_text().replace(
        "collector:\n",
        f'collector:\n  curve: {{enabled: true, authorized_keys: {{"{bot_public.decode()}": [listed]}}}}\n',
        1,
    )
    mon.config.write_text(settings)
    mon.start()
    data = mon.config.parent / "data"
    public_path, secret_path = data / "curve" / "monitor.key", data / "curve" / "monitor.key_secret"
    assert stat.S_IMODE(secret_path.stat().st_mode) == 0o600
    monitor_public = zmq.auth.load_certificate(public_path)[0]  # what the operator hands to bots
    stranger = BotPublisher("stranger", mon.zmq, connect_timeout=0)
    try:
        stranger.heartbeat()
        wait_until(lambda: get_json(mon.url + "/api/metrics")[1]["collector"]["unauthorized"] >= 1)
        with BotPublisher(
            "listed",
            mon.zmq,
            curve_public_key=bot_public,
            curve_secret_key=bot_secret,
            monitor_public_key=monitor_public,
        ) as pub:
            pub.account(equity=777.0)
        wait_until(lambda: "listed" in get_json(mon.url + "/api/metrics")[1]["bots"])
    finally:
        stranger.close(linger_s=0)
    doc = get_json(mon.url + "/api/metrics")[1]
    assert set(doc["bots"]) == {"listed"} and doc["bots"]["listed"]["equity"] == 777.0
    # the Health tab's monitor table, built from the very document served
    rows = {row[0]: row[1] for row in monitor_kv(_view_input(doc))}
    assert rows["Bot authentication"].startswith("CURVE")
    assert rows["Unauthorized attempts"] == f"{doc['collector']['unauthorized']:,}" != "0"


def _view_input(doc: dict) -> ViewInput:
    return ViewInput(
        view="ALL",
        metrics=msgspec.convert(doc, MetricsDocument),
        states={},
        now=time.time(),
        stale_after_s=10.0,
        listen_info={},
    )


def test_a_key_bound_to_one_bot_cannot_publish_as_another(tmp_path: Path, ingest_factory) -> None:
    a_public, a_secret = zmq.curve_keypair()
    b_public, b_secret = zmq.curve_keypair()
    public, secret = load_or_create_server_keys(tmp_path / "data")
    config = CurveConfig(public, secret, {a_public: frozenset({"bot-a"}), b_public: frozenset({"bot-b"})})
    ingest = ingest_factory(curve=config)

    def publisher(name: str, key: tuple[bytes, bytes]) -> BotPublisher:
        return BotPublisher(
            name, ingest.endpoint, curve_public_key=key[0], curve_secret_key=key[1], monitor_public_key=public
        )

    with publisher("bot-b", (b_public, b_secret)) as real_b:
        real_b.health(kill_switch="armed")
        wait_until(lambda: _events(ingest, "bot-b") == 1)
        with publisher("bot-b", (a_public, a_secret)) as forged:  # bot-a's key, sending as bot-b
            forged.health(kill_switch="triggered")
            forged.send_raw(b"replay_unavailable", b'{"bot":"bot-b","run":null,"from":0,"to":9}')
        with publisher("bot-a", (a_public, a_secret)) as real_a:
            real_a.heartbeat()
        wait_until(lambda: ingest.metrics()["collector"]["rejected"] == 2 and _events(ingest, "bot-a") == 1)
    doc = ingest.metrics()
    assert doc["bots"]["bot-b"]["health"]["kill_switch"] == "armed"
    assert doc["bots"]["bot-b"]["events"]["rejected"] == 0  # the victim's own counters are untouched
    assert doc["collector"]["rejected_by_reason"] == {"key_not_for_bot": 2}
    reject = ingest.hub.state("bot-a").recent_rejects[0]
    assert reject.reason == "key_not_for_bot" and "'bot-b'" in reject.detail
