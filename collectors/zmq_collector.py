"""The ZeroMQ SUB collector thread and its supervisor (an edge: sockets, threads).

Messages are drained in batches (poll, then up to ``BATCH`` non-blocking
receives) and handed in one call to the :class:`~collectors.sink.EventSink`
(the monitor's hub, which applies them under one lock acquisition), so ingest
costs one lock per batch, not per event.  The receive high-water mark is raised far
above ZeroMQ's default of 1000, which would otherwise drop silently.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass

import zmq

from collectors.events import DECODERS, Event, Rejected, decode
from collectors.sink import EventSink, RejectedMessage

log = logging.getLogger(__name__)

BATCH = 4096
RECV_HWM = 2_000_000
POLL_MS = 100


@dataclass(frozen=True)
class Endpoint:
    """One ZeroMQ endpoint and whether the monitor binds or connects it."""

    url: str
    mode: str = "bind"  # "bind" | "connect"

    def __str__(self) -> str:
        return f"{self.mode} {self.url}"


class Collector:
    """Receives, validates and applies events until stopped."""

    def __init__(
        self,
        sink: EventSink,
        endpoints: list[Endpoint],
        max_message_bytes: int = 65536,
        context: zmq.Context | None = None,
    ) -> None:
        self.sink = sink
        self.endpoints = endpoints
        self.max_bytes = max_message_bytes
        self._ctx = context or zmq.Context.instance()
        self._sock: zmq.Socket | None = None

    def open(self) -> None:
        """Create and bind/connect the socket; raises zmq.ZMQError on a bad endpoint."""
        sock = self._ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVHWM, RECV_HWM)
        sock.setsockopt(zmq.RCVBUF, 8 * 1024 * 1024)
        # ZeroMQ's own size cap stays far above ours so oversized messages are counted, not vanished.
        sock.setsockopt(zmq.MAXMSGSIZE, max(64 * self.max_bytes, 16 * 1024 * 1024))
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            for ep in self.endpoints:
                (sock.bind if ep.mode == "bind" else sock.connect)(ep.url)
        except zmq.ZMQError:
            sock.close()
            raise
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    def run(self, stop: threading.Event) -> None:
        """The receive loop; returns when ``stop`` is set."""
        if self._sock is None:
            self.open()
        sock = self._sock
        assert sock is not None
        while not stop.is_set():
            if not sock.poll(POLL_MS, zmq.POLLIN):
                continue
            self._drain(sock)

    def _explain(self, topic: bytes, payload: bytes) -> Event | RejectedMessage:
        """The slow path: decode() again, which names why a message is bad."""
        try:
            return decode(topic, payload, self.max_bytes)
        except Rejected as rej:
            return rej, topic[:64].decode("ascii", "replace"), payload
        except Exception as exc:  # a decoder surprise must cost one message, never the thread
            return (
                Rejected("undecodable", f"{type(exc).__name__}: {exc}"),
                topic[:64].decode("ascii", "replace"),
                payload,
            )

    def _drain(self, sock: zmq.Socket) -> None:
        items: list = []  # events and rejects, in arrival order
        received = 0
        recv = sock.recv_multipart
        max_bytes = self.max_bytes
        decoders = DECODERS
        for _ in range(BATCH):
            try:
                parts = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            received += 1
            if len(parts) != 2:
                size = sum(len(p) for p in parts)
                items.append(
                    (
                        Rejected(
                            "not_multipart", f"{len(parts)} frames ({size} bytes), expected [topic, payload]"
                        ),
                        None,
                        parts[-1],
                    )
                )
                continue
            topic, payload = parts
            decoder = decoders.get(topic)  # the valid path, inlined: it runs 100k times a second
            if decoder is not None and len(payload) <= max_bytes:
                try:
                    event = decoder.decode(payload)
                    if event.v == 1:
                        items.append(event)
                        continue
                except Exception:
                    pass  # whatever failed, _explain() decodes again and names the reason
            items.append(self._explain(topic, payload))
        if received:
            self.sink.apply_batch(items, received)


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
                "collector thread died: %s; restarting in %.1fs", exc, self.restart_delay_s, exc_info=True
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
                log.warning("restarting collector thread (restart #%d)", self.restarts)
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
        }

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        for t in (self._thread, self._watchdog):
            if t is not None:
                t.join(timeout)
        self.collector.close()
