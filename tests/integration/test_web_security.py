"""One test per attack on the dashboard's HTTP edge, against a real monitor (gunicorn + ZeroMQ).

Each attack is refused, counted in ``monitor.web_refused``, and changes nothing on disk
(settings.yaml and the secrets file compared byte for byte before and after).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket

from tests.support.monitor_process import MonitorProcess

pytestmark = pytest.mark.slow

ACK = {
    "output": "atab-ack-status.children",
    "outputs": {"id": "atab-ack-status", "property": "children"},
    "inputs": [{"id": "atab-ack-req", "property": "data", "value": {"id": "no-such-alert"}}],
    "changedPropIds": ["atab-ack-req.data"],
    "state": [],
}
SECRETS = "ALERTS_WEBHOOK_URLS_0: https://hooks.example.org/T0/s3cret-token-1234\n"


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorProcess]:
    home = tmp_path_factory.mktemp("web-security")
    (home / "secrets.yaml").write_text(SECRETS, encoding="utf-8")
    (home / "secrets.yaml").chmod(0o600)
    extra = (
        "secrets_file: secrets.yaml\n"
        "server:\n  threads: 24\n  allowed_hosts: [monitor.lan]\n"
        "alerts:\n  channels:\n    webhook: {urls: ['${ALERTS_WEBHOOK_URLS_0}']}\n"
    )
    mon = MonitorProcess(home, extra_yaml=extra)
    text = mon.config.read_text().replace("dashboard:\n", "dashboard:\n  max_clients: 16\n")
    mon.config.write_text(text)
    mon.start()
    yield mon
    mon.stop()


def on_disk(mon: MonitorProcess) -> tuple[bytes, bytes]:
    secrets = mon.config.parent / "secrets.yaml"
    return mon.config.read_bytes(), secrets.read_bytes() if secrets.exists() else b""


def refused(mon: MonitorProcess) -> dict[str, int]:
    return requests.get(mon.url + "/api/metrics", timeout=5).json()["monitor"]["web_refused"]


def page_session(mon: MonitorProcess) -> tuple[requests.Session, str]:
    """A same-origin browser: loads the page, keeps its cookie, returns (session, token)."""
    s = requests.Session()
    resp = s.get(mon.url + "/", timeout=5)
    assert resp.status_code == 200
    name = f"botmonitor_csrf_{mon.port}"
    return s, s.cookies[name]


def post_ack(mon: MonitorProcess, session: requests.Session | None = None, **headers: str) -> int:
    s = session or requests.Session()
    resp = s.post(mon.url + "/_dash-update-component", json=ACK, headers=headers, timeout=5)
    return resp.status_code


def test_dns_rebinding_host_is_refused_before_any_handler(monitor: MonitorProcess) -> None:
    before = refused(monitor)["host"]
    for path in ("/", "/api/metrics", "/api/health", "/_dash-layout", "/ws", "/assets/dashboard.js"):
        resp = requests.get(monitor.url + path, headers={"Host": f"evil.example:{monitor.port}"}, timeout=5)
        assert resp.status_code == 400, path
        assert "bots" not in resp.text
    assert requests.get(monitor.url + "/api/metrics", timeout=5).status_code == 200  # 127.0.0.1 passes
    ok = {f"localhost:{monitor.port}", "monitor.lan", f"monitor.lan:{monitor.port}"}
    for host in ok:
        assert requests.get(monitor.url + "/api/health", headers={"Host": host}, timeout=5).status_code == 200
    assert refused(monitor)["host"] == before + 6


def test_cross_origin_websocket_is_refused_and_same_origin_streams(monitor: MonitorProcess) -> None:
    url = monitor.url.replace("http://", "ws://") + "/ws?bot=b1"
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(url, timeout=5, origin="http://evil.example")
    assert err.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(url, timeout=5, suppress_origin=True)  # no Origin, no Sec-Fetch-Site
    ws = websocket.create_connection(url, timeout=5)  # websocket-client sends the served origin
    try:
        frame = json.loads(ws.recv())
        assert isinstance(frame, dict)
    finally:
        ws.close()
    assert refused(monitor)["ws_origin"] >= 2


@pytest.mark.parametrize(
    "attack",
    ["cross-origin with the page's token", "same-origin without token", "forged token", "no origin"],
)
def test_state_changing_request_without_origin_and_token_is_refused(
    monitor: MonitorProcess, attack: str
) -> None:
    files = on_disk(monitor)
    s, token = page_session(monitor)
    before = sum(refused(monitor).values())
    headers = {
        "cross-origin with the page's token": {"Origin": "http://evil.example", "X-CSRF-Token": token},
        "same-origin without token": {"Origin": monitor.url},
        "forged token": {"Origin": monitor.url, "X-CSRF-Token": "abc.def"},
        "no origin": {"X-CSRF-Token": token},
    }[attack]
    if attack == "forged token":
        s.cookies.set(f"botmonitor_csrf_{monitor.port}", "abc.def")
    assert post_ack(monitor, s, **headers) == 403
    assert sum(refused(monitor).values()) == before + 1
    assert on_disk(monitor) == files
    # the same page with its own token and origin is let through (the refusal above was the guard)
    s2, token2 = page_session(monitor)
    assert post_ack(monitor, s2, Origin=monitor.url, **{"X-CSRF-Token": token2}) == 200
    assert post_ack(monitor, s2, **{"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": token2}) == 200


def test_security_headers_on_every_response(monitor: MonitorProcess) -> None:
    for path in ("/", "/api/metrics", "/assets/dashboard.js", "/nope"):
        h = requests.get(monitor.url + path, timeout=5).headers
        assert h["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "no-referrer"
    cookie = requests.get(monitor.url + "/", timeout=5).headers["Set-Cookie"]
    assert "SameSite=Strict" in cookie


def test_oversized_body_is_refused_unread(monitor: MonitorProcess) -> None:
    _, token = page_session(monitor)
    files = on_disk(monitor)
    head = (
        f"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1:{monitor.port}\r\n"
        f"Origin: {monitor.url}\r\nX-CSRF-Token: {token}\r\n"
        f"Cookie: botmonitor_csrf_{monitor.port}={token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", monitor.port), timeout=5) as sock:
        sock.sendall(head.encode() + b"{" * 1000)
        status = sock.recv(200).split(b"\r\n", 1)[0]
    assert b" 413 " in status
    assert on_disk(monitor) == files


def open_page(url: str, wait_until) -> websocket.WebSocket:
    """A page that got its slot (a page closed just before may still hold one for a moment)."""
    got: list[websocket.WebSocket] = []

    def connected() -> bool:
        ws = websocket.create_connection(url, timeout=5)
        try:
            ws.recv()
        except websocket.WebSocketConnectionClosedException:
            ws.close()
            return False
        got.append(ws)
        return True

    wait_until(connected, timeout=5)
    return got[0]


def test_max_clients_idle_pages_leave_health_and_page_answering(monitor: MonitorProcess, wait_until) -> None:
    url = monitor.url.replace("http://", "ws://") + "/ws?bot=b1"
    pages = [open_page(url, wait_until) for _ in range(16)]  # dashboard.max_clients, each streaming
    try:
        assert requests.get(monitor.url + "/api/health", timeout=5).status_code == 200
        assert requests.get(monitor.url + "/", timeout=5).status_code == 200
        s, token = page_session(monitor)
        assert post_ack(monitor, s, Origin=monitor.url, **{"X-CSRF-Token": token}) == 200
    finally:
        for ws in pages:
            ws.close()


def test_settings_refuse_max_clients_that_would_take_every_worker_thread(tmp_path: Path) -> None:
    from app.settings import SettingsError, load_settings

    cfg = tmp_path / "settings.yaml"
    cfg.write_text("server: {threads: 64}\ndashboard: {max_clients: 100}\n")
    with pytest.raises(SettingsError) as err:
        load_settings(cfg)
    assert err.value.key == "dashboard.max_clients" and "server.threads" in err.value.reason
