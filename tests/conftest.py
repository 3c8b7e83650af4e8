"""Fixtures shared by every kind of test; the helpers themselves live in tests/support."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.chromium import pytest_setup_options  # noqa: F401  (dash_duo: headless Chromium flags)
from tests.support.clock import FakeClock
from tests.support.ingest import Ingest, ingest_harness
from tests.support.monitor_process import MonitorProcess
from tests.support.ports import free_port as _free_port
from tests.support.waiting import wait_until as _wait_until


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function returning a free loopback TCP port."""
    return _free_port


@pytest.fixture
def wait_until() -> Callable[..., object]:
    """Poll a condition until it holds or fail (the one wait helper)."""
    return _wait_until


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when the test advances it."""
    return FakeClock()


@pytest.fixture
def monitor_process(tmp_path: Path) -> Iterator[Callable[..., MonitorProcess]]:
    """Factory of real ``python -m app`` processes on free ports; all stopped at teardown."""
    made: list[MonitorProcess] = []

    def make(**kw: object) -> MonitorProcess:
        home = tmp_path / f"monitor{len(made)}"
        home.mkdir()
        mon = MonitorProcess(home, **kw)
        made.append(mon)
        return mon

    yield make
    for mon in made:
        mon.stop()


@pytest.fixture
def ingest_factory() -> Iterator[Callable[..., Ingest]]:
    """Build collector + API harnesses with a chosen CoreConfig and clock."""
    with ingest_harness() as make:
        yield make


@pytest.fixture
def ingest(ingest_factory: Callable[..., Ingest]) -> Ingest:
    return ingest_factory()


_KINDS = ("unit", "integration", "browser", "bdd")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its kind (the folder it lives in): ``-m unit`` selects the fast ones."""
    for item in items:
        kind = next((k for k in _KINDS if f"/tests/{k}/" in str(item.path)), None)
        if kind is not None:
            item.add_marker(kind)


def _leftovers() -> list[psutil.Process]:
    """Processes this test run started and did not stop (monitors, servers, browsers)."""
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            continue
    return alive


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test left a process running: a leaked monitor keeps burning a core.

    Children get a moment to finish exiting (a stop that was just sent); what still runs then is
    named, killed so that it does not outlive the run, and turns the run red.
    """
    leftovers = _leftovers()
    if leftovers:
        _gone, leftovers = psutil.wait_procs(leftovers, timeout=5)
    if not leftovers:
        return
    for proc in leftovers:
        with contextlib.suppress(psutil.Error):
            print(f"\nleft running by the tests: pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
            proc.kill()
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
