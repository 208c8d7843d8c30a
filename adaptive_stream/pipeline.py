"""The reactive wiring: metrics, latency and ticks in; buffer decisions out.

::

    latency ───┬ scan(to ns, skip invalid, update_latency) ──────── seeded(0) ─┐
    underruns ─┘      (merged; counts folded with update_underruns)            │
    metrics ─ filter(valid) ──────────────────────────────── combine_latest ──┤
    ticks ────────────────────────────────────────────────── with_latest_from ─ scan(decide)
                                                                  └─▶ BufferDecision

The arithmetic lives in the policy (pure functions); this module only wires it, so every
stream here runs unchanged on a ``TestScheduler``, on a replayed trace, or live.
"""

from __future__ import annotations

import operator
from datetime import timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, TypeVar

import reactivex as rx
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import TimeoutScheduler

from adaptive_stream.gonum import duration_ns, go_round
from adaptive_stream.model import BufferDecision, SystemMetrics
from adaptive_stream.policies import Policy, make_policy

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "MAX_UNDERRUNS_PER_REPORT",
    "LatencyItem",
    "LatencySample",
    "NanosecondSamples",
    "UnderrunReport",
    "buffer_decisions",
    "decisions_from_summary",
    "latency_summary",
    "policy_steps",
    "to_nanoseconds",
    "to_underrun_count",
    "underrun_fold",
]

_T = TypeVar("_T")

#: A latency sample: a ``timedelta``, or seconds as a float (or int).
LatencySample: TypeAlias = timedelta | float | int

_MAX_NS = 2**63 - 1  # Go's time.Duration is an int64

#: The most underruns one report may carry: 50 frames a second for almost six hours. More
#: in one report is a counter gone wrong (a wrap-around, a uninitialised field), not audio.
MAX_UNDERRUNS_PER_REPORT = 1_000_000


class UnderrunReport(NamedTuple):
    """Underruns reported by the audio path, tagged so they can share one stream (and one
    ``scan``) with the latency samples."""

    underruns: int


def to_underrun_count(count: Any) -> int | None:
    """A report's underrun count as an ``int``, or ``None`` when it is not one.

    Valid: a whole number (``int`` or anything with ``__index__``, not ``bool``) from 0 to
    :data:`MAX_UNDERRUNS_PER_REPORT`; 0 is valid and changes nothing.
    """
    if isinstance(count, bool):
        return None
    try:
        value = operator.index(count)
    except Exception:  # not a whole number (a float, a string, None, ...)
        return None
    return value if 0 <= value <= MAX_UNDERRUNS_PER_REPORT else None


def to_nanoseconds(sample: LatencySample) -> int | None:
    """A latency sample as integer nanoseconds, or ``None`` when it is not a valid latency
    (NaN, infinite, negative, beyond an int64 of nanoseconds, or not a number at all).

    Floats are seconds and rounded to the nearest nanosecond (halves away from zero, as Go);
    ``timedelta`` converts exactly.
    """
    kind = type(sample)
    if kind is float:
        seconds: float = sample  # type: ignore[assignment]
        if not (0.0 <= seconds < 9.2e9):  # also rejects NaN
            return None
        return go_round(seconds * 1e9)
    if kind is int:
        # Compared as an int first: float() of a huge int raises OverflowError.
        if not (0 <= sample < 9_200_000_000):  # type: ignore[operator]
            return None
        return go_round(float(sample) * 1e9)  # type: ignore[arg-type]
    if isinstance(sample, timedelta):
        ns = duration_ns(sample)
        return ns if 0 <= ns <= _MAX_NS else None
    if isinstance(sample, int | float) and not isinstance(sample, bool):
        return to_nanoseconds(float(sample))
    return None


def _valid_metrics(sample: SystemMetrics) -> bool:
    try:
        return sample.is_valid()
    except Exception:  # not a SystemMetrics, or not numbers: never reaches the policy
        return False


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
    policy: Policy[Any, Any],
    *,
    underruns: Observable[int] | None = None,
) -> Observable[Any]:
    """Valid latency samples (and underrun counts, if given) folded into the policy's summary
    (for ``jetkvm``, the integer nanosecond moving average), starting with the summary before
    any sample.

    An item may also be a batch, folded in order: a ``list`` or ``tuple`` of samples, or
    :class:`NanosecondSamples`. One Rx hop for many samples suits producers that measure in
    blocks, and replays, where per-sample routing through Rx costs more than the arithmetic.
    Invalid samples are skipped; an item with no valid sample re-emits the same summary.

    ``underruns`` carries counts of underruns (an ``int`` per report); they are merged with
    the latency samples into the same ``scan`` and folded with the policy's
    ``update_underruns``, in arrival order. Invalid counts (see :func:`to_underrun_count`)
    and zeros re-emit the same summary.
    """
    initial = policy.initial_summary()
    update = policy.update_latency
    update_batch = policy.update_latency_batch
    update_underruns = underrun_fold(policy)

    def fold(summary: Any, item: Any) -> Any:
        kind = type(item)
        if kind is NanosecondSamples:
            return update_batch(summary, item)
        if kind is UnderrunReport:
            return update_underruns(summary, item.underruns)
        if kind is list or kind is tuple:
            for sample in item:
                ns = to_nanoseconds(sample)
                if ns is not None:
                    summary = update(summary, ns)
            return summary
        ns = to_nanoseconds(item)
        return summary if ns is None else update(summary, ns)

    items: Observable[Any] = latency
    if underruns is not None:
        items = rx.merge(latency, underruns.pipe(ops.map(_to_report)))
    summaries: Observable[Any] = items.pipe(ops.scan(fold, initial))
    return _seeded(summaries, initial)


def _to_report(count: Any) -> UnderrunReport:
    # An invalid count becomes a report of 0: it changes nothing but still re-emits the
    # summary, as an invalid latency sample does.
    value = to_underrun_count(count)
    return UnderrunReport(value or 0)


def underrun_fold(policy: Policy[Any, Any]) -> Any:
    """``policy.update_underruns``, skipping zero counts; a policy written before underruns
    were an input (no such method) ignores them."""
    update = getattr(policy, "update_underruns", None)

    def fold(summary: Any, count: int) -> Any:
        if update is None or count <= 0:
            return summary
        return update(summary, count)

    return fold


def _with_underruns(
    summary: Observable[Any], underruns: Observable[int], policy: Policy[Any, Any]
) -> Observable[Any]:
    """The summaries of ``summary`` with every underrun reported so far folded in.

    For a summary built elsewhere (the manager's, or any caller's): each upstream summary is
    re-emitted with the running total of valid underruns applied in one
    ``update_underruns`` call, and each report re-emits the latest summary with the new total.
    """
    update = underrun_fold(policy)
    tagged: Observable[Any] = rx.merge(
        summary.pipe(ops.map(lambda s: (True, s))),
        underruns.pipe(ops.map(lambda n: (False, to_underrun_count(n) or 0))),
    )

    def fold(acc: tuple[Any, int, Any], item: tuple[bool, Any]) -> tuple[Any, int, Any]:
        latest, total, _ = acc
        if item[0]:
            latest = item[1]
        else:
            total += item[1]
        return latest, total, update(latest, total)

    # No summary before the upstream's first one (combine_latest waits for it anyway).
    seed: tuple[Any, int, Any] = (_NO_SUMMARY, 0, _NO_SUMMARY)

    def ready(acc: tuple[Any, int, Any]) -> bool:
        return acc[0] is not _NO_SUMMARY

    def folded(acc: tuple[Any, int, Any]) -> Any:
        return acc[2]

    return tagged.pipe(ops.scan(fold, seed), ops.filter(ready), ops.map(folded))


_NO_SUMMARY = object()


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


def policy_steps(
    metrics: Observable[SystemMetrics],
    summary: Observable[Any],
    ticks: Observable[Any],
    policy: Policy[Any, Any],
    *,
    initial_state: Any = None,
    scheduler: abc.SchedulerBase | None = None,
    validate_metrics: bool = True,
    underruns: Observable[int] | None = None,
) -> Observable[tuple[Any, BufferDecision | None]]:
    """One ``(policy state, decision)`` pair per tick that has metrics.

    Args:
        metrics: aggregated samples; invalid ones (NaN, negative, memory over 100 %) are
            dropped before the policy sees them, unless ``validate_metrics`` is false.
        summary: the policy's latency summary; it must emit a value at once (seed it, e.g.
            with ``start_with``), because ``combine_latest`` waits for every source.
        ticks: one adaptation per item; a tick before any metrics decides nothing.
        policy: the decision function.
        initial_state: the policy state to start from (default: ``policy.initial_state()``).
        scheduler: whose clock stamps the decisions (default: the subscription's scheduler).
        validate_metrics: whether to drop invalid metrics here. A replay of recorded inputs
            turns it off, to decide on them exactly as the original did (it checked nothing).
        underruns: counts of underruns reported by the audio path, folded into ``summary``
            with the policy's ``update_underruns`` (leave it out when ``summary`` already
            holds them, as :func:`latency_summary` with ``underruns=`` does).
    """
    if underruns is not None:
        summary = _with_underruns(summary, underruns, policy)
    seed_state = policy.initial_state() if initial_state is None else initial_state
    decide = policy.decide
    if validate_metrics:
        metrics = metrics.pipe(ops.filter(_valid_metrics))
    inputs = rx.combine_latest(metrics, summary)
    # scan never emits its seed, so the seed's decision slot is never read.
    seed: tuple[Any, Any] = (seed_state, None)

    def factory(
        scheduler_: abc.SchedulerBase | None,
    ) -> Observable[tuple[Any, BufferDecision | None]]:
        # The clock that stamps decisions: resolved at subscription, as ops.timestamp does,
        # but read inside the fold rather than in an extra operator (one hop less per tick).
        clock = scheduler or scheduler_ or TimeoutScheduler.singleton()

        def fold(
            acc: tuple[Any, BufferDecision | None], item: tuple[Any, tuple[SystemMetrics, Any]]
        ) -> tuple[Any, BufferDecision | None]:
            sample, latency = item[1]
            return decide(acc[0], sample, latency, clock.now)

        steps: Observable[tuple[Any, BufferDecision | None]] = ticks.pipe(
            ops.with_latest_from(inputs), ops.scan(fold, seed)
        )
        return steps

    if scheduler is not None:
        # The clock is known now: no need to defer to subscription (one Rx hop less per tick).
        return factory(scheduler)
    return rx.defer(factory)


def decisions_from_summary(
    metrics: Observable[SystemMetrics],
    summary: Observable[Any],
    ticks: Observable[Any],
    policy: Policy[Any, Any],
    *,
    initial_state: Any = None,
    scheduler: abc.SchedulerBase | None = None,
    validate_metrics: bool = True,
) -> Observable[BufferDecision]:
    """The decisions of :func:`policy_steps`, without the states."""
    steps = policy_steps(
        metrics,
        summary,
        ticks,
        policy,
        initial_state=initial_state,
        scheduler=scheduler,
        validate_metrics=validate_metrics,
    )
    decisions: Observable[BufferDecision] = steps.pipe(ops.map(_decision), ops.filter(_is_decision))
    return decisions


#: A step's decision (``step[1]``), taken in C: this runs once per tick.
_decision = itemgetter(1)


def _is_decision(decision: BufferDecision | None) -> bool:
    return decision is not None


def buffer_decisions(
    metrics: Observable[SystemMetrics],
    latency: Observable[LatencySample] | Observable[LatencyItem],
    ticks: Observable[Any],
    settings: AdaptiveBufferSettings | None = None,
    *,
    policy: Policy[Any, Any] | None = None,
    scheduler: abc.SchedulerBase | None = None,
    validate_metrics: bool = True,
    underruns: Observable[int] | None = None,
) -> Observable[BufferDecision]:
    """The stream of buffer decisions: the public entry point of the dataflow.

    The latest metrics and the latency average (0 before any sample, as in the original)
    are combined with ``combine_latest``; each tick folds them into the policy state with
    ``scan``. A tick before any metrics emits nothing.

    Args:
        metrics: observable of :class:`SystemMetrics`.
        latency: observable of latency samples, each a ``timedelta`` or float seconds (or
            a list of them, folded in order); invalid samples (NaN, negative, ...) are skipped.
        ticks: observable of anything; each item is one adaptation.
        settings: the settings (default: ``AdaptiveBufferSettings()``, the JetKVM values).
        policy: a policy object; by default the one the settings name.
        scheduler: whose clock stamps the decisions (default: the subscription's scheduler).
        validate_metrics: drop metrics that are NaN, infinite, negative or over 100 %
            memory (default). ``False`` hands every sample to the policy as it is, as the
            original did (trace replay uses it to reproduce the firmware on any input).
        underruns: observable of underrun counts (``int`` >= 0 per report) from the audio
            path, folded into the policy's summary with the latency samples. Policies that
            close the loop grow on them; ``jetkvm`` ignores them, as the firmware did.

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
    return decisions_from_summary(
        metrics,
        latency_summary(latency, policy, underruns=underruns),
        ticks,
        policy,
        scheduler=scheduler,
        validate_metrics=validate_metrics,
    )
