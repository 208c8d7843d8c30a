"""Where runs execute: any ``concurrent.futures.Executor``.

* ``jobs == 1``: in this process, one run after another (no pickling, no start-up).
* ``jobs > 1``: a local ``ProcessPoolExecutor``.
* a Dask scheduler address: ``distributed.Client(address).get_executor()``; the workers
  need adaptive-stream installed (the same version, or the figures may differ).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from adaptive_stream.tune.study import TuneError

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "InProcessExecutor", "open_executor"]

#: Seconds to wait for a Dask scheduler before giving up.
DEFAULT_CONNECT_TIMEOUT = 5.0

P = ParamSpec("P")
T = TypeVar("T")


class InProcessExecutor(Executor):
    """Runs each call at once, in the caller's thread, on ``submit``; the future is done
    (with the result or the exception) when ``submit`` returns."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


@contextmanager
def open_executor(
    jobs: int = 1, dask: str | None = None, timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> Iterator[Executor]:
    """The executor for ``jobs`` local workers, or for the Dask scheduler at ``dask``;
    closed (a pool's workers ended, a client disconnected) on leaving.

    Raises:
        TuneError: the tune extra is missing, or the scheduler did not answer within
            ``timeout`` seconds.
    """
    if dask is None:
        if jobs == 1:
            yield InProcessExecutor()
            return
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            yield pool
        return
    try:
        from distributed import Client
    except ImportError:
        raise TuneError(
            "--dask needs the tune extra: pip install 'adaptive-stream[tune]'"
        ) from None
    client = _connect(Client, dask, timeout)
    try:
        yield client.get_executor()
    finally:
        client.close()


def _connect(client_class: Any, address: str, timeout: float) -> Any:
    # distributed logs each failed attempt at ERROR before raising; the one line the user
    # sees is ours.
    quiet = [logging.getLogger(name) for name in ("distributed", "distributed.client")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        return client_class(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TuneError(
            f"--dask {address}: no Dask scheduler answered within {timeout:g} s ({reason})"
        ) from None
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
