"""The manager audio code uses: start/stop, latency in, buffer sizes out.

It owns the Subjects and the ticker, and wires them with
:func:`~adaptive_stream.pipeline.policy_steps`; the decision itself stays in the policy.

Threads: ``update_latency`` may be called from any thread (pushes are serialised by a lock);
ticks, decisions and the ``decisions``/``sizes`` subscribers run on the manager's scheduler
(one ``EventLoopScheduler`` thread by default, or whatever scheduler was injected).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import reactivex as rx
from loguru import logger
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import BehaviorSubject, Subject

from adaptive_stream.isolation import ErrorCounter, isolate
from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics
from adaptive_stream.pipeline import LatencySample, policy_steps, to_nanoseconds
from adaptive_stream.policies import Policy, make_policy
from adaptive_stream.settings import AdaptiveBufferSettings
from adaptive_stream.sources.processes import MetricsSampler, ProcessSampler, metrics_on_ticks

__all__ = [
    "AdaptiveBufferManager",
    "get_adaptive_buffer_manager",
    "start_adaptive_buffering",
    "stop_adaptive_buffering",
]


class AdaptiveBufferManager:
    """Decides, every adaptation interval, how many frames the audio buffers should hold.

    Args:
        settings: the settings (default: ``AdaptiveBufferSettings()``, JetKVM's values).
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
        self.settings = settings if settings is not None else AdaptiveBufferSettings()
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
        self._running = False
        self._subscription: abc.DisposableBase | None = None
        self._own_scheduler: EventLoopScheduler | None = None
        self._ticker_thread: threading.Thread | None = None

        # The latency summary lives for the manager's lifetime, so samples pushed while it is
        # stopped still count (as in the original, where UpdateLatency needs no running loop).
        self._latency: Subject[int] = Subject()
        self._summary: BehaviorSubject[Any] = BehaviorSubject(self.policy.initial_latency())
        self._latency.pipe(
            ops.scan(self.policy.update_latency, self.policy.initial_latency())
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
                scheduler = self._own_scheduler = EventLoopScheduler(
                    thread_factory=self._make_ticker_thread
                )
            interval = self.settings.adaptation_interval
            # One shared ticker: a sampler subscribed to it first reads the metrics, then the
            # same tick decides, as the original's loop did.
            ticks = rx.interval(interval, scheduler=scheduler).pipe(ops.share())
            source = self._metrics_source
            if source is None:
                source = self._metrics_source = ProcessSampler()  # the current process
            metrics = source if isinstance(source, Observable) else metrics_on_ticks(source, ticks)
            steps = policy_steps(
                metrics,
                self._summary,
                ticks,
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
        from inside a subscriber, i.e. from the tick itself). Idempotent."""
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
            thread.join()
        # Wait for a tick in flight on an injected scheduler (re-entrant from inside a tick).
        with self._tick_lock:
            pass
        logger.info("adaptive buffer manager stopped")

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

        Safe from any thread, never raises: NaN, infinite or negative samples are counted as
        rejected and dropped.
        """
        ns = to_nanoseconds(sample)
        with self._push_lock:
            if ns is None:
                self._rejected += 1
                return
            self._accepted += 1
            self._latency.on_next(ns)

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

    def stats(self) -> dict[str, Any]:
        """The original's ``GetStats`` keys (SPEC step 8), plus counters of our own.

        ``system_cpu_percent`` and ``system_memory_percent`` are the original's fixed-point
        figures: ``int64(x * 100) / 100``, i.e. truncated to hundredths.
        """
        last = self._last
        sizes = self._sizes.value
        scale = self.settings.percentage_multiplier
        cpu = int(last.cpu_percent * 100) / scale if last else 0.0
        mem = int(last.memory_percent * 100) / scale if last else 0.0
        summary = self._summary.value
        return {
            "input_buffer_size": sizes.input_size,
            "output_buffer_size": sizes.output_size,
            "average_latency_ms": summary / 1e6 if isinstance(summary, int) else 0.0,
            "system_cpu_percent": cpu,
            "system_memory_percent": mem,
            "adaptation_count": last.adaptation_count if last else 0,
            "last_adaptation": self._last_adaptation,
            "latency_samples": self._accepted,
            "rejected_samples": self._rejected,
            "subscriber_errors": self._subscriber_errors.count,
            "policy": self.policy.name,
            "running": self._running,
        }

    # -- the tick ----------------------------------------------------------------------------

    def _on_step(self, step: tuple[Any, BufferDecision]) -> None:
        state, decision = step
        with self._tick_lock:
            if not self._running:
                return  # a tick that raced with stop(): publish nothing
            self._state = state
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
