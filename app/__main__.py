"""``python -m app [--config PATH] [--host H] [--port P] [--zmq ENDPOINT] [--demo]``."""

from __future__ import annotations

import argparse
import logging
import sys

import zmq

from app.settings import SettingsError, load_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m app", description="Real-time monitor for trading bots.")
    p.add_argument("--config", help="settings file (default: settings.yaml of the project)")
    p.add_argument("--host", help="dashboard/API host (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="dashboard/API port (default 8050)")
    p.add_argument(
        "--zmq", metavar="ENDPOINT", help="bind this ZeroMQ endpoint instead of the configured ones"
    )
    p.add_argument("--demo", action="store_true", help="also run the simulated demo bots")
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
    from alerts.outbox import SchemaError
    from app.persistence import DurabilityError
    from app.runtime import Monitor  # heavy imports only once settings are known to be valid
    from app.server import serve
    from collectors.curve import KeyFileError

    try:
        monitor = Monitor(settings, demo=args.demo)
    except (DurabilityError, SchemaError) as exc:
        print(f"cannot restore the monitor's state: {exc}", file=sys.stderr)
        return 2
    except KeyFileError as exc:
        print(f"cannot load the collector's CURVE keys: {exc}", file=sys.stderr)
        return 2
    try:
        monitor.start()
    except zmq.ZMQError as exc:
        print(f"cannot open ZeroMQ endpoint(s) {monitor.listen_info['zmq']}: {exc}", file=sys.stderr)
        return 3
    log = logging.getLogger("app")
    log.info("collecting bot events on %s", ", ".join(monitor.listen_info["zmq"]))
    log.info(
        "dashboard and API on http://%s:%d%s",
        settings.server.host,
        settings.server.port,
        " (with simulated demo bots)" if args.demo else "",
    )
    try:
        serve(monitor.flask_app, settings.server.host, settings.server.port, threads=settings.server.threads)
    except KeyboardInterrupt:
        pass
    finally:
        monitor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
