"""docs/prometheus/: the rules Prometheus watches the monitor with are valid and do what they say.

``promtool`` (Debian's prometheus, installed by ``make test``) checks the rules and runs their
unit tests (rules_test.yml), and checks the example scrape config; ``amtool`` (Debian's
prometheus-alertmanager) checks the example Alertmanager config.  Without promtool the test
fails, unless BOTMONITOR_WITHOUT_PROMTOOL=1 says that this machine has none on purpose.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.monitor_process import ROOT
from tests.support.prometheus import binary

DIR = ROOT / "docs" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool"), *args], cwd=DIR, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "args",
    [
        ("check", "rules", "rules.yml"),
        ("test", "rules", "rules_test.yml"),
        ("check", "config", "prometheus.yml"),
    ],
    ids=["check-rules", "test-rules", "check-config"],
)
def test_promtool_accepts_the_monitor_rules(args: tuple[str, ...]) -> None:
    done = promtool(*args)
    assert done.returncode == 0, done.stdout + done.stderr


def test_amtool_accepts_the_example_alertmanager_config() -> None:
    done = subprocess.run(
        [binary("amtool"), "check-config", "alertmanager.yml"],
        cwd=DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
