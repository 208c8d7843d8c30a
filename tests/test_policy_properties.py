"""Properties every registered policy keeps, whatever its inputs (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_drive import Event, at, drive

from adaptive_stream import AdaptiveBufferSettings, SystemMetrics
from adaptive_stream.policies import POLICIES, make_policy

limits = st.tuples(st.integers(1, 30), st.integers(0, 30), st.integers(0, 30)).map(
    lambda t: (t[0], t[0] + t[1], t[0] + t[1] + t[2])
)

steps = st.lists(
    st.tuples(
        st.floats(0.0, 4.0),  # seconds since the previous input
        st.sampled_from(["metrics", "stale metrics", "latency", "underruns", "tick", "tick"]),
        st.floats(0.0, 1.0),
    ),
    max_size=70,
)


def events_of(raw: list[tuple[float, str, float]]) -> list[Event]:
    now = 0.0
    out: list[Event] = []
    for gap, kind, x in raw:
        now += gap
        if kind == "metrics":
            out.append((now, kind, SystemMetrics(x * 400, x * 100, at(now))))
        elif kind == "stale metrics":
            out.append((now, "metrics", SystemMetrics(x * 400, 100 - x * 100, at(now - 30))))
        elif kind == "latency":
            out.append((now, kind, x * x * 2.0))  # 0 to 2 s, mostly small
        elif kind == "underruns":
            out.append((now, kind, int(x * 7)))
        else:
            out.append((now, kind, 0))
    return out


def key(decisions: list[Any]) -> list[tuple[Any, ...]]:
    return [tuple(d) for d in decisions]


@pytest.mark.parametrize("name", sorted(POLICIES))
@given(limits=limits, raw=steps)
@settings(max_examples=40, deadline=None)
def test_sizes_are_whole_frames_within_the_limits_and_decisions_repeat(
    name: str, limits: tuple[int, int, int], raw: list[tuple[float, str, float]]
) -> None:
    low, default, high = limits
    config = AdaptiveBufferSettings(
        policy=name, min_buffer_size=low, default_buffer_size=default, max_buffer_size=high
    )
    events = events_of(raw)
    first = drive(make_policy(config), events)
    again = drive(make_policy(config), events)
    assert key(first) == key(again)
    for decision in first:
        for size in (decision.input_size, decision.output_size):
            assert type(size) is int
            assert low <= size <= high
        assert decision.policy == name
        assert decision.reason
    # A tick decides when it has metrics; jetkvm also decides nothing on stale ones.
    deciding = 0
    latest: SystemMetrics | None = None
    for seconds, kind, value in events:
        if kind == "metrics":
            latest = value
        elif kind == "tick" and latest is not None:
            assert latest.sampled_at is not None
            stale = at(seconds) - latest.sampled_at > config.metrics_stale_after
            deciding += not (stale and name == "jetkvm")
    assert len(first) == deciding
