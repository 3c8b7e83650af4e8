"""The product's top-level packages: those the import contract of pyproject.toml orders.

One owner for the list the code-shape, architecture-rooms and import-contract tests walk, so a
new top-level package is checked by all of them once it is in ``[tool.importlinter]``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def product_packages() -> tuple[str, ...]:
    """``root_packages`` of ``[tool.importlinter]``, in their order (the app first)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return tuple(config["tool"]["importlinter"]["root_packages"])
