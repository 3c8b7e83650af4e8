"""Why a rule's metric path could never fire, in the words the settings error shows.

docs/alerts.md: a mistyped metric path or a value of the wrong kind stops start-up naming
the file, the key and the reason; the reason names what the path reached, what it has
instead, and the rule's value as the settings file writes it.  Pure: strings in, words out.
"""

from __future__ import annotations

import msgspec.inspect as mi
import pytest

from alerts.metric_paths import _kind, lookup, metric_problem
from tests.support.documents import bot_metrics

NOT_A_BOOL = "metric 'events.lost' is a number, not true/false like the rule's value"


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (
            "latency_ms.p96",
            1.0,
            "unknown metric 'latency_ms.p96': latency_ms has no 'p96'"
            " (it has count, avg, p50, p95, max, by_op)",
        ),
        (
            "latency_ms.by_op.submit.p96",
            1.0,
            "unknown metric 'latency_ms.by_op.submit.p96': latency_ms.by_op.submit has no 'p96'"
            " (it has count, avg, p50, p95, max)",
        ),
        (
            "latency_ms.by_op.submit.p95.x",
            1.0,
            "unknown metric 'latency_ms.by_op.submit.p95.x': latency_ms.by_op.submit.p95 is a number,"
            " it has no 'x'",
        ),
        ("events.lost", True, f"{NOT_A_BOOL} true"),
        ("events.lost", False, f"{NOT_A_BOOL} false"),
        ("events.lost", "x", "metric 'events.lost' is a number, not a string like the rule's value 'x'"),
        ("stale", 1, "metric 'stale' is true/false, not a number like the rule's value 1"),
    ],
)
def test_a_rule_that_could_never_fire_is_refused_in_exact_words(
    path: str, value: float | bool | str, words: str
) -> None:
    assert metric_problem(path, value) == words


@pytest.mark.parametrize(
    ("node", "words"),
    [(mi.ListType(mi.IntType()), "a list"), (mi.AnyType(), "not a single value")],
)
def test_a_metric_that_is_no_single_value_is_named_for_what_it_is(node: mi.Type, words: str) -> None:
    assert _kind(node) == words  # no metric of today is one; a metric added later may be


def test_a_path_step_a_document_does_not_have_is_no_data() -> None:
    doc = bot_metrics()
    assert lookup(doc, ("no_such_metric",)) is None
    assert lookup(doc, ("latency_ms", "no_such_figure")) is None
