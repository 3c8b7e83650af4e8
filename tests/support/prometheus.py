"""Debian's Prometheus and Alertmanager binaries for the tests (installed by `make test`).

A test that needs one fails without it, unless BOTMONITOR_WITHOUT_PROMTOOL=1 says that this
machine has none on purpose: then it is skipped.
"""

from __future__ import annotations

import os
import shutil

import pytest


def binary(name: str) -> str:
    """The path of ``prometheus``, ``promtool`` or ``amtool``."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("BOTMONITOR_WITHOUT_PROMTOOL") == "1":
            pytest.skip(f"{name} absent and BOTMONITOR_WITHOUT_PROMTOOL=1")
        pytest.fail(
            f"{name} is missing: `make test` installs Debian's prometheus and prometheus-alertmanager"
        )
    return path
