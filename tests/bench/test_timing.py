"""The benchmarks' one side-by-side timer: every function timed in turn, one result each, bad input named."""

from __future__ import annotations

import pytest

from gc_theory.bench import Timing
from gc_theory.bench.timing import interleaved


def test_interleaved_times_each_function_in_turn_after_a_warmup() -> None:
    calls: list[str] = []
    timings = interleaved([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3)
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed rounds, alternating
    assert len(timings) == 2 and all(isinstance(t, Timing) and t.repeats == 3 for t in timings)
    assert all(0.0 <= t.min <= t.median <= t.max for t in timings)


@pytest.mark.parametrize(("fns", "repeats", "match"), [([1], 2, r"fns\[0\]"), ([lambda: None], 0, "repeats")])
def test_interleaved_names_the_bad_argument(fns, repeats, match) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        interleaved(fns, repeats)
