"""The logger and Prometheus sinks, fed from a manager in virtual time."""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request

import pytest
from loguru import logger
from reactivex.testing import TestScheduler

from adaptive_stream import AdaptiveBufferManager, SystemMetrics
from adaptive_stream.sinks.log import configure_logging, subscribe_logger
from adaptive_stream.sinks.prometheus import MetricsServerError, PrometheusSink, serve_metrics


class Sampler:
    def __init__(self) -> None:
        self.value = SystemMetrics(5.0, 10.0)

    def sample(self) -> SystemMetrics:
        return self.value


def manager_in_virtual_time() -> tuple[AdaptiveBufferManager, TestScheduler, Sampler]:
    scheduler = TestScheduler()
    sampler = Sampler()
    return AdaptiveBufferManager(metrics=sampler, scheduler=scheduler), scheduler, sampler


@pytest.fixture
def restore_logging() -> object:
    yield None
    logger.remove()
    logger.add(__import__("sys").stderr)
    logging.basicConfig(handlers=[], force=True)


def test_logger_writes_one_line_per_adjustment_with_real_values(
    restore_logging: object,
) -> None:
    out = io.StringIO()
    configure_logging("INFO", sink=out)
    manager, scheduler, _ = manager_in_virtual_time()
    subscribe_logger(manager.decisions)
    manager.start()
    scheduler.advance_to(4.0)  # 8 ticks: 6 adjustments, then 2 inside the dead zone
    manager.stop()
    lines = [line for line in out.getvalue().splitlines() if "buffers ->" in line]
    assert len(lines) == 6
    assert "in 10 / out 10 frames (targets 10.20 / 10.20)" in lines[0]
    assert "cpu low (+1.00)" in lines[0]


def test_logger_json_lines_carry_the_fields(restore_logging: object) -> None:
    out = io.StringIO()
    configure_logging("INFO", json=True, sink=out)
    manager, scheduler, _ = manager_in_virtual_time()
    subscribe_logger(manager.decisions)
    manager.start()
    scheduler.advance_to(0.5)
    manager.stop()
    records = [json.loads(line)["record"] for line in out.getvalue().splitlines()]
    adjustment = next(r for r in records if "buffers ->" in r["message"])
    assert adjustment["extra"]["input_size"] == 10
    assert adjustment["extra"]["target_input"] == 10.2
    assert adjustment["extra"]["combined_factor"] == 1.0


def test_stdlib_logging_is_routed_into_loguru(restore_logging: object) -> None:
    out = io.StringIO()
    configure_logging("WARNING", sink=out)
    logging.getLogger("somelib").warning("disk %s is full", "sda")
    logging.getLogger("somelib").info("not shown at WARNING")
    assert "disk sda is full" in out.getvalue()
    assert "not shown" not in out.getvalue()


def test_unknown_log_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="log level 'LOUD': must be one of TRACE"):
        configure_logging("LOUD")


def test_prometheus_gauges_follow_and_the_counter_counts_adjustments_only() -> None:
    sink = PrometheusSink(settings={"policy": "jetkvm", "max_buffer_size": "20"})
    manager, scheduler, sampler = manager_in_virtual_time()
    sink.subscribe(manager.decisions)
    manager.update_latency(0.012)
    manager.start()
    scheduler.advance_to(5.0)  # 10 ticks, 6 adjustments
    value = sink.registry.get_sample_value
    assert value("adaptive_stream_input_buffer_frames") == 19
    assert value("adaptive_stream_output_buffer_frames") == 19
    assert value("adaptive_stream_cpu_percent") == 5.0
    assert value("adaptive_stream_memory_percent") == 10.0
    assert value("adaptive_stream_latency_average_seconds") == 0.012
    assert value("adaptive_stream_adjustments_total") == 6
    assert value("adaptive_stream_settings_info", {"policy": "jetkvm", "max_buffer_size": "20"})
    sampler.value = SystemMetrics(95.0, 90.0)
    scheduler.advance_to(5.5)
    assert value("adaptive_stream_cpu_percent") == 95.0
    assert value("adaptive_stream_adjustments_total") == 7
    manager.stop()


def test_prometheus_jetkvm_names() -> None:
    sink = PrometheusSink("jetkvm")
    manager, scheduler, _ = manager_in_virtual_time()
    sink.subscribe(manager.decisions)
    manager.start()
    scheduler.advance_to(0.5)
    value = sink.registry.get_sample_value
    assert value("jetkvm_adaptive_input_buffer_size_bytes") == 10
    assert value("jetkvm_adaptive_output_buffer_size_bytes") == 10
    assert value("jetkvm_adaptive_system_cpu_percent") == 5.0
    assert value("jetkvm_adaptive_system_memory_percent") == 10.0
    assert value("jetkvm_adaptive_buffer_adjustments_total") == 1
    assert value("adaptive_stream_input_buffer_frames") is None
    manager.stop()


def test_jetkvm_names_can_be_exactly_the_firmware_series() -> None:
    """prometheus_client's own switch drops the counter's _created sample (docs/live.md)."""
    import os
    import subprocess
    import sys

    code = (
        "from prometheus_client import generate_latest\n"
        "from adaptive_stream.sinks.prometheus import PrometheusSink\n"
        "text = generate_latest(PrometheusSink('jetkvm').registry).decode()\n"
        "print(sorted({l.split()[0] for l in text.splitlines() if not l.startswith('#')}))\n"
    )
    env = {**os.environ, "PROMETHEUS_DISABLE_CREATED_SERIES": "True"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(
        sorted(
            [
                "jetkvm_adaptive_buffer_adjustments_total",
                "jetkvm_adaptive_input_buffer_size_bytes",
                "jetkvm_adaptive_output_buffer_size_bytes",
                "jetkvm_adaptive_system_cpu_percent",
                "jetkvm_adaptive_system_memory_percent",
            ]
        )
    )


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="must be one of adaptive_stream, jetkvm"):
        PrometheusSink("grafana")  # type: ignore[arg-type]


def test_metrics_are_served_over_http_and_a_busy_port_is_a_clear_error() -> None:
    sink = PrometheusSink()
    sink.input_frames.set(7)
    server = serve_metrics(sink.registry, 0)
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode()
        assert "adaptive_stream_input_buffer_frames 7.0" in body
        with pytest.raises(MetricsServerError, match=f"port {server.port} .* already in use"):
            serve_metrics(sink.registry, server.port)
    finally:
        server.close()
    with socket.socket() as probe:  # nothing listens there any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", server.port))
