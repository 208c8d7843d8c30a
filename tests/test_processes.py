"""The psutil samplers, against a fake psutil: vanishing, zombie, access denied, restarts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import psutil
import pytest

from adaptive_stream.model import SystemMetrics
from adaptive_stream.sources.processes import (
    ProcessAccessError,
    ProcessNotFoundError,
    ProcessSampler,
    SystemSampler,
)

TOTAL = 1_000_000


class FakeProcessState:
    """What the fake kernel knows about one process."""

    def __init__(self, pid: int, name: str, cpu: float, rss: int) -> None:
        self.pid, self.name, self.cpu, self.rss = pid, name, cpu, rss
        self.fate: str | None = None  # None, "gone", "zombie" or "denied"


class FakeProcess:
    """A handle, like psutil.Process: the first cpu_percent() on a handle reads 0.0."""

    def __init__(self, ps: FakePsutil, state: FakeProcessState) -> None:
        self._ps, self._state, self._primed = ps, state, False

    def _check(self) -> None:
        fate = self._state.fate
        if fate == "gone":
            raise psutil.NoSuchProcess(self._state.pid)
        if fate == "zombie":
            raise psutil.ZombieProcess(self._state.pid)
        if fate == "denied":
            raise psutil.AccessDenied(self._state.pid)

    def name(self) -> str:
        self._check()
        return self._state.name

    def cpu_percent(self, interval: float | None = None) -> float:
        self._check()
        if not self._primed:
            self._primed = True
            return 0.0
        return self._state.cpu

    def memory_info(self) -> SimpleNamespace:
        self._check()
        return SimpleNamespace(rss=self._state.rss)

    @contextmanager
    def oneshot(self) -> Iterator[None]:
        yield


class FakePsutil:
    NoSuchProcess = psutil.NoSuchProcess
    ZombieProcess = psutil.ZombieProcess
    AccessDenied = psutil.AccessDenied

    def __init__(self) -> None:
        self.table: dict[int, FakeProcessState] = {}
        self.handles = 0
        self.system_cpu = 12.5

    def spawn(self, pid: int, name: str, cpu: float = 10.0, rss: int = 100_000) -> FakeProcessState:
        self.table[pid] = state = FakeProcessState(pid, name, cpu, rss)
        return state

    def Process(self, pid: int) -> FakeProcess:  # noqa: N802 (psutil's name)
        state = self.table.get(pid)
        if state is None or state.fate == "gone":
            raise psutil.NoSuchProcess(pid)
        self.handles += 1
        return FakeProcess(self, state)

    def pids(self) -> list[int]:
        return [pid for pid, s in self.table.items() if s.fate != "gone"]

    def virtual_memory(self) -> SimpleNamespace:
        return SimpleNamespace(total=TOTAL, percent=42.0)

    def cpu_percent(self, interval: float | None = None) -> float:
        return self.system_cpu


@pytest.fixture
def ps() -> FakePsutil:
    return FakePsutil()


def test_cpu_is_summed_and_memory_averaged(ps: FakePsutil) -> None:
    ps.spawn(10, "audio", cpu=30.0, rss=100_000)  # 10 % of memory
    ps.spawn(11, "audio", cpu=90.0, rss=300_000)  # 30 %
    sampler = ProcessSampler([10, 11], psutil_module=ps)
    assert sampler.sample() == SystemMetrics(120.0, 20.0)


def test_one_process_object_per_pid_so_cpu_is_not_stuck_at_zero(ps: FakePsutil) -> None:
    ps.spawn(10, "audio", cpu=30.0)
    sampler = ProcessSampler([10], psutil_module=ps)
    readings = [sampler.sample() for _ in range(3)]
    assert [r.cpu_percent for r in readings if r] == [30.0, 30.0, 30.0]
    assert ps.handles == 1  # primed once at start, then kept


def test_default_is_the_current_process(ps: FakePsutil) -> None:
    ps.spawn(os.getpid(), "python")
    assert ProcessSampler(psutil_module=ps).pids == [os.getpid()]


def test_unknown_pid_at_start_is_a_clear_error(ps: FakePsutil) -> None:
    with pytest.raises(ProcessNotFoundError, match="no process with pid 99"):
        ProcessSampler([99], psutil_module=ps)


def test_access_denied_at_start_is_a_clear_error(ps: FakePsutil) -> None:
    ps.spawn(10, "secret").fate = "denied"
    with pytest.raises(ProcessAccessError, match="access denied to process 10"):
        ProcessSampler([10], psutil_module=ps)


@pytest.mark.parametrize("fate", ["gone", "zombie", "denied"])
def test_a_process_that_fails_mid_run_is_dropped_with_one_warning(
    ps: FakePsutil, fate: str, log_lines: list[str]
) -> None:
    ps.spawn(10, "audio", cpu=30.0)
    victim = ps.spawn(11, "helper", cpu=50.0)
    sampler = ProcessSampler([10, 11], psutil_module=ps)
    assert sampler.sample() == SystemMetrics(80.0, 10.0)
    victim.fate = fate
    assert sampler.sample() == SystemMetrics(30.0, 10.0)
    assert sampler.sample() == SystemMetrics(30.0, 10.0)
    assert sampler.pids == [10]
    warnings = [line for line in log_lines if "stopped watching helper (pid 11)" in line]
    assert len(warnings) == 1


def test_when_no_process_is_left_ticks_get_nothing_with_one_warning(
    ps: FakePsutil, log_lines: list[str]
) -> None:
    only = ps.spawn(10, "audio")
    sampler = ProcessSampler([10], psutil_module=ps)
    only.fate = "gone"
    assert [sampler.sample() for _ in range(5)] == [None] * 5
    assert sum("no watched process is left" in line for line in log_lines) == 1


def test_names_are_matched_on_every_sample_so_restarts_are_picked_up(
    ps: FakePsutil, log_lines: list[str]
) -> None:
    first = ps.spawn(10, "pipewire", cpu=20.0)
    ps.spawn(11, "bash", cpu=99.0)
    sampler = ProcessSampler(names=["pipewire"], psutil_module=ps)
    assert sampler.pids == [10]
    assert sampler.missing_names() == []
    first.fate = "gone"  # the audio server crashes ...
    assert sampler.sample() is None
    ps.spawn(12, "pipewire", cpu=25.0)  # ... and is restarted under a new pid
    sampler.sample()  # adopted (and primed) on this sample
    assert sampler.sample() == SystemMetrics(25.0, 10.0)
    assert sampler.pids == [12]
    assert any("watching pipewire (pid 12)" in line for line in log_lines)


def test_pids_that_did_not_match_are_looked_at_less_and_less(ps: FakePsutil) -> None:
    ps.spawn(10, "pipewire")
    for pid in range(100, 150):
        ps.spawn(pid, "other")
    sampler = ProcessSampler(names=["pipewire"], psutil_module=ps)
    handles = ps.handles
    looks = []
    for _ in range(10 * ProcessSampler.RECHECK_MAX):
        before = ps.handles
        sampler.sample()
        looks.append((ps.handles - before) // 50)
    # Each non-matching pid is read again after 1, 2, 4, 8, 16, then every 32 passes.
    assert [i + 2 for i, n in enumerate(looks) if n] == [
        2,
        4,
        8,
        16,
        32,
        64,
        96,
        128,
        160,
        192,
        224,
        256,
        288,
        320,
    ]
    assert set(looks) == {0, 1}
    assert ps.handles - handles == 50 * 14  # against 50 * 320 if every name were read


def test_a_pid_that_takes_the_name_later_is_picked_up(ps: FakePsutil, log_lines: list[str]) -> None:
    """A start script that ``exec``s the audio server keeps its pid and changes its name."""
    ps.spawn(10, "pipewire", cpu=20.0)
    wrapper = ps.spawn(11, "bash", cpu=1.0)
    sampler = ProcessSampler(names=["pipewire"], psutil_module=ps)
    for _ in range(100):
        sampler.sample()  # bash is rejected, and looked at less and less often
    wrapper.name = "pipewire"  # exec
    waited = 0
    while 11 not in sampler.pids:
        sampler.sample()
        waited += 1
    assert waited <= ProcessSampler.RECHECK_MAX
    assert any("watching pipewire (pid 11)" in line for line in log_lines)
    sampler.sample()
    assert sampler.sample() == SystemMetrics(21.0, 10.0)


def test_a_fresh_fork_that_execs_is_picked_up_on_the_next_sample(ps: FakePsutil) -> None:
    ps.spawn(10, "pipewire")
    sampler = ProcessSampler(names=["pipewire"], psutil_module=ps)
    child = ps.spawn(12, "systemd")  # sampled between fork and exec
    sampler.sample()
    assert sampler.pids == [10]
    child.name = "pipewire"
    sampler.sample()
    assert sampler.pids == [10, 12]


def test_a_name_that_matches_nothing_is_reported(ps: FakePsutil) -> None:
    ps.spawn(10, "pipewire")
    sampler = ProcessSampler(names=["pipewire", "pulseaudio"], psutil_module=ps)
    assert sampler.missing_names() == ["pulseaudio"]
    assert sampler.describe() == "pipewire (pid 10)"


def test_a_matching_process_with_access_denied_is_skipped(
    ps: FakePsutil, log_lines: list[str]
) -> None:
    ps.spawn(10, "pipewire", cpu=20.0)
    sampler = ProcessSampler(names=["pipewire"], psutil_module=ps)
    denied = ps.spawn(11, "pipewire")
    denied.fate = "denied"
    sampler.sample()
    assert sampler.pids == [10]
    assert not any("pid 11" in line for line in log_lines)  # its name was unreadable too
    denied.fate = None  # e.g. the sampler was given the rights: picked up on a later look
    for _ in range(ProcessSampler.RECHECK_MAX):
        sampler.sample()
    assert sampler.pids == [10, 11]
    assert any("watching pipewire (pid 11)" in line for line in log_lines)


def test_system_sampler_reads_the_whole_machine(ps: FakePsutil) -> None:
    assert SystemSampler(psutil_module=ps).sample() == SystemMetrics(12.5, 42.0)


def test_real_psutil_on_this_process() -> None:
    sampler = ProcessSampler()
    sample = sampler.sample()
    assert sample is not None
    assert sample.cpu_percent >= 0.0
    assert 0.0 < sample.memory_percent < 100.0


def test_process_metrics_samples_on_the_given_scheduler_in_virtual_time(ps: FakePsutil) -> None:
    from reactivex.testing import ReactiveTest, TestScheduler

    from adaptive_stream.sources.processes import process_metrics

    state = ps.spawn(10, "audio", cpu=30.0, rss=100_000)
    scheduler = TestScheduler()
    source = process_metrics([10], interval=timedelta(seconds=10), psutil_module=ps)
    # Subscribed at 200 (TestScheduler.start's default); ticks at 210, 220, 230; the process
    # vanishes between the second and the third.
    scheduler.schedule_absolute(225.0, lambda *_: setattr(state, "fate", "gone"))
    observer = scheduler.start(lambda: source, disposed=235)
    assert observer.messages == [
        ReactiveTest.on_next(210, SystemMetrics(30.0, 10.0)),
        ReactiveTest.on_next(220, SystemMetrics(30.0, 10.0)),
    ]  # the tick at 230 found no process left: nothing, as in the original


def test_process_metrics_without_a_scheduler_uses_one_thread_and_ends_it(
    ps: FakePsutil,
) -> None:
    """Not a new thread per tick (rx.interval's default): one, ended on dispose."""
    import threading

    from adaptive_stream.sources.processes import process_metrics

    ps.spawn(10, "audio", cpu=30.0)
    before = threading.active_count()
    seen: list[str] = []
    done = threading.Event()

    def on_sample(_: SystemMetrics) -> None:
        seen.append(threading.current_thread().name)
        if len(seen) == 5:
            done.set()

    subscription = process_metrics(
        [10], interval=timedelta(milliseconds=1), psutil_module=ps
    ).subscribe(on_sample)
    assert done.wait(10.0)
    subscription.dispose()
    assert len(set(seen[:5])) == 1  # every sample on the same thread
    for thread in threading.enumerate():
        if thread.name == seen[0]:
            thread.join(5.0)
    assert threading.active_count() == before


def test_process_metrics_reports_a_bad_pid_as_an_error_not_a_raise(ps: FakePsutil) -> None:
    from adaptive_stream.sources.processes import process_metrics

    errors: list[Exception] = []
    process_metrics([99], psutil_module=ps).subscribe(on_error=errors.append)
    assert [type(e) for e in errors] == [ProcessNotFoundError]
