"""The layers of docs/architecture.md hold, and the contract that checks them does catch a breach.

The contracts live in pyproject.toml ([tool.importlinter]); ``make lint`` runs them too.
The other tests plant one upward import (the collector importing the hub, the alert engine
importing the hub, the pure core importing the alert engine) in a copy of the packages and
expect the contract to name it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.support.packages import product_packages

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = product_packages()


def _contract_names() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _verdicts(output: str) -> dict[str, str]:
    """Contract name -> KEPT / BROKEN, from the summary (a long name may wrap onto two lines)."""
    flat = " ".join(output.split())
    return {
        name: ("KEPT" if f"{name} KEPT" in flat else "BROKEN" if f"{name} BROKEN" in flat else "?")
        for name in _contract_names()
    }


def test_every_import_contract_is_kept() -> None:
    names = _contract_names()
    assert any("Top-level packages import only downward" in n for n in names)
    assert any("pure core" in n for n in names)
    run = _lint_imports(ROOT)
    assert _verdicts(run.stdout) == dict.fromkeys(names, "KEPT"), run.stdout[-4000:]
    assert run.returncode == 0


def _with_planted_import(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess[str]:
    """lint-imports over a copy of the packages where ``module`` (a path) gains ``line``."""
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / module
    planted.write_text(planted.read_text(encoding="utf-8") + f"\n{line}  # noqa\n")
    return _lint_imports(tmp_path)


TOP_LEVEL = "Top-level packages import only downward: app > alerts > core > collectors > common"


def test_a_collector_importing_the_app_breaks_the_contract(tmp_path: Path) -> None:
    run = _with_planted_import(tmp_path, "collectors/zmq_collector.py", "from app.hub import Hub")
    assert run.returncode != 0
    assert _verdicts(run.stdout)[TOP_LEVEL] == "BROKEN", run.stdout[-4000:]
    assert "collectors.zmq_collector -> app.hub" in run.stdout


def test_the_alert_engine_importing_the_app_breaks_the_contract(tmp_path: Path) -> None:
    """alerts reads the pure core (the documents it evaluates) and nothing of the app that builds it."""
    run = _with_planted_import(tmp_path, "alerts/engine.py", "from app.hub import Hub")
    assert run.returncode != 0
    assert _verdicts(run.stdout)[TOP_LEVEL] == "BROKEN", run.stdout[-4000:]
    assert "alerts.engine -> app.hub" in run.stdout


def test_the_pure_core_importing_the_alert_engine_breaks_the_contract(tmp_path: Path) -> None:
    """The two packages that used to import each other cannot again: core is below alerts."""
    run = _with_planted_import(tmp_path, "core/store.py", "from alerts.rules import RuleSet")
    assert run.returncode != 0
    assert _verdicts(run.stdout)[TOP_LEVEL] == "BROKEN", run.stdout[-4000:]
    assert "core.store -> alerts.rules" in run.stdout
