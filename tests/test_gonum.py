"""Go's numeric semantics: rounding, integer division, float formatting."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_stream.gonum import format_float, go_div, go_round


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (16.5, 17),  # Python's round(16.5) == 16: the reason this function exists
        (4.5, 5),
        (-16.5, -17),
        (2.5, 3),
        (0.49999999999999994, 0),  # floor(x + 0.5) would give 1
        (-0.49999999999999994, 0),
        (18.4, 18),
        (18.6, 19),
        (0.0, 0),
        (-0.0, 0),
        (1e15 + 0.5, 1_000_000_000_000_001),
    ],
)
def test_go_round_rounds_halves_away_from_zero(x: float, expected: int) -> None:
    assert go_round(x) == expected


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))
def test_go_round_matches_the_definition(x: float) -> None:
    r = go_round(x)
    assert abs(x - r) <= 0.5
    if abs(x - r) == 0.5:
        assert abs(r) > abs(x)  # ties go away from zero


@pytest.mark.parametrize(
    ("a", "b", "expected"), [(7, 2, 3), (-7, 2, -3), (7, -2, -3), (70_000_000, 2, 35_000_000)]
)
def test_go_div_truncates_toward_zero(a: int, b: int, expected: int) -> None:
    assert go_div(a, b) == expected


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1.0, "1"),
        (0.0, "0"),
        (-0.0, "-0"),
        (100.0, "100"),
        (0.6000000000000001, "0.6000000000000001"),
        (0.82828524, "0.82828524"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (0.00012, "0.00012"),
        (123456.7, "123456.7"),
        (999999.0, "999999"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (-1234567.5, "-1.2345675e+06"),
        (1e15, "1e+15"),
        (1e16, "1e+16"),
        (1.5e300, "1.5e+300"),
        (5e-324, "5e-324"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_format_float_writes_like_go_strconv_g(x: float, text: str) -> None:
    assert format_float(x) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_float_round_trips(x: float) -> None:
    text = format_float(x)
    assert float(text) == x
    assert not text.endswith(".0")
    exponent = Decimal(repr(x)).adjusted() if x else 0  # the shortest digits' exponent
    assert ("e" in text) == (exponent < -4 or exponent >= 6)
