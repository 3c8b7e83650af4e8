"""docs/extending.md works as written: its seven recipes, followed literally in a copy of the tree.

The tracked files are copied to a scratch directory, every marked block of the page is
applied there exactly as its marker says (tests/support/recipes.py), and the copy must
then pass ``ruff check``, ``lint-imports`` and the unit tests, and show each extension
live: the channel type validates in settings, the metric is in /api/metrics, the rule
fires, the table is a section with its panel on the page, the chart is fed, the command
acknowledges through the API, the new kind renders.  One copy for all seven recipes, one
run of the unit tests: the recipes must also hold together.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import recipes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "extending.md"
RECIPES = (
    "Add a channel",
    "Add a metric",
    "Add a threshold rule",
    "Add a table panel",
    "Add a chart",
    "Add an operator command",
    "Add a kind of message",
)
BIN = Path(sys.executable).parent


def _copy_tracked(dest: Path) -> None:
    """The repository's files as they are in the work tree (tracked, and new ones not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}


def _run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=root, env=_env(root), capture_output=True, text=True, timeout=600)


def _shell(root: Path, command: str) -> None:
    """A ``run`` block's command, with this test's interpreter in place of the repository's venv."""
    argv = command.split()
    if argv[0] == ".venv/bin/python":
        argv[0] = sys.executable
    done = _run(root, *argv)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tree with every recipe of the page applied, in page order."""
    root = tmp_path_factory.mktemp("extended")
    _copy_tracked(root)
    for edit in recipes.edits(DOC.read_text(encoding="utf-8")):
        if edit.how == "run":
            for command in filter(None, (line.strip() for line in edit.body.splitlines())):
                _shell(root, command)
        else:
            recipes.apply(edit, root)
    return root


def _python(root: Path, code: str) -> str:
    """Run ``code`` in the copy (its modules first on the path); its stdout."""
    done = _run(root, sys.executable, "-c", textwrap.dedent(code))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_page_has_its_seven_recipes_each_with_code_to_apply() -> None:
    edits = recipes.edits(DOC.read_text(encoding="utf-8"))
    assert sorted({e.recipe for e in edits}, key=RECIPES.index) == list(RECIPES)
    assert all(e.recipe in RECIPES for e in edits)


def test_the_extended_tree_is_lint_clean(extended: Path) -> None:
    for argv in ([str(BIN / "ruff"), "check", "."], [str(BIN / "lint-imports"), "--no-cache"]):
        done = _run(extended, *argv)
        assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"


def test_the_unit_tests_pass_in_the_extended_tree(extended: Path) -> None:
    """Every unit test, the property tests at 25 examples each (as ``make mutation`` runs them).

    The suite runs them at full depth on the tree itself; here they show that the extension
    broke none of them, which their first examples already do, at a third of the time.
    """
    argv = [sys.executable, "-m", "pytest", "tests/unit", "-q", "-x", "-p", "no:cacheprovider"]
    done = subprocess.run(
        argv,
        cwd=extended,
        env={**_env(extended), "ORACLE_EXAMPLES": "25"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_the_new_channel_type_validates_in_settings(extended: Path) -> None:
    out = _python(
        extended,
        """
        from app.settings import validate
        s = validate({"alerts": {"channels": {"jsonl": {"path": "/tmp/a.jsonl"}},
                                 "routes": {"critical": {"channels": ["jsonl"]}}}}, "settings.yaml")
        print(type(s.alerts.channels["jsonl"]).__name__)
        """,
    )
    assert out.split() == ["JsonlSettings"]


def test_the_new_metric_is_in_the_metrics_document(extended: Path) -> None:
    out = _python(
        extended,
        """
        import time
        from core.config import CoreConfig
        from core.store import StateStore
        from collectors.events import Account
        store = StateStore(CoreConfig(), time.time)
        store.apply(Account(v=1, bot="b1", seq=0, ts=time.time(), equity=10_000.0))
        print(store.metrics().bots["b1"].loss_rate_today)
        """,
    )
    assert out.split() == ["None"]


def test_the_new_rule_is_in_the_settings_and_fires(extended: Path) -> None:
    out = _python(
        extended,
        """
        from alerts.config import AlertsSettings
        from alerts.rules import RuleSet
        from app.settings import validate
        from tests.support.documents import bot_metrics, metrics_doc
        print(AlertsSettings().thresholds.max_leverage)
        s = validate({"alerts": {"thresholds": {"max_leverage": 5}}}, "settings.yaml")
        rules = RuleSet(s.alerts, stale_after_s=10.0)
        print(sorted(rules.evaluate(metrics_doc({"b1": bot_metrics(leverage=7.5)}), 1.0).active))
        """,
    )
    assert out.splitlines() == ["None", "['max_leverage|b1']"]


def test_the_new_table_is_a_section_with_its_panel_on_the_page(extended: Path) -> None:
    out = _python(
        extended,
        """
        import json
        from app.dashboard import layout
        from app.dashboard.config import DashboardSettings
        from tests.unit.test_dashboard_hardening import _hub, _input
        from app.dashboard.health_tab import Rates
        from app.dashboard.sections import build_sections
        from collectors.events import Account
        sections = build_sections(_input(_hub(Account(v=1, bot="b1", seq=0, ts=1.0, equity=1.0))), Rates())
        print(json.dumps(sections["tb-today-by-bot"]))
        print("tb-today-by-bot" in str(layout.build(DashboardSettings(), "/ws")))
        """,
    )
    table, placed = out.splitlines()
    assert '"Round trips"' in table and '"error"' not in table
    assert placed == "True"


def test_the_new_chart_is_fed_and_placed(extended: Path) -> None:
    out = _python(
        extended,
        """
        from zoneinfo import ZoneInfo
        from app.dashboard import charts, layout
        from app.dashboard.config import DashboardSettings
        chart = next(c for c in charts.CHARTS if c.id == "ch-latency-by-bot")
        print(chart.tracker(10, ZoneInfo("UTC")).figure({})["layout"]["title"])
        print("ch-latency-by-bot" in str(layout.build(DashboardSettings(), "/ws")))
        """,
    )
    assert "Latency by bot" in out and out.splitlines()[-1] == "True"


def test_the_new_command_goes_through_the_facade_from_the_api(extended: Path) -> None:
    out = _python(
        extended,
        """
        from types import SimpleNamespace
        from flask import Flask
        from app.api import create_api
        from app.operator import Operator
        active = [SimpleNamespace(alert_id=a, status=s) for a, s in (("a1", "firing"), ("a2", "pending"))]
        acked = []
        alerts = SimpleNamespace(snapshot=lambda: SimpleNamespace(active=active),
                                 ack=lambda alert_id, by: acked.append((alert_id, by)) or True)
        operator = Operator(alerts, hub=None, settings=None, timezone="UTC")
        app = Flask(__name__)
        app.register_blueprint(create_api(None, lambda: True, operator))
        print(app.test_client().post("/api/alerts/ack-all").get_json(), acked)
        """,
    )
    assert out.strip() == "{'acknowledged': 1, 'by': 'api'} [('a1', 'api')]"


def test_the_new_kind_renders(extended: Path) -> None:
    out = _python(
        extended,
        """
        from alerts import notification
        p = {"notification": "maintenance", "summary": "exchange upgrade", "until": 0}
        print(notification.headline(p))
        print(notification.lines(p))
        """,
    )
    assert "MAINTENANCE" in out and "exchange upgrade" in out
