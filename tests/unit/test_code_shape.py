"""The product stays in pieces a reader can take in: modules <= 500 lines, functions <= 40.

Over every product package (those the import contract names: app, alerts, core, collectors,
common), measured on the source (``ast``) as tests/unit/test_dashboard_rooms.py measures the
dashboard: decorators
included, a nested function counted on its own as well as inside the one that holds it.

The only exceptions are the hot loops in :data:`HOT_LOOPS`, each of which says in its own
docstring why it stays whole (a measured cost of splitting it).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from tests.support.packages import product_packages

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = product_packages()
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 40
#: ``path::function`` of the documented hot loops allowed over the limit.
HOT_LOOPS = frozenset({"collectors/zmq_collector.py::_drain"})


def _modules(root: Path) -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (root / pkg).rglob("*.py"))


def long_modules(root: Path) -> dict[str, int]:
    """Each module over the limit, with its line count."""
    counts = {p.relative_to(root).as_posix(): len(p.read_text().splitlines()) for p in _modules(root)}
    return {name: n for name, n in counts.items() if n > MAX_MODULE_LINES}


@cache  # two tests read the product's: parsed once
def long_functions(root: Path) -> dict[str, int]:
    """Each function over the limit (``path::name``), with its line count."""
    long: dict[str, int] = {}
    for path in _modules(root):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if (lines := (node.end_lineno or start) - start + 1) > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(root).as_posix()}::{node.name}"] = lines
    return long


def test_no_product_module_is_over_500_lines() -> None:
    assert long_modules(ROOT) == {}


def test_no_product_function_is_over_40_lines_but_the_hot_loops() -> None:
    assert {name: n for name, n in long_functions(ROOT).items() if name not in HOT_LOOPS} == {}


def test_each_hot_loop_is_still_long_and_says_why() -> None:
    """An allowed exception that no longer needs it leaves the list; one that stays says why."""
    long = long_functions(ROOT)
    for name in HOT_LOOPS:
        assert name in long, f"{name} is within the limit now: drop it from HOT_LOOPS"
        path, func = name.split("::")
        tree = ast.parse((ROOT / path).read_text())
        node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == func)
        doc = ast.get_docstring(node) or ""
        assert "hot loop" in doc.lower() and "slower" in doc, f"{name}: say why it stays whole"


def test_the_check_sees_a_long_function_and_a_long_module(tmp_path: Path) -> None:
    """Planted: a 41-line function and a 501-line module in a copy of the layout."""
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES - 1))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "planted.py").write_text(f"def planted() -> None:\n{body}    del x0\n")
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    for pkg in ("alerts", "collectors"):
        (tmp_path / pkg).mkdir()
    assert long_functions(tmp_path) == {"app/planted.py::planted": MAX_FUNCTION_LINES + 1}
    assert long_modules(tmp_path) == {"common/big.py": MAX_MODULE_LINES + 1}
