"""Bot-side helper: publish contract-v1 events to the monitor in three lines.

    from collectors.publisher import BotPublisher
    with BotPublisher("my-bot") as pub:
        pub.fill("f1", "o1", "BTC-USD", "buy", 0.5, 64000.0, fee=1.2)

Two ZeroMQ pitfalls are handled here so integrators don't meet them:
* a PUB socket that sends right after connecting loses the first messages
  (the subscriber's subscription hasn't arrived yet): we use an XPUB socket
  and wait until the monitor's subscription is seen before the first send;
* the default high-water mark (1000) drops silently: we raise it so a burst
  of 100k events is queued, not lost.

What ZeroMQ drops anyway (everything published while the monitor is down or
unreachable) is kept in a bounded replay buffer: the monitor asks for the seqs
it missed with a request sent back up the same connection, and a background
thread answers by publishing them again (docs/events.md, "Recovering missed
events").  The socket is shared with the caller's thread under one lock.

The bot never pays for the monitor's recovery: requests for other bots or other
runs are ignored, overlapping requests (several gaps, several monitors) are
merged so each event is re-sent once, and the replay goes out at a bounded rate
(``replay_rate`` events per second) in bursts of a few events per lock hold, so
the bot's own ``send()`` waits at most one short burst.  Each publisher is a new
*run* (``run``, sent in every envelope): seq counts from 0 within it.

A monitor with CURVE enabled (docs/events.md, "Authenticated bots") accepts
only bots whose public key it lists: pass the bot's own key pair and the
monitor's public key (``curve_public_key=``, ``curve_secret_key=``,
``monitor_public_key=``, z85 strings or bytes) and the connection is
encrypted and authenticated, whichever side binds.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
import zmq

from collectors.recovery import REQUEST_TOPIC, decode_range, encode_last, encode_unavailable

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5556"
SEND_HWM = 1_000_000
REPLAY_EVENTS = 100_000  # the replay buffer keeps at least this many events...
REPLAY_SECONDS = 600.0  # ...or this many seconds of them, whichever is more
REPLAY_MAX_BYTES = 256 * 1024 * 1024  # ...but never more payload than this (memory bound)
REPLAY_POLL_S = 0.05  # how often the background thread looks for requests
REPLAY_RATE = 20_000.0  # events re-sent per second at most (``replay_rate=``)
REPLAY_BURST = 8  # events re-sent per lock hold: the longest a bot's own send() waits
_MAX_PENDING_RANGES = 1024  # disjoint ranges waiting to be served (merged beyond: memory bound)
_ENCODE = msgspec.json.Encoder().encode
_TOPIC_BYTES: dict[str, bytes] = {}
log = logging.getLogger(__name__)


def _topic_bytes(topic: str) -> bytes:
    """One bytes object per topic, shared by every buffered event (the contract has a dozen)."""
    name = topic.encode()
    if len(_TOPIC_BYTES) < 64:
        _TOPIC_BYTES[topic] = name
    return name


def new_run_id() -> str:
    """A short id, new at each start: milliseconds since the epoch in base 36, then 6 random digits."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    n, out = time.time_ns() // 1_000_000, ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out + "".join(digits[b % 36] for b in os.urandom(6))


def _subtract(ranges: list[tuple[int, int]], first: int, last: int) -> list[tuple[int, int]]:
    """The parts of ``first..last`` not covered by ``ranges`` (sorted, disjoint)."""
    parts: list[tuple[int, int]] = []
    for a, b in ranges:
        if b < first or a > last:
            continue
        if a > first:
            parts.append((first, a - 1))
        first = b + 1
        if first > last:
            return parts
    parts.append((first, last))
    return parts


def _merge(ranges: list[tuple[int, int]], first: int, last: int) -> list[tuple[int, int]]:
    """``ranges`` (sorted, disjoint) with ``first..last`` added, touching ranges joined."""
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if b < first - 1:
            out.append((a, b))
        elif a > last + 1:
            out.append((first, last))
            first, last = a, b
        else:
            first, last = min(a, first), max(b, last)
    out.append((first, last))
    return sorted(out)


class NotConnected(RuntimeError):
    """The monitor's subscription did not arrive within the timeout."""


class BotPublisher:
    """Fills the envelope (v, bot, run, seq, ts), numbers seq from 0, sends, and answers replay requests."""

    def __init__(
        self,
        bot_id: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        connect_timeout: float = 5.0,
        bind: bool = False,
        clock: Callable[[], float] = time.time,
        context: zmq.Context | None = None,
        replay_events: int = REPLAY_EVENTS,
        replay_seconds: float = REPLAY_SECONDS,
        replay_max_bytes: int = REPLAY_MAX_BYTES,
        replay_rate: float = REPLAY_RATE,
        curve_public_key: str | bytes | None = None,
        curve_secret_key: str | bytes | None = None,
        monitor_public_key: str | bytes | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.clock = clock
        self.run = new_run_id()
        self.seq = 0
        self._init_replays(replay_events, replay_seconds, replay_max_bytes, replay_rate)
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._closed = threading.Event()
        self._open_socket(endpoint, bind, context, (curve_public_key, curve_secret_key, monitor_public_key))
        if connect_timeout > 0:
            self.wait_connected(connect_timeout)
        self._replayer = threading.Thread(target=self._serve_replays, name=f"replay-{bot_id}", daemon=True)
        self._replayer.start()

    def _init_replays(self, events: int, seconds: float, max_bytes: int, rate: float) -> None:
        """The sent-events buffer replays are answered from, bounded by count, age and bytes."""
        self.replay_rate = rate
        #: seq ranges asked for and not re-sent yet (sorted, disjoint), and the one being re-sent
        self._todo: list[tuple[int, int]] = []
        self._serving: list[tuple[int, float, bytes, bytes]] = []
        self._serving_pos = 0
        self.requests_ignored = 0  # for other bots or other runs
        self._waiting = False  # a send() waits for the socket: the replay yields at once
        self.events_replayed = 0
        self.replay_events = events
        self.replay_seconds = seconds
        self.replay_max_bytes = max_bytes
        # (seq, monotonic time sent, topic, payload), consecutive seqs, oldest first
        self._buffer: deque[tuple[int, float, bytes, bytes]] = deque()
        self._buffer_bytes = 0
        self.replays_answered = 0

    def _open_socket(
        self, endpoint: str, bind: bool, context: zmq.Context | None, keys: tuple[str | bytes | None, ...]
    ) -> None:
        """The XPUB socket, a CURVE client when any key is given, connected (or bound) to ``endpoint``."""
        self._ctx = context or zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.XPUB)
        self._sock.setsockopt(zmq.SNDHWM, SEND_HWM)
        self._sock.setsockopt(zmq.LINGER, 5000)
        self.curve = any(k is not None for k in keys)
        if self.curve:
            self._curve_client(*keys)
        (self._sock.bind if bind else self._sock.connect)(endpoint)

    def _curve_client(
        self, public: str | bytes | None, secret: str | bytes | None, server: str | bytes | None
    ) -> None:
        """Be a CURVE client of the monitor (before connecting or binding): all three keys or none."""
        if public is None or secret is None or server is None:
            self._sock.close(linger=0)
            raise ValueError("CURVE needs curve_public_key, curve_secret_key and monitor_public_key")
        as_bytes = [k.encode("ascii") if isinstance(k, str) else k for k in (public, secret, server)]
        self._sock.curve_publickey, self._sock.curve_secretkey, self._sock.curve_serverkey = as_bytes

    def wait_connected(self, timeout: float) -> None:
        """Block until a subscriber has subscribed, so the first event isn't lost."""
        deadline = time.monotonic() + timeout
        while not self._subscribed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                hint = ""
                if self.curve:
                    hint = (
                        " (CURVE: is this bot's public key in the monitor's collector.curve.authorized_keys,"
                        " and monitor_public_key the monitor's data_dir/curve/monitor.key?)"
                    )
                raise NotConnected(f"no monitor subscribed within {timeout:.1f}s{hint}")
            with self._lock:
                self._read_upstream(min(left, REPLAY_POLL_S))

    def send(self, topic: str, ts: float | None = None, **fields: Any) -> int:
        """Send one event; returns the seq it was given."""
        self._waiting = True  # the replay thread lets go of the socket after its current event
        with self._lock:
            self._waiting = False
            seq = self.seq
            self.seq += 1
            when = self.clock() if ts is None else ts
            body = {"v": 1, "bot": self.bot_id, "run": self.run, "seq": seq, "ts": when}
            body.update({k: v for k, v in fields.items() if v is not None})
            name = _TOPIC_BYTES.get(topic) or _topic_bytes(topic)
            frames = [name, _ENCODE(body)]
            self._sock.send_multipart(frames)
            self._keep(seq, frames[0], frames[1])
            return seq

    # ---- replay ---------------------------------------------------------
    def _keep(self, seq: int, topic: bytes, payload: bytes) -> None:
        """Buffer a sent event; evict what is both beyond the count and older than the age kept."""
        buf = self._buffer
        if buf and buf[-1][0] != seq - 1:
            buf.clear()  # seq was reset by the caller: a new sequence starts
            self._buffer_bytes = 0
        now = time.monotonic()
        buf.append((seq, now, topic, payload))
        self._buffer_bytes += len(payload)
        while buf and (
            (len(buf) > self.replay_events and now - buf[0][1] > self.replay_seconds)
            or self._buffer_bytes > self.replay_max_bytes
        ):
            self._buffer_bytes -= len(buf.popleft()[3])

    def _read_upstream(self, timeout_s: float) -> None:
        """Take what subscribers sent (caller holds the lock); queue this run's replay requests."""
        sock = self._sock
        if not sock.poll(int(timeout_s * 1000), zmq.POLLIN):
            return
        while True:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            head = frames[0]
            if head[:1] == b"\x01":
                self._subscribed.set()
            elif head == REQUEST_TOPIC and len(frames) == 2:
                self._take_request(frames[1])

    def _take_request(self, payload: bytes) -> None:
        """Queue one request, merged with what is queued or being re-sent; ignore other bots and runs.

        A request reaching beyond the run's last seq (a catch-up asks up to ``MAX_SEQ``) is
        answered at once with that seq (``replay_last``), so the monitor knows where it ends.
        """
        wanted = decode_range(payload, open_end=True)
        if wanted is None or wanted.bot != self.bot_id or wanted.run not in (None, self.run):
            self.requests_ignored += 1
            return
        self.replays_answered += 1
        last = self.seq - 1  # never promise what was not sent
        if wanted.last is None or wanted.last > last:  # a catch-up: say how far this run got
            self._sock.send_multipart(encode_last(self.bot_id, last, self.run))
        else:
            last = wanted.last
        if wanted.first > last:
            return
        busy = self._serving[self._serving_pos :]
        covered = [(busy[0][0], busy[-1][0])] if busy else []
        for a, b in _subtract(covered, wanted.first, last):
            self._todo = _merge(self._todo, a, b)
        if len(self._todo) > _MAX_PENDING_RANGES:
            self._todo = [(self._todo[0][0], self._todo[-1][1])]

    def _next_burst(self) -> list[list[bytes]]:
        """Up to ``REPLAY_BURST`` events to re-send next, not yet marked sent (caller holds the lock).

        Starting a queued range first says, once, which part of it is no longer held.
        """
        if self._serving_pos >= len(self._serving):
            self._serving, self._serving_pos = [], 0
            if not self._todo:
                return []
            first, last = self._todo.pop(0)
            buf = self._buffer
            oldest = buf[0][0] if buf else self.seq
            if first < oldest:
                self._sock.send_multipart(
                    encode_unavailable(self.bot_id, first, min(last, oldest - 1), self.run)
                )
                first = oldest
            if first <= last:
                self._serving = list(itertools.islice(buf, first - oldest, last - oldest + 1))
        pos = self._serving_pos
        return [[topic, payload] for _, _, topic, payload in self._serving[pos : pos + REPLAY_BURST]]

    def _serve_burst(self, read: bool) -> int:
        """Read requests (when ``read``), re-send one burst; stop early when a send() is waiting."""
        with self._lock:
            if self._closed.is_set():
                return -1
            if read:
                self._read_upstream(0)
            sent = 0
            for frames in self._next_burst():
                if self._waiting:
                    break
                self._sock.send_multipart(frames)
                sent += 1
            self._serving_pos += sent
        self.events_replayed += sent
        return sent

    def _serve_replays(self) -> None:
        """The background thread: re-send bursts at ``replay_rate``, look for requests between."""
        wait = REPLAY_POLL_S
        read_at = 0.0
        while not self._closed.wait(wait):
            now = time.monotonic()
            try:
                sent = self._serve_burst(read=now >= read_at)
            except zmq.ZMQError as exc:  # the socket was closed under us: nothing left to serve
                if not self._closed.is_set():
                    log.warning("replay thread of %s stopped: %s", self.bot_id, exc)
                return
            if sent < 0:
                return
            if read_at <= now:
                read_at = now + REPLAY_POLL_S
            busy = sent > 0 or self._serving_pos < len(self._serving) or bool(self._todo)
            wait = max(sent, 1) / self.replay_rate if busy else REPLAY_POLL_S

    def heartbeat(self, ts: float | None = None) -> int:
        return self.send("heartbeat", ts)

    def account(
        self, equity: float, cash: float | None = None, currency: str | None = None, ts: float | None = None
    ) -> int:
        return self.send("account", ts, equity=equity, cash=cash, currency=currency)

    def fill(
        self,
        fill_id: str,
        order_id: str,
        symbol: str,
        side: str,
        qty: float,
        price: float,
        fee: float = 0.0,
        ts: float | None = None,
    ) -> int:
        return self.send(
            "fill",
            ts,
            fill_id=fill_id,
            order_id=order_id,
            symbol=symbol,
            side=side,
            qty=qty,
            price=price,
            fee=fee,
        )

    def mark(self, prices: dict[str, float], ts: float | None = None) -> int:
        return self.send("mark", ts, prices=prices)

    def order(
        self,
        order_id: str,
        symbol: str,
        side: str,
        type: str,
        qty: float,
        status: str,
        filled_qty: float = 0.0,
        price: float | None = None,
        ts: float | None = None,
    ) -> int:
        return self.send(
            "order",
            ts,
            order_id=order_id,
            symbol=symbol,
            side=side,
            type=type,
            qty=qty,
            status=status,
            filled_qty=filled_qty,
            price=price,
        )

    def latency(self, op: str, ms: float, order_id: str | None = None, ts: float | None = None) -> int:
        return self.send("latency", ts, op=op, ms=ms, order_id=order_id)

    def error(self, component: str, message: str, severity: str = "error", ts: float | None = None) -> int:
        return self.send("error", ts, component=component, message=message, severity=severity)

    def health(
        self,
        apis: dict[str, str] | None = None,
        circuit_breaker: str | None = None,
        kill_switch: str | None = None,
        ts: float | None = None,
    ) -> int:
        return self.send("health", ts, apis=apis, circuit_breaker=circuit_breaker, kill_switch=kill_switch)

    def snapshot(
        self,
        positions: list[dict],
        open_orders: list[dict],
        account: dict | None = None,
        ts: float | None = None,
    ) -> int:
        return self.send("snapshot", ts, positions=positions, open_orders=open_orders, account=account)

    def send_raw(self, topic: bytes, payload: bytes) -> None:
        """Send bytes as they are (tests of hostile input); does not number seq."""
        with self._lock:
            self._sock.send_multipart([topic, payload])

    def close(self, linger_s: float = 5.0) -> None:
        """Close, waiting up to linger_s for queued events to leave; replays stop being answered."""
        self._closed.set()
        if self._replayer.is_alive() and self._replayer is not threading.current_thread():
            self._replayer.join()
        with self._lock:
            self._sock.close(linger=int(linger_s * 1000))

    def __enter__(self) -> BotPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
