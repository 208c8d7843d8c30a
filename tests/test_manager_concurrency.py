"""Many threads pushing latency while the real ticker decides: nothing lost, nothing raised."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from adaptive_stream import AdaptiveBufferManager, AdaptiveBufferSettings, SystemMetrics
from adaptive_stream.model import BufferDecision
from adaptive_stream.policies import JetKVMPolicy

THREADS = 8
PER_THREAD = 20_000
WAIT = 60.0  # seconds: the bound on every wait


class CountingPolicy(JetKVMPolicy):
    """Counts the latency folds with a plain ``+=``: a fold that ran concurrently with
    another would lose a count, so the count checks that the pushes are serialised."""

    def __init__(self) -> None:
        super().__init__()
        self.folds = 0

    def update_latency(self, summary: Any, sample_ns: int) -> Any:
        folds = self.folds
        result = super().update_latency(summary, sample_ns)
        self.folds = folds + 1  # read-modify-write spread out, to make a race visible
        return result

    def update_latency_batch(self, summary: Any, samples: Iterable[int]) -> Any:
        for sample in samples:
            summary = self.update_latency(summary, sample)
        return summary


class Sampler:
    def sample(self) -> SystemMetrics:
        return SystemMetrics(30.0, 60.0)


def run_pushers(manager: AdaptiveBufferManager, sample_of: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def push(index: int) -> None:
        try:
            start.wait(WAIT)
            for i in range(PER_THREAD):
                manager.update_latency(sample_of(index, i))
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a pusher hung"
    return errors


def test_eight_threads_push_160000_samples_while_ticks_run() -> None:
    policy = CountingPolicy()
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=1)),
        metrics=Sampler(),
        policy=policy,
    )
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    manager.start()
    try:
        ticks_before = len(decisions)
        errors = run_pushers(manager, lambda n, i: 0.001 * (1 + (n + i) % 40))
        ticks_during = len(decisions) - ticks_before
    finally:
        manager.stop()
    stats = manager.stats()
    assert errors == []
    assert stats["latency_samples"] == THREADS * PER_THREAD == 160_000
    assert stats["rejected_samples"] == 0
    assert policy.folds == 160_000  # every accepted sample was folded exactly once
    assert stats["subscriber_errors"] == 0
    assert ticks_during > 0, "no tick ran while the threads pushed"
    assert all(3 <= d.input_size <= 20 for d in decisions)


def test_bad_samples_among_the_good_are_counted_exactly() -> None:
    policy = CountingPolicy()
    manager = AdaptiveBufferManager(
        AdaptiveBufferSettings(adaptation_interval=timedelta(milliseconds=1)),
        metrics=Sampler(),
        policy=policy,
    )
    bad = (float("nan"), -1.0, 60.0, float("inf"), None)

    def sample_of(n: int, i: int) -> Any:
        return bad[(n + i) % len(bad)] if i % 10 == 0 else 0.005

    manager.start()
    try:
        errors = run_pushers(manager, sample_of)
    finally:
        manager.stop()
    stats = manager.stats()
    assert errors == []
    assert stats["rejected_samples"] == THREADS * PER_THREAD // 10 == 16_000
    assert stats["latency_samples"] == policy.folds == 144_000
    assert stats["average_latency_ms"] == 5.0
