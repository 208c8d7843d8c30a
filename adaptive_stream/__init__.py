"""adaptive-stream: how many frames should an audio pipeline buffer, decided live.

A reactive (RxPY) port of the JetKVM firmware's adaptive buffer manager, and better policies.

Public API:
    SystemMetrics, BufferDecision, BufferSizes: the values that flow.
    buffer_decisions(metrics, latency, ticks, settings=None): the decision stream.
    AdaptiveBufferManager: start/stop, update_latency, decisions/sizes observables, stats().
    AdaptiveBufferSettings, load_settings: settings from defaults, profile, environment, flags.
"""

from adaptive_stream.manager import (
    AdaptiveBufferManager,
    get_adaptive_buffer_manager,
    start_adaptive_buffering,
    stop_adaptive_buffering,
)
from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics
from adaptive_stream.pipeline import buffer_decisions
from adaptive_stream.settings import AdaptiveBufferSettings, SettingsError, load_settings

__version__ = "0.1.0"

__all__ = [
    "AdaptiveBufferManager",
    "AdaptiveBufferSettings",
    "BufferDecision",
    "BufferSizes",
    "SettingsError",
    "SystemMetrics",
    "__version__",
    "buffer_decisions",
    "get_adaptive_buffer_manager",
    "load_settings",
    "start_adaptive_buffering",
    "stop_adaptive_buffering",
]
