"""Rejected messages in detail: the reason, the words, and the bot and seq recovered from them.

A reject whose ``bot`` and ``seq`` are readable still advances that bot's
sequence check (docs/events.md), so these are part of the contract, not only
the reason code.
"""

from __future__ import annotations

import json

import pytest

from collectors.events import Heartbeat, Rejected, decode

ENV = {"v": 1, "bot": "b-1", "seq": 4, "ts": 1.7e9}


def _reject(payload: bytes, topic: bytes = b"heartbeat", **kw: int) -> Rejected:
    with pytest.raises(Rejected) as err:
        decode(topic, payload, **kw)
    return err.value


def _body(**over: object) -> bytes:
    return json.dumps({**ENV, **over}).encode()


def test_a_reject_reads_as_its_reason_and_detail() -> None:
    err = Rejected("not_json", "payload is not JSON", "b", 3)
    assert (str(err), err.reason, err.detail, err.bot, err.seq) == (
        "not_json: payload is not JSON",
        "not_json",
        "payload is not JSON",
        "b",
        3,
    )


def test_a_v2_message_that_fits_v1_is_still_bad_version_and_keeps_bot_and_seq() -> None:
    err = _reject(_body(v=2))
    assert (err.reason, err.bot, err.seq, err.detail) == ("bad_version", "b-1", 4, "v=2, only 1 is accepted")


@pytest.mark.parametrize(
    "payload",
    [
        _body(ts=1.0).replace(b"1.0", b"1e999"),
        _body(ts=1.0).replace(b"1.0", b"NaN"),
        _body(ts=1.0).replace(b"1.0", b"-Infinity"),
        _body(ts=1.0).replace(b"1.0", b"Infinity"),
    ],
    ids=["overflow", "NaN", "-Infinity", "Infinity"],
)
def test_a_non_finite_number_is_named_and_bot_and_seq_are_recovered(payload: bytes) -> None:
    err = _reject(payload)
    assert (err.reason, err.bot, err.seq) == ("non_finite", "b-1", 4)


@pytest.mark.parametrize(
    ("seq", "recovered"),
    [(0, 0), (7, 7), (-1, None), (True, None), ("3", None), (None, None)],
)
def test_seq_is_recovered_only_when_it_is_a_sequence_number(seq: object, recovered: int | None) -> None:
    err = _reject(_body(seq=seq, ts="not a time"))
    assert (err.reason, err.bot, err.seq) == ("invalid_field", "b-1", recovered)


@pytest.mark.parametrize("bot", ["b\n", "", "b c", "x" * 65, 7])
def test_a_bot_outside_the_contract_is_not_recovered(bot: object) -> None:
    assert _reject(_body(bot=bot)).bot is None


def test_invalid_utf8_inside_a_string_is_not_utf8() -> None:
    err = _reject(_body(bot="b-1").replace(b"b-1", b"b\xff1"))
    assert (err.reason, err.detail) == ("not_utf8", "payload is not valid UTF-8")


def test_a_payload_that_is_not_an_object_says_what_it_is() -> None:
    err = _reject(b"[1, 2]")
    assert (err.reason, err.detail) == ("not_object", "payload is JSON list, not an object")


def test_json_nested_too_deeply_is_rejected_not_raised() -> None:
    assert _reject(b"[" * 60_000).reason == "undecodable"


def test_the_size_limit_is_inclusive_and_the_default_is_64_kib() -> None:
    def padded(size: int) -> bytes:
        base = _body(pad="")
        return base.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(base)) + b'"')

    assert isinstance(decode(b"heartbeat", padded(65_536)), Heartbeat)
    err = _reject(padded(65_537))
    assert (err.reason, err.detail) == ("too_large", "payload of 65537 bytes exceeds 65536")
    assert isinstance(decode(b"heartbeat", padded(100), max_bytes=100), Heartbeat)
    assert _reject(padded(101), max_bytes=100).reason == "too_large"


def test_an_unknown_topic_is_named_in_at_most_64_bytes() -> None:
    topic = b"t" * 64 + b"REST"
    err = _reject(_body(), topic=topic)
    assert err.reason == "unknown_topic"
    assert err.detail == f"topic {topic[:64]!r} is not part of contract v1"


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b"\xff\xfe", "not_utf8", "payload is not valid UTF-8"),
        (
            b"{'single': 'quotes'}",
            "not_json",
            "payload is not JSON (JSON is malformed:",
        ),
        (b"[" * 60_000, "undecodable", "JSON nested too deeply"),
        (_body(v=2, ts="x"), "bad_version", "v=2, only 1 is accepted"),
        (_body(ts="x"), "invalid_field", "Expected `float`, got `str` - at `$.ts`"),
        (_body(ts=1.0).replace(b"1.0", b"1e999"), "non_finite", "(Number out of range - at `$[...]`)"),
        (_body(ts=1.0).replace(b"1.0", b"NaN"), "non_finite", "(JSON is malformed: invalid character"),
        (b"[NaN]", "non_finite", "NaN, Infinity or a number beyond a double"),
    ],
    ids=[
        "not_utf8",
        "not_json",
        "nested",
        "bad_version",
        "invalid_field",
        "overflow",
        "NaN",
        "NaN in a list",
    ],
)
def test_each_reject_says_what_was_wrong(payload: bytes, reason: str, detail: str) -> None:
    err = _reject(payload)
    assert err.reason == reason and detail in err.detail, err.detail
