"""The search space of a policy: the settings it reads (its ``TUNABLE``), each within its
validated range, narrowed or fixed by a ``--space`` file.

A dimension's range is the settings model's own bounds (``ge``/``gt``/``le``/``lt`` on the
field) intersected with a search window (:data:`SEARCH_WINDOW`) where the model leaves a
side open or allows far more than any deployment uses (sizes up to 10,000 frames). A
``--space`` file may narrow a dimension anywhere within the validated range (so also
beyond the window), or fix it::

    max_buffer_size = [4, 30]          # search 4..30 frames
    target_latency = ["10ms", "40ms"]  # durations take units (a bare number is seconds)
    smoothing_factor = 0.5             # fixed: not searched

The relations between settings are kept by construction, not by rejecting trials: the
three sizes are searched independently and sorted into ``min <= default <= max``, each
low/high pair (thresholds, target and maximum latency) is sorted and, if equal, set one
step apart (0.01, or 1 ms), and ``current_weight`` is ``1 - historical_weight`` (one
dimension). Durations are searched in whole milliseconds.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from adaptive_stream.settings import DURATION_RANGES, AdaptiveBufferSettings, parse_duration

__all__ = [
    "SEARCH_WINDOW",
    "Dimension",
    "SearchSpace",
    "SpaceError",
    "load_space_file",
    "policy_space",
    "settings_from_values",
]

Kind = Literal["int", "float", "duration"]

#: Where the search looks when the settings model allows more (or sets no bound): sizes
#: up to 50 frames (1 s of 20 ms frames), CPU percentages and weights as the firmware uses
#: them, durations in milliseconds. A ``--space`` file may go beyond, within the model's
#: bounds.
SEARCH_WINDOW: Mapping[str, tuple[float, float]] = {
    "min_buffer_size": (1, 50),
    "default_buffer_size": (1, 50),
    "max_buffer_size": (1, 50),
    "cpu_low_threshold": (0, 100),
    "cpu_high_threshold": (0, 100),
    "memory_low_threshold": (0, 100),
    "memory_high_threshold": (0, 100),
    "target_latency": (1, 500),
    "max_latency": (1, 500),
    "smoothing_factor": (0.01, 1),
    "historical_weight": (0, 1),
    "cpu_weight": (0, 1),
    "memory_weight": (0, 1),
    "latency_weight": (0, 1),
    "load_headroom": (0, 20),
    "underrun_growth": (1, 4),
    "startup_grace": (0, 10_000),
    "shrink_after": (0, 60_000),
    "jitter_window": (0, 60_000),
    "jitter_quantile": (0.5, 1),
    "stale_after": (0, 10_000),
    "quality_memory": (2_000, 120_000),
    "quality_device_delay": (0, 200),
}

#: Settings that follow another one rather than being searched.
DERIVED = {"current_weight": "historical_weight"}

#: Pairs kept in order by sorting the two values a trial draws.
ORDERED_PAIRS = (
    ("cpu_low_threshold", "cpu_high_threshold"),
    ("memory_low_threshold", "memory_high_threshold"),
    ("target_latency", "max_latency"),
)
SIZES = ("min_buffer_size", "default_buffer_size", "max_buffer_size")

#: Durations that must be at least ``adaptation_interval`` (the settings' relations).
AT_LEAST_INTERVAL = ("shrink_after", "jitter_window", "stale_after")


class SpaceError(ValueError):
    """A space that cannot be searched: an unknown parameter, a bad range, nothing left."""


class Dimension(NamedTuple):
    """One searched setting: its kind and inclusive range (durations in milliseconds)."""

    name: str
    kind: Kind
    low: float
    high: float


class _Trial(Protocol):
    """What :meth:`SearchSpace.suggest` needs of an Optuna trial."""

    def suggest_int(self, name: str, low: int, high: int) -> int: ...

    def suggest_float(self, name: str, low: float, high: float) -> float: ...


class SearchSpace(NamedTuple):
    """The dimensions searched and the values fixed, for one policy."""

    policy: str
    dimensions: tuple[Dimension, ...]
    fixed: Mapping[str, Any]
    tunable: tuple[str, ...] = ()
    """Every setting the policy declares tunable (derived ones included): what a trial
    records and a tuned profile holds."""

    def suggest(self, trial: _Trial) -> dict[str, Any]:
        """One point of the space, asked of ``trial`` (in the dimensions' order, so a
        sampler sees the same sequence every time): setting name -> value as the settings
        take it (durations as ``timedelta``), before the relations are applied."""
        values: dict[str, Any] = dict(self.fixed)
        for dim in self.dimensions:
            if dim.kind == "float":
                values[dim.name] = trial.suggest_float(dim.name, dim.low, dim.high)
            else:
                value = trial.suggest_int(dim.name, int(dim.low), int(dim.high))
                values[dim.name] = (
                    timedelta(milliseconds=value) if dim.kind == "duration" else value
                )
        return values

    def describe(self) -> dict[str, str]:
        """Each parameter and its range or fixed value, as text (stored with a study)."""
        out = {
            d.name: f"{d.low:g}..{d.high:g}" + (" ms" if d.kind == "duration" else "")
            for d in self.dimensions
        }
        for name, value in self.fixed.items():
            out[name] = f"fixed {_text(value)}"
        return dict(sorted(out.items()))


def _text(value: Any) -> str:
    if isinstance(value, timedelta):
        return f"{value / timedelta(milliseconds=1):g}ms"
    return str(value)


def _kind(name: str) -> Kind:
    annotation = AdaptiveBufferSettings.model_fields[name].annotation
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    return "duration"


def validated_range(name: str) -> tuple[float, float]:
    """The settings model's own bounds of ``name`` (durations in milliseconds, from
    ``DURATION_RANGES``); an open side is infinite. A strict bound (``gt``) is kept as is:
    the search window or the space file must stay above it."""
    low, high = -math.inf, math.inf
    kind = _kind(name)
    if kind == "duration":
        low = 0.0  # the model's relations: durations are above (or at) zero
        if name in DURATION_RANGES:  # the settings' own range for this duration
            shortest, longest, _ = DURATION_RANGES[name]
            return shortest / timedelta(milliseconds=1), longest / timedelta(milliseconds=1)
    for bound in AdaptiveBufferSettings.model_fields[name].metadata:
        for attr in ("ge", "gt"):
            if getattr(bound, attr, None) is not None:
                low = float(getattr(bound, attr))
        for attr in ("le", "lt"):
            if getattr(bound, attr, None) is not None:
                high = float(getattr(bound, attr))
    return low, high


def _tunable(policy: str) -> tuple[str, ...]:
    from adaptive_stream.policies import POLICIES

    if policy not in POLICIES:
        known = ", ".join(sorted(POLICIES))
        raise SpaceError(f"--policy: unknown policy {policy!r} (known: {known})")
    declared: tuple[str, ...] = getattr(POLICIES[policy], "TUNABLE", ())
    return declared


def policy_space(
    policy: str,
    base: AdaptiveBufferSettings,
    overrides: Mapping[str, Any] | None = None,
    origin: str = "--space",
) -> SearchSpace:
    """The space of ``policy``: its tunable settings within their validated range and the
    search window, with ``overrides`` (a ``--space`` file's entries: a value fixes, a
    ``[low, high]`` pair narrows).

    Raises:
        SpaceError: an unknown policy or parameter, a range outside the validated one or
            reversed, or nothing left to search; the message names ``origin``.
    """
    names = [n for n in _tunable(policy) if n not in DERIVED]
    overrides = dict(overrides or {})
    for name in overrides:
        if name in DERIVED:
            raise SpaceError(
                f"{origin}: {name}: follows {DERIVED[name]} (1 - it); set {DERIVED[name]}"
            )
        if name not in names:
            raise SpaceError(
                f"{origin}: {name}: not a setting the {policy} policy reads "
                f"(tunable: {', '.join(names)})"
            )
    interval_ms = base.adaptation_interval / timedelta(milliseconds=1)
    dimensions: list[Dimension] = []
    fixed: dict[str, Any] = {}
    for name in names:
        kind = _kind(name)
        valid_low, valid_high = validated_range(name)
        if name in AT_LEAST_INTERVAL:
            valid_low = max(valid_low, interval_ms)
        if name in overrides:
            entry = overrides[name]
            if isinstance(entry, list):
                low, high = _range(name, kind, entry, valid_low, valid_high, origin=origin)
                if low == high:
                    fixed[name] = _value(kind, low)
                else:
                    dimensions.append(Dimension(name, kind, low, high))
            else:
                value = _one(name, kind, entry, origin)
                _check_within(name, kind, value, valid_low, valid_high, origin=origin)
                fixed[name] = _value(kind, value)
            continue
        window_low, window_high = SEARCH_WINDOW[name]
        low, high = max(valid_low, window_low), min(valid_high, window_high)
        dimensions.append(Dimension(name, kind, low, high))
    if not dimensions:
        raise SpaceError(f"{origin}: empty space: every parameter of {policy} is fixed")
    return SearchSpace(policy, tuple(dimensions), fixed, _tunable(policy))


def _one(name: str, kind: Kind, raw: Any, origin: str) -> float:
    """A number from a space file (durations in milliseconds)."""
    if kind == "duration":
        parsed = parse_duration(raw)
        if isinstance(parsed, timedelta):
            return parsed / timedelta(milliseconds=1)
        raise SpaceError(f"{origin}: {name}: {raw!r} is not a duration (such as 20ms or 1.5s)")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise SpaceError(f"{origin}: {name}: {raw!r} is not a number")
    if kind == "int" and raw != int(raw):
        raise SpaceError(f"{origin}: {name}: {raw!r} is not a whole number")
    return float(raw)


def _check_within(
    name: str, kind: Kind, value: float, low: float, high: float, *, origin: str
) -> None:
    unit = " ms" if kind == "duration" else ""
    if not low <= value <= high or (value == low and _strict_low(name)):
        raise SpaceError(
            f"{origin}: {name}: {value:g}{unit} is outside the allowed range "
            f"{_shown(name, low)}..{high:g}{unit}"
        )


def _strict_low(name: str) -> bool:
    return any(
        getattr(b, "gt", None) is not None
        for b in AdaptiveBufferSettings.model_fields[name].metadata
    )


def _shown(name: str, low: float) -> str:
    return f"(above {low:g})" if _strict_low(name) else f"{low:g}"


def _range(
    name: str, kind: Kind, entry: list[Any], valid_low: float, valid_high: float, *, origin: str
) -> tuple[float, float]:
    if len(entry) != 2:
        raise SpaceError(f"{origin}: {name}: a range is [low, high] (got {entry!r})")
    low, high = (_one(name, kind, raw, origin) for raw in entry)
    if low > high:
        raise SpaceError(f"{origin}: {name}: low {low:g} is above high {high:g}")
    _check_within(name, kind, low, valid_low, valid_high, origin=origin)
    _check_within(name, kind, high, valid_low, valid_high, origin=origin)
    if kind != "float" and math.floor(high) < math.ceil(low):
        raise SpaceError(f"{origin}: {name}: no whole value between {low:g} and {high:g}")
    if kind != "float":
        low, high = math.ceil(low), math.floor(high)
    return low, high


def _value(kind: Kind, number: float) -> Any:
    if kind == "duration":
        return timedelta(milliseconds=number)
    if kind == "int":
        return int(number)
    return number


def load_space_file(path: str | Path) -> dict[str, Any]:
    """The entries of a ``--space`` TOML file (checked by :func:`policy_space`).

    Raises:
        SpaceError: naming the file, for a missing or unreadable file or invalid TOML.
    """
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SpaceError(f"{path}: space file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"{path}: cannot read space file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"{path}: invalid TOML: {exc}") from None


def settings_from_values(
    base: AdaptiveBufferSettings, values: Mapping[str, Any]
) -> AdaptiveBufferSettings:
    """``base`` with a point of the space applied, the relations kept (see the module
    docstring). Every field is passed explicitly, so neither the environment nor a profile
    can change what a worker runs.

    Raises:
        pydantic.ValidationError: if the values still break a relation (two equal
            thresholds, say).
    """
    effective = dict(values)
    if any(n in effective for n in SIZES):
        sizes = {n: effective.get(n, getattr(base, n)) for n in SIZES}
        low, high = sorted((sizes["min_buffer_size"], sizes["max_buffer_size"]))
        effective["min_buffer_size"], effective["max_buffer_size"] = low, high
        effective["default_buffer_size"] = min(max(sizes["default_buffer_size"], low), high)
    for low_name, high_name in ORDERED_PAIRS:
        if low_name in effective or high_name in effective:
            low, high = sorted(
                (
                    effective.get(low_name, getattr(base, low_name)),
                    effective.get(high_name, getattr(base, high_name)),
                )
            )
            if low == high:  # the model wants low < high: one step apart
                step: Any = timedelta(milliseconds=1) if isinstance(low, timedelta) else 0.01
                limit = validated_range(high_name)[1]
                above = high + step
                if (
                    above / timedelta(milliseconds=1) if isinstance(above, timedelta) else above
                ) > limit:
                    low = low - step
                else:
                    high = above
            effective[low_name], effective[high_name] = low, high
    if "historical_weight" in effective:
        effective["current_weight"] = 1.0 - effective["historical_weight"]
    return AdaptiveBufferSettings(**(base.model_dump() | effective))
