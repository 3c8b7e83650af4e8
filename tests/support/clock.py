"""The one fake clock: the core and the alert engine take time as an injected callable."""

from __future__ import annotations


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> float:
        self.t += dt
        return self.t
