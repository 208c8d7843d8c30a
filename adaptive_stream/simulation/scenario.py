"""Scenarios: what the simulated audio path goes through, phase by phase (TOML files).

A scenario file holds a few top-level fields and a list of ``[[phases]]``::

    name = "cpu-spikes"
    description = "Calm, then the CPU pinned at 95 % for 20 s, twice."
    seed = 1                  # the random draws; same seed, same run
    startup = "2s"            # the start-up window: its underruns are counted apart, and late
                              # frames in it before the first one played are not heard
    startup_delay = "0ms"     # device open and codec start: frames before it wait for it
    device_delay = "20ms"     # E-model: codec look-ahead and sound device, added to latency
    ie = 0.0                  # E-model: the codec's equipment impairment (G.113 Appendix I)
    bpl = 25.1                # E-model: the codec's packet-loss robustness

    [[phases]]
    name = "calm"
    duration = "30s"
    cpu_percent = 15          # what the metrics say, and what delays the audio threads
    memory_percent = 35
    network_delay = "5ms"     # constant part of every frame's arrival delay
    jitter = "3ms"            # mean of the exponential extra delay of each frame
    burst_rate = 0.0          # network stalls per second (a Poisson process)
    burst_length = "150ms"    # mean length of a network stall (exponential)
    metrics = true            # false: the monitor reports nothing (stale metrics)

Every phase field is optional and defaults to the value above (a phase's ``name`` to
``phase N``); unknown fields are errors.

A recorded network can replace the model's (:mod:`.recorded`; paths relative to the
scenario file), one of::

    arrivals = "recordings/office.csv"   # per-frame arrival log: capture_ms,arrival_ms
    link_trace = "recordings/lte.trace"  # Mahimahi link trace, with these (defaults shown):
    audio_packet_bytes = 160             #   one packet per frame
    cross_traffic_kbps = 0               #   video sharing the link ...
    cross_traffic_fps = 30               #   ... in this many frames per second
    network_delay = "0ms"                #   propagation delay after the link
    link_start = "0ms"                   #   where in the trace to begin

With a recording, the phases give the CPU, memory and metrics only (their network fields
are errors), and may be omitted: one calm phase then lasts as long as the recording. An
arrival log is the whole audio path as a receiver saw it; a link trace replaces only the
network (the producer's CPU and memory stalls and ``startup_delay`` still apply before it).

Errors name the file, the field and what is allowed: ``cpu-spikes.toml:
phases[2].cpu_percent: must be a number from 0 to 400 (got 'high')``; a bad recording also
names its own file and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple

from adaptive_stream.config_files import TomlFileError, find_toml, read_toml, search_folders
from adaptive_stream.simulation.recorded import (
    ArrivalLog,
    LinkTrace,
    RecordingError,
    read_arrivals,
    read_link_trace,
)

__all__ = [
    "SCENARIO_DIRS",
    "Phase",
    "Scenario",
    "ScenarioError",
    "bundled_scenarios",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario",
]

#: Where scenarios are looked up by name: ``config/scenarios`` under the working directory,
#: then the bundled ones (package data).
SCENARIO_DIRS = search_folders("scenarios")


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names the file and the field."""


class Phase(NamedTuple):
    """One stretch of time with the same load and network (see the module docstring)."""

    name: str
    duration: timedelta
    cpu_percent: float = 15.0
    memory_percent: float = 35.0
    network_delay: timedelta = timedelta(milliseconds=5)
    jitter: timedelta = timedelta(milliseconds=3)
    burst_rate: float = 0.0
    burst_length: timedelta = timedelta(milliseconds=150)
    metrics: bool = True


class Scenario(NamedTuple):
    """A named, seeded sequence of phases."""

    name: str
    phases: tuple[Phase, ...]
    description: str = ""
    seed: int = 1
    startup: timedelta = timedelta(seconds=2)
    startup_delay: timedelta = timedelta(0)
    source: str = ""
    device_delay: timedelta = timedelta(milliseconds=20)
    ie: float = 0.0
    bpl: float = 25.1
    arrivals: ArrivalLog | None = None
    link_trace: LinkTrace | None = None
    audio_packet_bytes: int = 160
    cross_traffic_kbps: float = 0.0
    cross_traffic_fps: float = 30.0
    network_delay: timedelta = timedelta(0)
    link_start: timedelta = timedelta(0)

    @property
    def recorded(self) -> bool:
        """Whether a recording replaces the model's network."""
        return self.arrivals is not None or self.link_trace is not None

    @property
    def duration(self) -> timedelta:
        """How long frames are captured: the phases' durations added up."""
        return sum((phase.duration for phase in self.phases), timedelta(0))

    def phase_at(self, seconds: float) -> Phase:
        """The phase in force at ``seconds`` after the start (the last one after the end)."""
        end = 0.0
        for phase in self.phases:
            end += phase.duration.total_seconds()
            if seconds < end:
                return phase
        return self.phases[-1]

    def with_seed(self, seed: int) -> Scenario:
        return self._replace(seed=seed)


def _duration(value: Any, low: float, high: float) -> timedelta:
    from adaptive_stream.settings import parse_duration

    parsed = parse_duration(value)
    if not isinstance(parsed, timedelta) or not low <= parsed.total_seconds() <= high:
        raise ValueError(f"must be a duration from {low:g}s to {high:g}s, such as 20ms or 1.5s")
    return parsed


def _number(value: Any, low: float, high: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"must be a number from {low:g} to {high:g}")
    return float(value)


def _integer(value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


_HOUR = 3600.0
_PHASE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "name": _text,
    "duration": lambda v: _duration(v, 0.02, 24 * _HOUR),
    "cpu_percent": lambda v: _number(v, 0, 400),
    "memory_percent": lambda v: _number(v, 0, 100),
    "network_delay": lambda v: _duration(v, 0, 10),
    "jitter": lambda v: _duration(v, 0, 10),
    "burst_rate": lambda v: _number(v, 0, 50),
    "burst_length": lambda v: _duration(v, 0, 60),
    "metrics": _flag,
}
_TOP_FIELDS: dict[str, Callable[[Any], Any]] = {
    "name": _text,
    "description": _text,
    "seed": lambda v: _integer(v, 0, 2**32 - 1),
    "startup": lambda v: _duration(v, 0, 24 * _HOUR),
    "startup_delay": lambda v: _duration(v, 0, 60),
    "device_delay": lambda v: _duration(v, 0, 10),
    "ie": lambda v: _number(v, 0, 95),
    "bpl": lambda v: _number(v, 1, 100),
    "arrivals": _text,
    "link_trace": _text,
    "audio_packet_bytes": lambda v: _integer(v, 1, 65_535),
    "cross_traffic_kbps": lambda v: _number(v, 0, 1_000_000),
    "cross_traffic_fps": lambda v: _number(v, 1, 1000),
    "network_delay": lambda v: _duration(v, 0, 10),
    "link_start": lambda v: _duration(v, 0, 24 * _HOUR),
}
#: Top-level fields that only mean something with a link trace.
_LINK_FIELDS = (
    "audio_packet_bytes",
    "cross_traffic_kbps",
    "cross_traffic_fps",
    "network_delay",
    "link_start",
)
#: Phase fields of the modelled network: errors with a recording.
_NETWORK_FIELDS = ("network_delay", "jitter", "burst_rate", "burst_length")
_MAX_TOTAL = 24 * _HOUR


def _fields(
    table: Mapping[str, Any], rules: Mapping[str, Callable[[Any], Any]], where: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        rule = rules.get(key)
        if rule is None:
            known = ", ".join(rules)
            raise ScenarioError(f"{where}{key}: unknown field (known: {known})")
        try:
            out[key] = rule(value)
        except ValueError as exc:
            raise ScenarioError(f"{where}{key}: {exc} (got {value!r})") from None
    return out


def parse_scenario(
    data: Mapping[str, Any], source: str = "scenario", directory: str | Path | None = None
) -> Scenario:
    """A scenario from parsed TOML; :class:`ScenarioError` names ``source`` and the field.

    ``directory``: where relative recording paths start (default: ``source``'s folder).
    """
    try:
        return _parse(data, source, Path(source).parent if directory is None else Path(directory))
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def _recording(fields: dict[str, Any], directory: Path) -> dict[str, Any]:
    """Read the recording the fields name (in place of their paths)."""
    if "arrivals" in fields and "link_trace" in fields:
        raise ScenarioError("arrivals, link_trace: one recording or the other, not both")
    if "link_trace" not in fields:
        for key in _LINK_FIELDS:
            if key in fields:
                raise ScenarioError(f"{key}: only used with link_trace")
    for key, read in (("arrivals", read_arrivals), ("link_trace", read_link_trace)):
        if key in fields:
            try:
                fields[key] = read(directory / fields[key])
            except RecordingError as exc:
                raise ScenarioError(f"{key}: {exc}") from None
    return fields


def _recording_ms(fields: Mapping[str, Any]) -> float:
    arrivals, link = fields.get("arrivals"), fields.get("link_trace")
    if isinstance(arrivals, ArrivalLog):
        return arrivals.duration_ms
    return float(link.period_ms) if isinstance(link, LinkTrace) else 0.0


def _parse(data: Mapping[str, Any], source: str, directory: Path) -> Scenario:
    top = {k: v for k, v in data.items() if k != "phases"}
    fields = _recording(_fields(top, _TOP_FIELDS, ""), directory)
    recorded_ms = _recording_ms(fields)
    raw_phases = data.get("phases")
    if raw_phases is None and recorded_ms:
        if recorded_ms < 20:
            raise ScenarioError("phases: missing, and the recording lasts less than 20 ms")
        raw_phases = [{"name": "recorded", "duration": recorded_ms / 1000}]
    if raw_phases is None:
        raise ScenarioError("phases: missing (at least one [[phases]] table)")
    if not isinstance(raw_phases, list) or not raw_phases:
        raise ScenarioError("phases: must be a non-empty list of [[phases]] tables")
    phases = []
    for number, table in enumerate(raw_phases, start=1):
        where = f"phases[{number}]."
        if not isinstance(table, dict):
            raise ScenarioError(f"phases[{number}]: must be a table")
        values = _fields(table, _PHASE_FIELDS, where)
        network = [key for key in _NETWORK_FIELDS if key in values]
        if recorded_ms and network:
            raise ScenarioError(
                f"{where}{network[0]}: not used with a recording (the recording is the network)"
            )
        if "duration" not in values:
            raise ScenarioError(f"{where}duration: missing (a duration such as 30s)")
        values.setdefault("name", f"phase {number}")
        phases.append(Phase(**values))
    scenario = Scenario(
        name=fields.pop("name", Path(source).stem),
        phases=tuple(phases),
        source=source,
        **fields,
    )
    if scenario.duration.total_seconds() > _MAX_TOTAL:
        raise ScenarioError("phases: the durations add up to more than 24 hours")
    log = scenario.arrivals
    if log is not None and scenario.duration.total_seconds() * 1e3 > log.duration_ms + 0.5:
        raise ScenarioError(
            f"phases: they last {scenario.duration.total_seconds():g} s, but {log.source} "
            f"holds {log.duration_ms / 1e3:g} s of frames"
        )
    return scenario


def resolve_scenario(name_or_path: str | Path) -> Traversable:
    """A scenario given as a file, or by name under ``config/scenarios`` (``cpu-spikes``)."""
    path = find_toml(name_or_path, SCENARIO_DIRS)
    if path is not None:
        return path
    known = ", ".join(sorted(bundled_scenarios())) or "none found"
    raise ScenarioError(f"no scenario named {name_or_path!r} (bundled: {known})")


def load_scenario(name_or_path: str | Path | Traversable) -> Scenario:
    """Read and check a scenario file (or a bundled scenario by name)."""
    path = resolve_scenario(name_or_path) if isinstance(name_or_path, str | Path) else name_or_path
    try:
        data = read_toml(path)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except TomlFileError as exc:
        raise ScenarioError(f"{path}: cannot use scenario: {exc}") from None
    return parse_scenario(data, str(path))


def bundled_scenarios() -> dict[str, Traversable]:
    """The scenarios under ``config/scenarios``, by name (file stem), sorted."""
    found: dict[str, Traversable] = {}
    for folder in SCENARIO_DIRS:
        if folder.is_dir():
            for path in sorted(folder.iterdir(), key=lambda p: p.name):
                if path.name.endswith(".toml") and path.is_file():
                    found.setdefault(path.name.removesuffix(".toml"), path)
    return dict(sorted(found.items()))
