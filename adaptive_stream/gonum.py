"""Go's numeric semantics that a faithful port has to reproduce.

The original manager is Go code: it rounds with ``math.Round`` (halves away from zero, where
Python's :func:`round` rounds halves to even), truncates with ``int64(x)``, divides integers
toward zero, and its replay output writes floats with ``strconv.FormatFloat(x, 'g', -1, 64)``.
Each of those is one small function here, so the policy reads like the Go it ports.
"""

from __future__ import annotations

import math
from datetime import timedelta

__all__ = ["duration_ns", "format_float", "go_div", "go_round"]


def go_round(x: float) -> int:
    """``int64(math.Round(x))``: round to the nearest integer, halves away from zero.

    ``x - trunc(x)`` is exact in binary floating point, so unlike ``floor(x + 0.5)`` this is
    right for 0.49999999999999994 too.

    >>> go_round(16.5), go_round(-16.5), go_round(2.4999999), round(16.5)
    (17, -17, 2, 16)
    """
    whole = int(x)
    frac = x - whole
    if frac >= 0.5:
        return whole + 1
    if frac <= -0.5:
        return whole - 1
    return whole


def go_div(a: int, b: int) -> int:
    """Go's integer ``a / b``: the quotient truncated toward zero (Python's ``//`` floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def format_float(x: float) -> str:
    """``strconv.FormatFloat(x, 'g', -1, 64)``: the shortest digits that round-trip.

    Go switches to exponent form when the decimal exponent is below -4 or at least 6 (for the
    shortest form its threshold is fixed at 6 digits); Python's ``repr`` switches at 16, and
    writes a trailing ``.0`` that Go does not.

    >>> [format_float(v) for v in (1.0, 0.6000000000000001, 1e-05, 1234567.0, 1e21, -0.0)]
    ['1', '0.6000000000000001', '1e-05', '1.234567e+06', '1e+21', '-0']
    """
    text = repr(x)
    if -1e6 < x < 1e6:  # the common case; False for NaN
        # Below 1e6 Python and Go agree, exponent form included (1e-05), but for ".0".
        return text[:-2] if text.endswith(".0") else text
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if "e" in text:
        # From 1e16 up Python writes the exponent form too, with Go's digits and sign.
        return text
    # 1e6 <= |x| < 1e16: Python wrote positional digits, Go writes d.ddde+XX.
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    digits = (whole + frac).rstrip("0")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e+{len(whole) - 1:02d}"


def duration_ns(value: timedelta) -> int:
    """A :class:`~datetime.timedelta` as a Go ``time.Duration``: integer nanoseconds, exactly.

    Integer arithmetic throughout (``timedelta`` has microsecond resolution), where
    ``total_seconds() * 1e9`` would round through a float.

    >>> duration_ns(timedelta(milliseconds=20)), duration_ns(timedelta(days=1, microseconds=1))
    (20000000, 86400000001000)
    """
    return ((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds) * 1_000
