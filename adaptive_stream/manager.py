"""The manager audio code uses: start/stop, latency in, buffer sizes out.

It owns the Subjects and the ticker, and wires them with
:func:`~adaptive_stream.pipeline.policy_steps`; the decision itself stays in the policy.

Threads: ``update_latency`` and ``report_underrun`` may be called from any thread (pushes are
serialised by one lock, so latency samples and underrun reports are folded in one order);
ticks, decisions and the ``decisions``/``sizes`` subscribers run on the manager's scheduler
(one ``EventLoopScheduler`` thread by default, or whatever scheduler was injected).
"""

from __future__ import annotations

import math
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import reactivex as rx
from loguru import logger
from reactivex import Observable, abc, typing
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable
from reactivex.internal.exceptions import DisposedException
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import BehaviorSubject, Subject

from adaptive_stream.gonum import duration_ns
from adaptive_stream.isolation import ErrorCounter, isolate
from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics
from adaptive_stream.pipeline import (
    MAX_UNDERRUNS_PER_REPORT,
    LatencySample,
    UnderrunReport,
    policy_steps,
    to_nanoseconds,
    to_underrun_count,
    underrun_fold,
)
from adaptive_stream.policies import Policy, make_policy
from adaptive_stream.settings import AdaptiveBufferSettings, load_settings
from adaptive_stream.sources.processes import MetricsSampler, ProcessSampler

#: The longest wait before resubscribing to a metrics source that failed again and again
#: (the wait doubles from one adaptation interval up to this).
MAX_RESTART_BACKOFF = timedelta(seconds=30)

#: How long ``stop()`` waits for a tick in flight before it gives up on it (and says so).
STOP_TIMEOUT = timedelta(seconds=10)

__all__ = [
    "AdaptiveBufferManager",
    "ManagerStats",
    "get_adaptive_buffer_manager",
    "start_adaptive_buffering",
    "stop_adaptive_buffering",
]


class ManagerStats(TypedDict):
    """What :meth:`AdaptiveBufferManager.stats` returns: the original's ``GetStats`` keys
    (SPEC step 8), then counters of our own."""

    input_buffer_size: int
    """Current input buffer size, in frames."""
    output_buffer_size: int
    """Current output buffer size, in frames."""
    average_latency_ms: float
    """The latency average the policy's summary holds, in milliseconds (0 before any)."""
    system_cpu_percent: float
    """CPU of the last decision, the original's fixed point: ``int64(x * 100) / 100``."""
    system_memory_percent: float
    """Memory of the last decision, the same fixed point."""
    adaptation_count: int
    """How many ticks adjusted the sizes (the last decision's count)."""
    last_adaptation: datetime
    """When the sizes were last adjusted (the manager's creation before any)."""
    latency_samples: int
    """Latency samples accepted."""
    rejected_samples: int
    """Latency samples rejected (NaN, infinite, negative, above ``latency_ceiling``, not a
    number)."""
    underruns: int
    """Underruns reported, summed over the accepted reports."""
    rejected_underruns: int
    """Underrun reports rejected (not a whole number from 0 to 1,000,000)."""
    metrics_samples: int
    """Metrics samples accepted."""
    rejected_metrics: int
    """Metrics samples rejected (NaN, negative, memory over 100 %, CPU over 100 % x cores,
    not a ``SystemMetrics``)."""
    metrics_age_s: float | None
    """Seconds since the last accepted metrics sample was taken; ``None`` before the first."""
    metrics_stale: bool
    """No metrics sample yet, or the last is older than ``stale_after``."""
    source_errors: int
    """A metrics source erred or completed, or a sampler raised."""
    source_restarts: int
    """Resubscriptions to a metrics source after it erred or completed."""
    subscriber_errors: int
    """Exceptions raised by subscribers of ``decisions`` or ``sizes`` (counted, not fatal)."""
    policy: str
    """The policy's name."""
    running: bool
    """Whether the ticker runs."""


class AdaptiveBufferManager:
    """Decides, every adaptation interval, how many frames the audio buffers should hold.

    Args:
        settings: the settings (default: ``load_settings()``: JetKVM's values, overridden by
            any ``ADAPTIVE_STREAM_*`` environment variables; an invalid one raises
            :class:`~adaptive_stream.errors.SettingsError` naming it and its range).
        metrics: an observable of :class:`SystemMetrics`, or a sampler (an object with a
            ``sample()`` method, e.g. :class:`~adaptive_stream.sources.processes.ProcessSampler`)
            that is then read on every tick, just before the decision, as the original did.
            Default: a psutil sampler of the current process.
        scheduler: where ticks run. Default: one ``EventLoopScheduler`` thread per start,
            ended by ``stop``. Pass a ``TestScheduler`` to run in virtual time.
        policy: a policy object; by default the one the settings name.

    Example:
        >>> manager = AdaptiveBufferManager()
        >>> manager.sizes.subscribe(lambda s: print("resize to", s.input_size))  # doctest: +SKIP
        >>> manager.start(); manager.update_latency(0.012); manager.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: AdaptiveBufferSettings | None = None,
        *,
        metrics: Observable[SystemMetrics] | MetricsSampler | None = None,
        scheduler: abc.SchedulerBase | None = None,
        policy: Policy[Any, Any] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.policy: Policy[Any, Any] = policy if policy is not None else make_policy(self.settings)
        self._metrics_source = metrics
        self._scheduler = scheduler

        self._lifecycle = threading.RLock()  # start/stop
        self._tick_lock = threading.RLock()  # held while one tick is processed and published
        self._push_lock = threading.Lock()  # serialises latency pushes (Subject.on_next is not)

        self._subscriber_errors = ErrorCounter("the adaptive buffer manager")
        self._state: Any = self.policy.initial_state()
        self._last: BufferDecision | None = None
        self._created = self._now()
        self._last_adaptation: datetime = self._created
        self._accepted = 0
        self._rejected = 0
        self._underruns = 0
        self._rejected_underruns = 0
        self._underrun_log = _RateLimited(self.settings.adaptation_interval)
        self._ceiling_ns = duration_ns(self.settings.latency_ceiling)
        self._latency_log = _RateLimited(self.settings.adaptation_interval)

        # The metrics path: validation, staleness and the source's failures (per metrics
        # sample or per tick, never per latency sample).
        self._metrics_lock = threading.Lock()
        self._cpu_ceiling = 100.0 * (os.cpu_count() or 1)
        self._stale_after = self.settings.metrics_stale_after
        self._metrics_time: datetime | None = None  # when the last valid sample arrived
        self._metrics_present = True  # False after a sampler found nothing to measure
        self._stale = False  # as last seen by a tick (for logging the transitions)
        self._sampled_this_tick = False  # a sampler's sample was taken on the current tick
        self._metrics_accepted = 0
        self._metrics_rejected = 0
        self._source_errors = 0
        self._source_restarts = 0
        self._metrics_log = _RateLimited(self.settings.adaptation_interval)
        self._source_log = _RateLimited(self.settings.adaptation_interval)
        self._running = False
        self._subscription: abc.DisposableBase | None = None
        self._own_scheduler: EventLoopScheduler | None = None
        self._ticker_thread: threading.Thread | None = None

        # The summary lives for the manager's lifetime, so samples pushed while it is stopped
        # still count (as in the original, where UpdateLatency needs no running loop). Latency
        # samples (ints, in ns) and underrun reports share one Subject and one scan, so both
        # are folded in the order their pushes took the lock.
        self._latency: Subject[int | UnderrunReport] = Subject()
        self._summary: BehaviorSubject[Any] = BehaviorSubject(self.policy.initial_summary())
        self._latency.pipe(
            ops.scan(_input_fold(self.policy), self.policy.initial_summary())
        ).subscribe(self._summary)

        default = self.policy.initial_state()
        self._decisions: Subject[BufferDecision] = Subject()
        self._sizes: BehaviorSubject[BufferSizes] = BehaviorSubject(self.policy.sizes(default))
        self.decisions: Observable[BufferDecision] = isolate(
            self._decisions, self._subscriber_errors
        )
        """Every decision, one per tick that had metrics (hot: no replay)."""
        self.sizes: Observable[BufferSizes] = isolate(self._sizes, self._subscriber_errors)
        """The current sizes: the latest is replayed to a new subscriber, then each change."""

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the ticker runs."""
        return self._running

    def start(self) -> None:
        """Start ticking at the adaptation interval. Calling it again while running is a no-op."""
        with self._lifecycle:
            if self._running:
                return
            scheduler = self._scheduler
            if scheduler is None:
                # exit_if_empty: a stop() from inside a tick disposes the scheduler on its own
                # thread, whose loop then never gets the wake-up and would wait forever on an
                # empty queue; with this it ends instead.
                scheduler = self._own_scheduler = _TickerScheduler(
                    thread_factory=self._make_ticker_thread, exit_if_empty=True
                )
            interval = self.settings.adaptation_interval
            # One shared ticker: a sampler subscribed to it first reads the metrics, then the
            # same tick decides, as the original's loop did.
            ticks = rx.interval(interval, scheduler=scheduler).pipe(ops.share())
            source = self._metrics_source
            if source is None:
                source = self._metrics_source = ProcessSampler()  # the current process
            metrics: Observable[SystemMetrics]
            if isinstance(source, Observable):
                metrics = self._resilient(source, scheduler)
            else:
                metrics = self._sampled(source, ticks)
            # Ticks whose metrics are missing or stale decide nothing. The gate is subscribed
            # after the metrics (with_latest_from subscribes its other sources first), so on
            # a shared tick it sees the sample taken on that same tick.
            fresh_ticks = ticks.pipe(ops.filter(self._tick_has_fresh_metrics))
            steps = policy_steps(
                metrics,
                self._summary,
                fresh_ticks,
                self.policy,
                initial_state=self._state,
                scheduler=scheduler,
            )
            self._running = True
            self._subscription = steps.subscribe(
                self._on_step, self._on_pipeline_error, scheduler=scheduler
            )
            logger.info(
                "adaptive buffer manager started (policy {}, interval {})",
                self.policy.name,
                interval,
            )

    def stop(self) -> None:
        """Stop ticking. When it returns no tick is running or will run (unless it is called
        from inside a subscriber, i.e. from the tick itself, or a subscriber blocked the tick
        for longer than :data:`STOP_TIMEOUT`: then that tick publishes nothing more, and an
        error is logged). Idempotent."""
        with self._lifecycle:
            if not self._running:
                return
            self._running = False
            subscription, self._subscription = self._subscription, None
            own, self._own_scheduler = self._own_scheduler, None
            thread, self._ticker_thread = self._ticker_thread, None
        if subscription is not None:
            subscription.dispose()
        if own is not None:
            own.dispose()
        in_tick = thread is threading.current_thread()
        if thread is not None and not in_tick:
            thread.join(STOP_TIMEOUT.total_seconds())
        # Wait for a tick in flight on an injected scheduler (re-entrant from inside a tick).
        # Bounded: a subscriber that never returns must not hang the caller (a SIGTERM
        # handler, say); that tick publishes nothing more once it does return.
        done = (thread is None or not thread.is_alive() or in_tick) and self._tick_lock.acquire(
            timeout=STOP_TIMEOUT.total_seconds()
        )
        if done:
            self._tick_lock.release()
            logger.info("adaptive buffer manager stopped")
        else:
            logger.error(
                "adaptive buffer manager stopped, but a tick is still running after {:g} s "
                "(a subscriber that blocks?); it will publish nothing",
                STOP_TIMEOUT.total_seconds(),
            )

    def __enter__(self) -> AdaptiveBufferManager:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _make_ticker_thread(self, target: Any) -> threading.Thread:
        thread = threading.Thread(target=target, name="adaptive-stream-ticker", daemon=True)
        self._ticker_thread = thread
        return thread

    # -- inputs ------------------------------------------------------------------------------

    def update_latency(self, sample: LatencySample) -> None:
        """Report one measured latency: a ``timedelta`` or float seconds.

        Safe from any thread, never raises: NaN, infinite, negative samples, samples above
        ``latency_ceiling`` and anything that is not a latency are counted as rejected
        (``stats()["rejected_samples"]``) and dropped, with at most one warning per
        adaptation interval (by the scheduler's clock).
        """
        try:
            ns = to_nanoseconds(sample)
        except Exception:  # an object whose conversion raises: not a latency
            ns = None
        with self._push_lock:
            if ns is not None and ns <= self._ceiling_ns:
                self._accepted += 1
                self._latency.on_next(ns)
                return
            self._rejected += 1
            report = self._latency_log.due(self._now())
            total = self._rejected
        if report is not None:
            why = "above latency_ceiling" if ns is not None else "not a latency >= 0"
            logger.warning(
                "rejected latency sample {} ({}): {} rejected since the last report, {} in all",
                _short(sample),
                why,
                report,
                total,
            )

    def report_underrun(self, count: int = 1) -> None:
        """Report underruns: the audio consumer found the buffer empty ``count`` times since
        its last report (a frame was due and had not arrived).

        Safe from any thread, never raises. ``count`` must be a whole number from 0 to
        :data:`~adaptive_stream.pipeline.MAX_UNDERRUNS_PER_REPORT` (0 changes nothing);
        anything else (negative, a float, a bool, ``None``, ...) is counted as rejected
        (``stats()["rejected_underruns"]``) and dropped, with at most one warning per
        adaptation interval. Accepted counts add up in ``stats()["underruns"]`` and reach the
        policy's summary (``jetkvm`` ignores them, as the firmware never heard of underruns).
        """
        value = to_underrun_count(count)
        with self._push_lock:
            if value is not None:
                if value:
                    self._underruns += value
                    self._latency.on_next(UnderrunReport(value))
                return
            self._rejected_underruns += 1
            report = self._underrun_log.due(self._now())
            total = self._rejected_underruns
        if report is not None:
            logger.warning(
                "rejected underrun report {} (not a whole number from 0 to {}): {} rejected "
                "since the last report, {} in all",
                _short(count),
                MAX_UNDERRUNS_PER_REPORT,
                report,
                total,
            )

    # -- the metrics path --------------------------------------------------------------------

    def _accept_metrics(self, sample: Any) -> SystemMetrics | None:
        """``sample`` as plain floats if the policy may see it; otherwise count, log (rate
        limited) and drop it."""
        problem = self._metrics_problem(sample)
        now = self._now()
        with self._metrics_lock:
            if problem is None:
                self._metrics_accepted += 1
                self._metrics_time = now
                self._metrics_present = True
                return SystemMetrics(float(sample.cpu_percent), float(sample.memory_percent))
            self._metrics_rejected += 1
            report = self._metrics_log.due(now)
            total = self._metrics_rejected
        if report is not None:
            logger.warning(
                "rejected metrics sample {} ({}): {} rejected since the last report, {} in all",
                _short(sample),
                problem,
                report,
                total,
            )
        return None

    def _metrics_problem(self, sample: Any) -> str | None:
        """What is wrong with a metrics sample, or ``None``."""
        try:
            cpu = float(sample.cpu_percent)
            memory = float(sample.memory_percent)
        except Exception:
            return "not a SystemMetrics"
        if not (math.isfinite(cpu) and math.isfinite(memory)):
            return "not finite"
        if cpu < 0.0 or memory < 0.0:
            return "negative"
        if memory > 100.0:
            return "memory above 100 %"
        if cpu > self._cpu_ceiling:
            return f"cpu above 100 % x {self._cpu_ceiling / 100:g} cores"
        return None

    def _source_failed(self, what: str, error: BaseException | None) -> None:
        with self._metrics_lock:
            self._source_errors += 1
            report = self._source_log.due(self._now())
            total = self._source_errors
        if report is not None:
            detail = f" ({type(error).__name__}: {error})" if error is not None else ""
            logger.warning(
                "metrics source {}{}: {} failure(s) since the last report, {} in all",
                what,
                detail,
                report,
                total,
            )

    def _sampled(self, sampler: MetricsSampler, ticks: Observable[Any]) -> Observable[Any]:
        """One sample per tick, read on the tick's thread before the decision, as the
        original did. A tick where the sampler finds nothing to measure decides nothing
        (SPEC step 2); a sampler that raises is counted and read again on the next tick."""

        def take(_: Any) -> SystemMetrics | None:
            try:
                sample = sampler.sample()
            except Exception as exc:
                self._source_failed("sampler raised", exc)
                return None
            if sample is None:
                with self._metrics_lock:
                    self._metrics_present = False
                return None
            accepted = self._accept_metrics(sample)
            # Taken on this very tick: fresh whatever the wall clock says by the time the
            # gate runs (a busy machine can hold this thread off the GIL for milliseconds).
            self._sampled_this_tick = accepted is not None
            return accepted

        return ticks.pipe(ops.map(take), ops.filter(_is_not_none))

    def _resilient(
        self, source: Observable[SystemMetrics], scheduler: abc.SchedulerBase
    ) -> Observable[SystemMetrics]:
        """``source``, validated, and subscribed again after it errors or completes: after
        one adaptation interval, doubling on each failure without a sample in between, up
        to :data:`MAX_RESTART_BACKOFF`. The decision stream never sees the failure."""
        interval = self.settings.adaptation_interval
        longest = max(MAX_RESTART_BACKOFF, interval)

        def subscribe(
            observer: abc.ObserverBase[SystemMetrics], _: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            lock = threading.Lock()
            current = SerialDisposable()
            timer = SerialDisposable()
            state = {"stopped": False, "failures": 0}

            def on_next(sample: SystemMetrics) -> None:
                accepted = self._accept_metrics(sample)
                if accepted is not None:
                    state["failures"] = 0
                    observer.on_next(accepted)

            def failed(error: Exception | None) -> None:
                self._source_failed("failed" if error is not None else "completed", error)
                with lock:
                    if state["stopped"]:
                        return
                    state["failures"] += 1
                    delay = min(interval * 2 ** min(state["failures"] - 1, 30), longest)
                try:
                    timer.disposable = scheduler.schedule_relative(delay, resubscribe)
                except Exception:  # the scheduler was disposed by a concurrent stop()
                    return
                logger.warning("metrics source: subscribing again in {:g} s", delay.total_seconds())

            def on_error(error: Exception) -> None:
                failed(error)

            def on_completed() -> None:
                failed(None)

            def resubscribe(_: abc.SchedulerBase, __: Any = None) -> None:
                with lock:
                    if state["stopped"]:
                        return
                    self._source_restarts += 1
                attach()

            def attach() -> None:
                try:
                    current.disposable = source.subscribe(
                        on_next, on_error, on_completed, scheduler=scheduler
                    )
                except Exception as exc:  # a source whose subscribe raises outright
                    failed(exc)

            def stop() -> None:
                with lock:
                    state["stopped"] = True

            attach()
            return CompositeDisposable(Disposable(stop), timer, current)

        return Observable(subscribe)

    def _tick_has_fresh_metrics(self, _: Any) -> bool:
        """Whether this tick may decide: metrics present and not older than ``stale_after``.
        Logs the transitions to and from staleness (once each)."""
        now = self._now()
        with self._metrics_lock:
            last = self._metrics_time
            present = self._metrics_present
        if last is None:
            return False  # no metrics yet: no decision, as in the original
        age = now - last
        stale = age > self._stale_after and not self._sampled_this_tick
        self._sampled_this_tick = False
        if stale != self._stale:
            self._stale = stale
            if stale:
                logger.warning(
                    "metrics are stale: the last sample is {:.3f} s old (stale_after {:.3f} s);"
                    " ticks decide nothing until samples return",
                    age.total_seconds(),
                    self._stale_after.total_seconds(),
                )
            else:
                logger.info("metrics are back; decisions resume")
        return present and not stale

    # -- outputs -----------------------------------------------------------------------------

    @property
    def input_buffer_size(self) -> int:
        """Current input buffer size, in frames."""
        return self._sizes.value.input_size

    @property
    def output_buffer_size(self) -> int:
        """Current output buffer size, in frames."""
        return self._sizes.value.output_size

    @property
    def last_decision(self) -> BufferDecision | None:
        """The latest decision, or ``None`` before the first."""
        return self._last

    def stats(self) -> ManagerStats:
        """The original's ``GetStats`` keys (SPEC step 8), plus counters of our own.

        ``system_cpu_percent`` and ``system_memory_percent`` are the original's fixed-point
        figures: ``int64(x * 100) / 100``, i.e. truncated to hundredths.

        Our own: ``latency_samples`` / ``rejected_samples`` (latency accepted / rejected),
        ``underruns`` / ``rejected_underruns`` (underruns reported, summed over the accepted
        reports / reports rejected),
        ``metrics_samples`` / ``rejected_metrics`` (the same for metrics),
        ``metrics_age_s`` (seconds since the last valid metrics sample, ``None`` before the
        first), ``metrics_stale`` (no sample, or older than ``stale_after``: ticks decide
        nothing), ``source_errors`` (a metrics source erred or completed, or a sampler
        raised), ``source_restarts`` (resubscriptions), ``subscriber_errors``.
        """
        last = self._last
        sizes = self._sizes.value
        scale = self.settings.percentage_multiplier
        cpu = int(last.cpu_percent * 100) / scale if last else 0.0
        mem = int(last.memory_percent * 100) / scale if last else 0.0
        summary = self._summary.value
        with self._metrics_lock:
            last_metrics = self._metrics_time
        age = self._now() - last_metrics if last_metrics is not None else None
        return {
            "input_buffer_size": sizes.input_size,
            "output_buffer_size": sizes.output_size,
            "average_latency_ms": _average_ns(summary) / 1e6,
            "system_cpu_percent": cpu,
            "system_memory_percent": mem,
            "adaptation_count": last.adaptation_count if last else 0,
            "last_adaptation": self._last_adaptation,
            "latency_samples": self._accepted,
            "rejected_samples": self._rejected,
            "underruns": self._underruns,
            "rejected_underruns": self._rejected_underruns,
            "metrics_samples": self._metrics_accepted,
            "rejected_metrics": self._metrics_rejected,
            "metrics_age_s": age.total_seconds() if age is not None else None,
            "metrics_stale": age is None or age > self._stale_after,
            "source_errors": self._source_errors,
            "source_restarts": self._source_restarts,
            "subscriber_errors": self._subscriber_errors.count,
            "policy": self.policy.name,
            "running": self._running,
        }

    # -- the tick ----------------------------------------------------------------------------

    def _on_step(self, step: tuple[Any, BufferDecision | None]) -> None:
        state, decision = step
        with self._tick_lock:
            if not self._running:
                return  # a tick that raced with stop(): publish nothing
            self._state = state
            if decision is None:
                return
            self._last = decision
            if decision.adjusted:
                self._last_adaptation = decision.time
            # Subjects fan out in order; isolate() keeps a raising subscriber to itself.
            self._decisions.on_next(decision)
            sizes = decision.sizes
            if sizes != self._sizes.value:
                self._sizes.on_next(sizes)

    def _on_pipeline_error(self, error: Exception) -> None:
        logger.opt(exception=error).error("the decision pipeline failed; ticking stopped")
        with self._lifecycle:
            self._running = False

    def _now(self) -> datetime:
        if self._scheduler is not None:
            return self._scheduler.now
        return datetime.now(UTC)


class _TickerScheduler(EventLoopScheduler):
    """The manager's own ticker thread.

    An ``EventLoopScheduler`` raises ``DisposedException`` when work is scheduled after its
    disposal, and on its own thread that exception escapes the event loop. A periodic timer
    reschedules itself *after* its action returns, so a ``stop()`` during a tick (from a
    subscriber on the ticker thread, or from another thread at the wrong moment) made the
    ticker thread die with a traceback. Work scheduled after disposal is dropped instead.
    """

    def schedule_absolute(
        self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        try:
            return super().schedule_absolute(duetime, action, state)
        except DisposedException:
            return Disposable()


class _RateLimited:
    """At most one report per ``interval`` of a clock (the scheduler's, so that virtual time
    drives it in tests); counts the events in between. Not thread-safe: callers hold a lock."""

    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._last: datetime | None = None
        self._count = 0

    def due(self, now: datetime) -> int | None:
        """Record one event; when a report is due, the events since the last report (this
        one included), else ``None``."""
        self._count += 1
        if self._last is not None and now - self._last < self.interval:
            return None
        self._last = now
        count, self._count = self._count, 0
        return count


def _short(value: Any) -> str:
    """A bounded repr for logs (a rejected value may be anything)."""
    try:
        text = repr(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_not_none(value: Any) -> bool:
    return value is not None


def _input_fold(policy: Policy[Any, Any]) -> Any:
    """The manager's summary fold: latency samples (``int`` ns) through ``update_latency``,
    underrun reports through ``update_underruns`` (ignored by a policy without it)."""
    update_latency = policy.update_latency
    update_underruns = underrun_fold(policy)

    def fold(summary: Any, item: int | UnderrunReport) -> Any:
        if type(item) is UnderrunReport:
            return update_underruns(summary, item.underruns)
        return update_latency(summary, item)  # type: ignore[arg-type]

    return fold


def _average_ns(summary: Any) -> float:
    """The latency average a summary holds: ``jetkvm``'s is the average itself (an int);
    others expose ``average_ns``; anything else counts as 0."""
    if isinstance(summary, int):
        return summary
    average = getattr(summary, "average_ns", 0)
    return average if isinstance(average, int | float) else 0.0


_global_lock = threading.Lock()
_global_manager: AdaptiveBufferManager | None = None


def get_adaptive_buffer_manager() -> AdaptiveBufferManager:
    """The process-wide manager, created on first use with settings from the environment."""
    global _global_manager
    with _global_lock:
        if _global_manager is None:
            _global_manager = AdaptiveBufferManager()
        return _global_manager


def start_adaptive_buffering() -> None:
    """Start the process-wide manager (``StartAdaptiveBuffering``)."""
    get_adaptive_buffer_manager().start()


def stop_adaptive_buffering() -> None:
    """Stop the process-wide manager, if it was ever created (``StopAdaptiveBuffering``)."""
    with _global_lock:
        manager = _global_manager
    if manager is not None:
        manager.stop()
