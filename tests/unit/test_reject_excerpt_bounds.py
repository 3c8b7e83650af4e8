"""The excerpt and topic an ``internal_error`` reject keeps of the event that failed.

docs/events.md: a valid event whose applying failed is rejected as ``internal_error``; the
reject shows what the event was, bounded (a reject list never grows with what a bot
sends) and always readable, even when the cut falls inside a character.  Pure.
"""

from __future__ import annotations

import msgspec

from collectors.events import Heartbeat, Mark
from core.containment import event_excerpt, topic_name

T = 1_800_000_000.0


def test_the_excerpt_is_the_events_json_cut_at_200_bytes_and_readable_across_a_cut_character() -> None:
    mark = Mark(v=1, bot="b", seq=1, ts=T, prices={"é" * 300: 1.0})
    whole = msgspec.json.encode(mark)
    cut = whole[:200]
    assert len(whole) > 200 and cut.decode("utf-8", "ignore") != cut.decode("utf-8", "replace")
    excerpt = event_excerpt(mark)
    assert excerpt == cut.decode("utf-8", "replace")
    assert excerpt.endswith("\ufffd")  # the half of a character shown as a replacement, not an error


def test_a_short_event_is_shown_whole() -> None:
    beat = Heartbeat(v=1, bot="b", seq=1, ts=T)
    assert event_excerpt(beat) == msgspec.json.encode(beat).decode()


def test_an_item_that_has_no_json_form_has_an_empty_excerpt_and_its_class_as_topic() -> None:
    class Unknown:
        pass

    assert (event_excerpt(Unknown()), topic_name(Unknown())) == ("", "Unknown")
    assert topic_name(Heartbeat(v=1, bot="b", seq=1, ts=T)) == "heartbeat"
