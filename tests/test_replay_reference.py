"""Differential tests: the port against the firmware's own code.

``tools/jetkvm_reference/main.go`` is the original Go file's arithmetic (copied unchanged
from ``adaptive_buffer.go``) behind the SPEC's replay contract. Built with the Go toolchain,
it replays hypothesis-generated traces, and ``adaptive-stream replay`` must print the same
bytes for every one of them: thresholds, midpoints, halves, integer nanoseconds, exponents,
negative and out-of-range values, -0.

Skipped when ``go`` is not installed, except under ``CI=true`` (``.ci/run`` installs Debian's
``golang-go``), where that is a failure.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adaptive_stream.replay import replay

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tools" / "jetkvm_reference" / "main.go"
DATA = Path(__file__).parent / "data"
HEADER = "t,kind,cpu_percent,memory_percent,latency_ms"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference replayer, built once for this module."""
    go = shutil.which("go")
    if go is None:
        reason = "the Go toolchain is not installed: install Debian's golang-go (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("go")
    binary = work / "jetkvm_reference"
    env = {**os.environ, "GOCACHE": str(work / "cache"), "GOPATH": str(work / "path")}
    built = subprocess.run(
        [go, "build", "-o", str(binary), str(SOURCE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return binary


def original(binary: Path, trace: str) -> str:
    done = subprocess.run(
        [str(binary), "-"], input=trace, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def port(trace: str) -> str:
    out = io.StringIO()
    replay(io.StringIO(trace, newline=""), out)
    return out.getvalue()


def test_the_reference_reproduces_the_original_output(reference: Path) -> None:
    """The Go harness is trustworthy: it prints the SPEC's sample output byte for byte."""
    trace = (DATA / "sample.trace.csv").read_text()
    assert original(reference, trace) == (DATA / "sample.expected.csv").read_text()


@pytest.mark.parametrize("trace", sorted(DATA.glob("*.trace.csv")), ids=lambda p: p.name)
def test_every_bundled_expected_file_is_what_the_original_prints(
    reference: Path, trace: Path
) -> None:
    expected = trace.with_name(trace.name.replace(".trace.csv", ".expected.csv"))
    assert original(reference, trace.read_text()) == expected.read_text()


# Values where a port is likeliest to drift: thresholds, midpoints and their neighbours,
# halves of a nanosecond, -0, values the original took unchecked, both exponent forms.
CPU = st.one_of(
    st.sampled_from(
        [
            0.0,
            -0.0,
            20.0,
            40.0,
            60.0,
            19.999999999999996,
            20.000000000000004,
            59.99999999999999,
            60.00000000000001,
            100.0,
            400.0,
            -5.0,
            1e6,
            1234567.5,
            1e-05,
            3e-07,
            1e21,
            0.1,
        ]
    ),
    st.floats(min_value=-10.0, max_value=500.0, allow_nan=False),
)
MEMORY = st.one_of(
    st.sampled_from(
        [0.0, -0.0, 50.0, 62.5, 75.0, 49.99999999999999, 75.00000000000001, 100.0, 120.0, -3.0]
    ),
    st.floats(min_value=-5.0, max_value=110.0, allow_nan=False),
)
LATENCY_MS = st.one_of(
    st.sampled_from(
        [
            0.0,
            -0.0,
            20.0,
            35.0,
            50.0,
            5e-07,
            1.5e-06,
            19.9999995,
            20.0000005,
            35.0000005,
            50.0000005,
            12.3456785,
            -1.0,
            -5e-07,
            1e6,
            1e9,
            9e12,
        ]
    ),
    st.floats(min_value=-1.0, max_value=200.0, allow_nan=False),
)
EVENT = st.one_of(
    st.tuples(st.just("metrics"), CPU, MEMORY),
    st.tuples(st.just("latency"), LATENCY_MS),
    st.tuples(st.just("tick")),
)


def as_trace(events: list[tuple[object, ...]], steps: list[float]) -> str:
    rows = [HEADER]
    t = 0.0
    for event, step in zip(events, steps, strict=False):
        t += step
        kind = event[0]
        if kind == "metrics":
            rows.append(f"{t!r},metrics,{event[1]!r},{event[2]!r},")
        elif kind == "latency":
            rows.append(f"{t!r},latency,,,{event[1]!r}")
        else:
            rows.append(f"{t!r},tick,,,")
    return "\n".join(rows) + "\n"


@settings(
    max_examples=int(os.environ.get("REFERENCE_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=st.lists(EVENT, max_size=120),
    steps=st.lists(st.sampled_from([0.0, 0.001, 0.25, 0.5]), min_size=120, max_size=120),
)
@example(events=[("metrics", -0.0, -0.0), ("tick",)], steps=[0.5] * 120)
# c = +1 from 6: 10, 13, 15, then 15 + 0.3 * 5 = 16.5 exactly, which Go rounds to 17.
@example(events=[("metrics", 5.0, 10.0)] + [("tick",)] * 9, steps=[0.5] * 120)
@example(
    events=[("latency", -1.0), ("latency", 10.0), ("metrics", 5.0, 10.0), ("tick",)],
    steps=[0.5] * 120,
)
def test_the_port_prints_what_the_original_prints(
    reference: Path, events: list[tuple[object, ...]], steps: list[float]
) -> None:
    trace = as_trace(events, steps)
    assert port(trace) == original(reference, trace)
