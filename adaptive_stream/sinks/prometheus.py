"""The Prometheus sink: gauges and a counter that follow the decisions, and an HTTP endpoint.

Metric names (``names="adaptive_stream"``, the default):

=========================================  =======  ====================================
``adaptive_stream_input_buffer_frames``    gauge    input buffer size, frames
``adaptive_stream_output_buffer_frames``   gauge    output buffer size, frames
``adaptive_stream_cpu_percent``            gauge    CPU the last tick used (summed)
``adaptive_stream_memory_percent``         gauge    memory the last tick used
``adaptive_stream_latency_average_seconds`` gauge   the latency average
``adaptive_stream_adjustments_total``      counter  ticks that changed the sizes
``adaptive_stream_settings_info``          info     the settings in force
=========================================  =======  ====================================

``names="jetkvm"`` exports the firmware's names instead (SPEC), for existing dashboards:
``jetkvm_adaptive_input_buffer_size_bytes`` and ``..._output_...`` (frame counts, despite
the name), ``jetkvm_adaptive_system_cpu_percent``, ``jetkvm_adaptive_system_memory_percent``
and the counter ``jetkvm_adaptive_buffer_adjustments_total``. As in the original, the counter
goes up only on an adjustment, and every decision updates the gauges.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Mapping
from http.server import ThreadingHTTPServer
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Info
from prometheus_client.exposition import MetricsHandler
from reactivex import Observable, abc

from adaptive_stream.model import BufferDecision

__all__ = ["MetricsServer", "MetricsServerError", "PrometheusSink", "serve_metrics"]

NameSet = Literal["adaptive_stream", "jetkvm"]
NAME_SETS: tuple[NameSet, ...] = ("adaptive_stream", "jetkvm")

_NAMES: dict[NameSet, dict[str, str]] = {
    "adaptive_stream": {
        "input": "adaptive_stream_input_buffer_frames",
        "output": "adaptive_stream_output_buffer_frames",
        "cpu": "adaptive_stream_cpu_percent",
        "memory": "adaptive_stream_memory_percent",
        "latency": "adaptive_stream_latency_average_seconds",
        "adjustments": "adaptive_stream_adjustments",  # the client appends _total
        "settings": "adaptive_stream_settings",  # the client appends _info
    },
    "jetkvm": {
        "input": "jetkvm_adaptive_input_buffer_size_bytes",
        "output": "jetkvm_adaptive_output_buffer_size_bytes",
        "cpu": "jetkvm_adaptive_system_cpu_percent",
        "memory": "jetkvm_adaptive_system_memory_percent",
        "adjustments": "jetkvm_adaptive_buffer_adjustments",
    },
}


class PrometheusSink:
    """Metrics that follow a decision stream, in their own registry.

    Args:
        names: ``"adaptive_stream"`` or ``"jetkvm"`` (the original's names).
        settings: the settings in force, exported as an info metric (``settings.describe()``).
        registry: where to register (default: a new one, so that several sinks, or tests,
            never collide in prometheus_client's global registry).
    """

    def __init__(
        self,
        names: NameSet = "adaptive_stream",
        *,
        settings: Mapping[str, str] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if names not in _NAMES:
            raise ValueError(f"metrics names {names!r}: must be one of {', '.join(NAME_SETS)}")
        self.names = names
        self.registry = registry if registry is not None else CollectorRegistry()
        n = _NAMES[names]
        r = self.registry
        self.input_frames = Gauge(n["input"], "Input buffer size, in frames", registry=r)
        self.output_frames = Gauge(n["output"], "Output buffer size, in frames", registry=r)
        self.cpu_percent = Gauge(n["cpu"], "CPU percent the last tick used", registry=r)
        self.memory_percent = Gauge(n["memory"], "Memory percent the last tick used", registry=r)
        self.latency_seconds: Gauge | None = None
        if "latency" in n:
            self.latency_seconds = Gauge(
                n["latency"], "Latency average the last tick used, in seconds", registry=r
            )
        self.adjustments = Counter(
            n["adjustments"], "Ticks that changed the buffer sizes", registry=r
        )
        if settings is not None and "settings" in n:
            Info(n["settings"], "The settings in force", registry=r).info(dict(settings))

    def on_decision(self, decision: BufferDecision) -> None:
        """Update the metrics from one decision."""
        self.input_frames.set(decision.input_size)
        self.output_frames.set(decision.output_size)
        self.cpu_percent.set(decision.cpu_percent)
        self.memory_percent.set(decision.memory_percent)
        if self.latency_seconds is not None:
            self.latency_seconds.set(decision.average_latency_ns / 1e9)
        if decision.adjusted:
            self.adjustments.inc()

    def subscribe(self, decisions: Observable[BufferDecision]) -> abc.DisposableBase:
        """Attach to a decision stream."""
        return decisions.subscribe(self.on_decision)


class MetricsServerError(OSError):
    """The metrics endpoint could not be served (port in use, address not available...)."""


#: At most this many scrapes are served at once; more connections are closed at once. A
#: Prometheus server scrapes one at a time; a few more leave room for people with curl.
MAX_CONNECTIONS = 8
#: A client that has not sent its request, or not read the answer, within this many seconds
#: is disconnected (a slow or stalled client must not hold a descriptor and a thread).
CLIENT_TIMEOUT_S = 5.0


class _BoundedServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with a bound on concurrent connections (each costs a
    descriptor and a thread): past :data:`MAX_CONNECTIONS`, a new connection is closed at
    once, so a flood of clients cannot take the descriptors the controller samples with."""

    daemon_threads = True
    request_queue_size = 16  # the kernel's backlog, which costs us no descriptor

    def __init__(self, address: tuple[str, int], handler: type[Any], family: int) -> None:
        self.address_family = family
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # busy: close it now
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out or went away is not worth a traceback on stderr."""


class MetricsServer:
    """A running ``/metrics`` endpoint; ``close()`` stops it and frees the port."""

    def __init__(self, server: object, thread: threading.Thread, port: int) -> None:
        self._server = server
        self._thread = thread
        self.port = port

    def close(self) -> None:
        shutdown = getattr(self._server, "shutdown", None)
        if shutdown is not None:
            shutdown()
        close = getattr(self._server, "server_close", None)
        if close is not None:
            close()
        self._thread.join(timeout=5)


def serve_metrics(registry: CollectorRegistry, port: int, addr: str = "127.0.0.1") -> MetricsServer:
    """Serve ``registry`` over HTTP on ``addr:port`` (port 0: any free port, see
    :attr:`MetricsServer.port`), on a daemon thread of its own.

    At most :data:`MAX_CONNECTIONS` clients are served at once, each disconnected after
    :data:`CLIENT_TIMEOUT_S` seconds without progress.

    Raises:
        MetricsServerError: with a message that says what to do (e.g. port in use).
    """
    handler = type(
        "BoundedMetricsHandler",
        (MetricsHandler.factory(registry),),
        {"timeout": CLIENT_TIMEOUT_S, "log_message": lambda self, *args: None},
    )
    try:
        infos = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        server = _BoundedServer((addr, port), handler, family)
    except (OSError, UnicodeError) as exc:
        code = getattr(exc, "errno", None)
        if code == errno.EADDRINUSE:
            raise MetricsServerError(
                code,
                f"metrics port {port} on {addr} is already in use: pick another "
                "with --metrics-port",
            ) from None
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MetricsServerError(code, f"cannot serve metrics on {addr}:{port}: {reason}") from None
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    return MetricsServer(server, thread, int(server.server_address[1]))
