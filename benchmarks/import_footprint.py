"""Where the RSS of ``adaptive-stream run`` goes: RSS added by each import, in run's order.

Imports the modules ``adaptive-stream run`` needs one group after the other in this fresh
process and prints the ``VmRSS`` (Linux ``/proc/self/status``) added by each group, the way the
console script does it (asyncio, which imports ``ssl``, first). Figures are in docs/live.md.

    .venv/bin/python benchmarks/import_footprint.py
"""

from __future__ import annotations

import importlib
import sys

GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("psutil", ("psutil",)),
    ("asyncio (with ssl)", ("asyncio",)),
    (
        "reactivex (+ operators, schedulers)",
        ("reactivex", "reactivex.operators", "reactivex.scheduler"),
    ),
    ("loguru", ("loguru",)),
    ("pydantic (main, fields)", ("pydantic.main", "pydantic.fields")),
    ("pydantic_settings", ("pydantic_settings",)),
    (
        "adaptive_stream run path",
        (
            "adaptive_stream.settings",
            "adaptive_stream.manager",
            "adaptive_stream.live",
            "adaptive_stream.sinks.log",
            "adaptive_stream.sources.processes",
        ),
    ),
    (
        "prometheus_client + sink (with --metrics-port)",
        ("prometheus_client", "adaptive_stream.sinks.prometheus"),
    ),
]


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> int:
    if "asyncio" in sys.modules:
        print("asyncio is already imported; run this as a script of its own", file=sys.stderr)
        return 2
    previous = rss_mib()
    print(f"{'interpreter':<50} {'':>9} {previous:6.1f} MiB")
    for label, modules in GROUPS:
        for module in modules:
            importlib.import_module(module)
        now = rss_mib()
        print(f"{label:<50} {now - previous:+7.1f} MiB {now:6.1f} MiB")
        previous = now
    return 0


if __name__ == "__main__":
    sys.exit(main())
