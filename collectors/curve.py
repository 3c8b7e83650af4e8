"""ZeroMQ CURVE for the collector socket (an edge: files, sockets, one thread).

Anyone who can reach an unauthenticated collector port can write any bot's
equity, positions and kill-switch state, so a collector bound beyond loopback
authenticates its bots with CURVE (docs/events.md, "Authenticated bots"): the
monitor's socket is the CURVE server whatever side binds, each bot is a client
with its own key pair, and only the public keys listed in settings may send.

* :func:`load_or_create_server_keys` keeps the monitor's key pair in the data
  directory: created on first start, secret file owner-only (0600), in the
  certificate format of ``zmq.auth`` (``zmq.auth.load_certificate`` reads it);
  the public key is also written on its own, for operators to hand to bots.
* :class:`CurveGuard` answers ZAP (the ZeroMQ authentication protocol) for
  the collector's socket: a client key on the list is let in, with the key
  itself as its ZAP User-Id, which ZeroMQ then attaches to every message of
  that connection (so the collector can check that the key publishes only as
  the bots it is bound to); any other key is refused and counted.  A client
  that does not speak CURVE at all (or uses the wrong monitor key) never
  reaches ZAP; the socket monitor reports its failed handshake and the guard
  counts that too.  Refused connections never
  deliver a message, so nothing of theirs can reach the store.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth
from zmq.utils import z85
from zmq.utils.monitor import parse_monitor_message

log = logging.getLogger(__name__)

KEY_DIR = "curve"
KEY_NAME = "monitor"
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"collector"
_MONITOR_EVENTS = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
_LOG_EVERY_S = 60.0  # one warning per refused key per minute: a reconnecting client cannot flood the log


@dataclass(frozen=True)
class CurveConfig:
    """The monitor's key pair (z85); each bot client's z85 public key and the bot ids it may send as."""

    public_key: bytes
    secret_key: bytes
    authorized: Mapping[bytes, frozenset[str]] = field(default_factory=dict)

    def bots_of_key(self) -> dict[str, frozenset[str]]:
        """ZAP User-Id (the z85 key as text) -> the bot ids that key may publish as."""
        return {key.decode("ascii"): bots for key, bots in self.authorized.items()}


class KeyFileError(PermissionError):
    """The monitor's key file cannot be trusted or read: start-up stops with this message."""


def is_public_key(text: str) -> bool:
    """True for a 40-character z85 string that decodes to a 32-byte key."""
    if len(text) != 40:
        return False
    try:
        return len(z85.decode(text.encode("ascii"))) == 32
    except (ValueError, KeyError, OverflowError, TypeError, struct.error):
        return False


def key_paths(data_dir: str | Path) -> tuple[Path, Path]:
    """(public file, secret file) of the monitor's key pair in ``data_dir``."""
    base = Path(data_dir) / KEY_DIR
    return base / f"{KEY_NAME}.key", base / f"{KEY_NAME}.key_secret"


def _certificate(public: bytes, secret: bytes | None) -> str:
    """The ZPL text zmq.auth writes and reads."""
    lines = [
        "#   ZeroMQ CURVE certificate of the bot monitor's collector",
        "#   Give bots the public key; never share the secret file.",
        "metadata",
        "curve",
        f'    public-key = "{public.decode("ascii")}"',
    ]
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode("ascii")}"')
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str, mode: int) -> None:
    """Write then rename, so a crash never leaves half a key; the mode is set before any byte."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_or_create_server_keys(data_dir: str | Path) -> tuple[bytes, bytes]:
    """The monitor's (public, secret) z85 keys; created on first start, owner-only.

    A secret file readable by group or others is refused rather than used: the
    key it holds may already be someone else's.
    """
    public_path, secret_path = key_paths(data_dir)
    if not secret_path.exists():
        secret_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        public, secret = zmq.curve_keypair()
        _write_private(secret_path, _certificate(public, secret), 0o600)
        _write_private(public_path, _certificate(public, None), 0o644)
        log.info("created the collector's CURVE key pair in %s", secret_path.parent)
    if os.name == "posix" and secret_path.stat().st_mode & 0o077:
        raise KeyFileError(f"{secret_path} is readable by others: run chmod 600 {secret_path}")
    public, secret = zmq.auth.load_certificate(secret_path)
    if not public or not secret:
        raise KeyFileError(f"{secret_path} holds no CURVE key pair")
    if not public_path.exists():
        _write_private(public_path, _certificate(public, None), 0o644)
    return public, secret


def make_server(sock: zmq.Socket, config: CurveConfig) -> None:
    """Make ``sock`` a CURVE server that asks ZAP about every client (before bind/connect)."""
    sock.curve_secretkey = config.secret_key
    sock.curve_publickey = config.public_key
    sock.curve_server = True
    sock.zap_domain = ZAP_DOMAIN
    sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)  # no ZAP handler answering = nobody gets in


class CurveGuard:
    """The ZAP handler of one context, and the counter of refused attempts.

    Runs in its own thread with its own two sockets (the ZAP REP socket and
    the data socket's monitor), so checking a key never waits for ingest and
    ingest never waits for a key check.
    """

    def __init__(self, context: zmq.Context, config: CurveConfig, monitor_endpoint: str) -> None:
        self._ctx = context
        #: raw 32-byte key -> its z85 text, the User-Id every message of that client carries
        self._authorized = {z85.decode(k): k for k in config.authorized}
        self._monitor_endpoint = monitor_endpoint
        self.refused = 0  # written by the guard thread only; read by status()
        self._last_logged: dict[bytes, float] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start answering; returns once the ZAP endpoint is bound (before any client can connect)."""
        self._thread = threading.Thread(target=self._run, name="collector-curve", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            zap = self._ctx.socket(zmq.REP)
            zap.linger = 0
            zap.bind(ZAP_ENDPOINT)
            mon = self._ctx.socket(zmq.PAIR)
            mon.linger = 0
            mon.connect(self._monitor_endpoint)
        except zmq.ZMQError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        poller = zmq.Poller()
        poller.register(zap, zmq.POLLIN)
        poller.register(mon, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                for sock, _ in poller.poll(100):
                    if sock is zap:
                        self._answer(zap)
                    else:
                        self._note(mon)
        finally:
            zap.close(0)
            mon.close(0)

    def _answer(self, zap: zmq.Socket) -> None:
        """One ZAP request: 200 for a listed key, 400 for anything else (even a malformed request)."""
        frames = zap.recv_multipart()
        request_id = frames[1] if len(frames) > 1 else b""
        ok = (
            len(frames) >= 7
            and frames[0] == b"1.0"
            and frames[2] == ZAP_DOMAIN
            and frames[5] == b"CURVE"
            and frames[6] in self._authorized
        )
        if not ok:
            self.refused += 1
            key = frames[6] if len(frames) >= 7 and len(frames[6]) == 32 else b""
            address = frames[3].decode("ascii", "replace") if len(frames) > 3 else "?"
            shown = z85.encode(key).decode("ascii") if key else "(none)"
            self._log_refusal(key, f"refused a CURVE client from {address} with unlisted key {shown}")
        status, text = (b"200", b"OK") if ok else (b"400", b"key not authorized")
        user = self._authorized[frames[6]] if ok else b""
        zap.send_multipart([b"1.0", request_id, status, text, user, b""])

    def _log_refusal(self, key: bytes, text: str) -> None:
        now = time.monotonic()
        if now - self._last_logged.get(key, -_LOG_EVERY_S) < _LOG_EVERY_S:
            return
        if len(self._last_logged) > 1000:
            self._last_logged.clear()  # bounded: many keys just log again
        self._last_logged[key] = now
        log.warning("collector: %s", text)

    def _note(self, mon: zmq.Socket) -> None:
        """A failed handshake that ZAP never saw: no CURVE, or not our key (AUTH ones ZAP counted)."""
        try:
            event = parse_monitor_message(mon.recv_multipart())
        except (ValueError, zmq.ZMQError):
            return
        kind = event["event"]
        if kind & (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
            self.refused += 1
            endpoint = event.get("endpoint", b"")
            if isinstance(endpoint, bytes):
                endpoint = endpoint.decode("ascii", "replace")
            why = "no CURVE, or not this monitor's public key"
            self._log_refusal(b"", f"refused a client on {endpoint}: handshake failed ({why})")


def monitor_events() -> int:
    """The socket-monitor events the guard listens to."""
    return int(_MONITOR_EVENTS)


def main(argv: list[str] | None = None) -> int:
    """``python -m collectors.curve keypair``: a new key pair for a bot (public goes in settings.yaml).

    ``python -m collectors.curve monitor-key DATA_DIR``: the monitor's public key (created if new).
    """
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["keypair"]:
        public, secret = zmq.curve_keypair()
        print(f"public: {public.decode()}\nsecret: {secret.decode()}")
        return 0
    if args[:1] == ["monitor-key"] and len(args) == 2:
        print(load_or_create_server_keys(args[1])[0].decode())
        return 0
    print(main.__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
