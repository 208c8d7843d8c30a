"""``buffer_size_override`` pins both sizes for every policy (shared code, not one policy's)."""

from __future__ import annotations

import pytest
import reactivex as rx
from policy_drive import Event, drive, merged, ticks
from reactivex.testing import TestScheduler

from adaptive_stream import (
    AdaptiveBufferManager,
    SettingsError,
    SystemMetrics,
    load_settings,
    make_policy,
)
from adaptive_stream.policies import POLICIES

BUSY = SystemMetrics(90.0, 80.0)


def pressure(stop: float) -> list[Event]:
    """Everything that would move a policy: load, late frames, underruns."""
    out: list[Event] = []
    for second in range(int(stop)):
        out.append((second + 0.25, "metrics", BUSY))
        out.append((second + 0.3, "latency", 0.4))
        out.append((second + 0.35, "underruns", 3))
    return out


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_override_pins_every_policy_from_before_the_first_tick(name: str) -> None:
    policy = make_policy(load_settings(policy=name, buffer_size_override=4))
    assert policy.name == name
    assert policy.sizes(policy.initial_state()) == (4, 4)
    decisions = drive(policy, merged(pressure(30), ticks(0.5, 30)))
    assert decisions, "the pinned policy still decides"
    for decision in decisions:
        assert (decision.input_size, decision.output_size, decision.adjusted) == (4, 4, False)
        assert decision.policy == name
        assert "buffer_size_override" in decision.reason


def test_without_override_the_same_inputs_move_the_sizes() -> None:
    """The inputs above do move the policies: the override is what holds them."""
    for name in sorted(POLICIES):
        decisions = drive(
            make_policy(load_settings(policy=name)), merged(pressure(30), ticks(0.5, 30))
        )
        if name in ("jetkvm", "feedback", "oboe", "pulseaudio"):
            assert any(d.adjusted for d in decisions), name


def test_a_pinned_manager_publishes_the_override_before_any_tick() -> None:
    settings = load_settings(policy="jetkvm", buffer_size_override=15)
    manager = AdaptiveBufferManager(settings, metrics=rx.never(), scheduler=TestScheduler())
    seen: list[int] = []
    manager.sizes.subscribe(lambda s: seen.append(s.input_size))
    assert seen == [15]


@pytest.mark.parametrize("override", [2, 21])
def test_an_override_outside_the_limits_is_a_settings_error(override: int) -> None:
    with pytest.raises(SettingsError, match="buffer_size_override: must lie within"):
        load_settings(buffer_size_override=override)
