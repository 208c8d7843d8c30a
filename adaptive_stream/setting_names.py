"""The settings' names and environment prefix, for code that must not import pydantic.

The command line declares one ``--<setting>`` flag per name here, and a plain ``replay``
(the JetKVM defaults) never loads the settings class. ``tests/test_settings_names.py``
holds this list to :class:`~adaptive_stream.settings.AdaptiveBufferSettings`'s fields.
"""

from __future__ import annotations

__all__ = ["ENV_PREFIX", "LOG_LEVELS", "SETTING_NAMES"]

#: The prefix of the settings' environment variables (``ADAPTIVE_STREAM_MAX_BUFFER_SIZE``).
ENV_PREFIX = "ADAPTIVE_STREAM_"

#: Every setting, in the settings class's order.
SETTING_NAMES = (
    "policy",
    "min_buffer_size",
    "default_buffer_size",
    "max_buffer_size",
    "cpu_low_threshold",
    "cpu_high_threshold",
    "memory_low_threshold",
    "memory_high_threshold",
    "target_latency",
    "max_latency",
    "adaptation_interval",
    "smoothing_factor",
    "historical_weight",
    "current_weight",
    "cpu_weight",
    "memory_weight",
    "latency_weight",
    "percentage_multiplier",
    "latency_ceiling",
    "stale_after",
    "log_level",
    "frame_duration",
    "buffer_size_override",
    "startup_grace",
    "shrink_after",
    "jitter_window",
    "jitter_quantile",
    "underrun_growth",
    "load_headroom",
    "quality_memory",
    "quality_device_delay",
)

#: loguru's levels, the values ``log_level`` accepts (case-insensitive).
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
