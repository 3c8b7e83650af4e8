"""The recipes of docs/extending.md as edits a program can apply, so the page and its test cannot drift.

Every fenced block of a recipe starts with a marker line that says where its code goes
(the marker itself is not part of the code)::

    # extend: <path> new               the block is a new file
    # extend: <path> after <line>      inserted after the one line of <path> that reads <line>
    # extend: <path> before <line>     inserted before it (two blank lines after it before a
                                       top-level definition, as the formatter wants)
    # extend: <path> replace <line>    in its place
    # extend: run                      shell commands, one a line, run from the repository root

``<line>`` is compared with each line of the file stripped of its indentation and must
match exactly one: an anchor that is gone or ambiguous is an error, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: A fenced block, at the left margin or indented under a list item (its indentation is removed).
FENCE = re.compile(r"^(?P<indent> *)```[\w-]*\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)
MARKER = re.compile(
    r"^(?:#|//) extend: (?:(?P<run>run)|(?P<path>\S+) (?P<how>new|after|before|replace)(?: (?P<anchor>.+))?)$"
)


@dataclass(frozen=True)
class Edit:
    """One marked block of the page: which recipe, the file, where, and the code."""

    recipe: str
    path: str  # "" for a run block
    how: str  # new, after, before, replace or run
    anchor: str
    body: str


def edits(markdown: str) -> list[Edit]:
    """Every marked block of the page, in page order, with the heading of its recipe."""
    found: list[Edit] = []
    for match in FENCE.finditer(markdown):
        indent = len(match["indent"])
        lines = match["body"].splitlines(keepends=True)
        text = "".join(line[indent:] if line.strip() else "\n" for line in lines)
        first, _, body = text.partition("\n")
        marker = MARKER.match(first)
        if marker is None:
            continue  # an example to read (settings.yaml, a table), not an edit
        recipe = _heading_before(markdown, match.start())
        if marker["run"]:
            found.append(Edit(recipe, "", "run", "", body))
        else:
            found.append(Edit(recipe, marker["path"], marker["how"], marker["anchor"] or "", body))
    return found


def _heading_before(markdown: str, pos: int) -> str:
    headings = re.findall(r"^## (.+)$", markdown[:pos], re.M)
    return headings[-1] if headings else ""


def apply(edit: Edit, root: Path) -> None:
    """Make the edit in the tree at ``root`` (a scratch copy); a missing or ambiguous anchor raises."""
    target = root / edit.path
    if edit.how == "new":
        if target.exists():
            raise FileExistsError(f"{edit.recipe}: {edit.path} exists already")
        target.write_text(edit.body, encoding="utf-8")
        return
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.strip() == edit.anchor.strip()]
    if len(at) != 1:
        raise LookupError(f"{edit.recipe}: {len(at)} lines of {edit.path} read {edit.anchor!r} (want 1)")
    i = at[0]
    block = edit.body.splitlines(keepends=True)
    if edit.how == "after":
        lines[i + 1 : i + 1] = block
    elif edit.how == "before":
        top_level = re.match(r"(def|class|#:) ", lines[i]) is not None
        lines[i:i] = block + (["\n", "\n"] if top_level else [])
    else:
        lines[i : i + 1] = block
    target.write_text("".join(lines), encoding="utf-8")
