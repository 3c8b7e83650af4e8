"""The HTTP edge's gate: only the trader's own browser gets in (WSGI middleware).

The dashboard has no login, so being reachable is being trusted.  What a web
page the trader happens to visit can do to a loopback service is therefore
the threat, and this middleware runs before every handler (the page, ``/api/*``,
Dash's ``_dash-*`` endpoints, the ``/ws`` WebSocket) to shut it out:

* **Host allow-list** (DNS rebinding): a hostile name resolved to 127.0.0.1 makes
  the browser send ``Host: evil.example:8050``.  Only loopback names on the served
  port, the address the server was told to bind, the host of
  ``server.public_url`` and ``server.allowed_hosts`` pass; anything else is 400.
* **Origin** (cross-site requests, cross-site WebSockets): every ``/ws`` handshake
  and every state-changing request (any method but GET/HEAD/OPTIONS: Save,
  Acknowledge, Test Alert, and any later command are all Dash POSTs) must carry an
  ``Origin`` equal to the served origin, or, without ``Origin``,
  ``Sec-Fetch-Site: same-origin``.  Otherwise 403.
* **CSRF token bound to the page**: serving the page sets a cookie
  ``botmonitor_csrf_<port>`` = ``nonce.HMAC(key, nonce)`` (``SameSite=Strict``);
  Dash's renderer copies that cookie into an ``X-CSRF-Token`` header on each of
  its requests (``csrf_token_name``/``csrf_header_name`` of the Dash app).  A
  state-changing request needs the header, equal to the cookie, with a valid
  HMAC: another site can neither read the cookie nor mint a token.  The key lives
  in the data directory (owner-only), so a page stays valid across a restart.
* **Security headers** on every response: ``X-Frame-Options: DENY`` and CSP
  ``frame-ancestors 'none'`` (no clickjacking of Acknowledge), ``nosniff``,
  ``Referrer-Policy: no-referrer``.
* **Body cap**: a request body over ``max_body`` bytes is refused (413) before any
  handler reads it.

Each refusal is counted by reason (``refused()``, shown as ``monitor.web_refused``
in /api/metrics and on the Health tab) and logged, at most once per reason per
few seconds so a hostile page cannot flood the log.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # requests and WebSocket messages from the page: the form is a few kB
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
#: Reasons a request is refused (the keys of ``refused()``).
REASONS = ("host", "origin", "ws_origin", "csrf", "too_large")
_LOG_EVERY_S = 5.0

Wsgi = Callable[[dict, Callable], Iterable[bytes]]


def _host_port(value: str) -> tuple[str, int | None]:
    """``"Example.com:8050"`` -> ``("example.com", 8050)``; ``"[::1]"`` -> ``("[::1]", None)``."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[: end + 1], value[end + 1 :]
    else:
        host, _, rest = value.partition(":")
        rest = ":" + rest if rest else ""
    if not rest:
        return host, None
    if not rest.startswith(":") or not rest[1:].isdigit():
        return "", None  # malformed: matches nothing
    return host, int(rest[1:])


def _bracketed(host: str) -> str:
    """IPv6 literals are written ``[::1]`` in a Host header."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host.lower()


@dataclass(frozen=True)
class HostRule:
    host: str
    port: int | None  # None: any port (or none)

    def matches(self, host: str, port: int | None) -> bool:
        return host == self.host and (self.port is None or port == self.port)


def host_rules(
    bind_host: str, port: int, public_url: str | None, allowed_hosts: Iterable[str]
) -> tuple[HostRule, ...]:
    """The Host values that are this server: loopback and the bound address on the served port,
    the public URL's host, and every ``allowed_hosts`` entry (``name`` or ``name:port``)."""
    rules = [HostRule(name, port) for name in LOOPBACK_NAMES]
    if port == 80:
        rules += [HostRule(name, None) for name in LOOPBACK_NAMES]
    if bind_host and bind_host not in ("0.0.0.0", "::", "*", ""):
        rules.append(HostRule(_bracketed(bind_host), port))
    if public_url:
        parts = urlsplit(public_url)
        if parts.hostname:
            rules.append(HostRule(_bracketed(parts.hostname), None))
    for entry in allowed_hosts:
        host, p = _host_port(entry)
        if host:
            rules.append(HostRule(host, p))
    return tuple(rules)


def load_key(directory: str | Path | None) -> bytes:
    """The CSRF signing key: kept owner-only in ``directory`` so open pages survive a restart.

    Without a usable directory the key lives in memory only (pages reload after a restart).
    """
    if directory is None:
        return secrets.token_bytes(32)
    path = Path(directory) / "web_csrf.key"
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        try:
            key = path.read_bytes()
            if len(key) >= 32 and not (os.name == "posix" and path.stat().st_mode & 0o077):
                return key
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(key)
        return key
    except OSError as exc:
        log.warning("CSRF key not kept in %s (%s): open pages must reload after a restart", directory, exc)
        return secrets.token_bytes(32)


class WebGuard:
    """WSGI middleware around the Flask app; see the module docstring for what it refuses."""

    def __init__(
        self,
        app: Wsgi,
        *,
        hosts: tuple[HostRule, ...],
        port: int,
        key: bytes,
        public_url: str | None = None,
        ws_path: str = "/ws",
        max_body: int = MAX_BODY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app, self.hosts, self.key = app, hosts, key
        self.cookie_name = f"botmonitor_csrf_{port}"  # cookies ignore ports: one per served port
        self.public_origin = _origin_of(public_url) if public_url else None
        self.ws_path, self.max_body, self.clock = ws_path, max_body, clock
        self._counts = dict.fromkeys(REASONS, 0)
        self._logged: dict[str, float] = {}
        self._lock = threading.Lock()

    # ---- what others read -------------------------------------------------------------
    def refused(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def new_token(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(nonce)}"

    def token_valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 1:
            return False
        nonce, mac = token.split(".")
        return bool(nonce) and hmac.compare_digest(mac, self._sign(nonce))

    # ---- the middleware ------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        reason = self.check(environ)
        if reason is not None:
            return self._refuse(environ, start_response, reason)
        cookie = self._cookie(environ)
        issue = None if self.token_valid(cookie) else self.new_token()

        def start(status: str, headers: list, exc_info: Any = None) -> Any:
            headers = [h for h in headers if h[0].lower() not in _SECURITY_NAMES] + list(SECURITY_HEADERS)
            if issue is not None and _is_html(headers):
                headers.append(("Set-Cookie", self._cookie_header(issue, environ)))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, start)

    def check(self, environ: dict) -> str | None:
        """The reason to refuse this request, or None to let it through."""
        host, port = _host_port(environ.get("HTTP_HOST") or "")
        if not any(rule.matches(host, port) for rule in self.hosts):
            return "host"
        if _body_length(environ) > self.max_body:
            return "too_large"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        websocket = (
            environ.get("PATH_INFO") == self.ws_path
            or (environ.get("HTTP_UPGRADE") or "").lower() == "websocket"
        )
        if websocket and not self._same_origin(environ):
            return "ws_origin"
        if method in SAFE_METHODS:
            return None
        if not self._same_origin(environ):
            return "origin"
        if not self._csrf_ok(environ):
            return "csrf"
        return None

    def _same_origin(self, environ: dict) -> bool:
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return environ.get("HTTP_SEC_FETCH_SITE") == "same-origin"
        origin = origin.strip().lower()
        host = (environ.get("HTTP_HOST") or "").strip().lower()
        served = {f"http://{host}", f"https://{host}"}
        if self.public_origin:
            served.add(self.public_origin)
        return origin in served

    def _csrf_ok(self, environ: dict) -> bool:
        header = environ.get("HTTP_" + CSRF_HEADER.upper().replace("-", "_"))
        cookie = self._cookie(environ)
        return bool(header) and header == cookie and self.token_valid(header)

    def _cookie(self, environ: dict) -> str | None:
        """This port's token cookie, read by hand: SimpleCookie drops every cookie after one it
        cannot parse, and other local services may set such cookies for 127.0.0.1."""
        for part in (environ.get("HTTP_COOKIE") or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name == self.cookie_name:
                return value.strip().strip('"')
        return None

    def _cookie_header(self, token: str, environ: dict) -> str:
        secure = "; Secure" if environ.get("wsgi.url_scheme") == "https" else ""
        return f"{self.cookie_name}={token}; Path=/; SameSite=Strict{secure}"

    def _sign(self, nonce: str) -> str:
        return hmac.new(self.key, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def _refuse(self, environ: dict, start_response: Callable, reason: str) -> Iterable[bytes]:
        with self._lock:
            self._counts[reason] += 1
            count = self._counts[reason]
            now = self.clock()
            loud = now - self._logged.get(reason, -1e18) >= _LOG_EVERY_S
            if loud:
                self._logged[reason] = now
        if loud:
            log.warning(
                "refused %s %s: %s (Host %r, Origin %r; %d refused for this reason so far)",
                environ.get("REQUEST_METHOD"),
                (environ.get("PATH_INFO") or "")[:200],
                _WHY[reason],
                (environ.get("HTTP_HOST") or "")[:200],
                (environ.get("HTTP_ORIGIN") or "")[:200],
                count,
            )
        status = _STATUS[reason]
        body = f"{status}: {_WHY[reason]}\n".encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *SECURITY_HEADERS,
        ]
        start_response(status, headers)
        return [body]


_SECURITY_NAMES = frozenset(name.lower() for name, _ in SECURITY_HEADERS)
_STATUS = {
    "host": "400 Bad Request",
    "origin": "403 Forbidden",
    "ws_origin": "403 Forbidden",
    "csrf": "403 Forbidden",
    "too_large": "413 Content Too Large",
}
_WHY = {
    "host": "unknown Host (allowed: loopback, server.public_url, server.allowed_hosts)",
    "origin": "cross-origin request",
    "ws_origin": "cross-origin WebSocket",
    "csrf": "missing or invalid CSRF token (reload the page)",
    "too_large": f"request body over {MAX_BODY} bytes",
}


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _is_html(headers: list) -> bool:
    return any(k.lower() == "content-type" and v.lower().startswith("text/html") for k, v in headers)


def _body_length(environ: dict) -> int:
    """Declared length; a chunked body of unknown length is bounded by Flask's MAX_CONTENT_LENGTH."""
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return MAX_BODY + 1


def install(
    flask_app: Any,
    *,
    bind_host: str,
    port: int,
    public_url: str | None,
    allowed_hosts: Iterable[str],
    key_dir: str | Path | None,
    ws_path: str = "/ws",
) -> WebGuard:
    """Put the guard in front of ``flask_app`` (every route, including Dash's and /ws)."""
    guard = WebGuard(
        flask_app.wsgi_app,
        hosts=host_rules(bind_host, port, public_url, allowed_hosts),
        port=port,
        key=load_key(key_dir),
        public_url=public_url,
        ws_path=ws_path,
    )
    flask_app.wsgi_app = guard
    flask_app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # bodies without a declared length
    flask_app.config["CSRF_COOKIE_NAME"] = guard.cookie_name  # what the Dash renderer echoes
    flask_app.config["CSRF_HEADER_NAME"] = CSRF_HEADER
    return guard
