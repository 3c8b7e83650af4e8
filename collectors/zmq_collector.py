"""The ZeroMQ SUB collector thread and its supervisor (an edge: sockets, threads).

Messages are drained in batches (poll, then up to ``BATCH`` non-blocking
receives) and handed in one call to the :class:`~collectors.sink.EventSink`
(the monitor's hub, which applies them under one lock acquisition), so ingest
costs one lock per batch, not per event.  The receive high-water mark is raised far
above ZeroMQ's default of 1000, which would otherwise drop silently.

The socket is an XSUB (it subscribes to everything by sending ``\x01``) rather
than a SUB, because an XSUB can also send: a replay request goes back up the
very connections the events come in on, to every connected publisher, whether
the monitor binds and the bots connect or the other way round.  With CURVE
(:mod:`collectors.curve`) that socket is the CURVE server on every endpoint,
bound or connected, and only listed bot keys get a connection at all.  The
:class:`~collectors.recovery.Sequencer` decides what is applied when; the
common case (the next seq of a bot) costs one dict lookup here.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import zmq

from collectors.curve import CurveConfig, CurveGuard, make_server, monitor_events
from collectors.events import DECODERS, ID_PATTERN, TOPIC_OF, Event, Rejected, decode
from collectors.recovery import (
    LAST_TOPIC,
    UNAVAILABLE_TOPIC,
    Sequencer,
    decode_last,
    decode_range,
    encode_request,
)
from collectors.sink import EventSink, Recovered, RejectedMessage
from common.logline import line

log = logging.getLogger(__name__)

BATCH = 4096
RECV_HWM = 2_000_000
POLL_MS = 100
RECOVERY_TIMEOUT_S = 2.0  # settings.yaml collector.recovery_timeout_s
RECOVERY_MAX_HELD = 200_000  # settings.yaml collector.recovery_max_held
_BOT_ID = re.compile(ID_PATTERN)
FIRST_SEEN_LINES = 20  # per batch: a flood of new bot ids is summed up, not logged one by one


@dataclass(frozen=True)
class Endpoint:
    """One ZeroMQ endpoint and whether the monitor binds or connects it."""

    url: str
    mode: str = "bind"  # "bind" | "connect"

    def __str__(self) -> str:
        return f"{self.mode} {self.url}"


_NO_BOTS: frozenset[str] = frozenset()


def _user(frame: zmq.Frame) -> str | None:
    """The ZAP User-Id ZeroMQ attached to a message: the sender's CURVE key (z85)."""
    try:
        return frame.get(b"User-Id")
    except zmq.ZMQError:
        return None


def _not_bound(user: str | None, bot: str, topic: bytes, payload: bytes) -> RejectedMessage:
    """The reject of a message whose CURVE key may not publish as the bot it names."""
    key = f"{user[:8]}..." if user else "(none)"
    why = Rejected("key_not_for_bot", f"CURVE key {key} is not bound to bot {bot!r} (collector.curve)")
    return why, topic[:64].decode("ascii", "replace"), payload


def _not_two_parts(first: zmq.Frame, second: zmq.Frame | None, recv: Callable[..., Any]) -> RejectedMessage:
    """The reject of a message that is not ``[topic, payload]``; its remaining parts are read and dropped."""
    parts = [first] if second is None else [first, second]
    while parts[-1].more:
        parts.append(recv(copy=False))
    size = sum(len(p) for p in parts)
    why = Rejected("not_multipart", f"{len(parts)} frames ({size} bytes), expected [topic, payload]")
    return why, None, parts[-1].bytes


class Collector:
    """Receives, validates and applies events until stopped."""

    def __init__(
        self,
        sink: EventSink,
        endpoints: list[Endpoint],
        max_message_bytes: int = 65536,
        context: zmq.Context | None = None,
        *,
        recovery_timeout_s: float = RECOVERY_TIMEOUT_S,
        recovery_max_held: int = RECOVERY_MAX_HELD,
        clock: Callable[[], float] = time.monotonic,
        curve: CurveConfig | None = None,
        catch_up: bool = True,
    ) -> None:
        self.sink = sink
        self.endpoints = endpoints
        self.max_bytes = max_message_bytes
        self.curve = curve
        #: CURVE key (z85 text, the ZAP User-Id) -> the bot ids it may publish as; None: no CURVE
        self._bound = curve.bots_of_key() if curve is not None else None
        # CURVE needs a ZAP handler of its own: one per context, so a context of our own
        self._given_ctx = context
        self._ctx = context or (None if curve is not None else zmq.Context.instance())
        self._guard: CurveGuard | None = None
        self._refused_before = 0  # refusals counted by guards of earlier sockets (restarts)
        self._sock: zmq.Socket | None = None
        #: messages that were replay answers (``replay_unavailable``), neither events nor rejects
        self.control = 0
        self.sequencer = Sequencer(recovery_timeout_s, recovery_max_held, clock)
        #: bots already known (restored, or logged as first seen); the sequencer tracks every bot,
        #: so a change in its size is the one per-batch check for a new bot
        self._announced: set[str] = set()
        self._tracked = 0
        #: catch-up at start: every bot of the (restored) state is asked at once for what it sent
        #: after its last applied seq, and shows as "asking" from now on (docs/events.md)
        self._catching = catch_up
        if catch_up:
            self.sequencer.start_catch_up(sink.last_seqs(), sink.last_runs())

    def catch_up_also(self, bots: Iterable[str]) -> None:
        """Also catch up ``bots`` known elsewhere (the alerts' bots); call before :meth:`open`."""
        if self._catching:
            valid = [b for b in bots if isinstance(b, str) and _BOT_ID.search(b) is not None]
            self.sequencer.start_catch_up(self.sink.last_seqs(), self.sink.last_runs(), valid)

    def catch_up_status(self) -> dict[str, dict[str, object]]:
        """Per bot asked to catch up: state, requests sent, events received and lost."""
        return {
            bot: {"state": c.state, "asked": c.asked, "received": c.received, "lost": c.lost}
            for bot, c in list(self.sequencer.catch_up.items())
        }

    def open(self) -> None:
        """Create and bind/connect the socket; raises zmq.ZMQError on a bad endpoint.

        Gap detection resumes from the sink's last seq of every bot, so the first
        event of a bot after the monitor's restart shows what it missed meanwhile.
        """
        self.sequencer.resume(self.sink.last_seqs(), self.sink.last_runs())
        self._announced.update(self.sequencer.expected)  # restored bots are not new
        self._tracked = len(self.sequencer.expected)
        if self._ctx is None:
            self._ctx = zmq.Context()
        sock = self._ctx.socket(zmq.XSUB)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVHWM, RECV_HWM)
        sock.setsockopt(zmq.RCVBUF, 8 * 1024 * 1024)
        # ZeroMQ's own size cap stays far above ours so oversized messages are counted, not vanished.
        sock.setsockopt(zmq.MAXMSGSIZE, max(64 * self.max_bytes, 16 * 1024 * 1024))
        sock.send(b"\x01")  # subscribe to everything; resent to every peer that (re)connects
        try:
            if self.curve is not None:
                self._secure(sock, self.curve)
            for ep in self.endpoints:
                (sock.bind if ep.mode == "bind" else sock.connect)(ep.url)
        except zmq.ZMQError:
            sock.close()
            self._stop_guard()
            raise
        self._sock = sock
        if self._catching:
            self.sequencer.resend()  # at once: before the alerts' first evaluation
            self._request(self.sequencer.requests)

    def _secure(self, sock: zmq.Socket, curve: CurveConfig) -> None:
        """CURVE server, with the key check answering before the first endpoint opens."""
        assert self._ctx is not None
        make_server(sock, curve)
        endpoint = f"inproc://collector-monitor-{id(self)}"
        sock.monitor(endpoint, monitor_events())
        self._guard = CurveGuard(self._ctx, curve, endpoint)
        self._guard.start()

    def _stop_guard(self) -> None:
        guard = self._guard
        if guard is None:
            return
        guard.stop()
        self._refused_before += guard.refused
        self._guard = None
        if self._given_ctx is None and not guard.alive and self._ctx is not None:
            self._ctx.term()  # every socket of this context is closed: a restart gets a fresh one
            self._ctx = None

    @property
    def unauthorized(self) -> int:
        """Connections refused by CURVE since start: unlisted keys, and clients without CURVE."""
        guard = self._guard
        return self._refused_before + (guard.refused if guard is not None else 0)

    def close(self) -> None:
        """Close the socket; events held behind a gap are applied, or left to be asked again.

        A bot that answers replays is asked for them again after the restart (the
        sink's last seq is still before the gap); for one that never answered,
        they are applied now and the gap counts as lost, as it would on time-out.
        """
        held = self.sequencer.stop()
        if held:
            try:
                self.sink.apply_batch(held, 0)
            except Exception:  # closing must not fail: they count as lost when the bot is back
                log.exception("could not apply %d held events on close", len(held))
        if self._sock is not None:
            if self._guard is not None:
                with contextlib.suppress(zmq.ZMQError):
                    self._sock.disable_monitor()
            self._sock.close(linger=0)
            self._sock = None
        self._stop_guard()

    def run(self, stop: threading.Event) -> None:
        """The receive loop; returns when ``stop`` is set."""
        if self._sock is None:
            self.open()
        elif self.sequencer.pending or self.sequencer.expected:
            # a restarted thread: events of a batch that failed to apply are asked for again
            self.sequencer.resume(self.sink.last_seqs(), self.sink.last_runs())
        sock = self._sock
        assert sock is not None
        sequencer = self.sequencer
        while not stop.is_set():
            if not sock.poll(self._poll_ms(), zmq.POLLIN):
                if sequencer.pending:
                    self._finish([], 0)  # a gap may have timed out with nothing arriving
                continue
            self._drain(sock)

    def _poll_ms(self) -> int:
        """Wait at most until the next gap gives up, so its held events are not late."""
        deadline = self.sequencer.next_deadline()
        if deadline is None:
            return POLL_MS
        return max(0, min(POLL_MS, int((deadline - self.sequencer.clock()) * 1000) + 1))

    def _explain(self, topic: bytes, payload: bytes) -> Event | RejectedMessage:
        """The slow path: decode() again, which names why a message is bad."""
        try:
            return decode(topic, payload, self.max_bytes)
        except Rejected as rej:
            return rej, topic[:64].decode("ascii", "replace"), payload
        except Exception as exc:  # a decoder surprise must cost one message, never the thread
            why = Rejected("undecodable", f"{type(exc).__name__}: {exc}")
            return why, topic[:64].decode("ascii", "replace"), payload

    def _drain(self, sock: zmq.Socket) -> None:
        """Receive what is waiting (at most ``BATCH`` messages) and hand it to the sink as one batch.

        A hot loop, kept whole: it runs once per message, 100k times a second, and moving
        the per-message body into a helper made this loop about 5 % slower (measured
        in-process over the bench's messages, best of 9 alternated runs).
        Only the valid path is inlined; anything else goes to :meth:`_not_an_event`.
        Frames are received without copying (``copy=False``): a frame knows in C whether
        more parts follow, where ``recv_multipart`` asks libzmq through a Python-level
        option lookup per part, which cost ~8 % of ingest.  The parts of one message are
        delivered together, so once its first part is here the others are too.
        """
        items: list = []  # events and rejects, in arrival order (each bot's in seq order)
        received = 0
        recv, max_bytes, decoders = sock.recv, self.max_bytes, DECODERS
        expected, runs, offer = self.sequencer.expected, self.sequencer.runs, self.sequencer.offer
        bound = self._bound  # None without CURVE: then this costs one test per event
        for _ in range(BATCH):
            try:
                first = recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            received += 1
            second = recv(copy=False) if first.more else None
            if second is None or second.more:
                items.append(_not_two_parts(first, second, recv))
                continue
            topic = first.bytes
            decoder = decoders.get(topic)
            if decoder is not None and len(second) <= max_bytes:
                try:
                    event = decoder.decode(second)
                    ok = event.v == 1
                except Exception:
                    ok = False  # whatever failed, _explain() decodes again and names the reason
                if ok:
                    bot, seq = event.bot, event.seq
                    if bound is not None and bot not in bound.get(_user(first), _NO_BOTS):
                        items.append(_not_bound(_user(first), bot, topic, second.bytes))
                    elif expected.get(bot) == seq and runs.get(bot) == event.run:  # in order: the common case
                        expected[bot] = seq + 1
                        items.append(event)
                    else:
                        items.extend(offer(bot, seq, event, event.run))
                    continue
            self._not_an_event(topic, second.bytes, items, None if bound is None else _user(first))
        self._finish(items, received)

    def _not_an_event(self, topic: bytes, payload: bytes, items: list, user: str | None) -> None:
        """A replay control message (answered), or one that is not a valid event (rejected, with why)."""
        if topic in (UNAVAILABLE_TOPIC, LAST_TOPIC):
            self._answer(topic, payload, items, user)
        else:
            self._sequenced_reject(self._explain(topic, payload), items, user)

    def _sequenced_reject(self, item: Event | RejectedMessage, items: list, user: str | None = None) -> None:
        """A reject that names its bot and seq takes its place in that bot's sequence.

        Only for a bot already sequenced: the store tracks seqs of known bots only,
        so a reject of a bot never seen valid has nothing to wait for; and only when
        the sender's CURVE key may publish as that bot.
        """
        named = item.bot if type(item) is not tuple else item[0].bot
        if named is not None and not self._may_send_as(user, named):
            topic = TOPIC_OF[type(item)] if type(item) is not tuple else item[1]
            items.append(_not_bound(user, named, (topic or "").encode(), b""))
            return
        sequencer = self.sequencer
        expected = sequencer.expected
        if type(item) is not tuple:
            bot, seq, run = item.bot, item.seq, item.run  # decoded on the slow path after all
        else:
            bot, seq = item[0].bot, item[0].seq
            if bot is None or seq is None or bot not in expected:
                items.append(item)
                return
            run = sequencer.runs.get(bot)  # a reject's run is not read: it takes its place in the current one
        if expected.get(bot) == seq and sequencer.runs.get(bot) == run:
            expected[bot] = seq + 1
            items.append(item)
        else:
            items.extend(sequencer.offer(bot, seq, item, run))

    def _may_send_as(self, user: str | None, bot: str) -> bool:
        """May the CURVE key ``user`` publish as ``bot``? Always, without CURVE."""
        return self._bound is None or bot in self._bound.get(user, _NO_BOTS)

    def _answer(self, topic: bytes, payload: bytes, items: list, user: str | None = None) -> None:
        """A bot's answer to a request (part of a gap is gone, or its run's last seq): a control
        message, or a counted reject when it is malformed or from a key not bound to the bot."""
        answer = decode_range(payload) if topic == UNAVAILABLE_TOPIC else decode_last(payload)
        if answer is not None and not self._may_send_as(user, answer.bot):
            items.append(_not_bound(user, answer.bot, topic, payload))
            return
        if topic == UNAVAILABLE_TOPIC:
            gone = decode_range(payload)
            if gone is not None and gone.last is not None:
                self.control += 1
                items.extend(self.sequencer.unavailable(gone.bot, gone.first, gone.last, gone.run))
                return
            expected = '{"bot", "run", "from", "to"} with from <= to'
        else:
            last = decode_last(payload)
            if last is not None:
                self.control += 1
                items.extend(self.sequencer.last(last.bot, last.last, last.run))
                return
            expected = '{"bot", "run", "last"}'
        why = Rejected("invalid_field", f"{topic.decode()}: expected {expected}")
        items.append((why, topic.decode(), payload))

    def _finish(self, items: list, received: int) -> None:
        """Add what timed out, apply the batch, then send the replay requests it raised."""
        sequencer = self.sequencer
        if sequencer.pending:
            items.extend(sequencer.expire())
            if self._catching:
                sequencer.resend()
                self._catching = sequencer.catching_up
        if sequencer.recovered:
            items.extend(Recovered(bot=b, count=n) for b, n in sequencer.recovered.items())
            sequencer.recovered.clear()
        if items or received:
            self.sink.apply_batch(items, received)
        if len(sequencer.expected) != self._tracked:
            self._first_seen(items)
        for bot, first, last, why in sequencer.given_up:
            log.warning(line("events_lost", bot=bot, first_seq=first, last_seq=last, why=why))
        sequencer.given_up.clear()
        if sequencer.requests:
            self._request(sequencer.requests)

    def _first_seen(self, items: list) -> None:
        """Log the bots whose first event was in this batch (rare: not on the per-event path)."""
        expected = self.sequencer.expected
        self._tracked = len(expected)
        new = [bot for bot in expected if bot not in self._announced]
        if not new:
            return
        self._announced.update(new)
        wanted = set(new)
        first: dict[str, int] = {}
        for item in items:
            bot = getattr(item, "bot", None)
            if bot in wanted and bot not in first and isinstance(item, Event):
                first[bot] = item.seq
        where = {"endpoint": self.endpoints[0].url} if len(self.endpoints) == 1 else {}
        for bot in new[:FIRST_SEEN_LINES]:
            log.info(line("bot_first_seen", bot=bot, first_seq=first.get(bot), **where))
        if len(new) > FIRST_SEEN_LINES:
            log.warning(line("bots_first_seen", count=len(new), logged=FIRST_SEEN_LINES))

    def _request(self, requests: list[tuple[str, int, int | None, str | None]]) -> None:
        sock = self._sock
        for bot, first, last, run in requests:
            action = "replay_requested" if last is not None else "catch_up_requested"
            log.info(line("sequence_gap", bot=bot, run=run, first_seq=first, last_seq=last, action=action))
            if sock is not None:
                # no peer can take it now (zmq.Again): the gap times out and counts as lost
                with contextlib.suppress(zmq.Again):
                    sock.send_multipart(encode_request(bot, first, last, run), zmq.NOBLOCK)
        requests.clear()


class CollectorSupervisor:
    """Runs the collector in a thread and restarts it if it dies; the failure stays visible."""

    def __init__(self, collector: Collector, restart_delay_s: float = 1.0) -> None:
        self.collector = collector
        self.restart_delay_s = restart_delay_s
        self.restarts = 0
        self.last_failure: dict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        """Open the socket now (so a bad endpoint stops start-up), then run the threads."""
        self.collector.open()
        self._spawn()
        self._watchdog = threading.Thread(target=self._watch, name="collector-watchdog", daemon=True)
        self._watchdog.start()

    def _spawn(self) -> None:
        self._thread = threading.Thread(target=self._run, name="zmq-collector", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.collector.run(self._stop)
        except Exception as exc:
            self.last_failure = {
                "at": time.time(),
                "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc(limit=5),
            }
            log.error(
                line("collector_died", error=self.last_failure["error"], restart_in_s=self.restart_delay_s),
                exc_info=True,
            )
            if isinstance(exc, zmq.ZMQError):
                self.collector.close()  # a broken socket is rebuilt; otherwise keep what it has queued
            # the thread ends here; the watchdog sees it dead and starts a new one

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            if self._thread is not None and not self._thread.is_alive():
                if self._stop.wait(self.restart_delay_s):
                    return
                self.restarts += 1
                log.warning(line("collector_restarted", restarts=self.restarts))
                try:
                    self._spawn()
                except Exception:  # pragma: no cover - thread creation failing is fatal elsewhere
                    log.exception("could not restart collector")

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> dict:
        return {
            "alive": self.alive,
            "restarts": self.restarts,
            "last_failure": self.last_failure,
            "endpoints": [str(e) for e in self.collector.endpoints],
            "curve": self.collector.curve is not None,
            "unauthorized": self.collector.unauthorized,
            "catch_up": self.collector.catch_up_status(),
        }

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        for t in (self._thread, self._watchdog):
            if t is not None:
                t.join(timeout)
        self.collector.close()
