"""Writes the notebooks in this folder from their cell sources (run it after editing them).

Keeping the cells here, as plain Python, lets ruff and code review see them; the test suite
executes every notebook (tests/test_notebooks.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

EXPLORE = [
    new_markdown_cell(
        "# Exploring the decision stream\n\n"
        "The JetKVM policy as a reactive dataflow: metrics, latency and ticks go in, one "
        "`BufferDecision` per tick comes out. This notebook replays the bundled sample trace "
        "through `buffer_decisions`, plots what the policy saw and what it decided, and shows "
        "the same streams on a virtual-time `TestScheduler`."
    ),
    new_code_cell(
        "from pathlib import Path\n\n"
        "import matplotlib\n"
        "import matplotlib.pyplot as plt\n\n"
        "import adaptive_stream\n"
        "from adaptive_stream.replay import replay_decisions\n\n"
        "TRACE = Path(adaptive_stream.__file__).parent / 'data' / 'sample.trace.csv'\n"
        "with TRACE.open(newline='') as lines:\n"
        "    result = replay_decisions(lines)\n"
        "times = [float(t) for t, _ in result.rows]\n"
        "decisions = [d for _, d in result.rows]\n"
        "print(f'{result.ticks} ticks, {len(decisions)} decisions, '\n"
        "      f'{sum(d.adjusted for d in decisions)} adjustments')"
    ),
    new_markdown_cell(
        "## What the policy saw, and what it did\n\n"
        "Top: CPU and memory with the thresholds (20/60 % and 50/75 %). Middle: the latency "
        "average against the 20 ms target and 50 ms maximum. Bottom: the buffer size in "
        "frames, with the combined factor on a second axis. Note the original's flaw: CPU "
        "load above 60 % pushes the factor negative and *shrinks* the buffers, exactly "
        "when underruns are likeliest."
    ),
    new_code_cell(
        "fig, (ax_load, ax_lat, ax_size) = plt.subplots(3, 1, figsize=(10, 8), sharex=True)\n"
        "ax_load.plot(times, [d.cpu_percent for d in decisions], label='cpu %')\n"
        "ax_load.plot(times, [d.memory_percent for d in decisions], label='memory %')\n"
        "for y in (20, 60):\n"
        "    ax_load.axhline(y, color='C0', lw=0.5, ls='--')\n"
        "for y in (50, 75):\n"
        "    ax_load.axhline(y, color='C1', lw=0.5, ls='--')\n"
        "ax_load.set_ylabel('%'); ax_load.legend(loc='upper right')\n"
        "ax_lat.plot(times, [d.average_latency_ms for d in decisions], color='C2')\n"
        "ax_lat.axhline(20, color='k', lw=0.5, ls='--'); ax_lat.axhline(50, color='r', lw=0.5)\n"
        "ax_lat.set_ylabel('latency avg (ms)')\n"
        "ax_size.step(times, [d.input_size for d in decisions], where='post', color='C3')\n"
        "ax_size.set_ylabel('frames'); ax_size.set_ylim(0, 21); ax_size.set_xlabel('t (s)')\n"
        "factor_ax = ax_size.twinx()\n"
        "factor_ax.plot(times, [d.combined_factor for d in decisions], color='C4', lw=0.7)\n"
        "factor_ax.set_ylabel('combined factor'); factor_ax.set_ylim(-1.1, 1.1)\n"
        "fig.tight_layout()"
    ),
    new_markdown_cell(
        "## Which factor pushed which way\n\n"
        "Each decision carries its three factors and a `reason` in words. Here are the "
        "adjustments that shrank the buffers:"
    ),
    new_code_cell(
        "for t, d in result.rows:\n"
        "    if d.adjusted and d.combined_factor < 0:\n"
        "        print(f'{float(t):6.1f}s  {d.input_size:2d} frames  {d.reason}')"
    ),
    new_markdown_cell(
        "## The same streams in virtual time\n\n"
        "Every stream runs on a `TestScheduler`: here metrics arrive at 1 s, ticks every "
        "second from 0.5 s, and a latency spike at 4.2 s. The first tick has no metrics and "
        "decides nothing; the climb 10, 13, 15 slows once the spike lifts the average over "
        "the 50 ms maximum (latency factor -1, combined +0.6), and settles at 18."
    ),
    new_code_cell(
        "from reactivex.testing import ReactiveTest, TestScheduler\n"
        "from adaptive_stream import SystemMetrics, buffer_decisions\n\n"
        "on_next = ReactiveTest.on_next\n"
        "scheduler = TestScheduler()\n"
        "metrics = scheduler.create_hot_observable(on_next(201.0, SystemMetrics(5.0, 30.0)))\n"
        "latency = scheduler.create_hot_observable(\n"
        "    on_next(201.1, 0.012), on_next(204.2, 0.090), on_next(204.3, 0.095))\n"
        "ticks = scheduler.create_hot_observable(\n"
        "    *[on_next(200.5 + i, i) for i in range(10)])\n"
        "observer = scheduler.start(lambda: buffer_decisions(metrics, latency, ticks))\n"
        "for message in observer.messages:\n"
        "    d = message.value.value\n"
        "    print(f'{message.time - 200:5.1f}s  size {d.input_size:2d}  '\n"
        "          f'latency {d.average_latency_ms:6.2f} ms  factor {d.combined_factor:+.3f}')"
    ),
    new_markdown_cell(
        "## Two profiles on the same trace\n\n"
        "`config/desktop.toml` is a low-latency profile (2..12 frames, 10/30 ms latency). On "
        "the same trace it keeps the buffers, and so the added latency, much smaller:"
    ),
    new_code_cell(
        "from adaptive_stream import load_settings\n\n"
        "root = Path(adaptive_stream.__file__).parent.parent\n"
        "fig, ax = plt.subplots(figsize=(10, 3))\n"
        "for name in ('jetkvm', 'desktop'):\n"
        "    settings = load_settings(root / 'config' / f'{name}.toml')\n"
        "    with TRACE.open(newline='') as lines:\n"
        "        rows = replay_decisions(lines, settings).rows\n"
        "    sizes_ms = [d.input_size * 20 for _, d in rows]\n"
        "    ax.step([float(t) for t, _ in rows], sizes_ms, where='post', label=name)\n"
        "    print(f'{name:8s} mean buffer {sum(sizes_ms) / len(sizes_ms):6.1f} ms')\n"
        "ax.set_ylabel('input buffer (ms)'); ax.set_xlabel('t (s)'); ax.legend()\n"
        "fig.tight_layout()"
    ),
]


def build() -> None:
    notebook = new_notebook(cells=EXPLORE)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, HERE / "explore_decisions.ipynb")


if __name__ == "__main__":
    build()
