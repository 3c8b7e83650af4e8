"""Refuse to install when pyproject.toml and the committed locks disagree.

The two set-up commands install exact, hashed versions from ``requirements/*.lock`` so that a
release elsewhere never changes what a fresh machine gets.  That only holds while the locks were
made from the dependencies pyproject.toml declares today: ``make lock`` stamps each lock with a
digest of those declarations, and this check (standard library only, run before any install)
compares the stamp and that every declared requirement is pinned in the lock.

    python3 requirements/check_lock.py            # check (exit 1 with the reason)
    python3 requirements/check_lock.py --stamp    # after pip-compile: write the stamps
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"run.lock": ("requirements/build.in",), "test.lock": ("requirements/build.in",)}
STAMP = "# pyproject-digest: "
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(lock: str) -> list[str]:
    """The requirement lines a lock is made from: pyproject's, with the test extra for the test lock."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    if lock == "test.lock":
        reqs += project["optional-dependencies"]["test"]
    reqs += [project["requires-python"]]
    for extra in LOCKS[lock]:
        reqs += [ln.strip() for ln in (ROOT / extra).read_text().splitlines() if ln.strip()[:1].isalnum()]
    return sorted(reqs)


def digest(lock: str) -> str:
    """What the lock was made from, independent of pyproject's formatting and comments."""
    return hashlib.sha256(json.dumps(declared(lock)).encode()).hexdigest()


def problems(lock: str) -> list[str]:
    """Why ``lock`` does not match pyproject.toml; empty when it does."""
    path = ROOT / "requirements" / lock
    if not path.exists():
        return [f"{path.relative_to(ROOT)} is missing"]
    text = path.read_text()
    out = []
    if f"{STAMP}{digest(lock)}" not in text:
        out.append(f"requirements/{lock} was not made from the dependencies pyproject.toml declares now")
    pinned = {_norm(m.group(1)) for m in _PIN.finditer(text)}
    for req in declared(lock):
        m = _NAME.match(req)
        if m and not req[0].isdigit() and _norm(m.group(1)) not in pinned and not req.startswith(">"):
            out.append(f"{req!r} is declared but not pinned in requirements/{lock}")
    return out


def stamp() -> None:
    """Append (or replace) each lock's stamp line; called by ``make lock`` after pip-compile."""
    for lock in LOCKS:
        path = ROOT / "requirements" / lock
        lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(STAMP)]
        path.write_text("\n".join([*lines, f"{STAMP}{digest(lock)}", ""]))


def main(argv: list[str]) -> int:
    if argv[1:] == ["--stamp"]:
        stamp()
        return 0
    found = [p for lock in LOCKS for p in problems(lock)]
    for p in found:
        print(f"lock check: {p}", file=sys.stderr)
    if found:
        print("pyproject.toml and the lock disagree: run `make lock`, commit requirements/", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
