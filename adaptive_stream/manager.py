"""The manager audio code uses: start/stop, latency and underruns in, buffer sizes out.

It owns the Subjects and the ticker, and wires them with the pipeline
(:func:`~adaptive_stream.pipeline.latency_summary`,
:func:`~adaptive_stream.pipeline.policy_steps`) exactly as ``buffer_decisions`` and the
simulator do: the inputs are checked there, and what a tick decides (stale or missing
metrics included) is the policy's call.

Threads: ``update_latency`` and ``report_underrun`` may be called from any thread (pushes are
serialised by one lock, so latency samples and underrun reports are folded in one order);
ticks, decisions and the ``decisions``/``sizes`` subscribers run on the manager's scheduler
(one ``EventLoopScheduler`` thread by default, or whatever scheduler was injected).

Subscribers may stop nothing: whatever a subscriber of ``decisions`` or ``sizes`` raises
is counted and logged (see :mod:`adaptive_stream.isolation`), ``SystemExit`` and
``KeyboardInterrupt`` included when raised off the main thread. The process stops the
manager with ``stop()`` (``adaptive-stream run`` does on SIGINT and SIGTERM, which the main
thread handles).

A started manager that is dropped stops: its ticker holds it by a weak reference only, so
once the manager is garbage-collected the ticker is disposed and its thread ends.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypedDict

import reactivex as rx
from loguru import logger
from reactivex import Observable, abc, typing
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import BehaviorSubject, Subject

from adaptive_stream.inputs import InputChecks, UnderrunReport
from adaptive_stream.isolation import ErrorCounter, isolate
from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics
from adaptive_stream.pipeline import latency_summary, policy_steps
from adaptive_stream.policies import AnyPolicy, make_policy
from adaptive_stream.settings import AdaptiveBufferSettings, load_settings
from adaptive_stream.sources.processes import MetricsSampler, ProcessSampler, metrics_on_ticks
from adaptive_stream.sources.resilient import SourceHealth, resubscribing

#: How long ``stop()`` waits for a tick in flight before it gives up on it (and says so).
STOP_TIMEOUT = timedelta(seconds=10)

__all__ = [
    "STOP_TIMEOUT",
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
        metrics: an observable of :class:`SystemMetrics` (``None``: nothing to measure
            now; subscribed again with backoff after it errors or completes), or a sampler
            (an object with a ``sample()`` method, e.g.
            :class:`~adaptive_stream.sources.processes.ProcessSampler`) that is then read
            on every tick, just before the decision, as the original did (``None`` from it:
            nothing to measure). Samples without ``sampled_at`` are stamped with their
            arrival time. Default: a psutil sampler of the current process.
        scheduler: where ticks run. Default: one ``EventLoopScheduler`` thread per start,
            ended by ``stop``. Pass a ``TestScheduler`` to run in virtual time.
        policy: a policy object; by default the one the settings name, built by
            :func:`~adaptive_stream.policies.make_policy` (which applies
            ``buffer_size_override``; a policy passed here is used as it is).
        cpu_cores: how many cores the metrics measure: samples with CPU above
            ``100 % x cpu_cores`` are rejected. Default: this machine's.

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
        policy: AnyPolicy | None = None,
        cpu_cores: int | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.policy: AnyPolicy = policy if policy is not None else make_policy(self.settings)
        self._metrics_source = metrics
        self._scheduler = scheduler
        # Neither closes over self: the ticker must not keep the manager alive.
        self._clock: Callable[[], datetime] = _clock_of(scheduler)
        interval = self.settings.adaptation_interval
        self._checks = InputChecks.from_settings(
            self.settings, cpu_cores=cpu_cores, clock=self._clock
        )
        self._health = SourceHealth(interval, self._clock)
        self._stale_after = self.settings.metrics_stale_after

        self._lifecycle = threading.RLock()  # start/stop
        self._tick_lock = threading.RLock()  # held while one tick is processed and published
        self._push_lock = threading.Lock()  # serialises input pushes (Subject.on_next is not)

        self._subscriber_errors = ErrorCounter("the adaptive buffer manager")
        self._state: Any = self.policy.initial_state()
        self._last: BufferDecision | None = None
        self._last_adaptation: datetime = self._clock()
        self._stale = False  # as last seen by a tick (for logging the transitions)
        self._running = False
        self._subscription: abc.DisposableBase | None = None
        self._ticker: _Ticker | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

        # The summary lives for the manager's lifetime, so inputs pushed while it is stopped
        # still count (as in the original, where UpdateLatency needs no running loop).
        # Latency samples and underrun reports share one Subject, so both are folded in the
        # order their pushes took the lock.
        self._inputs: Subject[Any] = Subject()
        self._summary: BehaviorSubject[Any] = BehaviorSubject(self.policy.initial_summary())
        latency_summary(self._inputs, self.policy, checks=self._checks).subscribe(self._summary)

        self._decisions: Subject[BufferDecision] = Subject()
        self._sizes: BehaviorSubject[BufferSizes] = BehaviorSubject(self.policy.sizes(self._state))
        self.decisions: Observable[BufferDecision] = isolate(
            self._decisions, self._subscriber_errors
        )
        """Every decision (hot: no replay); a tick the policy decides nothing on has none."""
        self.sizes: Observable[BufferSizes] = isolate(self._sizes, self._subscriber_errors)
        """The current sizes: the latest is replayed to a new subscriber, then each change."""

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the ticker runs: false after ``stop()``, after the pipeline failed, and
        after the ticker thread died (a policy or sampler raising ``SystemExit`` on it)."""
        ticker = self._ticker
        return self._running and (ticker is None or not ticker.died)

    def start(self) -> None:
        """Start ticking at the adaptation interval. Calling it again while running is a no-op."""
        with self._lifecycle:
            if self.running:
                return
            if self._running:  # the ticker died: clean up before starting again
                self.stop()
            ticker: _Ticker | None = None
            scheduler = self._scheduler
            if scheduler is None:
                ticker = self._ticker = _Ticker()
                scheduler = ticker.scheduler
            interval = self.settings.adaptation_interval
            # One shared ticker: a sampler subscribed to it first reads the metrics, then the
            # same tick decides, as the original's loop did.
            ticks = rx.interval(interval, scheduler=scheduler).pipe(ops.share())
            source = self._metrics_source
            if source is None:
                source = self._metrics_source = ProcessSampler()  # the current process
            metrics: Observable[Any]
            if isinstance(source, Observable):
                metrics = resubscribing(source, scheduler, interval=interval, health=self._health)
            else:
                on_error = partial(self._health.failed, "sampler raised")
                metrics = metrics_on_ticks(source, ticks, on_error=on_error)
            steps = policy_steps(
                metrics,
                self._summary,
                ticks,
                self.policy,
                initial_state=self._state,
                scheduler=scheduler,
                checks=self._checks,
                stamp_arrivals=True,
            )
            self._running = True
            me = weakref.ref(self)
            self._subscription = steps.subscribe(
                partial(_on_step, me), partial(_on_pipeline_error, me), scheduler=scheduler
            )
            if ticker is not None:
                # Dropped while running: the ticker is disposed, so its thread ends.
                self._finalizer = weakref.finalize(self, ticker.dispose, self._subscription)
                self._finalizer.atexit = False
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
            ticker, self._ticker = self._ticker, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        thread = ticker.dispose(subscription) if ticker is not None else None
        if ticker is None and subscription is not None:
            subscription.dispose()
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

    # -- inputs ------------------------------------------------------------------------------

    def update_latency(self, sample: Any) -> None:
        """Report one measured latency: a ``timedelta``, or seconds as any real number
        (``float``, ``int``, NumPy's ``float32``/``float64`` and integer scalars, ...).

        Safe from any thread, never raises: NaN, infinite, negative samples, samples above
        ``latency_ceiling``, booleans and anything that is not a latency are counted as
        rejected (``stats()["rejected_samples"]``) and dropped, with at most one warning per
        adaptation interval (by the scheduler's clock).
        """
        one = (sample,)  # one sample, even if it is a list: a batch is no latency
        with self._push_lock:
            self._inputs.on_next(one)

    def report_underrun(self, count: int = 1) -> None:
        """Report underruns: the audio consumer found the buffer empty ``count`` times since
        its last report (a frame was due and had not arrived).

        Safe from any thread, never raises. ``count`` must be a whole number from 0 to
        :data:`~adaptive_stream.inputs.MAX_UNDERRUNS_PER_REPORT` (0 changes nothing);
        anything else (negative, a float, a bool, ``None``, ...) is counted as rejected
        (``stats()["rejected_underruns"]``) and dropped, with at most one warning per
        adaptation interval. Accepted counts add up in ``stats()["underruns"]`` and reach the
        policy's summary (``jetkvm`` ignores them, as the firmware never heard of underruns).
        """
        with self._push_lock:
            self._inputs.on_next(UnderrunReport(count))

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
        """The original's ``GetStats`` keys (SPEC step 8), plus counters of our own: see
        :class:`ManagerStats`. Safe from any thread."""
        last = self._last
        sizes = self._sizes.value
        scale = self.settings.percentage_multiplier
        cpu = int(last.cpu_percent * 100) / scale if last else 0.0
        mem = int(last.memory_percent * 100) / scale if last else 0.0
        checks, health = self._checks, self._health
        sampled = checks.last_sampled
        age = self._clock() - sampled if sampled is not None else None
        return {
            "input_buffer_size": sizes.input_size,
            "output_buffer_size": sizes.output_size,
            "average_latency_ms": _average_ns(self._summary.value) / 1e6,
            "system_cpu_percent": cpu,
            "system_memory_percent": mem,
            "adaptation_count": last.adaptation_count if last else 0,
            "last_adaptation": self._last_adaptation,
            "latency_samples": checks.latency_accepted,
            "rejected_samples": checks.latency_rejected,
            "underruns": checks.underruns,
            "rejected_underruns": checks.underruns_rejected,
            "metrics_samples": checks.metrics_accepted,
            "rejected_metrics": checks.metrics_rejected,
            "metrics_age_s": age.total_seconds() if age is not None else None,
            "metrics_stale": age is None or age > self._stale_after,
            "source_errors": health.errors,
            "source_restarts": health.restarts,
            "subscriber_errors": self._subscriber_errors.count,
            "policy": self.policy.name,
            "running": self.running,
        }

    # -- the tick ----------------------------------------------------------------------------

    def _step(self, step: tuple[Any, BufferDecision | None]) -> None:
        state, decision = step
        with self._tick_lock:
            if not self._running:
                return  # a tick that raced with stop(): publish nothing
            self._state = state
            self._note_staleness()
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

    def _note_staleness(self) -> None:
        """Log the transitions to and from stale metrics (once each). What a tick with stale
        metrics decides is the policy's call; this only tells the operator."""
        last = self._checks.last_sampled
        if last is None:
            return
        age = self._clock() - last
        stale = age > self._stale_after
        if stale == self._stale:
            return
        self._stale = stale
        if stale:
            logger.warning(
                "metrics are stale: the last sample is {:.3f} s old (stale_after {:.3f} s); "
                "policy {} decides on stale metrics by its own rule",
                age.total_seconds(),
                self._stale_after.total_seconds(),
                self.policy.name,
            )
        else:
            logger.info("metrics are fresh again")

    def _failed(self, error: Exception) -> None:
        logger.opt(exception=error).error("the decision pipeline failed; ticking stopped")
        with self._lifecycle:
            self._running = False


def _on_step(manager: weakref.ref[AdaptiveBufferManager], step: Any) -> None:
    target = manager()
    if target is not None:
        target._step(step)


def _on_pipeline_error(manager: weakref.ref[AdaptiveBufferManager], error: Exception) -> None:
    target = manager()
    if target is not None:
        target._failed(error)


def _clock_of(scheduler: abc.SchedulerBase | None) -> Callable[[], datetime]:
    """The manager's clock: the injected scheduler's, else the wall clock (UTC)."""
    if scheduler is None:
        return partial(datetime.now, UTC)

    def now() -> datetime:
        return scheduler.now

    return now


class _Ticker:
    """The manager's own ticker: an ``EventLoopScheduler`` thread, and whether it died.

    It holds no reference to the manager, so a manager that is dropped while running can
    be collected (and its ticker disposed).
    """

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.died = False
        # exit_if_empty: a stop() from inside a tick disposes the scheduler on its own
        # thread, whose loop then never gets the wake-up and would wait forever on an empty
        # queue; with this it ends instead.
        self.scheduler = _TickerScheduler(thread_factory=self._thread, exit_if_empty=True)

    def _thread(self, target: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # the loop is gone: say so, and let running say so
                self.died = True
                logger.opt(exception=exc).error(
                    "the adaptive buffer manager's ticker thread died ({}); ticking stopped",
                    type(exc).__name__,
                )

        thread = threading.Thread(target=run, name="adaptive-stream-ticker", daemon=True)
        self.thread = thread
        return thread

    def dispose(self, subscription: abc.DisposableBase | None) -> threading.Thread | None:
        """Dispose the subscription and the scheduler; the thread, to join."""
        if subscription is not None:
            subscription.dispose()
        self.scheduler.dispose()
        return self.thread


class _TickerScheduler(EventLoopScheduler):
    """An ``EventLoopScheduler`` that drops work scheduled after its disposal.

    A periodic timer reschedules itself *after* its action returns, so a ``stop()`` during
    a tick (from a subscriber on the ticker thread, or from another thread at the wrong
    moment) would schedule on a disposed scheduler, which raises on the ticker thread and
    ends it with a traceback.
    """

    def __init__(
        self,
        thread_factory: typing.StartableFactory | None = None,
        exit_if_empty: bool = False,
    ) -> None:
        super().__init__(thread_factory=thread_factory, exit_if_empty=exit_if_empty)
        self._guard = threading.RLock()  # re-entrant: schedule_periodic schedules through it
        self._closed = False

    def schedule_absolute(
        self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        with self._guard:
            if self._closed:
                return Disposable()
            return super().schedule_absolute(duetime, action, state)

    def schedule_periodic(
        self,
        period: typing.RelativeTime,
        action: typing.ScheduledPeriodicAction[Any],
        state: Any = None,
    ) -> abc.DisposableBase:
        with self._guard:
            if self._closed:
                return Disposable()
            return super().schedule_periodic(period, action, state)

    def dispose(self) -> None:
        with self._guard:
            self._closed = True
        super().dispose()


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
