"""Shared fixtures: free ports, a real ZeroMQ collector with the Metrics API on a real HTTP server."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.api import create_api
from app.core.config import CoreConfig
from app.core.store import StateStore
from app.hub import Hub
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.01) -> object:
    """Poll a condition in a test (never in product code); fail with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@dataclass
class Ingest:
    """A running collector + API: publish to ``endpoint``, read ``url``/api/..."""

    hub: Hub
    supervisor: CollectorSupervisor
    endpoint: str
    url: str

    def metrics(self) -> dict:
        return get_json(self.url + "/api/metrics")[1]


class _Server(threading.Thread):
    def __init__(self, app: Flask, port: int) -> None:
        super().__init__(daemon=True)
        self.srv = make_server("127.0.0.1", port, app, threaded=True)

    def run(self) -> None:
        self.srv.serve_forever()


@pytest.fixture
def ingest_factory() -> Iterator[Callable[..., Ingest]]:
    """Build collector + API harnesses with a chosen CoreConfig and clock."""
    started: list[tuple[CollectorSupervisor, _Server]] = []

    def make(
        config: CoreConfig | None = None,
        clock: Callable[[], float] = time.time,
        max_message_bytes: int = 65536,
    ) -> Ingest:
        hub = Hub(StateStore(config or CoreConfig(), clock))
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        sup = CollectorSupervisor(
            Collector(hub, [Endpoint(endpoint)], max_message_bytes), restart_delay_s=0.1
        )
        hub.set_extras(lambda: {"collector": sup.status()})
        app = Flask("test")
        app.register_blueprint(create_api(hub, lambda: sup.alive))
        port = free_port()
        server = _Server(app, port)
        server.start()
        sup.start()
        started.append((sup, server))
        return Ingest(hub, sup, endpoint, f"http://127.0.0.1:{port}")

    yield make
    for sup, server in started:
        sup.stop()
        server.srv.shutdown()


@pytest.fixture
def ingest(ingest_factory: Callable[..., Ingest]) -> Ingest:
    return ingest_factory()


from tests.dashboard_options import pytest_setup_options  # noqa: E402,F401  (headless Chromium flags)
