"""The search space: each policy's declared settings, their ranges, --space files, and
the relations a trial's settings keep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive_stream.policies import POLICIES
from adaptive_stream.settings import AdaptiveBufferSettings, load_settings

pytest.importorskip("optuna")

from adaptive_stream.tune.space import (
    DERIVED,
    ORDERED_PAIRS,
    SEARCH_WINDOW,
    SIZES,
    SearchSpace,
    SpaceError,
    policy_space,
    settings_from_values,
    validated_range,
)

#: Settings a policy may read without their being tunable (see each TUNABLE's comment):
#: the stream's frame duration and the pipeline's tick (the default for stale_after, which
#: jetkvm and feedback tune explicitly). ``buffer_size_override`` is no policy's: make_policy
#: pins any policy with it (PinnedPolicy).
NOT_TUNED = {"frame_duration", "adaptation_interval"}

#: Settings settings_from_values may move to keep a relation (sizes ordered, low < high).
KEPT_IN_RELATION = {*SIZES, *(name for pair in ORDERED_PAIRS for name in pair)}


def _configuration(settings: AdaptiveBufferSettings) -> Any:
    policy = POLICIES[settings.policy].from_settings(settings)
    return getattr(policy, "params", None) or policy.limits


def _changed(name: str, base: AdaptiveBufferSettings) -> AdaptiveBufferSettings:
    """``base`` with ``name`` moved to another valid value (its relations kept)."""
    value = getattr(base, name)
    other: Any
    if name == "historical_weight":
        return settings_from_values(base, {name: 0.5})
    if name == "current_weight":
        return settings_from_values(base, {"historical_weight": 0.5})
    if name == "buffer_size_override":
        other = 5
    elif name == "stale_after":
        other = timedelta(seconds=4)
    elif isinstance(value, timedelta):
        other = value + timedelta(milliseconds=7)
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        pytest.skip(f"{name} is not a number")
    elif name == "max_buffer_size":
        other = value + 1
    elif name == "min_buffer_size":
        other = value - 1
    elif name == "default_buffer_size" or isinstance(value, int):
        other = value + 1
    else:
        other = value * 0.9 if value else 0.1
    if name.endswith("_low_threshold"):
        other = value - 1
    if name == "jitter_quantile":
        other = 0.9
    if name == "smoothing_factor":
        other = 0.5
    return AdaptiveBufferSettings(**(base.model_dump() | {name: other}))


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_each_declared_setting_changes_what_the_policy_is_built_from(policy: str) -> None:
    base = load_settings(policy=policy)
    declared = POLICIES[policy].TUNABLE
    assert declared, policy
    for name in declared:
        assert _configuration(_changed(name, base)) != _configuration(base), name


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_no_undeclared_setting_changes_what_the_policy_is_built_from(policy: str) -> None:
    """The declaration is complete: every other setting leaves the policy as it was
    (except those read on purpose and never tuned, named in NOT_TUNED)."""
    base = load_settings(policy=policy)
    declared = set(POLICIES[policy].TUNABLE)
    for name in AdaptiveBufferSettings.model_fields:
        if name in declared or name in NOT_TUNED or name in ("policy", "log_level"):
            continue
        try:
            changed = _changed(name, base)
        except pytest.skip.Exception:
            continue
        assert _configuration(changed) == _configuration(base), name


def test_ranges_come_from_the_settings_model() -> None:
    assert validated_range("smoothing_factor") == (0.0, 1.0)
    assert validated_range("max_buffer_size") == (1.0, 10_000.0)
    assert validated_range("cpu_weight") == (0.0, 1000.0)
    assert validated_range("jitter_quantile") == (0.5, 1.0)
    space = policy_space("jetkvm", load_settings(policy="jetkvm"))
    dims = {d.name: d for d in space.dimensions}
    assert (dims["max_buffer_size"].low, dims["max_buffer_size"].high) == (1, 50)
    assert (dims["smoothing_factor"].low, dims["smoothing_factor"].high) == (0.01, 1.0)
    assert dims["target_latency"].kind == "duration"
    assert "current_weight" not in dims  # follows historical_weight
    for dim in space.dimensions:
        low, high = validated_range(dim.name)
        assert low <= dim.low < dim.high <= high
        assert (dim.low, dim.high) != (low, high) or dim.name in SEARCH_WINDOW


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_every_policy_has_a_space(policy: str) -> None:
    # Every tunable setting of every registered policy has a search window (a policy
    # whose setting had none made `tune --policy quality` end in a KeyError).
    space = policy_space(policy, load_settings(policy=policy))
    for dim in space.dimensions:
        low, high = validated_range(dim.name)
        assert low <= dim.low < dim.high <= high, dim.name
    assert set(POLICIES[policy].TUNABLE) - set(DERIVED) <= set(SEARCH_WINDOW)


def test_durations_bounded_by_the_interval_start_at_it() -> None:
    base = load_settings(policy="feedback", adaptation_interval="250ms")
    dims = {d.name: d for d in policy_space("feedback", base).dimensions}
    assert dims["shrink_after"].low == 250
    assert dims["jitter_window"].low == 250


def test_a_space_file_narrows_and_fixes() -> None:
    base = load_settings(policy="jetkvm")
    space = policy_space(
        "jetkvm",
        base,
        {"max_buffer_size": [10, 30], "target_latency": ["10ms", "40ms"], "cpu_weight": 0.25},
    )
    dims = {d.name: d for d in space.dimensions}
    assert (dims["max_buffer_size"].low, dims["max_buffer_size"].high) == (10, 30)
    assert (dims["target_latency"].low, dims["target_latency"].high) == (10, 40)
    assert space.fixed == {"cpu_weight": 0.25}
    assert "cpu_weight" not in dims
    # A range may go beyond the search window, within the validated range.
    wide = policy_space("oboe", base, {"max_buffer_size": [20, 200]})
    assert {d.name: d.high for d in wide.dimensions}["max_buffer_size"] == 200


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"bogus": 1}, "bogus: not a setting the oboe policy reads"),
        ({"cpu_weight": 1}, "cpu_weight: not a setting the oboe policy reads"),
        ({"current_weight": 0.3}, "current_weight: follows historical_weight"),
        ({"max_buffer_size": [0, 9]}, "max_buffer_size: 0 is outside the allowed range 1..10000"),
        ({"max_buffer_size": [9, 4]}, "max_buffer_size: low 9 is above high 4"),
        ({"max_buffer_size": [4]}, "a range is [low, high]"),
        ({"max_buffer_size": 4.5}, "not a whole number"),
        ({"max_buffer_size": "many"}, "'many' is not a number"),
        (
            {
                "min_buffer_size": 3,
                "default_buffer_size": 4,
                "max_buffer_size": [9, 9],
                "historical_weight": 0.5,
            },
            "empty space: every parameter of oboe is fixed",
        ),
    ],
)
def test_bad_space_entries_are_named(entries: dict[str, Any], message: str) -> None:
    with pytest.raises(SpaceError, match=r"^space\.toml: .*") as error:
        policy_space("oboe", load_settings(policy="oboe"), entries, origin="space.toml")
    assert message in str(error.value)


def test_bad_durations_and_strict_bounds() -> None:
    base = load_settings(policy="jetkvm")
    with pytest.raises(SpaceError, match="target_latency: 'soon' is not a duration"):
        policy_space("jetkvm", base, {"target_latency": "soon"})
    with pytest.raises(SpaceError, match=r"smoothing_factor: 0 is outside .*\(above 0\)"):
        policy_space("jetkvm", base, {"smoothing_factor": 0})
    with pytest.raises(SpaceError, match="unknown policy 'nope'"):
        policy_space("nope", base)


class _Draw:
    """A trial that answers each suggestion with a hypothesis draw in its range."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def suggest_int(self, name: str, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high), label=name)

    def suggest_float(self, name: str, low: float, high: float) -> float:
        return self.data.draw(st.floats(low, high), label=name)


@pytest.mark.parametrize("policy", ["jetkvm", "feedback", "neteq"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_point_of_the_space_is_valid_settings(policy: str, data: st.DataObject) -> None:
    """Sizes, low/high pairs and weights are kept in relation by construction: any draw
    gives settings the model accepts (equal pairs are set one step apart)."""
    base = load_settings(policy=policy)
    space: SearchSpace = policy_space(policy, base)
    values = space.suggest(_Draw(data))
    result = settings_from_values(base, values)
    assert result.min_buffer_size <= result.default_buffer_size <= result.max_buffer_size
    assert abs(result.historical_weight + result.current_weight - 1) < 1e-9
    for name in space.tunable:
        if name in values and name not in KEPT_IN_RELATION:
            assert getattr(result, name) == values[name]


def test_equal_pairs_are_set_one_step_apart() -> None:
    base = load_settings(policy="jetkvm")
    top = settings_from_values(
        base, {"memory_low_threshold": 100.0, "memory_high_threshold": 100.0}
    )
    assert (top.memory_low_threshold, top.memory_high_threshold) == (99.99, 100.0)
    same = settings_from_values(
        base, {"target_latency": timedelta(milliseconds=30), "max_latency": timedelta(0, 0, 30_000)}
    )
    assert (same.target_latency, same.max_latency) == (
        timedelta(milliseconds=30),
        timedelta(milliseconds=31),
    )
    swapped = settings_from_values(base, {"min_buffer_size": 12, "max_buffer_size": 4})
    assert (swapped.min_buffer_size, swapped.default_buffer_size, swapped.max_buffer_size) == (
        4,
        6,
        12,
    )
