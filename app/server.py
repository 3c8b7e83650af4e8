"""The production HTTP server: gunicorn's threaded worker, embedded.

Why gunicorn ``gthread`` (and not Flask's development server or waitress):

* flask-sock needs the raw client socket; gunicorn exposes it
  (``gunicorn.socket``), waitress does not;
* every open dashboard holds one thread for its WebSocket, so a thread pool
  sized for "``dashboard.max_clients`` pages + a reserve for the API and the
  page's requests" (``threads``, default 128; the settings refuse a smaller
  reserve than 8) is the right model, and gthread's event loop keeps idle
  keep-alive connections off it;
* it is a server built to run for weeks (bounded request sizes, keep-alive
  and graceful-shutdown handling), unlike werkzeug's.

Why in-process (:func:`serve`) by default: the monitor's threads (ZeroMQ
collector, dashboard broadcaster, alert engine) and its state live in *this*
process; gunicorn's arbiter would fork a worker that inherits none of the
running threads and copies ZeroMQ sockets, which are not fork-safe.  So
:func:`serve` runs gunicorn's ``ThreadWorker`` directly in the calling
process, without the arbiter.  Supervision of the whole process is left to
the service manager (systemd, a container runtime) and to the watchdog ping.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import flask
from gunicorn.app.base import BaseApplication
from gunicorn.sock import create_sockets
from gunicorn.workers.gthread import ThreadWorker


def _options(host: str, port: int, threads: int) -> dict[str, Any]:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": 1,  # one process: the monitor's state is in memory
        "worker_class": "gthread",
        "threads": threads,
        "worker_connections": threads + 256,  # idle keep-alive connections wait off the pool
        "keepalive": 5,
        "timeout": 60,
        "graceful_timeout": 3,  # open WebSockets are closed by monitor.stop() right after
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "botmonitor",
    }


class _Application(BaseApplication):
    """gunicorn configuration holder whose WSGI app is given or built by a factory."""

    def __init__(self, load: Callable[[], flask.Flask], options: dict[str, Any]) -> None:
        self._load = load
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> flask.Flask:
        return self._load()


class _InProcessWorker(ThreadWorker):
    """gunicorn's gthread worker, run in the monitor's own process (no arbiter)."""

    def is_parent_alive(self) -> bool:
        # There is no arbiter; being re-parented (terminal closed) is no reason to stop.
        return True

    stopped_by: str | None = None  # the signal that asked the worker to stop (the caller logs it)

    def init_signals(self) -> None:
        super().init_signals()  # resets every signal it knows, SIGHUP included, to its default
        # SIGHUP (the terminal closed, or a service manager's reload) would otherwise kill the
        # process on the spot, without the journal's final commit: stop gracefully instead.
        signal.signal(signal.SIGHUP, self.handle_exit)

    def handle_exit(self, sig: int, frame: object) -> None:
        self.stopped_by = signal.Signals(sig).name
        super().handle_exit(sig, frame)

    def handle_quit(self, sig: int, frame: object) -> None:
        # Ctrl-C: shut down gracefully like SIGTERM, so the caller's `finally` runs.
        self.handle_exit(sig, frame)


def serve(app: flask.Flask, host: str, port: int, threads: int = 128) -> str | None:
    """Serve ``app`` (and its /ws WebSocket) until SIGINT/SIGTERM/SIGHUP; blocks.

    Returns the name of the signal that stopped it.

    Must be called from the main thread (it installs signal handlers).
    Raises OSError if the port cannot be bound.
    """
    gapp = _Application(lambda: app, _options(host, port, threads))
    cfg = gapp.cfg
    log = cfg.logger_class(cfg)
    sockets = create_sockets(cfg, log)
    worker = _InProcessWorker(0, os.getppid(), sockets, gapp, cfg.timeout, cfg, log)
    worker.pid = os.getpid()
    log.info("serving on http://%s (gunicorn gthread, %d threads, in-process)", cfg.bind[0], threads)
    try:
        worker.init_process()
    finally:
        for s in sockets:
            s.close()
        worker.tmp.close()
    return worker.stopped_by
