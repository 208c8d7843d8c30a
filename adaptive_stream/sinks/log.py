"""The logger sink (loguru): one structured line per adjustment, and logging set-up.

The original logged ``int(newSize)``, i.e. the *truncated* unrounded sizes; this sink logs
the sizes actually applied, the unrounded targets, the figures the tick used, and in words
which factor pushed which way.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

from loguru import logger
from reactivex import Observable, abc

from adaptive_stream.model import BufferDecision
from adaptive_stream.setting_names import LOG_LEVELS

__all__ = ["InterceptHandler", "configure_logging", "log_decision", "subscribe_logger"]


class InterceptHandler(logging.Handler):
    """Routes standard-library logging records into loguru (loguru's documented recipe), so
    that psutil, prometheus_client or asyncio messages share one format and one level."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(
    level: str = "INFO", *, json: bool = False, sink: TextIO | None = None
) -> None:
    """One loguru handler on ``sink`` (default: stderr) at ``level``; ``json`` switches to
    loguru's serialized JSON lines. Standard-library logging is routed into it.

    Raises:
        ValueError: for an unknown level, naming the allowed ones.
    """
    name = level.upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"log level {level!r}: must be one of {', '.join(LOG_LEVELS)}")
    logger.remove()
    stream = sink or sys.stderr
    if stream is not None:  # None: the process started with stderr closed; log nowhere
        logger.add(_writer(stream), level=name, serialize=json, backtrace=False, diagnose=False)
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)


def _writer(stream: TextIO) -> Callable[[str], None]:
    """A loguru sink writing to ``stream``: a log line that cannot be written (stderr
    closed, full or gone) is dropped, never raised into the code that logged."""

    def write(message: str) -> None:
        try:
            stream.write(message)
            stream.flush()
        except (OSError, ValueError):
            pass

    return write


def log_decision(decision: BufferDecision) -> None:
    """Log one adjustment (ticks inside the dead zone are logged at DEBUG)."""
    fields: dict[str, Any] = {
        "input_size": decision.input_size,
        "output_size": decision.output_size,
        "target_input": round(decision.target_input, 3),
        "target_output": round(decision.target_output, 3),
        "cpu_percent": decision.cpu_percent,
        "memory_percent": decision.memory_percent,
        "latency_ms": decision.average_latency_ms,
        "combined_factor": decision.combined_factor,
        "adaptation_count": decision.adaptation_count,
        "policy": decision.policy,
    }
    bound = logger.bind(**fields)
    if decision.adjusted:
        bound.info(
            "buffers -> in {} / out {} frames (targets {:.2f} / {:.2f}); cpu {:.1f} %, "
            "memory {:.1f} %, latency {:.3f} ms; {}",
            decision.input_size,
            decision.output_size,
            decision.target_input,
            decision.target_output,
            decision.cpu_percent,
            decision.memory_percent,
            decision.average_latency_ms,
            decision.reason,
        )
    else:
        bound.debug(
            "buffers hold at in {} / out {} frames; {}",
            decision.input_size,
            decision.output_size,
            decision.reason,
        )


def subscribe_logger(decisions: Observable[BufferDecision]) -> abc.DisposableBase:
    """Attach the logger sink to a decision stream."""
    return decisions.subscribe(log_decision)
