"""The /ws push protocol against a real monitor (gunicorn + ZeroMQ), with plain WebSocket clients."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator

import pytest
import websocket

from collectors.publisher import BotPublisher
from tests.support.monitor_process import MonitorProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorProcess]:
    # the smallest send buffer, so a page that stops reading is behind after a few frames
    mon = MonitorProcess(tmp_path_factory.mktemp("dash-ws"), send_buffer_kb=16).start()
    yield mon
    assert mon.proc is not None and mon.proc.poll() is None, "the monitor died during the tests"
    page = connect(mon, "teardown-bot")
    try:
        assert mon.stop() == 0  # SIGTERM with a page open shuts down cleanly (a hang raises RuntimeError)
    finally:
        page.close()


def connect(monitor: MonitorProcess, bot: str, **kw) -> websocket.WebSocket:
    url = monitor.url.replace("http://", "ws://") + f"/ws?bot={bot}"
    return websocket.create_connection(url, timeout=5, **kw)


def frames_until(ws: websocket.WebSocket, predicate, timeout: float = 1.0) -> list[dict]:
    """Read frames until one satisfies predicate; fail after timeout."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ws.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            frame = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
        seen.append(frame)
        if predicate(frame):
            return seen
    raise AssertionError(f"no matching frame within {timeout}s; got {len(seen)} frames")


def equity_shown(frame: dict, text: str) -> bool:
    status = frame["s"].get("status")
    return bool(status) and any(item[1] == text for item in status["items"])


def test_first_frame_is_full_then_deltas_chain_and_resync_gives_full(monitor: MonitorProcess) -> None:
    with BotPublisher("ws-bot", monitor.zmq) as pub:
        pub.account(10_000.0)
        ws = connect(monitor, "ws-bot")
        first = json.loads(ws.recv())
        assert first["full"] and first["base"] is None
        assert {"status", "tb-positions", "cards-risk", "ch-equity", "kv-monitor"} <= set(first["s"])
        pub.account(10_001.0)
        frames = frames_until(ws, lambda f: equity_shown(f, "10,001.00"))
        chain = [first, *frames]
        for prev, nxt in itertools.pairwise(chain):
            assert not nxt["full"] and nxt["base"] == prev["seq"]
        assert "tb-positions" not in frames[-1]["s"]  # only changed sections travel
        ws.send(json.dumps({"op": "resync", "n": 1}))
        assert frames_until(ws, lambda f: f["full"])[-1]["s"]["status"]["label"] == "ws-bot"
        ws.close()


def test_frames_are_coalesced_not_one_per_event(monitor: MonitorProcess) -> None:
    with BotPublisher("burst-bot", monitor.zmq) as pub:
        pub.account(1.0)
        ws = connect(monitor, "burst-bot")
        json.loads(ws.recv())
        for i in range(2000):
            pub.account(20_000.0 + i)
        frames = frames_until(ws, lambda f: equity_shown(f, "21,999.00"), timeout=3)
        assert len(frames) < 50, f"{len(frames)} frames for 2000 events: not coalesced"
        ws.close()


def test_a_stuck_page_does_not_slow_ingest_or_other_pages(monitor: MonitorProcess) -> None:
    with BotPublisher("slow-bot", monitor.zmq) as pub:
        pub.account(1.0)
        stuck = connect(monitor, "slow-bot", sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        healthy = connect(monitor, "slow-bot")
        json.loads(healthy.recv())
        # ~3 s of frames that each carry a large positions table (400 symbols), far more than the
        # stuck page's socket buffers hold: its thread blocks on send, nobody else may notice.
        deadline, i = time.monotonic() + 3.0, 0
        while time.monotonic() < deadline:
            pub.account(30_000.0 + i)
            pub.fill(f"f{i}", f"o{i}", f"SYM{i % 400}", "buy", 1.0, 100.0 + i % 7)
            i += 1
            if i % 200 == 0:
                time.sleep(0.01)
        last = f"{30_000 + i - 1:,}.00"
        frames_until(healthy, lambda f: equity_shown(f, last), timeout=1.5)
        pub.account(99_999.0)
        frames_until(healthy, lambda f: equity_shown(f, "99,999.00"), timeout=1.0)
        # The stuck page really was stuck: its slot overflowed, so when it reads again it gets a
        # second full snapshot (what it missed was replaced, not queued without bound).
        try:
            later = frames_until(stuck, lambda f: equity_shown(f, "99,999.00"), timeout=10.0)
            assert sum(1 for f in later if f["full"]) >= 2
        finally:
            stuck.close()
            healthy.close()


def test_unknown_paths_do_not_hide_the_api(monitor: MonitorProcess) -> None:
    import urllib.request

    with urllib.request.urlopen(monitor.url + "/api/metrics", timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("application/json")
        assert "collector" in json.loads(resp.read())
    with urllib.request.urlopen(monitor.url + "/", timeout=5) as resp:
        page = resp.read().decode()
    assert 'data-bs-theme="dark"' in page and "cdn" not in page.lower()
