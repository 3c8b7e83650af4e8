"""The layers of docs/architecture.md hold, and the contract that checks them does catch a breach.

The contracts live in pyproject.toml ([tool.importlinter]); ``make lint`` runs them too.
The second test plants one upward import (the collector importing the hub) in a
copy of the packages and expects the contract to name it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("app", "alerts", "collectors")


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
    assert any("collectors never import the app" in n for n in names)
    assert any("pure core" in n for n in names)
    run = _lint_imports(ROOT)
    assert _verdicts(run.stdout) == dict.fromkeys(names, "KEPT"), run.stdout[-4000:]
    assert run.returncode == 0


def test_a_collector_importing_the_app_breaks_the_contract(tmp_path: Path) -> None:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    collector = tmp_path / "collectors" / "zmq_collector.py"
    collector.write_text(collector.read_text(encoding="utf-8") + "\nfrom app.hub import Hub  # noqa\n")
    run = _lint_imports(tmp_path)
    verdicts = _verdicts(run.stdout)
    assert run.returncode != 0
    assert verdicts["The collectors never import the app"] == "BROKEN", run.stdout[-4000:]
    assert "collectors.zmq_collector -> app.hub" in run.stdout
