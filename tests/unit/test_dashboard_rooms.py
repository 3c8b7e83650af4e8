"""The dashboard stays in rooms a reader can take in: modules <= 500 lines, functions <= 40.

Measured on the source (``ast``), decorators included, nested functions counted on their own
as well as inside the function that holds them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import app.dashboard

DASHBOARD = Path(app.dashboard.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 40


def _modules() -> list[Path]:
    return sorted(DASHBOARD.glob("*.py"))


def test_no_dashboard_module_is_over_500_lines() -> None:
    long = {p.name: n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_dashboard_function_is_over_40_lines() -> None:
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if (lines := (node.end_lineno or start) - start + 1) > MAX_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
