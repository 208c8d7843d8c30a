"""The reactive wiring: metrics, latency and ticks in; buffer decisions out.

::

    latency ───┬ scan(check, to ns, update_latency / update_underruns) ─ seeded ─┐
    underruns ─┘      (merged, folded in arrival order)                          │
    metrics ─ check, stamp sampled_at ─ seeded(None) ────────── combine_latest ──┤
    ticks ────────────────────────────────────────────────────── with_latest_from ─ scan(decide)
                                                                     └─▶ BufferDecision

Every path into a policy (the manager, the simulator, any caller of
:func:`buffer_decisions`) goes through these functions, so a policy sees the same inputs,
checked once by :class:`~adaptive_stream.inputs.InputChecks`, however it is run. The
arithmetic lives in the policy (pure functions); this module only wires it, so every stream
here runs unchanged on a ``TestScheduler``, on a replayed trace, or live.

Each tick hands the policy the latest valid metrics sample, however old (its
``sampled_at`` says when it was taken), or ``None`` before the first sample and after the
source said there is nothing to measure (it emitted ``None``); the policy decides what such
a tick does, and may decide nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import reactivex as rx
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import TimeoutScheduler

from adaptive_stream.inputs import (
    MAX_UNDERRUNS_PER_REPORT,
    InputChecks,
    LatencySample,
    UnderrunReport,
    to_nanoseconds,
    to_underrun_count,
)
from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.policies import make_policy
from adaptive_stream.policies.base import Policy, StateT, SummaryT

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "MAX_UNDERRUNS_PER_REPORT",
    "InputChecks",
    "LatencyItem",
    "LatencySample",
    "NanosecondSamples",
    "UnderrunReport",
    "buffer_decisions",
    "checked_metrics",
    "decisions_from_summary",
    "latency_summary",
    "policy_steps",
    "to_nanoseconds",
    "to_underrun_count",
]

_T = TypeVar("_T")


class NanosecondSamples(list[int]):
    """A batch of latency samples already in integer nanoseconds.

    For producers that measure in nanoseconds and in blocks (and for trace replay): the
    pipeline folds them in order as they are, without converting or checking them (a
    replay passes the original's inputs through, negative ones included).
    """


#: What the latency observable may carry: one sample, or a batch of them.
LatencyItem: TypeAlias = (
    LatencySample | list[LatencySample] | tuple[LatencySample, ...] | NanosecondSamples
)


def latency_summary(
    latency: Observable[Any],
    policy: Policy[Any, SummaryT],
    *,
    underruns: Observable[Any] | None = None,
    checks: InputChecks | None = None,
) -> Observable[SummaryT]:
    """Latency samples and underrun reports folded into the policy's summary (for
    ``jetkvm``, the integer nanosecond moving average), starting with the summary before
    any: the one place where either reaches a policy.

    An item of ``latency`` is one sample, or a batch folded in order: a ``list`` or
    ``tuple`` of samples, or :class:`NanosecondSamples` (folded as they are, unchecked). An
    :class:`~adaptive_stream.inputs.UnderrunReport` item carries underruns, so one stream
    can keep latency samples and underruns in the order they were reported (the manager's
    does). ``underruns`` carries counts (one per report), merged into the same ``scan``.

    Samples and counts go through ``checks`` (default: a fresh
    :class:`~adaptive_stream.inputs.InputChecks`); rejected ones, and counts of 0, change
    nothing but still re-emit the summary.
    """
    checks = checks if checks is not None else InputChecks()
    check_latency, check_count = checks.latency, checks.underrun_count
    initial = policy.initial_summary()
    update = policy.update_latency
    update_batch = policy.update_latency_batch
    update_underruns = policy.update_underruns

    def fold(summary: SummaryT, item: Any) -> SummaryT:
        kind = type(item)
        if kind is NanosecondSamples:
            return update_batch(summary, item)
        if kind is UnderrunReport:
            count = check_count(item.underruns)
            return update_underruns(summary, count) if count else summary
        if kind is list or kind is tuple:
            for sample in item:
                ns = check_latency(sample)
                if ns is not None:
                    summary = update(summary, ns)
            return summary
        ns = check_latency(item)
        return summary if ns is None else update(summary, ns)

    items: Observable[Any] = latency
    if underruns is not None:
        items = rx.merge(latency, underruns.pipe(ops.map(UnderrunReport)))
    summaries: Observable[SummaryT] = items.pipe(ops.scan(fold, initial))
    return _seeded(summaries, initial)


def _seeded(source: Observable[_T], initial: _T) -> Observable[_T]:
    """``start_with(initial)``, but emitted synchronously on subscription.

    ``start_with`` goes through ``concat`` on the trampoline, so with cold synchronous sources
    (``rx.of``) a tick could be delivered before the seed; this cannot happen here.
    """

    def subscribe(
        observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        observer.on_next(initial)
        return source.subscribe(observer, scheduler=scheduler)

    return Observable(subscribe)


def checked_metrics(
    metrics: Observable[Any],
    checks: InputChecks,
    stamp: Callable[[], datetime] | None = None,
) -> Observable[SystemMetrics | None]:
    """``metrics`` as a policy may see them: each sample checked, as plain floats, with its
    ``sampled_at`` (or, when it has none and ``stamp`` is given, ``stamp()`` at its
    arrival); rejected ones dropped; ``None`` (the source found nothing to measure) passed
    on."""

    def check(sample: Any) -> Any:
        if sample is None:
            return None
        accepted = checks.metrics(sample, stamp() if stamp is not None else None)
        return _REJECTED if accepted is None else accepted

    checked: Observable[SystemMetrics | None] = metrics.pipe(
        ops.map(check), ops.filter(_not_rejected)
    )
    return checked


_REJECTED = object()


def _not_rejected(item: Any) -> bool:
    return item is not _REJECTED


def policy_steps(
    metrics: Observable[Any],
    summary: Observable[SummaryT],
    ticks: Observable[Any],
    policy: Policy[StateT, SummaryT],
    *,
    initial_state: StateT | None = None,
    scheduler: abc.SchedulerBase | None = None,
    validate_metrics: bool = True,
    checks: InputChecks | None = None,
    stamp_arrivals: bool = False,
) -> Observable[tuple[StateT, BufferDecision | None]]:
    """One ``(policy state, decision or None)`` pair per tick: every tick reaches the
    policy, with the latest metrics sample (or ``None``) and the latest summary.

    Args:
        metrics: :class:`SystemMetrics` samples, or ``None`` when the source finds nothing
            to measure; each sample is checked by ``checks`` (see
            :func:`checked_metrics`) unless ``validate_metrics`` is false.
        summary: the policy's summary (:func:`latency_summary`); it must emit a value at
            once (seed it), because ``combine_latest`` waits for every source.
        ticks: one adaptation per item.
        policy: the decision function.
        initial_state: the policy state to start from (default: ``policy.initial_state()``).
        scheduler: whose clock stamps the decisions (default: the subscription's scheduler).
        validate_metrics: whether to check the metrics. A replay of recorded inputs turns
            it off, to decide on them exactly as the original did (it checked nothing): the
            samples then reach the policy as they are.
        checks: the input checks (default: a fresh :class:`InputChecks` on this clock).
        stamp_arrivals: give a sample without ``sampled_at`` the clock's time at its
            arrival, so that it goes stale when its source stops (the manager does: its
            sources do not say when they sampled). Without, such a sample never goes stale.
    """
    seed_state = policy.initial_state() if initial_state is None else initial_state
    decide = policy.decide
    # scan never emits its seed, so the seed's decision slot is never read.
    seed: tuple[StateT, BufferDecision | None] = (seed_state, None)

    def factory(
        scheduler_: abc.SchedulerBase | None,
    ) -> Observable[tuple[StateT, BufferDecision | None]]:
        # The clock that stamps decisions: resolved at subscription, as ops.timestamp does,
        # but read inside the fold rather than in an extra operator (one hop less per tick).
        clock = scheduler or scheduler_ or TimeoutScheduler.singleton()

        def now() -> datetime:
            return clock.now

        latest: Observable[Any] = metrics
        if validate_metrics:
            own = checks if checks is not None else InputChecks(clock=now)
            latest = checked_metrics(metrics, own, now if stamp_arrivals else None)
        inputs = rx.combine_latest(_seeded(latest, None), summary)

        def fold(
            acc: tuple[StateT, BufferDecision | None],
            item: tuple[Any, tuple[SystemMetrics | None, SummaryT]],
        ) -> tuple[StateT, BufferDecision | None]:
            sample, summary_ = item[1]
            return decide(acc[0], sample, summary_, clock.now)

        steps: Observable[tuple[StateT, BufferDecision | None]] = ticks.pipe(
            ops.with_latest_from(inputs), ops.scan(fold, seed)
        )
        return steps

    if scheduler is not None:
        # The clock is known now: no need to defer to subscription (one Rx hop less per tick).
        return factory(scheduler)
    return rx.defer(factory)


def decisions_from_summary(
    metrics: Observable[Any],
    summary: Observable[SummaryT],
    ticks: Observable[Any],
    policy: Policy[StateT, SummaryT],
    *,
    initial_state: StateT | None = None,
    scheduler: abc.SchedulerBase | None = None,
    validate_metrics: bool = True,
    checks: InputChecks | None = None,
) -> Observable[BufferDecision]:
    """The decisions of :func:`policy_steps`, without the states and the ticks that
    decided nothing."""
    steps = policy_steps(
        metrics,
        summary,
        ticks,
        policy,
        initial_state=initial_state,
        scheduler=scheduler,
        validate_metrics=validate_metrics,
        checks=checks,
    )
    decisions: Observable[BufferDecision] = steps.pipe(ops.map(_decision), ops.filter(_is_decision))
    return decisions


#: A step's decision (``step[1]``), taken in C: this runs once per tick.
_decision = itemgetter(1)


def _is_decision(decision: BufferDecision | None) -> bool:
    return decision is not None


def buffer_decisions(
    metrics: Observable[SystemMetrics] | Observable[SystemMetrics | None],
    latency: Observable[LatencySample] | Observable[LatencyItem],
    ticks: Observable[Any],
    settings: AdaptiveBufferSettings | None = None,
    *,
    policy: Policy[Any, Any] | None = None,
    scheduler: abc.SchedulerBase | None = None,
    validate_metrics: bool = True,
    underruns: Observable[int] | None = None,
    checks: InputChecks | None = None,
) -> Observable[BufferDecision]:
    """The stream of buffer decisions: the public entry point of the dataflow.

    The latest metrics and the summary of the latency samples and underruns (the latency
    average is 0 before any sample, as in the original) are combined with
    ``combine_latest``; each tick folds them into the policy state with ``scan``. A tick
    the policy decides nothing on (every built-in policy, before any metrics) emits
    nothing.

    Args:
        metrics: observable of :class:`SystemMetrics` (``None``: nothing to measure now).
            Give samples a ``sampled_at`` to have policies judge their age (``feedback``
            holds still on stale metrics, ``jetkvm`` decides nothing on them); a sample
            without one never goes stale.
        latency: observable of latency samples, each a ``timedelta`` or seconds (any real
            number), or a batch of them (see :func:`latency_summary`).
        ticks: observable of anything; each item is one adaptation.
        settings: the settings (default: ``AdaptiveBufferSettings()``, the JetKVM values).
        policy: a policy object; by default the one the settings name.
        scheduler: whose clock stamps the decisions (default: the subscription's scheduler).
        validate_metrics: check the metrics (default). ``False`` hands every sample to the
            policy as it is, as the original did (trace replay uses it to reproduce the
            firmware on any input).
        underruns: observable of underrun counts (``int`` >= 0 per report) from the audio
            path, folded into the policy's summary with the latency samples. Policies that
            close the loop grow on them; ``jetkvm`` ignores them, as the firmware did.
        checks: the input checks and their counts (default: from ``settings`` when given,
            else the defaults; see :class:`~adaptive_stream.inputs.InputChecks`).

    Example:
        >>> import reactivex as rx
        >>> from adaptive_stream import SystemMetrics, buffer_decisions
        >>> out = buffer_decisions(rx.of(SystemMetrics(5.0, 10.0)), rx.empty(), rx.of(1, 2))
        >>> sizes = []
        >>> _ = out.subscribe(lambda d: sizes.append(d.input_size))
        >>> sizes
        [10, 13]

        (Subscribe, rather than ``.run()``: ``run`` subscribes on a ``NewThreadScheduler``,
        where each ``rx.of`` emits on its own thread, so the ticks may come before the
        metrics.)
    """
    if policy is None:
        if settings is None:
            from adaptive_stream.settings import AdaptiveBufferSettings

            settings = AdaptiveBufferSettings()
        policy = make_policy(settings)
    if checks is None:
        clock = scheduler or TimeoutScheduler.singleton()

        def now() -> datetime:
            return clock.now

        if settings is not None:
            checks = InputChecks.from_settings(settings, clock=now)
        else:
            checks = InputChecks(clock=now)
    return decisions_from_summary(
        metrics,
        latency_summary(latency, policy, underruns=underruns, checks=checks),
        ticks,
        policy,
        scheduler=scheduler,
        validate_metrics=validate_metrics,
        checks=checks,
    )
