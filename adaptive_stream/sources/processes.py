"""Process metrics from psutil: the watched processes' CPU and memory, aggregated as the
original does (CPU summed over processes, memory averaged; SPEC step 2).

One ``psutil.Process`` object is kept per pid, because ``cpu_percent()`` measures since the
previous call on the *same object* (the first call reads 0.0). A sampler is not thread-safe
on purpose: it is meant to be sampled from one thread, the manager's ticker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import psutil
import reactivex as rx
from loguru import logger
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler import EventLoopScheduler

from adaptive_stream.model import SystemMetrics

__all__ = [
    "MetricsSampler",
    "ProcessAccessError",
    "ProcessNotFoundError",
    "ProcessSampler",
    "SystemSampler",
    "metrics_on_ticks",
    "process_metrics",
]


class ProcessNotFoundError(LookupError):
    """A pid that does not exist, or a name that matches no process, at start."""


class ProcessAccessError(PermissionError):
    """A process this user may not inspect, at start."""


class MetricsSampler(Protocol):
    """Anything that can take one metrics sample now (``None``: nothing to measure)."""

    def sample(self) -> SystemMetrics | None: ...


@dataclass(slots=True)
class _Watched:
    process: Any  # psutil.Process, or a test double with the same methods
    label: str
    name: str


class ProcessSampler:
    """Samples a set of processes chosen by pid and/or by name.

    Args:
        pids: processes to watch by pid; each must exist and be readable at start.
        names: process names to watch; matched again on every sample, so a process that
            restarts (new pid, same name) is picked up. A pid whose name did not match is
            looked at again after 1, 2, 4 ... up to :attr:`RECHECK_MAX` samples, so that a
            process that takes the name later on the same pid (``exec``, as a start script
            or a fork-then-exec does) is picked up too, without reading every process's name
            on every tick. With neither pids nor names, the current process is watched.
        psutil_module: the psutil API to use (tests inject a fake).

    Raises:
        ProcessNotFoundError: a pid does not exist.
        ProcessAccessError: a pid exists but may not be read.
    """

    #: The longest wait, in samples, before a pid whose name did not match is looked at
    #: again (32 samples: 16 s at the default 500 ms).
    RECHECK_MAX = 32

    def __init__(
        self,
        pids: Sequence[int] = (),
        names: Sequence[str] = (),
        *,
        psutil_module: Any = psutil,
    ) -> None:
        self._ps = psutil_module
        self._names = frozenset(names)
        self._watched: dict[int, _Watched] = {}
        # pids whose name did not match (or could not be read): pid -> (next look, gap)
        self._rejected: dict[int, tuple[int, int]] = {}
        self._passes = 0  # name-matching passes so far (the clock of the rechecks)
        self._empty_warned = False
        self._total_memory = float(self._ps.virtual_memory().total)
        if not pids and not names:
            pids = [os.getpid()]
        for pid in pids:
            self._watch_pid(pid)
        if self._names:
            self._match_names()

    @property
    def pids(self) -> list[int]:
        """The pids watched now."""
        return sorted(self._watched)

    def missing_names(self) -> list[str]:
        """The names asked for that no watched process has (at start: a bad ``--name``)."""
        found = {watched.name for watched in self._watched.values()}
        return sorted(self._names - found)

    def describe(self) -> str:
        """What is watched, for people: ``python3 (pid 12), nginx (pid 40)``."""
        return ", ".join(w.label for _, w in sorted(self._watched.items())) or "nothing"

    def _watch_pid(self, pid: int) -> None:
        ps = self._ps
        try:
            process = ps.Process(pid)
            name = process.name()
            if _is_zombie(ps, process):
                raise ProcessNotFoundError(
                    f"process {pid} ({name}) has exited (a zombie its parent has not reaped)"
                )
            process.cpu_percent(None)  # prime: the first reading is always 0.0
        except ps.NoSuchProcess:
            raise ProcessNotFoundError(f"no process with pid {pid}") from None
        except ps.AccessDenied:
            raise ProcessAccessError(
                f"access denied to process {pid}: run as its user or as root"
            ) from None
        self._watched[pid] = _Watched(process, f"{name} (pid {pid})", name)

    def _match_names(self) -> None:
        """Adopt processes whose name matches: pids not seen before, and rejected pids
        whose next look is due."""
        ps = self._ps
        self._passes += 1
        now = self._passes
        alive = set(ps.pids())
        rejected = self._rejected
        if rejected.keys() - alive:  # forget pids that have gone (they may be reused)
            rejected = self._rejected = {p: v for p, v in rejected.items() if p in alive}
        due = [pid for pid, (at, _) in rejected.items() if at <= now]
        for pid in [*(alive - self._watched.keys() - rejected.keys()), *due]:
            try:
                process = ps.Process(pid)
                name = process.name()
            except ps.NoSuchProcess:
                continue  # gone already
            except (ps.AccessDenied, ps.ZombieProcess):
                self._reject(pid)
                continue
            if name not in self._names or _is_zombie(ps, process):
                self._reject(pid)
                continue
            try:
                process.cpu_percent(None)  # prime
            except ps.NoSuchProcess:
                continue
            except (ps.AccessDenied, ps.ZombieProcess):
                self._reject(pid)
                logger.warning("process {} (pid {}) matches but cannot be read", name, pid)
                continue
            rejected.pop(pid, None)
            self._watched[pid] = _Watched(process, f"{name} (pid {pid})", name)
            logger.info("watching {} (pid {})", name, pid)

    def _reject(self, pid: int) -> None:
        """Look at ``pid`` again later: next pass the first time, then twice as late each
        time, up to :attr:`RECHECK_MAX` passes."""
        previous = self._rejected.get(pid)
        gap = 1 if previous is None else min(previous[1] * 2, self.RECHECK_MAX)
        self._rejected[pid] = (self._passes + gap, gap)

    def sample(self) -> SystemMetrics | None:
        """CPU summed and memory averaged over the watched processes; ``None`` when none is
        left (the tick then does nothing, as in the original)."""
        if self._names:
            self._match_names()
        ps = self._ps
        cpu_total = 0.0
        mem_total = 0.0
        count = 0
        gone: list[int] = []
        for pid, watched in self._watched.items():
            try:
                process = watched.process
                with process.oneshot():
                    if _is_zombie(ps, process):
                        raise ps.ZombieProcess(pid)
                    cpu = process.cpu_percent(None)
                    rss = process.memory_info().rss
            except (ps.NoSuchProcess, ps.ZombieProcess, ps.AccessDenied) as exc:
                gone.append(pid)
                logger.warning("stopped watching {}: {}", watched.label, type(exc).__name__)
                continue
            cpu_total += cpu
            mem_total += rss / self._total_memory * 100.0
            count += 1
        for pid in gone:
            del self._watched[pid]
            self._reject(pid)
        if count == 0:
            if not self._empty_warned:
                self._empty_warned = True
                logger.warning("no watched process is left: ticks decide nothing until one is")
            return None
        self._empty_warned = False
        return SystemMetrics(cpu_total, mem_total / count)


def _is_zombie(ps: Any, process: Any) -> bool:
    """Whether ``process`` has exited and waits to be reaped: it uses no CPU and no memory
    any more, so watching it would feed the policy zeros (psutil reads it without error)."""
    status = getattr(process, "status", None)
    if status is None:  # a test double without status(): alive
        return False
    return bool(status() == getattr(ps, "STATUS_ZOMBIE", "zombie"))


class SystemSampler:
    """Whole-machine CPU (0..100, all cores) and memory in use, for hosts where the audio
    runs somewhere psutil cannot see."""

    def __init__(self, *, psutil_module: Any = psutil) -> None:
        self._ps = psutil_module
        self._ps.cpu_percent(None)  # prime

    def sample(self) -> SystemMetrics:
        return SystemMetrics(
            float(self._ps.cpu_percent(None)), float(self._ps.virtual_memory().percent)
        )


def metrics_on_ticks(
    sampler: MetricsSampler,
    ticks: Observable[Any],
    *,
    on_error: Callable[[Exception], None] | None = None,
) -> Observable[SystemMetrics | None]:
    """One sample per tick, taken on the tick's thread: a :class:`SystemMetrics`, or
    ``None`` when the sampler finds nothing to measure. Subscribed before the decision, on a
    shared ticker, this reproduces the original's read-metrics-then-decide on every tick.

    A sampler that raises ends the stream with the error, unless ``on_error`` is given: then
    the error goes there, the tick has no sample, and the sampler is read again next tick.
    """

    def take(_: Any) -> Any:
        if on_error is None:
            return sampler.sample()
        try:
            return sampler.sample()
        except Exception as exc:
            on_error(exc)
            return _NO_SAMPLE

    samples: Observable[Any] = ticks.pipe(ops.map(take))
    if on_error is not None:
        samples = samples.pipe(ops.filter(_taken))
    return samples


_NO_SAMPLE = object()


def _taken(sample: Any) -> bool:
    return sample is not _NO_SAMPLE


def _is_sample(sample: SystemMetrics | None) -> bool:
    return sample is not None


def process_metrics(
    pids: Iterable[int] = (),
    names: Iterable[str] = (),
    *,
    interval: timedelta = timedelta(milliseconds=500),
    scheduler: abc.SchedulerBase | None = None,
    psutil_module: Any = psutil,
) -> Observable[SystemMetrics]:
    """A stand-alone metrics observable: the processes sampled every ``interval``.

    The sampler is made at subscription, so each subscription keeps its own
    ``psutil.Process`` objects. Samples are taken on ``scheduler`` (default: the
    subscription's); with neither, each subscription gets one ``EventLoopScheduler`` thread
    of its own, ended when it is disposed (``rx.interval``'s default would start a new thread
    for every tick, and psutil is meant to be read from one thread).

    Raises (at subscription, as ``on_error``):
        ProcessNotFoundError, ProcessAccessError: as :class:`ProcessSampler`.
    """

    def subscribe(
        observer: abc.ObserverBase[SystemMetrics], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        # Not rx.defer: it hands its factory an ImmediateScheduler when none was given, and
        # rx.interval cannot run on that one.
        try:
            sampler = ProcessSampler(list(pids), list(names), psutil_module=psutil_module)
        except (ProcessNotFoundError, ProcessAccessError) as exc:
            observer.on_error(exc)
            return Disposable()
        chosen = scheduler or scheduler_
        if chosen is not None:
            ticks = rx.interval(interval, scheduler=chosen)
            present: Observable[Any] = metrics_on_ticks(sampler, ticks).pipe(ops.filter(_is_sample))
            return present.subscribe(observer, scheduler=chosen)
        own = EventLoopScheduler()
        ticks = rx.interval(interval, scheduler=own)
        present = metrics_on_ticks(sampler, ticks).pipe(ops.filter(_is_sample))
        subscription = present.subscribe(observer, scheduler=own)
        return CompositeDisposable(subscription, own)

    return Observable(subscribe)
