"""A checkpoint or journal segment that cannot be read is refused in words an operator acts on.

docs/architecture.md (Durability): a corrupt file is quarantined and the reason logged; a
format this monitor does not read stops start-up saying which version wrote it and what to
do.  Pure: bytes in, the refusal's words out.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from core import checkpoint
from core.checkpoint import CorruptData, UnsupportedFormat
from core.config import CoreConfig
from core.store import StateStore

CKPT_HEAD = struct.Struct("<8sHI")  # the documented header: magic, version, crc32 of the payload
JRNL_HEAD = struct.Struct("<8sH")  # magic, version
ADVICE = "start the monitor version that wrote it, or move the data directory away"


def _decode(data: bytes) -> StateStore:
    return checkpoint.decode_state(data, CoreConfig(), lambda: 0.0)


def _checkpoint(payload: bytes, version: int = checkpoint.CHECKPOINT_VERSION) -> bytes:
    return CKPT_HEAD.pack(checkpoint.CHECKPOINT_MAGIC, version, zlib.crc32(payload)) + payload


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"TBMCK", CorruptData, "checkpoint of 5 bytes is shorter than its header"),
        (b"NOTACKPT" + bytes(6), CorruptData, "not a checkpoint (bad magic)"),
        (
            _checkpoint(b"", version=9),
            UnsupportedFormat,
            f"checkpoint format version 9 is not supported (this monitor reads version 2); {ADVICE}",
        ),
    ],
)
def test_an_unreadable_checkpoint_is_refused_saying_why(data: bytes, error: type, words: str) -> None:
    with pytest.raises(error) as err:
        _decode(data)
    assert str(err.value) == words


@pytest.mark.parametrize("payload", [b"", b"\xc1garbage"])
def test_a_checkpoint_with_a_whole_header_that_does_not_decode_names_the_failure(payload: bytes) -> None:
    with pytest.raises(CorruptData) as err:
        _decode(_checkpoint(payload))
    words = str(err.value)
    assert words.startswith("checkpoint does not decode: ")
    assert words.split(": ")[1] in ("DecodeError", "ValidationError")


def test_a_restored_store_is_a_change_from_an_empty_one() -> None:
    empty = StateStore(CoreConfig(), lambda: 0.0)
    assert _decode(checkpoint.encode_state(empty)).version > empty.version


@pytest.mark.parametrize(
    ("head", "error", "words"),
    [
        (b"TBMJ", CorruptData, "journal segment shorter than its header"),
        (b"NOTAJRNL" + bytes(2), CorruptData, "not a journal segment (bad magic)"),
        (
            JRNL_HEAD.pack(checkpoint.JOURNAL_MAGIC, 7),
            UnsupportedFormat,
            f"journal format version 7 is not supported (this monitor reads version 1); {ADVICE}",
        ),
    ],
)
def test_an_unreadable_journal_segment_is_refused_saying_why(head: bytes, error: type, words: str) -> None:
    with pytest.raises(error) as err:
        checkpoint.check_journal_header(head)
    assert str(err.value) == words
    checkpoint.check_journal_header(checkpoint.journal_header())  # the header this monitor writes reads
