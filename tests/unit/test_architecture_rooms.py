"""docs/architecture.md names every product module in the room it belongs to.

A room is a row of the "Layers" table, or, for the folders of :data:`FOLDER_ROOMS`, of the
section that lists that folder's modules by file name.
A row names a module by its path (`alerts/engine.py`), or by a folder it lists
(`alerts/`, `core/*`) together with the module's file name, and its subfolder
(`channels/`) when it is in one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.packages import product_packages

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = product_packages()
#: Folders whose modules a section of their own lists, by file name.
FOLDER_ROOMS = {
    "app/dashboard": "### The dashboard's rooms",
    "alerts/channels": "### The channel types",
    "app/telegram": "### The Telegram front end",
}


def _rows(doc: str, title: str) -> list[str]:
    """The table rows of one section (up to the next heading of any level)."""
    start = doc.index(title) + len(title)
    end = next((start + m.start() for m in re.finditer(r"\n#{1,6} ", doc[start:])), len(doc))
    return [line for line in doc[start:end].splitlines() if line.startswith("| ")]


def _names(row: str, module: str) -> bool:
    if f"`{module}`" in row:
        return True
    for folder in re.findall(r"`([a-z_/]+/)\*?`", row):
        if module.startswith(folder):
            sub, _, name = module[len(folder) :].rpartition("/")
            if f"`{name}`" in row and (not sub or f"`{sub}/`" in row):
                return True
    return False


def _only_a_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def unnamed(root: Path) -> list[str]:
    """Every product module no room names (an ``__init__`` only where it holds more than a docstring)."""
    doc = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    layers = _rows(doc, "## Layers")
    folders = {folder: _rows(doc, title) for folder, title in FOLDER_ROOMS.items()}
    missing = []
    for path in sorted(p for pkg in PACKAGES for p in (root / pkg).rglob("*.py")):
        module = path.relative_to(root).as_posix()
        if path.name == "__init__.py" and _only_a_docstring(path):
            continue
        own = folders.get(path.parent.relative_to(root).as_posix(), [])
        if not any(f"`{path.name}`" in row for row in own) and not any(_names(row, module) for row in layers):
            missing.append(module)
    return missing


def test_every_product_module_is_in_a_room_of_the_architecture() -> None:
    assert unnamed(ROOT) == []
