"""Subscriber isolation: every exception counted, the log rate-limited per kind; a subscriber
may stop nothing, but the main thread's own shutdown goes through."""

from __future__ import annotations

import threading

import pytest
import reactivex as rx
from reactivex.subject import Subject

from adaptive_stream.isolation import ErrorCounter, isolate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _raise(kind: type[Exception], message: str) -> Exception:
    try:
        raise kind(message)
    except Exception as exc:  # with a traceback, as a subscriber's would have
        return exc


def test_a_failing_sink_is_counted_every_time_and_logged_once_per_window(
    log_lines: list[str],
) -> None:
    clock = Clock()
    counter = ErrorCounter("the test", every=10.0, clock=clock)
    for tick in range(40):  # a sink failing on every 500 ms tick, for 20 s
        clock.now = tick * 0.5
        counter(_raise(RuntimeError, "disk full"))
    assert counter.count == 40
    errors = [line for line in log_lines if line.startswith("ERROR")]
    assert errors == [
        "ERROR a subscriber of the test raised RuntimeError (#1); the pipeline and the other "
        "subscribers go on",
        "ERROR a subscriber of the test raised RuntimeError (#21; 19 more like it since the "
        "last report); the pipeline and the other subscribers go on",
    ]


def test_a_new_kind_of_error_is_logged_at_once(log_lines: list[str]) -> None:
    clock = Clock()
    counter = ErrorCounter("the test", clock=clock)
    counter(_raise(RuntimeError, "a"))
    counter(_raise(RuntimeError, "b"))  # same type, same line: counted only
    counter(_raise(ValueError, "c"))  # another type: logged
    assert counter.count == 3
    logged = [line for line in log_lines if line.startswith("ERROR")]
    assert len(logged) == 2
    assert "ValueError (#3)" in logged[1]


def test_isolated_subscribers_do_not_hurt_each_other() -> None:
    clock = Clock()
    counter = ErrorCounter("the test", clock=clock)
    subject: Subject[int] = Subject()
    shared = isolate(subject, counter)
    seen: list[int] = []

    def bad(value: int) -> None:
        raise ZeroDivisionError(value)

    shared.subscribe(bad)
    shared.subscribe(seen.append)
    for value in range(5):
        subject.on_next(value)
    subject.on_completed()
    assert seen == [0, 1, 2, 3, 4]
    assert counter.count == 5


def test_errors_raised_in_on_completed_and_on_error_are_counted_too() -> None:
    counter = ErrorCounter("the test", clock=Clock())

    def boom(*_: object) -> None:
        raise OSError("sink closed")

    isolate(rx.empty(), counter).subscribe(on_completed=boom)
    isolate(rx.throw(ValueError("source")), counter).subscribe(on_error=boom)
    assert counter.count == 2


@pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt])
def test_off_the_main_thread_a_subscriber_may_not_stop_anything(
    kind: type[BaseException],
) -> None:
    counter = ErrorCounter("the test", clock=Clock())
    subject: Subject[int] = Subject()
    shared = isolate(subject, counter)
    seen: list[int] = []

    def leaving(_: int) -> None:
        raise kind

    shared.subscribe(leaving)
    shared.subscribe(seen.append)
    escaped: list[BaseException] = []

    def push() -> None:
        try:
            for value in range(3):
                subject.on_next(value)
        except BaseException as exc:
            escaped.append(exc)

    worker = threading.Thread(target=push)
    worker.start()
    worker.join(10.0)
    assert escaped == [] and seen == [0, 1, 2]
    assert counter.count == 3


def test_on_the_main_thread_systemexit_goes_on_up() -> None:
    counter = ErrorCounter("the test", clock=Clock())
    subject: Subject[int] = Subject()

    def leaving(_: int) -> None:
        raise SystemExit(1)

    isolate(subject, counter).subscribe(leaving)
    with pytest.raises(SystemExit):
        subject.on_next(1)
    assert counter.count == 0
