"""The monitor's command line.

``python -m app [--config PATH] [--host H] [--port P] [--zmq ENDPOINT] [--demo] [--accept-empty-state]``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import zmq

from app import datadir
from app.datadir import DataDirLock
from app.settings import Settings, SettingsError, load_settings
from common.logline import line

if TYPE_CHECKING:
    from app.runtime import Monitor


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m app", description="Real-time monitor for trading bots.")
    p.add_argument("--config", help="settings file (default: settings.yaml of the project)")
    p.add_argument("--host", help="dashboard/API host (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="dashboard/API port (default 8050)")
    p.add_argument(
        "--zmq", metavar="ENDPOINT", help="bind this ZeroMQ endpoint instead of the configured ones"
    )
    p.add_argument("--demo", action="store_true", help="also run the simulated demo bots")
    p.add_argument(
        "--accept-empty-state",
        action="store_true",
        help="when the data directory holds state of which nothing can be restored, move it to "
        "<data_dir>/quarantine and start empty (without it, such a start is refused)",
    )
    return p.parse_args(argv)


def overrides(args: argparse.Namespace) -> dict:
    out: dict = {}
    if args.host:
        out["server.host"] = args.host
    if args.port is not None:
        out["server.port"] = args.port
    if args.zmq:
        out["collector.endpoints"] = [{"url": args.zmq, "mode": "bind"}]
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.config, overrides(args))
    except SettingsError as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from app import gc_policy  # heavy imports only once settings are known to be valid

    lock = _claim_data_dir(Path(settings.storage.data_dir))
    if lock is None:
        return 2
    gc_policy.apply()  # before the restore, which allocates the whole state
    monitor = _build(settings, args)
    if monitor is None:
        return 2
    try:
        monitor.start()
    except zmq.ZMQError as exc:
        print(f"cannot open ZeroMQ endpoint(s) {monitor.listen_info['zmq']}: {exc}", file=sys.stderr)
        return 3
    log = logging.getLogger("app")
    _serve(monitor, settings, args, log)
    log.info(line("exit", code=0))
    lock.release()
    return 0


def _build(settings: Settings, args: argparse.Namespace) -> Monitor | None:
    """The monitor with its state restored; None (after saying why on stderr) when it cannot be."""
    from alerts.outbox import SchemaError
    from app.persistence import DurabilityError
    from app.runtime import Monitor
    from collectors.curve import KeyFileError

    try:
        return Monitor(settings, demo=args.demo, accept_empty_state=args.accept_empty_state)
    except (DurabilityError, SchemaError) as exc:
        print(f"cannot restore the monitor's state: {exc}", file=sys.stderr)
    except KeyFileError as exc:
        print(f"cannot load the collector's CURVE keys: {exc}", file=sys.stderr)
    return None


def _serve(monitor: Monitor, settings: Settings, args: argparse.Namespace, log: logging.Logger) -> None:
    """Serve HTTP until a signal (or Ctrl-C) asks to stop, then stop every thread."""
    from app.server import serve

    log.info(
        line(
            "monitor_listening",
            zmq=", ".join(monitor.listen_info["zmq"]),
            dashboard=settings.dashboard_url,
            http_bind=f"{settings.server.host}:{settings.server.port}",
            demo=args.demo,
            config=settings.source,
            pid=os.getpid(),
        )
    )
    try:
        stopped_by = serve(
            monitor.flask_app, settings.server.host, settings.server.port, threads=settings.server.threads
        )
        # serve() returns only once SIGTERM, SIGINT, SIGQUIT or SIGHUP asked it to stop
        log.info(line("shutdown_requested", reason="signal", signal=stopped_by, pid=os.getpid()))
    except KeyboardInterrupt:
        log.info(line("shutdown_requested", reason="keyboard_interrupt", pid=os.getpid()))
    finally:
        stop(monitor, log)


def _claim_data_dir(data_dir: Path) -> DataDirLock | None:
    """Check the data directory is the monitor's alone and lock it, before anything in it is read.

    None (after saying why on stderr) when it is writable by others or another monitor holds it.
    """
    lock = DataDirLock(data_dir)
    try:
        datadir.prepare(data_dir)
        lock.acquire()
    except (datadir.DataDirError, OSError) as exc:
        print(f"cannot use the data directory: {exc}", file=sys.stderr)
        return None
    return lock


def stop(monitor: Monitor, log: logging.Logger) -> None:
    """Stop every thread; the journal writes and commits all it holds, then one line says so."""
    started = time.monotonic()
    monitor.stop()
    journal = monitor.journal.status() if monitor.journal is not None else None
    log.info(
        line(
            "shutdown_flushed",
            journal=journal.state if journal is not None else "off",
            committed_batch=journal.committed_batch if journal is not None else None,
            uncommitted=journal.uncommitted if journal is not None else None,
            took_s=round(time.monotonic() - started, 2),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
