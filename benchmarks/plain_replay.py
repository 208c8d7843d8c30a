"""The reference for the replay benchmark: the same trace, the same arithmetic and the same
output as ``adaptive-stream replay``, in one plain Python loop with no Rx, no pydantic and no
validation beyond what parsing needs.

It is a yardstick, not a second implementation of the product: the benchmark checks that its
output equals the product's before timing anything.

Usage: ``python plain_replay.py [--checked] TRACE``. With ``--checked`` it also does the input
checks every replay must do (``t`` parsed, in order and finite; latency and metrics finite
and in range), failing with exit code 2, so that the two programs differ only by Rx.
"""

from __future__ import annotations

import csv
import sys


def go_round(x: float) -> int:
    whole = int(x)
    frac = x - whole
    if frac >= 0.5:
        return whole + 1
    if frac <= -0.5:
        return whole - 1
    return whole


def fmt(x: float) -> str:
    text = repr(x)
    if "e" in text:
        return text
    if text.endswith(".0"):
        text = text[:-2]
    if abs(x) < 1e6:
        return text
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    digits = (whole + frac).rstrip("0")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e+{len(whole) - 1:02d}"


def factor(v: float, low: float, high: float) -> float:
    if v > high:
        return -1.0
    if v < low:
        return 1.0
    mid = (high + low) / 2
    return (mid - v) / (mid - low)


def adapt(cur: float, c: float) -> float:
    target = cur + c * (20.0 - cur) if c > 0 else cur + c * (cur - 3.0)
    new = cur + 0.3 * (target - cur)
    return max(3.0, min(20.0, new))


def main(path: str, checked: bool) -> None:
    target, maximum = 20_000_000, 50_000_000
    mid_lat = (maximum + target) // 2
    avg = 0
    cpu = mem = 0.0
    have_metrics = False
    size_in = size_out = 6
    count = 0
    out = [
        "t,input_buffer_size,output_buffer_size,cpu_percent,memory_percent,latency_ms,"
        "combined_factor,adjusted,adaptation_count"
    ]
    with open(path, newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        inf = float("inf")
        last_t = -inf
        for t, kind, c, m, lat in rows:
            if checked:
                t_value = float(t)
                if not last_t <= t_value < inf:
                    sys.exit(2)
                last_t = t_value
            if kind == "latency":
                ms = float(lat)
                if checked and not 0.0 <= ms < inf:
                    sys.exit(2)
                s = go_round(ms * 1e6)
                avg = s if avg == 0 else int(float(avg) * 0.7 + float(s) * 0.3)
            elif kind == "metrics":
                cpu, mem, have_metrics = float(c), float(m), True
                if checked and not (0.0 <= cpu < inf and 0.0 <= mem <= 100.0):
                    sys.exit(2)
            elif kind == "tick" and have_metrics:
                if avg > maximum:
                    lf = -1.0
                elif avg < target:
                    lf = 1.0
                else:
                    lf = float(mid_lat - avg) / float(mid_lat - target)
                comb = 0.5 * factor(cpu, 20.0, 60.0) + 0.3 * factor(mem, 50.0, 75.0) + 0.2 * lf
                new_in, new_out = adapt(float(size_in), comb), adapt(float(size_out), comb)
                adjusted = abs(new_in - size_in) >= 0.5 or abs(new_out - size_out) >= 0.5
                if adjusted:
                    size_in, size_out = go_round(new_in), go_round(new_out)
                    count += 1
                out.append(
                    f"{t},{size_in},{size_out},{fmt(cpu)},{fmt(mem)},{fmt(avg / 1e6)},"
                    f"{fmt(comb)},{1 if adjusted else 0},{count}"
                )
    out.append("")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(arguments[-1], "--checked" in arguments)
