"""Every release's data directory restores exactly: the files a previous release left, restored by this code.

``tests/unit/data/release-<n>/`` holds a checkpoint and a journal written by release
<n> for the scenario of :mod:`tests.support.release_fixtures`, and the documents that
release served after it.  The restored store must serve the same documents, value for
value, read at the same fake wall-clock time.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from app.persistence import Journal
from core import checkpoint
from tests.support import release_fixtures as fx
from tests.support.clock import FakeClock

DATA = Path(__file__).parent / "data"
RELEASES = sorted(p.name for p in DATA.glob("release-*"))


@pytest.mark.parametrize("release", RELEASES)
def test_a_release_s_files_restore_to_the_documents_it_served(release: str, tmp_path: Path) -> None:
    shutil.copytree(DATA / release / "data", tmp_path / "data")
    snapshot = next((tmp_path / "data" / "journal").glob("snapshot-*.ckpt")).read_bytes()
    written_as = int.from_bytes(snapshot[8:10], "little")  # release 1 wrote format 1 (a pickle), ...
    assert written_as == int(release.split("-")[1]) <= checkpoint.CHECKPOINT_VERSION
    clock = FakeClock(fx.READ_AT)
    journal = Journal(tmp_path / "data", fx.JOURNAL, clock=clock)
    store = journal.restore(fx.CONFIG, clock)
    info = journal.restore_info
    assert info is not None and info.problems == [] and info.snapshot is not None
    assert info.journal_batches > 0  # the checkpoint and the journal after it were both read
    differences = _differences(fx.expected(DATA / release), fx.documents(store), "")
    assert not differences, differences[:20]


def _differences(served: Any, now: Any, path: str) -> list[str]:
    """Where ``now`` differs from what a release ``served`` (a field added since is new, not different).

    A document may grow (a field a release could not serve); every value the release did
    serve must come back exactly, and every list item too.
    """
    if isinstance(served, dict) and isinstance(now, dict):
        out = [f"{path}.{key}: missing" for key in served if key not in now]
        for key in served.keys() & now.keys():
            out += _differences(served[key], now[key], f"{path}.{key}")
        return out
    if isinstance(served, list) and isinstance(now, list) and len(served) == len(now):
        return [
            d
            for i, (a, b) in enumerate(zip(served, now, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    return [] if served == now else [f"{path}: served {served!r}, now {now!r}"]
