"""A simulated trading bot that publishes over ZeroMQ exactly as a real one would.

It is both the `--demo` of the monitor and the worked example of an
integration: it only talks to the monitor through :class:`BotPublisher`,
never through the store.  It trades a few symbols on random-walk prices
(orders, fills with wins and losses), reports account equity (or leaves the
monitor to derive it), execution latencies with occasional spikes, errors
from a few components, API status changes, and now and then a circuit
breaker trip, so every panel and alert has something to show.

    .venv/bin/python -m collectors.demo --endpoint tcp://127.0.0.1:5556 --bot demo-alpha

It logs where it publishes and, every few seconds, how many events each bot
has sent and its equity, so a demo running headless shows it is alive.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import threading
import time
from dataclasses import dataclass

from collectors.publisher import DEFAULT_ENDPOINT, BotPublisher, NotConnected
from common.logline import line

log = logging.getLogger("collectors.demo")  # the same name run as a module or as the --demo thread
STATUS_EVERY_S = 5.0

SYMBOLS = {"BTC-USD": 64000.0, "ETH-USD": 3100.0, "SOL-USD": 145.0}
COMPONENTS = ("exchange-ws", "order-router", "risk")
APIS = ("binance", "coinbase")


@dataclass(slots=True)
class Holding:
    """What the bot holds of one symbol: signed quantity at an average entry price."""

    qty: float = 0.0
    avg_price: float = 0.0


class Holdings:
    """The bot's own average-cost book: enough to choose its next trade and report snapshots.

    A real bot keeps its positions itself and so does this one; the monitor's
    metrics come from the events, never from here.  The average price uses the
    usual average-cost arithmetic so the snapshots it reports agree with what
    the monitor derives from the same fills (a disagreement would count as a
    position mismatch).
    """

    def __init__(self) -> None:
        self.positions: dict[str, Holding] = {}
        self.realized = 0.0  # net of fees

    def fill(self, symbol: str, side: str, qty: float, price: float, fee: float) -> None:
        pos = self.positions.setdefault(symbol, Holding())
        signed = qty if side == "buy" else -qty
        self.realized -= fee
        if pos.qty == 0 or (signed > 0) == (pos.qty > 0):  # open or add
            size = abs(pos.qty)
            pos.avg_price = (size * pos.avg_price + qty * price) / (size + qty)
            pos.qty += signed
            return
        closing = min(qty, abs(pos.qty))
        self.realized += closing * (price - pos.avg_price) * (1 if pos.qty > 0 else -1)
        remainder = qty - closing
        if remainder > 0:  # a flip: the rest opens a new position at this price
            pos.qty, pos.avg_price = (remainder if signed > 0 else -remainder), price
        elif closing == abs(pos.qty):
            pos.qty, pos.avg_price = 0.0, 0.0
        else:
            pos.qty += signed


class DemoBot:
    """One simulated bot; ``step()`` advances it by ``dt`` seconds of wall time."""

    def __init__(
        self,
        pub: BotPublisher,
        *,
        seed: int = 1,
        report_account: bool = True,
        starting_equity: float = 10000.0,
    ) -> None:
        self.pub = pub
        self.rng = random.Random(seed)
        self.report_account = report_account
        self.prices = dict(SYMBOLS)
        self.book = Holdings()
        self.start_equity = starting_equity
        self.apis = dict.fromkeys(APIS, "up")
        self.breaker_until = 0.0
        self.next_id = 0
        self.tick = 0

    def _id(self, prefix: str) -> str:
        self.next_id += 1
        return f"{prefix}{self.next_id}"

    def equity(self) -> float:
        unrealized = sum(p.qty * (self.prices[s] - p.avg_price) for s, p in self.book.positions.items())
        return self.start_equity + self.book.realized + unrealized

    def step(self) -> None:
        """One 100 ms tick of the simulation."""
        self.tick += 1
        now = time.time()
        for sym in self.prices:
            self.prices[sym] *= math.exp(self.rng.gauss(0, 0.0008))
        if self.tick % 5 == 0:
            self.pub.mark({s: round(p, 4) for s, p in self.prices.items()})
        if self.rng.random() < 0.15 and now >= self.breaker_until:
            self._trade()
        if self.tick % 10 == 0:
            self.pub.heartbeat()
        if self.report_account and self.tick % 20 == 0:
            self.pub.account(
                round(self.equity(), 2), cash=round(self.start_equity + self.book.realized, 2), currency="USD"
            )
        if self.tick % 50 == 0:
            self._health(now)
        if self.rng.random() < 0.01:
            self._error()
        if self.tick % 300 == 0:
            self._snapshot()

    def _trade(self) -> None:
        sym = self.rng.choice(list(self.prices))
        pos = self.book.positions.get(sym)
        qty_now = pos.qty if pos else 0.0
        notional = self.rng.uniform(500, 2500)
        qty = round(notional / self.prices[sym], 6)
        if qty_now and self.rng.random() < 0.55:  # close or reduce more often than not: round trips
            side, qty = ("sell" if qty_now > 0 else "buy"), abs(qty_now)
        else:
            side = self.rng.choice(("buy", "sell"))
        price = round(self.prices[sym] * (1 + self.rng.uniform(-0.0004, 0.0004)), 4)
        oid = self._id("o")
        self.pub.order(oid, sym, side, "limit", qty, "new", price=price)
        latency = self.rng.lognormvariate(math.log(35), 0.4)
        if self.rng.random() < 0.03:
            latency = self.rng.uniform(300, 900)  # an exchange hiccup
        self.pub.latency("submit", round(latency, 2), order_id=oid)
        fee = round(qty * price * 0.0004, 6)
        self.book.fill(sym, side, qty, price, fee)
        self.pub.fill(self._id("f"), oid, sym, side, qty, price, fee=fee)
        self.pub.order(oid, sym, side, "limit", qty, "filled", filled_qty=qty, price=price)
        if self.rng.random() < 0.2:
            self.pub.latency("cancel", round(self.rng.lognormvariate(math.log(20), 0.3), 2))

    def _health(self, now: float) -> None:
        for api in APIS:
            r = self.rng.random()
            if self.apis[api] != "up":
                self.apis[api] = "up" if r < 0.5 else self.apis[api]
            elif r < 0.05:
                self.apis[api] = "degraded" if r < 0.04 else "down"
        breaker = "open" if now < self.breaker_until else "closed"
        if breaker == "closed" and self.rng.random() < 0.01:
            self.breaker_until, breaker = now + 20.0, "open"
        self.pub.health(apis=dict(self.apis), circuit_breaker=breaker, kill_switch="armed")

    def _error(self) -> None:
        r = self.rng.random()
        severity = "critical" if r < 0.02 else ("error" if r < 0.35 else "warning")
        component = self.rng.choice(COMPONENTS)
        message = self.rng.choice(
            (
                "websocket disconnected, reconnecting",
                "order rejected: insufficient margin",
                "rate limit hit (HTTP 429), backing off",
                "stale order book snapshot",
                "position drift detected, resyncing",
            )
        )
        self.pub.error(component, message, severity)

    def _snapshot(self) -> None:
        positions = [
            {"symbol": s, "qty": p.qty, "avg_price": p.avg_price}
            for s, p in self.book.positions.items()
            if p.qty
        ]
        account = {"equity": round(self.equity(), 2), "currency": "USD"} if self.report_account else None
        self.pub.snapshot(positions, [], account=account)


def run_demo(
    endpoint: str,
    stop: threading.Event,
    bots: tuple[tuple[str, bool], ...] = (("demo-alpha", True), ("demo-beta", False)),
    period_s: float = 0.1,
    status_every_s: float = STATUS_EVERY_S,
) -> None:
    """Run the demo bots until ``stop`` is set (the monitor's --demo thread)."""
    pubs = []
    try:
        sims = []
        for i, (bot, account) in enumerate(bots):
            pub = BotPublisher(bot, endpoint, connect_timeout=10.0)
            pubs.append(pub)
            pub.health(apis=dict.fromkeys(APIS, "up"), circuit_breaker="closed", kill_switch="armed")
            sims.append(DemoBot(pub, seed=i + 1, report_account=account))
        log.info(line("demo_publishing", endpoint=endpoint, bots=",".join(b for b, _ in bots)))
        next_status = time.monotonic() + status_every_s
        while not stop.wait(period_s):
            for sim in sims:
                sim.step()
            if time.monotonic() >= next_status:
                next_status += status_every_s
                log_status(sims)
    finally:
        for pub in pubs:
            pub.close(linger_s=1.0)


def log_status(sims: list[DemoBot]) -> None:
    """One line per bot: events sent so far and the equity it holds by its own book."""
    for sim in sims:
        log.info(line("demo_status", bot=sim.pub.bot_id, sent=sim.pub.seq, equity=round(sim.equity(), 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description="Simulated trading bot publishing contract-v1 events.")
    parser.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help="the monitor's ZeroMQ endpoint")
    parser.add_argument("--bot", action="append", help="bot id (repeat for several); default two bots")
    parser.add_argument("--derived", action="store_true", help="don't send account events")
    parser.add_argument(
        "--status-every",
        type=float,
        default=STATUS_EVERY_S,
        metavar="SECONDS",
        help=f"log each bot's events sent and equity this often (default {STATUS_EVERY_S:g})",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bots = (
        tuple((b, not args.derived) for b in args.bot)
        if args.bot
        else (("demo-alpha", True), ("demo-beta", False))
    )
    stop = threading.Event()
    try:
        run_demo(args.endpoint, stop, bots, status_every_s=args.status_every)
    except KeyboardInterrupt:
        stop.set()
    except NotConnected as exc:
        log.error(line("demo_not_connected", endpoint=args.endpoint, error=str(exc)))
        sys.exit(1)


if __name__ == "__main__":
    main()
