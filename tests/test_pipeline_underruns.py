"""Underruns as an input of the pipeline: folded into the policy's summary in order, bad
counts ignored (marbles, virtual time)."""

from __future__ import annotations

import reactivex as rx
from reactivex import operators as ops
from reactivex.testing import ReactiveTest
from reactivex.testing.marbles import marbles_testing
from tally import TallyPolicy

from adaptive_stream import (
    BufferDecision,
    SystemMetrics,
    buffer_decisions,
)

on_next = ReactiveTest.on_next
CALM = SystemMetrics(5.0, 10.0)


def sizes(decisions: rx.Observable[BufferDecision]) -> rx.Observable[int]:
    return decisions.pipe(ops.map(lambda d: d.input_size))


class TestMarbles:
    def test_underruns_reach_the_summary_in_order(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            metrics = cold("m-------", {"m": CALM})
            underruns = cold("--a-b---", {"a": 1, "b": 3})
            ticks = cold("-t-t-t-t")
            out = buffer_decisions(
                metrics, cold("-"), ticks, policy=TallyPolicy(), underruns=underruns
            )
            assert start(sizes(out)) == exp("-a-b-c-c", {"a": 6, "b": 7, "c": 10})

    def test_bad_counts_and_zeros_change_nothing(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
            bad = {"n": -1, "f": 1.5, "b": True, "s": "2", "z": 0, "h": 10**7, "o": 1}
            metrics = cold("m----------", {"m": CALM})
            underruns = cold("nfbszh-o---", bad)
            ticks = cold("------t-t--")
            out = buffer_decisions(
                metrics, cold("-"), ticks, policy=TallyPolicy(), underruns=underruns
            )
            assert start(sizes(out)) == exp("------a-b--", {"a": 6, "b": 7})

    def test_jetkvm_decides_the_same_with_or_without_underruns(self) -> None:
        with marbles_testing(timespan=1.0) as (start, cold, _hot, _exp):
            metrics = cold("m-------", {"m": CALM})
            latency = cold("l-------", {"l": 0.03})
            ticks = cold("-t-t-t-t")
            plain = start(sizes(buffer_decisions(metrics, latency, ticks)))
        with marbles_testing(timespan=1.0) as (start, cold, _hot, _exp):
            metrics = cold("m-------", {"m": CALM})
            latency = cold("l-------", {"l": 0.03})
            ticks = cold("-t-t-t-t")
            underruns = cold("u-u-u-u-", {"u": 5})
            fed = start(sizes(buffer_decisions(metrics, latency, ticks, underruns=underruns)))
        assert fed == plain
        assert [m.value.value for m in plain] == [10, 13, 15, 16]
