"""What may reach a policy: the checks of latency samples, underrun counts and metrics.

Every path into a policy (the manager, ``buffer_decisions``, the simulator) applies these
checks once, in the pipeline (:mod:`adaptive_stream.pipeline`), through one
:class:`InputChecks`, which counts what it accepted and rejected and complains about
rejections at most once per interval of its clock. A replay of recorded inputs is the one
path that bypasses them, to decide on the original's inputs exactly as it did.

The rules:

* latency: a ``timedelta``, or seconds as any real number (``float``, ``int``, NumPy's
  ``float32``/``float64``/integer types, ``Fraction``, ...; not ``bool``), finite, >= 0 and
  at most the latency ceiling (``latency_ceiling``, 10 s by default);
* underruns: a whole number (anything with ``__index__`` but ``bool``) from 0 to
  :data:`MAX_UNDERRUNS_PER_REPORT`;
* metrics: a :class:`~adaptive_stream.model.SystemMetrics` (or anything with numeric
  ``cpu_percent`` and ``memory_percent``) whose figures are finite and >= 0, memory at most
  100 %, CPU at most 100 % x the cores measured (CPU is summed over processes), and a
  ``sampled_at``, if any, that is a timezone-aware ``datetime`` (the schedulers' clocks are
  in UTC).
"""

from __future__ import annotations

import math
import numbers
import operator
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from adaptive_stream.gonum import duration_ns, go_round
from adaptive_stream.model import SystemMetrics

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_LATENCY_CEILING",
    "MAX_UNDERRUNS_PER_REPORT",
    "InputChecks",
    "LatencySample",
    "RateLimited",
    "UnderrunReport",
    "metrics_problem",
    "short_repr",
    "to_nanoseconds",
    "to_underrun_count",
]

#: A latency sample: a ``timedelta``, or seconds as a real number.
LatencySample: TypeAlias = timedelta | float | int | numbers.Real

#: The most underruns one report may carry: 50 frames a second for almost six hours. More
#: in one report is a counter gone wrong (a wrap-around, an uninitialised field), not audio.
MAX_UNDERRUNS_PER_REPORT = 1_000_000

#: The latency ceiling when no settings say otherwise (``latency_ceiling``'s default).
DEFAULT_LATENCY_CEILING = timedelta(seconds=10)

#: The shortest time between two complaints of a kind when no settings say otherwise
#: (``adaptation_interval``'s default).
DEFAULT_CHECK_INTERVAL = timedelta(milliseconds=500)

_MAX_NS = 2**63 - 1  # Go's time.Duration is an int64


class UnderrunReport(NamedTuple):
    """Underruns reported by the audio path (the count as given, checked when folded),
    tagged so they can share one stream (and one ``scan``) with the latency samples."""

    underruns: Any


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


def to_nanoseconds(sample: Any) -> int | None:
    """A latency sample as integer nanoseconds, or ``None`` when it is not a valid latency
    (NaN, infinite, negative, beyond an int64 of nanoseconds, a ``bool``, not a number).

    Real numbers are seconds, rounded to the nearest nanosecond (halves away from zero, as
    Go); whole numbers are range-checked before any conversion; ``timedelta`` converts
    exactly. Never raises.
    """
    kind = type(sample)
    if kind is float:
        seconds: float = sample
        if not (0.0 <= seconds < 9.2e9):  # also rejects NaN
            return None
        return go_round(seconds * 1e9)
    if kind is int:
        # Compared as an int first: float() of a huge int raises OverflowError.
        if not (0 <= sample < 9_200_000_000):
            return None
        return go_round(float(sample) * 1e9)
    if isinstance(sample, timedelta):
        ns = duration_ns(sample)
        return ns if 0 <= ns <= _MAX_NS else None
    if isinstance(sample, bool) or not isinstance(sample, numbers.Real):
        return None
    try:  # a subclass of float or int, NumPy's scalars, Fraction, ...
        value: int | float = int(sample) if isinstance(sample, numbers.Integral) else float(sample)
    except Exception:  # a number whose conversion raises: not a latency
        return None
    return to_nanoseconds(value)


def metrics_problem(sample: Any, cpu_ceiling: float) -> str | None:
    """What is wrong with a metrics sample, or ``None`` when a policy may see it."""
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
    if cpu > cpu_ceiling:
        return f"cpu above 100 % x {cpu_ceiling / 100:g} cores"
    sampled_at = getattr(sample, "sampled_at", None)
    if sampled_at is not None and (
        not isinstance(sampled_at, datetime) or sampled_at.utcoffset() is None
    ):
        return "sampled_at is not a timezone-aware datetime"
    return None


class RateLimited:
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


def short_repr(value: Any) -> str:
    """A bounded repr for logs (a rejected value may be anything)."""
    try:
        text = repr(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class InputChecks:
    """The checks every input goes through on its way to a policy, and their counts.

    Thread-safe: inputs may be checked on any thread. Rejections are logged (loguru,
    WARNING) at most once per ``interval`` of ``clock`` for each kind of input, with how
    many were rejected since the last complaint and in all.

    Args:
        latency_ceiling: the largest latency sample accepted.
        cpu_cores: how many cores the metrics measure: CPU above ``100 % x cpu_cores`` is
            rejected. Default: this machine's (``os.cpu_count()``).
        interval: the shortest time between two complaints of a kind.
        clock: the time of the complaints (pass the scheduler's, so virtual time drives it).

    Attributes (counts, read at any time):
        latency_accepted, latency_rejected: latency samples.
        underruns: underruns in the accepted reports, summed.
        underruns_rejected: underrun reports rejected.
        metrics_accepted, metrics_rejected: metrics samples.
        last_sampled: when the last accepted metrics sample that says when it was taken was
            taken (``None`` before any).
    """

    def __init__(
        self,
        *,
        latency_ceiling: timedelta = DEFAULT_LATENCY_CEILING,
        cpu_cores: int | None = None,
        interval: timedelta = DEFAULT_CHECK_INTERVAL,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self.ceiling_ns = duration_ns(latency_ceiling)
        self.cpu_ceiling = 100.0 * (cpu_cores if cpu_cores is not None else os.cpu_count() or 1)
        self.clock = clock
        self._lock = threading.Lock()
        self._latency_log = RateLimited(interval)
        self._underrun_log = RateLimited(interval)
        self._metrics_log = RateLimited(interval)
        self.latency_accepted = 0
        self.latency_rejected = 0
        self.underruns = 0
        self.underruns_rejected = 0
        self.metrics_accepted = 0
        self.metrics_rejected = 0
        self.last_sampled: datetime | None = None

    @classmethod
    def from_settings(
        cls,
        settings: AdaptiveBufferSettings,
        *,
        cpu_cores: int | None = None,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> InputChecks:
        """The checks the settings ask for: ``latency_ceiling``, complaints at most once per
        ``adaptation_interval``."""
        return cls(
            latency_ceiling=settings.latency_ceiling,
            cpu_cores=cpu_cores,
            interval=settings.adaptation_interval,
            clock=clock,
        )

    def latency(self, sample: Any) -> int | None:
        """``sample`` in integer nanoseconds, or ``None`` (counted and complained about)
        when it is not a latency within the ceiling."""
        ns = to_nanoseconds(sample)
        with self._lock:
            if ns is not None and ns <= self.ceiling_ns:
                self.latency_accepted += 1
                return ns
            self.latency_rejected += 1
            report = self._latency_log.due(self.clock())
            total = self.latency_rejected
        if report is not None:
            why = "above latency_ceiling" if ns is not None else "not a latency >= 0"
            _warn(
                "rejected latency sample {} ({}): {} rejected since the last report, {} in all",
                short_repr(sample),
                why,
                report,
                total,
            )
        return None

    def underrun_count(self, count: Any) -> int | None:
        """``count`` as an ``int``, or ``None`` (counted and complained about) when it is
        not a whole number from 0 to :data:`MAX_UNDERRUNS_PER_REPORT`."""
        value = to_underrun_count(count)
        with self._lock:
            if value is not None:
                self.underruns += value
                return value
            self.underruns_rejected += 1
            report = self._underrun_log.due(self.clock())
            total = self.underruns_rejected
        if report is not None:
            _warn(
                "rejected underrun report {} (not a whole number from 0 to {}): {} rejected "
                "since the last report, {} in all",
                short_repr(count),
                MAX_UNDERRUNS_PER_REPORT,
                report,
                total,
            )
        return None

    def metrics(self, sample: Any, now: datetime | None = None) -> SystemMetrics | None:
        """``sample`` as plain floats, with its ``sampled_at`` (``now`` when it has none);
        or ``None`` (counted and complained about) when a policy may not see it."""
        problem = metrics_problem(sample, self.cpu_ceiling)
        if problem is None:
            sampled_at = getattr(sample, "sampled_at", None) or now
            with self._lock:
                self.metrics_accepted += 1
                if sampled_at is not None:
                    self.last_sampled = sampled_at
            return SystemMetrics(
                float(sample.cpu_percent), float(sample.memory_percent), sampled_at
            )
        with self._lock:
            self.metrics_rejected += 1
            report = self._metrics_log.due(self.clock())
            total = self.metrics_rejected
        if report is not None:
            _warn(
                "rejected metrics sample {} ({}): {} rejected since the last report, {} in all",
                short_repr(sample),
                problem,
                report,
                total,
            )
        return None


def _warn(message: str, *args: Any) -> None:
    # loguru is imported on the first complaint only: a replay, which checks nothing, does
    # not pay for it.
    from loguru import logger

    logger.warning(message, *args)
