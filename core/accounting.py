"""Average-cost position accounting and round trips (pure; see docs/metrics.md).

One :class:`Book` per bot.  Every fill updates the position of its symbol,
the realized P&L (net of fees) and the round trip in progress; a flip closes
one round trip and opens the next, splitting the flipping fill's fee pro rata
by quantity so each fee is counted exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REL_TOL = 1e-9


@dataclass(slots=True)
class RoundTrip:
    """A position's life from leaving 0 to returning to 0 (or flipping)."""

    symbol: str
    side: str  # "long" | "short"
    opened_ts: float
    gross: float = 0.0
    fees: float = 0.0
    qty: float = 0.0  # largest absolute size reached
    closed_ts: float | None = None

    @property
    def pnl(self) -> float:
        return self.gross - self.fees


@dataclass(slots=True)
class Position:
    qty: float = 0.0
    avg_price: float = 0.0
    trip: RoundTrip | None = None


@dataclass(slots=True)
class FillOutcome:
    """What one fill did: realized P&L (net of its fee) and trips it closed."""

    realized: float
    closed: list[RoundTrip] = field(default_factory=list)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _is_zero(qty: float, scale: float) -> bool:
    """Treat float dust left by closing a position as flat."""
    return abs(qty) <= REL_TOL * max(scale, 1.0)


class Book:
    """Positions, realized P&L, fees and round trips of one bot."""

    __slots__ = (
        "closed_trades",
        "fees",
        "gross_losses",
        "gross_wins",
        "losses",
        "positions",
        "realized",
        "sum_trip_pnl",
        "wins",
    )

    def __init__(self) -> None:
        self.positions: dict[str, Position] = {}
        self.realized = 0.0  # net of fees
        self.fees = 0.0
        self.closed_trades = 0
        self.wins = 0
        self.losses = 0
        self.gross_wins = 0.0
        self.gross_losses = 0.0
        self.sum_trip_pnl = 0.0

    def fill(self, symbol: str, side: str, qty: float, price: float, fee: float, ts: float) -> FillOutcome:
        """Apply one fill; return what it realized and the round trips it closed."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position()
        d = qty if side == "buy" else -qty
        self.fees += fee
        self.realized -= fee
        if pos.qty == 0 or _sign(d) == _sign(pos.qty):
            return FillOutcome(-fee, self._open_or_add(pos, symbol, d, price, fee, ts))
        return self._reduce(pos, symbol, d, price, fee, ts)

    def _open_or_add(
        self, pos: Position, symbol: str, d: float, price: float, fee: float, ts: float
    ) -> list[RoundTrip]:
        size = abs(pos.qty)
        pos.avg_price = (size * pos.avg_price + abs(d) * price) / (size + abs(d))
        pos.qty += d
        if pos.trip is None:
            pos.trip = RoundTrip(symbol, "long" if d > 0 else "short", ts)
        pos.trip.fees += fee
        pos.trip.qty = max(pos.trip.qty, abs(pos.qty))
        return []

    def _reduce(
        self, pos: Position, symbol: str, d: float, price: float, fee: float, ts: float
    ) -> FillOutcome:
        closing = min(abs(d), abs(pos.qty))
        gross = closing * (price - pos.avg_price) * _sign(pos.qty)
        self.realized += gross
        remainder = abs(d) - closing
        close_fee = fee * closing / abs(d)
        trip = pos.trip
        if trip is None:  # position came from a snapshot without a trip: start accounting now
            trip = pos.trip = RoundTrip(symbol, "long" if pos.qty > 0 else "short", ts, qty=abs(pos.qty))
        trip.gross += gross
        trip.fees += close_fee
        new_qty = pos.qty + d
        closed: list[RoundTrip] = []
        if _is_zero(new_qty, abs(pos.qty)) or remainder > 0:
            closed.append(self._close_trip(pos, ts))
            pos.qty, pos.avg_price = 0.0, 0.0
        else:
            pos.qty = new_qty
        if remainder > 0 and not _is_zero(remainder, abs(d)):
            rest = remainder if d > 0 else -remainder
            self._open_or_add(pos, symbol, rest, price, fee - close_fee, ts)
        return FillOutcome(gross - fee, closed)

    def _close_trip(self, pos: Position, ts: float) -> RoundTrip:
        trip = pos.trip
        assert trip is not None
        trip.closed_ts = ts
        pos.trip = None
        pnl = trip.pnl
        self.closed_trades += 1
        self.sum_trip_pnl += pnl
        if pnl > 0:
            self.wins += 1
            self.gross_wins += pnl
        elif pnl < 0:
            self.losses += 1
            self.gross_losses += pnl
        return trip

    def replace(self, positions: list[tuple[str, float, float]], ts: float) -> int:
        """Adopt a snapshot's positions; return how many symbols disagreed with ours.

        A trip in progress continues when its position keeps its side and ends
        uncounted when the snapshot zeroes or flips it.
        """
        wanted = {sym: (qty, avg) for sym, qty, avg in positions if qty != 0}
        mismatches = 0
        for sym in set(self.positions) | set(wanted):
            pos = self.positions.get(sym) or Position()
            qty, avg = wanted.get(sym, (0.0, 0.0))
            if _differs(pos.qty, qty) or (qty != 0 and pos.qty != 0 and _differs(pos.avg_price, avg)):
                mismatches += 1
            trip = pos.trip if pos.trip and _sign(pos.qty) == _sign(qty) else None
            if qty != 0 and trip is None:
                trip = RoundTrip(sym, "long" if qty > 0 else "short", ts, qty=abs(qty))
            if qty == 0:
                self.positions.pop(sym, None)
            else:
                self.positions[sym] = Position(qty, avg, trip)
        return mismatches

    def open_positions(self) -> dict[str, Position]:
        return {s: p for s, p in self.positions.items() if p.qty != 0}


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > REL_TOL * max(abs(a), abs(b))
