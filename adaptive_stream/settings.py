"""Settings: one pydantic-settings class, loaded from defaults, a TOML profile, the environment
and CLI flags, later sources overriding earlier ones.

The defaults are the JetKVM firmware's ``GetConfig()`` values (SPEC, defaults table).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

from loguru import logger
from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from adaptive_stream.config_files import TomlFileError, find_toml, read_toml, search_folders
from adaptive_stream.errors import SettingsError
from adaptive_stream.setting_names import ENV_PREFIX, LOG_LEVELS

__all__ = [
    "DURATION_RANGES",
    "ENV_PREFIX",
    "LOG_LEVELS",
    "MAX_DURATION_SECONDS",
    "AdaptiveBufferSettings",
    "SettingsError",
    "describe_range",
    "load_settings",
    "parse_duration",
    "resolve_profile",
]


_DURATION = re.compile(
    r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(ns|us|µs|ms|s|m|h)?\s*$"
)
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    None: 1.0,
}


#: The longest duration any setting or scenario accepts, in seconds (a year): beyond it a
#: number is a mistake, and ``timedelta`` itself overflows past about 2.7 million years.
MAX_DURATION_SECONDS = 366 * 86400.0


def parse_duration(value: Any) -> Any:
    """Accept ``timedelta``, numbers (seconds) and strings such as ``"20ms"``, ``"0.5 s"``.

    Anything else is passed on unchanged for pydantic to reject (or parse, e.g. ISO 8601).

    Raises:
        ValueError: a boolean (not a duration), or a number that is not finite or beyond
            :data:`MAX_DURATION_SECONDS` either way.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a duration (write 20ms, 0.5s or seconds)")
    seconds: float | None = None
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds is None:
        return value
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number of seconds")
    if abs(seconds) > MAX_DURATION_SECONDS:
        raise ValueError(f"a duration must be at most {MAX_DURATION_SECONDS:g} s (a year)")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


_MS = timedelta(milliseconds=1)
_S = timedelta(seconds=1)

#: Each duration setting's range, and why: what a real audio system can have. Checked with
#: the relations between settings; shown in errors, in ``--help`` and in the README.
DURATION_RANGES: dict[str, tuple[timedelta, timedelta, str]] = {
    "frame_duration": (
        _MS,
        _S,
        "1 ms (48 samples at 48 kHz, the shortest period audio drivers use) to 1 s; "
        "Opus frames are 2.5 to 60 ms",
    ),
    "adaptation_interval": (
        _MS,
        60 * _S,
        "1 ms (one decision per shortest audio period) to a minute (slower is not adapting)",
    ),
    "target_latency": (0.1 * _MS, 60 * _S, "0.1 ms to a minute, below max_latency"),
    "max_latency": (0.1 * _MS, 60 * _S, "0.1 ms to a minute, at most latency_ceiling"),
    "latency_ceiling": (_MS, 60 * _S, "no audio path buffers a minute; beyond is an error"),
    "stale_after": (_MS, 3600 * _S, "an interval to an hour"),
    "startup_grace": (timedelta(0), 600 * _S, "device open and codec warm-up take seconds"),
    "shrink_after": (_MS, 3600 * _S, "an interval to an hour"),
    "jitter_window": (_MS, 600 * _S, "an interval to ten minutes of per-tick peaks"),
}


class AdaptiveBufferSettings(BaseSettings):
    """Everything the adaptive buffer manager can be told.

    Sources, later overriding earlier: these defaults (the JetKVM firmware's), a TOML profile
    (see :func:`load_settings`), environment variables ``ADAPTIVE_STREAM_<FIELD>`` (e.g.
    ``ADAPTIVE_STREAM_MAX_BUFFER_SIZE=12``), and keyword arguments (the CLI's flags).
    Durations accept ``timedelta``, seconds, or strings such as ``"20ms"``.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
        allow_inf_nan=False,  # an infinite threshold or weight is a mistake, never a value
    )

    policy: str = "jetkvm"
    """Decision policy by name; ``jetkvm`` reproduces the firmware decision for decision."""

    min_buffer_size: int = Field(default=3, ge=1, le=10_000)
    """Smallest buffer size, in frames (3 frames of 20 ms = 60 ms)."""

    default_buffer_size: int = Field(default=6, ge=1, le=10_000)
    """Size both buffers start at, in frames."""

    max_buffer_size: int = Field(default=20, ge=1, le=10_000)
    """Largest buffer size, in frames (20 frames = 400 ms)."""

    cpu_low_threshold: float = Field(default=20.0, ge=0.0, le=100_000.0)
    """CPU percent below which the CPU factor is +1 (grow)."""

    cpu_high_threshold: float = Field(default=60.0, ge=0.0, le=100_000.0)
    """CPU percent above which the CPU factor is -1 (the original shrinks under load)."""

    memory_low_threshold: float = Field(default=50.0, ge=0.0, le=100.0)
    """Memory percent below which the memory factor is +1."""

    memory_high_threshold: float = Field(default=75.0, ge=0.0, le=100.0)
    """Memory percent above which the memory factor is -1."""

    target_latency: Duration = timedelta(milliseconds=20)
    """Latency average below which the latency factor is +1."""

    max_latency: Duration = timedelta(milliseconds=50)
    """Latency average above which the latency factor is -1."""

    adaptation_interval: Duration = timedelta(milliseconds=500)
    """Time between two adaptation ticks."""

    smoothing_factor: float = Field(default=0.3, gt=0.0, le=1.0)
    """Share of the way to the target size covered per tick (1 = jump straight there)."""

    historical_weight: float = Field(default=0.7, ge=0.0, le=1.0)
    """Weight of the previous latency average in the moving average."""

    current_weight: float = Field(default=0.3, ge=0.0, le=1.0)
    """Weight of the newest latency sample in the moving average."""

    cpu_weight: float = Field(default=0.5, ge=0.0, le=1000.0)
    """Weight of the CPU factor in the combined factor (the firmware's CPUMemoryWeight)."""

    memory_weight: float = Field(default=0.3, ge=0.0, le=1000.0)
    """Weight of the memory factor in the combined factor."""

    latency_weight: float = Field(default=0.2, ge=0.0, le=1000.0)
    """Weight of the latency factor in the combined factor."""

    percentage_multiplier: float = Field(default=100.0, gt=0.0, le=1e6)
    """Fixed-point scale of the CPU and memory figures in ``stats()`` (100: hundredths)."""

    latency_ceiling: Duration = timedelta(seconds=10)
    """Latency samples above this are rejected as measurement errors (counted, not averaged);
    at least ``max_latency``."""

    stale_after: Duration | None = None
    """Metrics older than this make ticks decide nothing until samples return (as with no
    metrics at all); unset: three adaptation intervals. At least ``adaptation_interval``."""

    log_level: str | None = None
    """Level of the log that ``adaptive-stream run`` writes (TRACE, DEBUG, INFO, SUCCESS,
    WARNING, ERROR or CRITICAL); unset: WARNING beside the live view, which already shows
    every decision, and INFO (one line per adjustment) with --log-json or --quiet."""

    frame_duration: Duration = timedelta(milliseconds=20)
    """Audio in one frame (JetKVM's Opus frames: 20 ms). The frame-counting policies
    (feedback, oboe, pulseaudio, neteq, roc) turn arrival delays into frames with it."""

    buffer_size_override: int | None = Field(default=None, ge=1, le=10_000)
    """Manual override: pin both sizes at this many frames, from before the first tick on,
    whatever the policy; unset: adapt. Within min_buffer_size..max_buffer_size."""

    startup_grace: Duration = timedelta(seconds=2)
    """feedback: underruns this soon after the first tick are start-up xruns (device open,
    codec warm-up) and are ignored."""

    shrink_after: Duration = timedelta(seconds=10)
    """feedback: quiet time (no underrun, growth, near-miss or stale input) before the
    buffer shrinks by one frame; each shrink starts it again."""

    jitter_window: Duration = timedelta(seconds=10)
    """feedback: how far back the arrival-delay quantile looks (one peak per tick)."""

    jitter_quantile: float = Field(default=0.95, ge=0.5, le=1.0)
    """feedback: the quantile of the per-tick peak arrival delays the buffer must cover."""

    underrun_growth: float = Field(default=1.5, ge=1.0, le=4.0)
    """feedback: factor the size grows by on an underrun (at least one frame more)."""

    load_headroom: int = Field(default=4, ge=0, le=10_000)
    """feedback: frames added under CPU load (none at cpu_low_threshold, all of them from
    cpu_high_threshold up): load delays the threads that move audio, so it grows."""

    quality_memory: Duration = timedelta(seconds=20)
    """quality: time constant of the forgetting arrival-delay histograms (older delays weigh
    e^-age/memory), and the horizon a size change's audible cost is spread over. 1s to 10min."""

    quality_device_delay: Duration = timedelta(milliseconds=20)
    """quality: delay outside the buffer added to estimate mouth-to-ear delay (codec
    look-ahead, sound device), as the E-model's device_delay. 0s to 1s."""

    @property
    def metrics_stale_after(self) -> timedelta:
        """The age beyond which metrics are stale: ``stale_after``, or three intervals."""
        if self.stale_after is not None:
            return self.stale_after
        return 3 * self.adaptation_interval

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        from adaptive_stream.policies import POLICIES

        if value not in POLICIES:
            raise ValueError(f"must be one of: {', '.join(sorted(POLICIES))}")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str | None) -> str | None:
        if value is None:
            return None
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @model_validator(mode="after")
    def _check_relations(self) -> AdaptiveBufferSettings:
        problems: list[str] = []
        out_of_range: set[str] = set()
        for name, (low, high, _) in DURATION_RANGES.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                out_of_range.add(name)
                problems.append(
                    f"{name}: must be from {_span(low)} to {_span(high)} (got {_span(value)})"
                )
        if not self.min_buffer_size <= self.default_buffer_size <= self.max_buffer_size:
            problems.append(
                "min_buffer_size, default_buffer_size, max_buffer_size: must satisfy "
                "1 <= min <= default <= max (got "
                f"{self.min_buffer_size}, {self.default_buffer_size}, {self.max_buffer_size})"
            )
        for kind in ("cpu", "memory"):
            low = getattr(self, f"{kind}_low_threshold")
            high = getattr(self, f"{kind}_high_threshold")
            if not low < high:
                problems.append(
                    f"{kind}_low_threshold, {kind}_high_threshold: low must be below high "
                    f"(got {low} and {high})"
                )
        target, maximum = self.target_latency, self.max_latency
        if not out_of_range & {"target_latency", "max_latency"} and not target < maximum:
            problems.append(
                "target_latency, max_latency: must satisfy 0 < target_latency < max_latency "
                f"(got {_ms(target)} and {_ms(maximum)})"
            )
        if not out_of_range & {"latency_ceiling", "max_latency"} and self.latency_ceiling < maximum:
            problems.append(
                "latency_ceiling: must be at least max_latency "
                f"(got {_ms(self.latency_ceiling)} and {_ms(maximum)})"
            )
        stale = self.stale_after
        if (
            stale is not None
            and "stale_after" not in out_of_range
            and stale < self.adaptation_interval
        ):
            problems.append(
                "stale_after: must be at least adaptation_interval "
                f"(got {_ms(stale)} and {_ms(self.adaptation_interval)})"
            )
        override = self.buffer_size_override
        if override is not None and not self.min_buffer_size <= override <= self.max_buffer_size:
            problems.append(
                "buffer_size_override: must lie within min_buffer_size..max_buffer_size "
                f"(got {override}, limits {self.min_buffer_size}..{self.max_buffer_size})"
            )
        for name in ("shrink_after", "jitter_window"):
            value = getattr(self, name)
            if name not in out_of_range and value < self.adaptation_interval:
                problems.append(
                    f"{name}: must be at least adaptation_interval "
                    f"(got {_ms(value)} and {_ms(self.adaptation_interval)})"
                )
        if not timedelta(seconds=1) <= self.quality_memory <= timedelta(minutes=10):
            problems.append(
                f"quality_memory: must be from 1s to 10min (got {_ms(self.quality_memory)})"
            )
        if not timedelta(0) <= self.quality_device_delay <= timedelta(seconds=1):
            problems.append(
                "quality_device_delay: must be from 0s to 1s "
                f"(got {_ms(self.quality_device_delay)})"
            )
        total = self.historical_weight + self.current_weight
        if abs(total - 1.0) > 1e-9:
            problems.append(
                "historical_weight, current_weight: must sum to 1 "
                f"(got {self.historical_weight} + {self.current_weight} = {total:g})"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First listed wins: flags (init kwargs) > environment > profile > defaults.
        profile = _PROFILE_VALUES.get()
        if profile is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, InitSettingsSource(settings_cls, dict(profile)))

    def describe(self) -> dict[str, str]:
        """The settings in force as strings (durations in milliseconds), for logs and metrics."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "stale_after" and value is None:
                out[name] = f"{_ms(self.metrics_stale_after)} (3 x adaptation_interval)"
                continue
            if value is None:
                out[name] = "unset"
                continue
            out[name] = _ms(value) if isinstance(value, timedelta) else str(value)
        return out


_PROFILE_VALUES: ContextVar[Mapping[str, Any] | None] = ContextVar(
    "adaptive_stream_profile", default=None
)


def _ms(value: timedelta) -> str:
    return f"{value / timedelta(milliseconds=1):g}ms"


def _span(value: timedelta) -> str:
    """A duration for people: milliseconds below a second, else seconds (``2.5s``)."""
    if abs(value) < timedelta(seconds=1):
        return _ms(value)
    return f"{value.total_seconds():g}s"


def resolve_profile(profile: str | Path) -> Traversable:
    """A profile given as a path, or as a name: ``config/NAME.toml`` under the working
    directory, else the bundled one (``jetkvm``, ``desktop``, ``feedback``)."""
    folders = search_folders()
    return find_toml(profile, folders) or folders[-1] / f"{profile}.toml"


def _read_profile(path: Traversable) -> dict[str, Any]:
    try:
        data = read_toml(path)
    except FileNotFoundError:
        raise SettingsError(["profile file not found"], origin=str(path)) from None
    except TomlFileError as exc:
        raise SettingsError([f"cannot use profile: {exc}"], origin=str(path)) from None
    # A profile may hold its settings at top level or under [adaptive_stream].
    section = data.get("adaptive_stream", data)
    if not isinstance(section, dict):
        raise SettingsError(["[adaptive_stream] must be a table"], origin=str(path))
    return {k: v for k, v in section.items() if k != "adaptive_stream"}


def _allowed(name: str) -> str:
    """What a field accepts, from its type and bounds: ``an integer, 1 <= x <= 10000``."""
    field = AdaptiveBufferSettings.model_fields[name]
    if name == "policy":
        from adaptive_stream.policies import POLICIES

        return "one of " + ", ".join(sorted(POLICIES))
    if name == "log_level":
        return "one of " + ", ".join(LOG_LEVELS)
    if field.annotation is int:
        kind = "an integer"
    elif field.annotation == int | None:
        kind = "unset or an integer"
    elif field.annotation is float:
        kind = "a number"
    else:
        kind = "a duration such as 20ms, 0.5s or seconds as a number"
    low = high = ""
    for bound in field.metadata:
        for attr, text in (("ge", ">="), ("gt", ">")):
            if getattr(bound, attr, None) is not None:
                low = f"{text} {getattr(bound, attr):g}"
        for attr, text in (("le", "<="), ("lt", "<")):
            if getattr(bound, attr, None) is not None:
                high = f"{text} {getattr(bound, attr):g}"
    bounds = " and ".join(b for b in (low, high) if b)
    if name in DURATION_RANGES:
        start, end, _ = DURATION_RANGES[name]
        bounds = f"{_span(start)} to {_span(end)}"
    relation = _RELATIONS.get(name)
    return ", ".join(part for part in (kind, bounds, relation) if part)


#: The relations between settings that a field's own bounds do not show.
_RELATIONS = {
    "min_buffer_size": "min <= default <= max",
    "default_buffer_size": "min <= default <= max",
    "max_buffer_size": "min <= default <= max",
    "cpu_low_threshold": "below cpu_high_threshold",
    "cpu_high_threshold": "above cpu_low_threshold",
    "memory_low_threshold": "below memory_high_threshold",
    "memory_high_threshold": "above memory_low_threshold",
    "target_latency": "0 < target_latency < max_latency",
    "max_latency": "target_latency < max_latency <= latency_ceiling",
    "historical_weight": "historical_weight + current_weight = 1",
    "current_weight": "historical_weight + current_weight = 1",
    "latency_ceiling": "at least max_latency",
    "stale_after": "at least adaptation_interval",
    "buffer_size_override": "min_buffer_size <= override <= max_buffer_size",
    "shrink_after": "at least adaptation_interval",
    "jitter_window": "at least adaptation_interval",
    "quality_memory": "from 1s to 10min",
    "quality_device_delay": "from 0s to 1s",
}

_NAMED_CHOICES = frozenset({"policy", "log_level"})

_NAMES = re.compile(r"^([a-z_]+(?:, [a-z_]+)*): ")


def describe_range(name: str) -> str:
    """What the setting ``name`` accepts, in words (type, bounds, relations)."""
    return _allowed(name)


def _env_names() -> dict[str, str]:
    """The ``ADAPTIVE_STREAM_*`` variables set now, by field name (matched case-insensitively,
    as pydantic-settings does)."""
    prefix = ENV_PREFIX.lower()
    found: dict[str, str] = {}
    for key in os.environ:
        if key.lower().startswith(prefix):
            found[key[len(prefix) :].lower()] = key
    return found


def _warn_unknown_env() -> None:
    """pydantic-settings ignores ``ADAPTIVE_STREAM_*`` variables that name no setting; a typo
    there would pass unnoticed, so say so (a warning, not an error: other tools may share the
    prefix)."""
    fields = AdaptiveBufferSettings.model_fields
    for name, key in _env_names().items():
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f" (did you mean {ENV_PREFIX}{close[0].upper()}?)" if close else ""
            logger.warning("environment variable {} names no setting; ignored{}", key, hint)


def _sources(
    profile: Mapping[str, Any] | None, origin: str | None, overrides: Mapping[str, Any]
) -> dict[str, str]:
    """Where each explicitly given setting came from (the source that wins, as loaded)."""
    where: dict[str, str] = {}
    for name in profile or ():
        where[name] = origin or "the profile"
    for name, key in _env_names().items():
        where[name] = f"environment variable {key}"
    for name in overrides:
        where[name] = "flag --" + name.replace("_", "-")
    return where


def _describe_error(exc: ValidationError, sources: Mapping[str, str] | None = None) -> list[str]:
    """One problem per invalid setting: its name, what is wrong, what is allowed, what was
    given and where it came from (flag, environment variable or profile)."""
    sources = sources or {}
    problems: list[str] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        name = str(loc[0]) if loc else ""
        kind = error["type"]
        if kind == "extra_forbidden":
            origin = sources.get(name)
            problems.append(f"unknown setting {name!r}" + (f" (from {origin})" if origin else ""))
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if not name:
            # The relations between settings (one error, problems joined by "; ").
            for part in message.split("; "):
                match = _NAMES.match(part)
                given = [
                    f"{field} from {sources[field]}"
                    for field in (match.group(1).split(", ") if match else ())
                    if field in sources
                ]
                problems.append(part + (f" [{'; '.join(given)}]" if given else ""))
            continue
        if name in seen:
            continue  # a union (stale_after) reports each branch; one message is enough
        seen.add(name)
        source = f" from {sources[name]}" if name in sources else ""
        # policy's and log_level's own messages list the names already
        known = name in AdaptiveBufferSettings.model_fields and name not in _NAMED_CHOICES
        allowed = _allowed(name) if known else ""
        detail = f"allowed: {allowed}; " if allowed else ""
        shown = repr(error.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        problems.append(f"{name}: {message} ({detail}got {shown}{source})")
    return problems


def load_settings(profile: str | Path | None = None, **overrides: Any) -> AdaptiveBufferSettings:
    """Build the settings from defaults, a profile, the environment and ``overrides``.

    Args:
        profile: a TOML file, or the name of one under ``config/`` (``jetkvm``, ``desktop``).
        **overrides: settings given explicitly (the CLI's flags); ``None`` values are ignored.

    Raises:
        SettingsError: naming every invalid setting and its allowed range.
    """
    origin = None
    values: dict[str, Any] | None = None
    if profile is not None:
        path = resolve_profile(profile)
        origin = f"profile {path}"
        values = _read_profile(path)
    _warn_unknown_env()
    token = _PROFILE_VALUES.set(values)
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return AdaptiveBufferSettings(**given)
    except ValidationError as exc:
        # Each problem names its own source, so the message does not blame the profile for
        # a bad flag or environment variable.
        raise SettingsError(_describe_error(exc, _sources(values, origin, given))) from None
    finally:
        _PROFILE_VALUES.reset(token)
