"""Settings: one pydantic-settings class, loaded from defaults, a TOML profile, the environment
and CLI flags, later sources overriding earlier ones.

The defaults are the JetKVM firmware's ``GetConfig()`` values (SPEC, defaults table).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from adaptive_stream.errors import SettingsError

__all__ = [
    "ENV_PREFIX",
    "AdaptiveBufferSettings",
    "SettingsError",
    "load_settings",
    "parse_duration",
    "resolve_profile",
]

ENV_PREFIX = "ADAPTIVE_STREAM_"

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


def parse_duration(value: Any) -> Any:
    """Accept ``timedelta``, numbers (seconds) and strings such as ``"20ms"``, ``"0.5 s"``.

    Anything else is passed on unchanged for pydantic to reject (or parse, e.g. ISO 8601).
    """
    if isinstance(value, bool):
        return value  # pydantic rejects it with a clear message
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("a duration must be a finite number of seconds")
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            return timedelta(seconds=seconds)
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


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
    )

    policy: str = "jetkvm"
    """Decision policy by name; ``jetkvm`` reproduces the firmware decision for decision."""

    min_buffer_size: int = Field(default=3, ge=1, le=10_000)
    """Smallest buffer size, in frames (3 frames of 20 ms = 60 ms)."""

    default_buffer_size: int = Field(default=6, ge=1, le=10_000)
    """Size both buffers start at, in frames."""

    max_buffer_size: int = Field(default=20, ge=1, le=10_000)
    """Largest buffer size, in frames (20 frames = 400 ms)."""

    cpu_low_threshold: float = Field(default=20.0, ge=0.0)
    """CPU percent below which the CPU factor is +1 (grow)."""

    cpu_high_threshold: float = Field(default=60.0, ge=0.0)
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

    cpu_weight: float = Field(default=0.5, ge=0.0)
    """Weight of the CPU factor in the combined factor (the firmware's CPUMemoryWeight)."""

    memory_weight: float = Field(default=0.3, ge=0.0)
    """Weight of the memory factor in the combined factor."""

    latency_weight: float = Field(default=0.2, ge=0.0)
    """Weight of the latency factor in the combined factor."""

    percentage_multiplier: float = Field(default=100.0, gt=0.0)
    """Fixed-point scale of the CPU and memory figures in ``stats()`` (100: hundredths)."""

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        from adaptive_stream.policies import POLICIES

        if value not in POLICIES:
            raise ValueError(f"must be one of: {', '.join(sorted(POLICIES))}")
        return value

    @model_validator(mode="after")
    def _check_relations(self) -> AdaptiveBufferSettings:
        problems: list[str] = []
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
        if not timedelta(0) < target < maximum:
            problems.append(
                "target_latency, max_latency: must satisfy 0 < target_latency < max_latency "
                f"(got {_ms(target)} and {_ms(maximum)})"
            )
        if self.adaptation_interval <= timedelta(0):
            problems.append(
                f"adaptation_interval: must be above 0 (got {_ms(self.adaptation_interval)})"
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
            out[name] = _ms(value) if isinstance(value, timedelta) else str(value)
        return out


_PROFILE_VALUES: ContextVar[Mapping[str, Any] | None] = ContextVar(
    "adaptive_stream_profile", default=None
)

_CONFIG_DIRS = (Path.cwd() / "config", Path(__file__).resolve().parent.parent / "config")


def _ms(value: timedelta) -> str:
    return f"{value / timedelta(milliseconds=1):g}ms"


def resolve_profile(profile: str | Path) -> Path:
    """A profile given as a path, or as a name under ``config/`` (``jetkvm``, ``desktop``)."""
    path = Path(profile)
    if path.suffix == ".toml" or path.exists() or len(path.parts) > 1:
        return path
    for folder in _CONFIG_DIRS:
        candidate = folder / f"{profile}.toml"
        if candidate.exists():
            return candidate
    return _CONFIG_DIRS[0] / f"{profile}.toml"


def _read_profile(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(["profile file not found"], origin=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError([f"cannot read profile: {exc}"], origin=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"invalid TOML: {exc}"], origin=str(path)) from None
    # A profile may hold its settings at top level or under [adaptive_stream].
    section = data.get("adaptive_stream", data)
    if not isinstance(section, dict):
        raise SettingsError(["[adaptive_stream] must be a table"], origin=str(path))
    return {k: v for k, v in section.items() if k != "adaptive_stream"}


def _describe_error(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            problems.append(f"unknown setting {where!r}")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if where:
            problems.append(f"{where}: {message} (got {error.get('input')!r})")
        else:
            problems.append(message)
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
    token = _PROFILE_VALUES.set(values)
    try:
        given = {k: v for k, v in overrides.items() if v is not None}
        return AdaptiveBufferSettings(**given)
    except ValidationError as exc:
        raise SettingsError(_describe_error(exc), origin=origin) from None
    finally:
        _PROFILE_VALUES.reset(token)
