"""psutil failing in the middle of a run: processes that vanish, turn zombie or lock us out,
under the manager's ticker (a fake psutil module with psutil's own exception classes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psutil
from reactivex.testing import TestScheduler

from adaptive_stream import AdaptiveBufferManager
from adaptive_stream.model import BufferDecision
from adaptive_stream.sources.processes import ProcessSampler

GiB = 1024**3


class FakeProcess:
    def __init__(self, pid: int, name: str, cpu: float, rss: int) -> None:
        self.pid = pid
        self._name = name
        self.cpu = cpu
        self.rss = rss
        self.fault: BaseException | None = None  # raised by every call once set

    def _check(self) -> None:
        if self.fault is not None:
            raise self.fault

    def name(self) -> str:
        self._check()
        return self._name

    def cpu_percent(self, interval: float | None = None) -> float:
        self._check()
        return self.cpu

    def memory_info(self) -> Any:
        self._check()
        return SimpleNamespace(rss=self.rss)

    @contextlib.contextmanager
    def oneshot(self) -> Iterator[None]:
        yield


class FakePsutil:
    """The slice of the psutil API the sampler uses, with psutil's real exceptions."""

    NoSuchProcess = psutil.NoSuchProcess
    AccessDenied = psutil.AccessDenied
    ZombieProcess = psutil.ZombieProcess

    def __init__(self, *processes: FakeProcess) -> None:
        self.table = {p.pid: p for p in processes}

    def Process(self, pid: int) -> FakeProcess:  # noqa: N802 - psutil's name
        process = self.table.get(pid)
        if process is None:
            raise psutil.NoSuchProcess(pid)
        return process

    def pids(self) -> list[int]:
        return sorted(self.table)

    def virtual_memory(self) -> Any:
        return SimpleNamespace(total=4 * GiB)


def run(
    fake: FakePsutil, **sampler_args: Any
) -> tuple[AdaptiveBufferManager, TestScheduler, list[BufferDecision]]:
    scheduler = TestScheduler()
    sampler = ProcessSampler(psutil_module=fake, **sampler_args)
    manager = AdaptiveBufferManager(metrics=sampler, scheduler=scheduler)
    decisions: list[BufferDecision] = []
    manager.decisions.subscribe(decisions.append)
    manager.start()
    return manager, scheduler, decisions


def test_processes_vanishing_one_by_one_mid_run(log_lines: list[str]) -> None:
    a = FakeProcess(101, "audio", 10.0, GiB // 10)
    b = FakeProcess(102, "audio", 20.0, GiB // 10)
    c = FakeProcess(103, "audio", 30.0, GiB // 10)
    manager, scheduler, decisions = run(FakePsutil(a, b, c), pids=[101, 102, 103])
    scheduler.advance_to(1.0)
    assert [d.cpu_percent for d in decisions] == [60.0, 60.0]  # summed over three
    b.fault = psutil.NoSuchProcess(102)
    scheduler.advance_to(1.5)
    c.fault = psutil.AccessDenied(103)
    scheduler.advance_to(2.0)
    a.fault = psutil.ZombieProcess(101)
    scheduler.advance_to(5.0)
    assert [d.cpu_percent for d in decisions] == [60.0, 60.0, 40.0, 10.0]
    assert manager.running
    stats = manager.stats()
    assert stats["subscriber_errors"] == 0 and stats["source_errors"] == 0
    text = "\n".join(log_lines)
    for kind in ("NoSuchProcess", "AccessDenied", "ZombieProcess"):
        assert kind in text
    assert "no watched process is left" in text
    manager.stop()


def test_a_process_watched_by_name_comes_back_with_a_new_pid() -> None:
    first = FakeProcess(201, "pipewire", 25.0, GiB // 4)
    fake = FakePsutil(first)
    manager, scheduler, decisions = run(fake, names=["pipewire"])
    scheduler.advance_to(1.0)
    first.fault = psutil.NoSuchProcess(201)
    del fake.table[201]
    scheduler.advance_to(3.0)
    assert len(decisions) == 2  # nothing to measure: no decision
    fake.table[202] = FakeProcess(202, "pipewire", 30.0, GiB // 4)
    scheduler.advance_to(4.0)
    assert [d.cpu_percent for d in decisions][2:] == [30.0, 30.0]  # the new pid, at once
    assert manager.running
    manager.stop()


def test_psutil_raising_something_unexpected_is_survived(log_lines: list[str]) -> None:
    proc = FakeProcess(301, "audio", 10.0, GiB // 10)
    manager, scheduler, decisions = run(FakePsutil(proc), pids=[301])
    scheduler.advance_to(1.0)
    proc.fault = OSError(24, "Too many open files")  # not a psutil error at all
    scheduler.advance_to(3.0)
    proc.fault = None
    scheduler.advance_to(4.0)
    assert manager.running
    assert manager.stats()["source_errors"] >= 1
    assert decisions[-1].time.timestamp() == 4.0  # decisions resumed
    assert any("Too many open files" in line for line in log_lines)
    manager.stop()
