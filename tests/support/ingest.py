"""A real ZeroMQ collector with the Metrics API on a real HTTP server, in this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import msgspec
import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.api import create_api
from app.hub import Hub
from collectors.curve import CurveConfig
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
from core.config import CoreConfig
from core.monitor_documents import CollectorThread, EdgeStatus
from core.store import StateStore
from tests.support.http import get_json
from tests.support.ports import free_port


@dataclass
class Ingest:
    """A running collector + API: publish to ``endpoint``, read ``url``/api/..."""

    hub: Hub
    supervisor: CollectorSupervisor
    endpoint: str
    url: str

    def metrics(self) -> dict:
        return get_json(self.url + "/api/metrics")[1]

    def fail_first_apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The hub's next ``apply_batch`` raises once (the collector thread dies of it), then works."""
        original = self.hub.apply_batch
        calls = {"n": 0}

        def explode_once(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("injected failure")
            return original(*args, **kwargs)

        monkeypatch.setattr(self.hub, "apply_batch", explode_once)


class _Server(threading.Thread):
    def __init__(self, app: Flask, port: int) -> None:
        super().__init__(daemon=True)
        self.srv = make_server("127.0.0.1", port, app, threaded=True)

    def run(self) -> None:
        self.srv.serve_forever()


@contextmanager
def ingest_harness() -> Iterator[Callable[..., Ingest]]:
    """Build collector + API harnesses with a chosen CoreConfig and clock; all stopped on exit."""
    started: list[tuple[CollectorSupervisor, _Server]] = []

    def make(
        config: CoreConfig | None = None,
        clock: Callable[[], float] = time.time,
        max_message_bytes: int = 65536,
        curve: CurveConfig | None = None,
    ) -> Ingest:
        hub = Hub(StateStore(config or CoreConfig(), clock))
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        sup = CollectorSupervisor(
            Collector(hub, [Endpoint(endpoint)], max_message_bytes, curve=curve), restart_delay_s=0.1
        )
        hub.set_extras(lambda: EdgeStatus(collector=msgspec.convert(sup.status(), CollectorThread)))
        app = Flask("test")
        app.register_blueprint(create_api(hub, lambda: sup.alive))
        port = free_port()
        server = _Server(app, port)
        server.start()
        sup.start()
        started.append((sup, server))
        return Ingest(hub, sup, endpoint, f"http://127.0.0.1:{port}")

    try:
        yield make
    finally:
        for sup, server in started:
            sup.stop()
            server.srv.shutdown()
