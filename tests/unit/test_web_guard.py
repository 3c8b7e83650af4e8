"""The web guard's decisions, one WSGI call each (no server): which Host, Origin and token pass."""

from __future__ import annotations

import pytest

from app.web_guard import CSRF_HEADER, MAX_BODY, WebGuard, host_rules, load_key

PORT = 8050


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", environ.get("test.type", "text/html; charset=utf-8"))])
    return [b"ok"]


def guard(**kw) -> WebGuard:
    rules = host_rules(kw.pop("bind", "127.0.0.1"), PORT, kw.pop("public_url", None), kw.pop("allowed", ()))
    return WebGuard(app, hosts=rules, port=PORT, key=b"k" * 32, **kw)


def call(g: WebGuard, method: str = "GET", path: str = "/", **env: str) -> tuple[str, dict]:
    seen: dict = {}

    def start(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_HOST": f"127.0.0.1:{PORT}", **env}
    b"".join(g(environ, start))
    return seen["status"], dict(seen["headers"])


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        (f"127.0.0.1:{PORT}", True),
        (f"localhost:{PORT}", True),
        (f"LOCALHOST:{PORT}", True),
        (f"[::1]:{PORT}", True),
        ("monitor.example.org", True),  # public_url's host, any port (a proxy may drop it)
        ("monitor.example.org:443", True),
        ("ops.lan:9000", True),  # allowed_hosts entry with its port
        ("ops.lan:9001", False),
        ("any.lan", True),  # allowed_hosts entry without a port
        ("127.0.0.1:8051", False),  # loopback, but not the served port
        ("localhost", False),
        (f"evil.example:{PORT}", False),  # DNS rebinding
        (f"127.0.0.1:{PORT}@evil.example", False),
        (f"127.0.0.1.evil.example:{PORT}", False),
        ("", False),
    ],
)
def test_host_allow_list(host: str, ok: bool) -> None:
    g = guard(public_url="https://monitor.example.org/", allowed=["ops.lan:9000", "any.lan"])
    status, _ = call(g, "GET", "/api/metrics", HTTP_HOST=host)
    assert status.startswith("200") is ok
    assert g.refused()["host"] == (0 if ok else 1)


def test_state_changing_request_needs_origin_and_the_page_token() -> None:
    g = guard()
    token = g.new_token()
    cookie = {"HTTP_COOKIE": f"{g.cookie_name}={token}"}
    origin = {"HTTP_ORIGIN": f"http://127.0.0.1:{PORT}"}
    header = {"HTTP_" + CSRF_HEADER.upper().replace("-", "_"): token}
    assert call(g, "POST", **cookie, **origin, **header)[0].startswith("200")
    assert call(g, "POST", **cookie, **header, HTTP_SEC_FETCH_SITE="same-origin")[0].startswith("200")
    assert call(g, "POST", **cookie, **header)[0].startswith("403")  # no origin at all
    assert call(g, "POST", **cookie, **header, HTTP_ORIGIN="null")[0].startswith("403")
    assert call(g, "POST", **cookie, **header, HTTP_ORIGIN="http://evil.example")[0].startswith("403")
    assert call(g, "POST", **cookie, **origin)[0].startswith("403")  # no header
    forged = WebGuard(app, hosts=(), port=PORT, key=b"x" * 32).new_token()  # another key
    forged_env = {"HTTP_COOKIE": f"{g.cookie_name}={forged}", "HTTP_X_CSRF_TOKEN": forged}
    assert call(g, "POST", **origin, **forged_env)[0].startswith("403")
    messy = {"HTTP_COOKIE": f'other="a,b;c"; x=[1,2]; {g.cookie_name}={token}; y="\\q'}  # other apps'
    assert call(g, "POST", **messy, **origin, **header)[0].startswith("200")
    other = g.new_token()  # valid, but not the one in this page's cookie
    assert call(g, "POST", **cookie, **origin, HTTP_X_CSRF_TOKEN=other)[0].startswith("403")
    assert g.refused() == {"host": 0, "origin": 3, "ws_origin": 0, "csrf": 3, "too_large": 0}


def test_websocket_handshake_needs_the_served_origin() -> None:
    g = guard()
    ws = {"HTTP_UPGRADE": "websocket"}
    assert call(g, "GET", "/ws", **ws, HTTP_ORIGIN=f"http://127.0.0.1:{PORT}")[0].startswith("200")
    assert call(g, "GET", "/ws", **ws, HTTP_ORIGIN="http://evil.example")[0].startswith("403")
    assert call(g, "GET", "/ws")[0].startswith("403")  # no Origin, no Sec-Fetch-Site
    assert g.refused()["ws_origin"] == 2


def test_headers_cookie_and_body_cap() -> None:
    g = guard()
    status, headers = call(g)
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "SameSite=Strict" in headers["Set-Cookie"] and g.token_valid(
        headers["Set-Cookie"].split("=", 1)[1].split(";")[0]
    )
    _, again = call(g, HTTP_COOKIE=f"{g.cookie_name}={g.new_token()}")
    assert "Set-Cookie" not in again  # a valid token is kept: one per page load, not per request
    _, js = call(g, **{"test.type": "application/javascript"})
    assert "Set-Cookie" not in js and js["X-Frame-Options"] == "DENY"
    status, _ = call(g, "POST", CONTENT_LENGTH=str(MAX_BODY + 1))
    assert status.startswith("413")


def test_the_key_is_kept_owner_only_across_restarts(tmp_path) -> None:
    first = load_key(tmp_path)
    assert load_key(tmp_path) == first
    assert (tmp_path / "web_csrf.key").stat().st_mode & 0o777 == 0o600
    (tmp_path / "web_csrf.key").chmod(0o644)  # readable by others: not trusted, replaced
    assert load_key(tmp_path) != first
