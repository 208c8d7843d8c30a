"""adaptive-stream: how many frames should an audio pipeline buffer, decided live.

A reactive (RxPY) port of the JetKVM firmware's adaptive buffer manager, and better policies.

Public API:
    SystemMetrics, BufferDecision, BufferSizes: the values that flow.
    buffer_decisions(metrics, latency, ticks, settings=None): the decision stream.
    AdaptiveBufferManager: start/stop, update_latency, decisions/sizes observables, stats()
        (a ManagerStats).
    LatestSizes, FollowingQueue: what audio code follows the sizes with.
    ProcessSampler, SystemSampler: psutil metrics samplers.
    Policy, PolicyFactory, FramePolicy, POLICIES, make_policy: writing and choosing policies.
    AdaptiveBufferSettings, load_settings: settings from defaults, profile, environment, flags.

Names are imported on first use (PEP 562), so ``adaptive-stream replay`` does not pay for
pydantic or loguru when it needs neither.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adaptive_stream.consumers import FollowingQueue, LatestSizes
    from adaptive_stream.manager import (
        AdaptiveBufferManager,
        ManagerStats,
        get_adaptive_buffer_manager,
        start_adaptive_buffering,
        stop_adaptive_buffering,
    )
    from adaptive_stream.model import BufferDecision, BufferSizes, SystemMetrics
    from adaptive_stream.pipeline import buffer_decisions
    from adaptive_stream.policies import (
        POLICIES,
        FramePolicy,
        Policy,
        PolicyFactory,
        make_policy,
    )
    from adaptive_stream.settings import AdaptiveBufferSettings, SettingsError, load_settings
    from adaptive_stream.sources.processes import ProcessSampler, SystemSampler

__version__ = "0.1.0"

_EXPORTS = {
    "FollowingQueue": "adaptive_stream.consumers",
    "LatestSizes": "adaptive_stream.consumers",
    "AdaptiveBufferManager": "adaptive_stream.manager",
    "ManagerStats": "adaptive_stream.manager",
    "get_adaptive_buffer_manager": "adaptive_stream.manager",
    "start_adaptive_buffering": "adaptive_stream.manager",
    "stop_adaptive_buffering": "adaptive_stream.manager",
    "BufferDecision": "adaptive_stream.model",
    "BufferSizes": "adaptive_stream.model",
    "SystemMetrics": "adaptive_stream.model",
    "buffer_decisions": "adaptive_stream.pipeline",
    "POLICIES": "adaptive_stream.policies",
    "FramePolicy": "adaptive_stream.policies",
    "Policy": "adaptive_stream.policies",
    "PolicyFactory": "adaptive_stream.policies",
    "make_policy": "adaptive_stream.policies",
    "ProcessSampler": "adaptive_stream.sources.processes",
    "SystemSampler": "adaptive_stream.sources.processes",
    "AdaptiveBufferSettings": "adaptive_stream.settings",
    "SettingsError": "adaptive_stream.settings",
    "load_settings": "adaptive_stream.settings",
}

__all__ = [
    "POLICIES",
    "AdaptiveBufferManager",
    "AdaptiveBufferSettings",
    "BufferDecision",
    "BufferSizes",
    "FollowingQueue",
    "FramePolicy",
    "LatestSizes",
    "ManagerStats",
    "Policy",
    "PolicyFactory",
    "ProcessSampler",
    "SettingsError",
    "SystemMetrics",
    "SystemSampler",
    "__version__",
    "buffer_decisions",
    "get_adaptive_buffer_manager",
    "load_settings",
    "make_policy",
    "start_adaptive_buffering",
    "stop_adaptive_buffering",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adaptive_stream' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
