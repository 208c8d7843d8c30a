"""Writes the notebooks in this folder from their cell sources (run it after editing them).

Keeping the cells here, as plain Python, lets ruff and code review see them; the test suite
executes every notebook (tests/test_notebooks.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

#: The plotting imports of every notebook that draws (the Agg backend: no display needed).
PLOTS = "import matplotlib\n\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"

#: The ``show`` helper of every notebook that draws (needs ``io``, ``plt``, ``Image``,
#: ``display``).
SHOW = (
    "def show(fig):\n"
    '    """Display a figure as a PNG (the Agg backend draws, IPython shows)."""\n'
    "    buffer = io.BytesIO()\n"
    "    fig.savefig(buffer, format='png', dpi=80)\n"
    "    plt.close(fig)\n"
    "    display(Image(data=buffer.getvalue()))\n\n\n"
)

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


COMPARE = [
    new_markdown_cell(
        "# Comparing policies in closed loop\n\n"
        "Every registered policy runs on the bundled scenarios (`config/scenarios/`) through "
        "the real `buffer_decisions` pipeline on a virtual clock: frames arrive with jitter, "
        "CPU and memory stalls and network bursts, a consumer plays one frame per 20 ms slot, "
        "and the arrival delays, underruns and metrics go back into the pipeline. Same "
        "scenario, same seed: every policy gets the very same frames. The model is described "
        "in `docs/policies.md`."
    ),
    new_code_cell(
        "import io\n\n" + PLOTS + "from IPython.display import Image, Markdown, display\n\n"
        "from adaptive_stream import load_settings\n"
        "from adaptive_stream.policies import POLICIES\n"
        "from adaptive_stream.simulation import bundled_scenarios, load_scenario, simulate\n"
        "from adaptive_stream.simulation.report import compare, format_table\n\n"
        "POLICY_NAMES = list(POLICIES)\n\n\n"
        + SHOW
        + "scenarios = [load_scenario(path) for path in bundled_scenarios().values()]\n"
        "print(', '.join(s.name for s in scenarios))"
    ),
    new_markdown_cell(
        "## The figures, every policy on every scenario\n\n"
        "The same table as `adaptive-stream compare --scenario all`."
    ),
    new_code_cell(
        "rows = compare(scenarios, POLICY_NAMES, lambda name: load_settings(policy=name))\n"
        "display(Markdown(format_table(rows)))"
    ),
    new_markdown_cell(
        "## Sizes, underruns and latency on the CPU-spike scenario\n\n"
        "Top: the decided size (frames), with the CPU spikes shaded. Middle: underruns so far. "
        "Bottom: the latency of each played frame (capture to playout). `jetkvm` sits near "
        "its maximum while all is calm (every factor says grow) and comes down under load; "
        "`feedback` stays small while calm and grows at once when the spikes hurt."
    ),
    new_code_cell(
        "scenario = load_scenario('cpu-spikes')\n"
        "runs = {name: simulate(scenario, load_settings(policy=name)) for name in POLICY_NAMES}\n"
        "fig, (ax_size, ax_under, ax_lat) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)\n"
        "start = 0.0\n"
        "for phase in scenario.phases:\n"
        "    end = start + phase.duration.total_seconds()\n"
        "    if phase.cpu_percent > 60:\n"
        "        for ax in (ax_size, ax_under, ax_lat):\n"
        "            ax.axvspan(start, end, color='0.9')\n"
        "    start = end\n"
        "for name, run in runs.items():\n"
        "    times = [0.0] + [d.time.timestamp() for d in run.decisions]\n"
        "    sizes = [run.initial_size] + [d.input_size for d in run.decisions]\n"
        "    ax_size.step(times, sizes, where='post', label=name)\n"
        "    under = [t / 1e6 for t in run.underrun_us]\n"
        "    ax_under.step([0.0, *under], range(len(under) + 1), where='post', label=name)\n"
        "ax_size.set_ylabel('size (frames)'); ax_size.legend(ncol=3, fontsize=8)\n"
        "ax_under.set_ylabel('underruns so far')\n"
        "for name in ('jetkvm', 'feedback'):\n"
        "    run = runs[name]\n"
        "    ax_lat.plot([t / 1e6 for t in run.played_us],\n"
        "                [x / 1000 for x in run.latency_us], lw=0.6, label=name)\n"
        "ax_lat.set_ylabel('latency (ms)'); ax_lat.set_xlabel('t (s)'); ax_lat.legend()\n"
        "fig.tight_layout()\n"
        "show(fig)"
    ),
    new_markdown_cell(
        "## Underruns against latency, scenario by scenario\n\n"
        "Each point is one policy on one scenario: down is fewer underruns, left is less "
        "latency. A buffer trades one for the other; a policy earns its keep by sitting low "
        "*and* left."
    ),
    new_code_cell(
        "names = sorted({row.scenario for row in rows})\n"
        "fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(12, 6))\n"
        "for ax, scenario_name in zip(axes.flat, names):\n"
        "    for row in rows:\n"
        "        if row.scenario == scenario_name:\n"
        "            f = row.figures\n"
        "            ax.scatter(f.latency_mean_ms, f.underruns_per_minute, label=row.policy)\n"
        "            ax.annotate(row.policy, (f.latency_mean_ms, f.underruns_per_minute),\n"
        "                        fontsize=7)\n"
        "    ax.set_title(scenario_name, fontsize=9)\n"
        "    ax.set_xlabel('mean latency (ms)', fontsize=8)\n"
        "    ax.set_ylabel('underruns / min', fontsize=8)\n"
        "fig.tight_layout()\n"
        "show(fig)"
    ),
    new_markdown_cell(
        "## Why `feedback` did what it did\n\n"
        "Every decision carries its reason; here are the ones that changed the size on the "
        "CPU-spike scenario."
    ),
    new_code_cell(
        "for d in runs['feedback'].decisions:\n"
        "    if d.adjusted:\n"
        "        print(f'{d.time.timestamp():7.2f}s  {d.input_size:2d}  {d.reason}')"
    ),
]

TUNING = [
    new_markdown_cell(
        "# Tuning a policy to a deployment\n\n"
        "`adaptive-stream tune` searches the settings a policy reads for the best mean MOS "
        "(the E-model's score) over scenarios and seeds, or for the front of mean latency "
        "against loss. This notebook runs two small studies of the `feedback` policy on two "
        "bundled scenarios, with the same code the command uses: Optuna's ask-and-tell loop, "
        "each trial's runs submitted to a `concurrent.futures` executor (here two local "
        "processes; `--dask` would give a cluster's). See `docs/tuning.md`."
    ),
    new_code_cell(
        "import io\n"
        "import warnings\n\n" + PLOTS + "import optuna\n"
        "from IPython.display import Image, display\n\n"
        "from adaptive_stream import load_settings\n"
        "from adaptive_stream.simulation import load_scenario\n"
        "from adaptive_stream.tune.compare import compare_profiles\n"
        "from adaptive_stream.tune.executors import open_executor\n"
        "from adaptive_stream.tune.space import policy_space\n"
        "from adaptive_stream.tune.study import (\n"
        "    TuneConfig, best_trial, open_study, run_study, trial_settings)\n\n"
        "warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)\n\n\n"
        + SHOW
        + "base = load_settings(policy='feedback')\n"
        "scenarios = tuple(load_scenario(name) for name in ('startup', 'network-jitter'))\n"
        "space = policy_space('feedback', base)\n"
        "for name, allowed in space.describe().items():\n"
        "    print(f'{name:<20} {allowed}')"
    ),
    new_markdown_cell(
        "## Two studies: best MOS (TPE) and the latency/loss front (NSGA-II)\n\n"
        "Seed 1, 14 trials each, sampler seed 1: the same trials on any executor. A real "
        "study runs more trials (`--trials 200`) on more seeds (`--seeds 1..5`)."
    ),
    new_code_cell(
        "config = TuneConfig(base, space, scenarios, seeds=(1,), trials=14, sampler_seed=1)\n"
        "pareto_config = config._replace(objective='pareto', study_name='pareto')\n"
        "with open_executor(jobs=2) as executor:\n"
        "    study = open_study(config)\n"
        "    run_study(study, config, executor)\n"
        "    pareto = open_study(pareto_config)\n"
        "    run_study(pareto, pareto_config, executor)\n"
        "    best = best_trial(study)\n"
        "    tuned = trial_settings(config, best)\n"
        "    rows = compare_profiles({'tuned': tuned, 'defaults': base}, scenarios,\n"
        "                            {'training': (1,), 'held-out': (2, 3)}, executor,\n"
        "                            best_fixed_from=base)\n"
        "print(f\"best trial {best.number}: MOS {best.user_attrs['mos']:.3f}\")\n"
        "for row in rows:\n"
        "    if row.scenario == 'all':\n"
        "        print(f'{row.seed_set:<9} {row.profile:<11} MOS {row.mos:.3f}'\n"
        "              f'  R {row.r_factor:5.1f}  latency {row.latency_mean_ms:6.1f} ms'\n"
        "              f'  loss {row.loss_percent:5.2f} %')"
    ),
    new_markdown_cell(
        "## Optimisation history and parameter importances\n\n"
        "Left: each trial's mean MOS and the best so far (the first trials are random, then "
        "TPE models the good region). Right: how much of the MOS's variation each setting "
        "explains over these trials (fANOVA), a hint of which settings matter on these "
        "networks; with 14 trials, a rough one."
    ),
    new_code_cell(
        "fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))\n"
        "values = [t.value for t in study.trials if t.value is not None]\n"
        "so_far = [max(values[: i + 1]) for i in range(len(values))]\n"
        "left.plot(values, 'o', label='trial')\n"
        "left.plot(so_far, '-', label='best so far')\n"
        "left.set_xlabel('trial'); left.set_ylabel('mean MOS'); left.legend()\n"
        "importances = optuna.importance.get_param_importances(study)\n"
        "names = list(importances)[::-1]\n"
        "right.barh(names, [importances[n] for n in names])\n"
        "right.set_xlabel('importance (fANOVA)')\n"
        "fig.tight_layout()\n"
        "show(fig)"
    ),
    new_markdown_cell(
        "## The front of latency against loss\n\n"
        "Every trial of the NSGA-II study (grey), its Pareto front (blue), the default "
        "profile and `best-fixed` (the best fixed size per scenario and seed, chosen in "
        "hindsight: a bar no live system can reach) on the same scenarios and seeds. A point "
        "on the front is a profile worth shipping for some trade-off; the MOS-best trial of "
        "the first study is marked too."
    ),
    new_code_cell(
        "training = {\n"
        "    r.profile: r for r in rows if r.seed_set == 'training' and r.scenario == 'all'}\n"
        "front = {t.number for t in pareto.best_trials}\n"
        "fig, ax = plt.subplots(figsize=(7, 5))\n"
        "for trial in pareto.trials:\n"
        "    if trial.values is None:\n"
        "        continue\n"
        "    on_front = trial.number in front\n"
        "    ax.scatter(*trial.values, color='C0' if on_front else '0.7', zorder=2 + on_front)\n"
        "for name, marker in (('defaults', 's'), ('best-fixed', '*'), ('tuned', 'D')):\n"
        "    row = training[name]\n"
        "    ax.scatter(row.latency_mean_ms, row.loss_percent, marker=marker, s=120, label=name)\n"
        "ax.set_xlabel('mean latency (ms)'); ax.set_ylabel('loss (%)')\n"
        "ax.legend(); ax.set_title('feedback on startup + network-jitter, seed 1')\n"
        "show(fig)"
    ),
]


RECORDED = [
    new_markdown_cell(
        "# Policies on a recorded link\n\n"
        "A Mahimahi link trace (one line per 1,500-byte delivery opportunity) replaces the "
        "simulator's model of the network: the audio stream (one 160-byte packet per 20 ms "
        "frame) and 500 kbit/s of video cross traffic share the link's FIFO, then 25 ms of "
        "propagation. The bundled `link-outages` scenario uses a trace the project generates "
        "(a 1 Mbit/s uplink with seeded outages, `python -m adaptive_stream.simulation.linkgen "
        'outages`); point `SCENARIO` at a scenario file with `link_trace = "..."` to use a '
        "recorded one (docs/yardstick.md says where to find them). Every run is scored with "
        "the ITU-T G.107 E-model (R and MOS)."
    ),
    new_code_cell(
        "import io\n\n" + PLOTS + "from IPython.display import Image, Markdown, display\n\n"
        "from adaptive_stream import load_settings\n"
        "from adaptive_stream.policies import POLICIES\n"
        "from adaptive_stream.simulation import load_scenario, simulate\n"
        "from adaptive_stream.simulation.audio_path import plan_audio_path\n"
        "from adaptive_stream.simulation.emodel import R0, delay_impairment\n"
        "from adaptive_stream.simulation.report import comparison_table\n"
        "from adaptive_stream.simulation.runs import BEST_FIXED, compare_runs\n\n"
        "SCENARIO = 'link-outages'\n"
        "FRAME_US = 20_000\n\n\n" + SHOW + "scenario = load_scenario(SCENARIO)\n"
        "trace = scenario.link_trace\n"
        "print(f'{scenario.name}: {trace.source}, {len(trace.opportunities_ms)} opportunities '\n"
        "      f'over {trace.period_ms / 1000:g} s, cross traffic {scenario.cross_traffic_kbps:g} kbit/s')"
    ),
    new_markdown_cell(
        "## The link trace becomes arrivals\n\n"
        "Top: the link's capacity (opportunities per 100 ms, times 1,500 bytes); the gaps are "
        "outages. Bottom: each frame's delay from capture to arrival. Frames queue behind one "
        "another and behind the video during an outage and leave together when it ends: the "
        "saw-tooth is the FIFO draining."
    ),
    new_code_cell(
        "path = plan_audio_path(scenario, FRAME_US)\n"
        "delays_ms = [(a - c) / 1000 for a, c in zip(path.arrival_us, path.capture_us)]\n"
        "seconds = [c / 1e6 for c in path.capture_us]\n"
        "bins = [0] * (trace.period_ms // 100 + 1)\n"
        "for t in trace.opportunities_ms:\n"
        "    bins[t // 100] += 1\n"
        "fig, (ax_cap, ax_delay) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)\n"
        "ax_cap.step([i / 10 for i in range(len(bins))], [b * 1500 * 8 / 100 for b in bins],\n"
        "            where='post')\n"
        "ax_cap.set_ylabel('capacity (kbit/s)')\n"
        "ax_delay.plot(seconds, delays_ms, lw=0.7)\n"
        "ax_delay.set_ylabel('arrival delay (ms)'); ax_delay.set_xlabel('capture time (s)')\n"
        "fig.tight_layout()\n"
        "show(fig)"
    ),
    new_markdown_cell(
        "## Every policy on it, and the best fixed size in hindsight\n\n"
        "The same table as `adaptive-stream compare --scenario link-outages`: `best-fixed` is "
        "the fixed size with the best R on this run, chosen after the fact (no live policy "
        "can do that: it is the bar to clear)."
    ),
    new_code_cell(
        "comparison = compare_runs([scenario], list(POLICIES))\n"
        "rows = comparison.scenarios[scenario.name]\n"
        "display(Markdown(comparison_table(comparison)))"
    ),
    new_markdown_cell(
        "## Latency against loss, with iso-R curves\n\n"
        "Each point is one policy: right is more latency, up is more loss (late, lost, "
        "dropped and stretched frames over all frames heard). The curves are where R is 60, "
        "70, 80 and 90 with the runs' mean burst ratio and the scenario's device delay: a "
        "policy wins by sitting below-left of the others, on a higher curve."
    ),
    new_code_cell(
        "def loss_for(r, latency_ms, burst, device_ms=20.0, ie=0.0, bpl=25.1):\n"
        '    """The loss (%) at which R falls to r at this latency (None if out of reach)."""\n'
        "    budget = R0 - delay_impairment(latency_ms + device_ms) - r  # what Ie_eff may take\n"
        "    if budget < ie:\n"
        "        return None\n"
        "    ppl = (budget - ie) * bpl / (95 - ie - (budget - ie) / burst)\n"
        "    return ppl if ppl >= 0 else None\n\n\n"
        "live = {name: f for name, f in rows.items()}\n"
        "burst = sum(f['burst_ratio'] for f in live.values()) / len(live)\n"
        "device_ms = scenario.device_delay.total_seconds() * 1000\n"
        "fig, ax = plt.subplots(figsize=(9, 6))\n"
        "latencies = list(range(0, 501, 5))\n"
        "for r in (60, 70, 80, 90):\n"
        "    points = [(x, loss_for(r, x, burst, device_ms, scenario.ie, scenario.bpl))\n"
        "              for x in latencies]\n"
        "    points = [(x, y) for x, y in points if y is not None and y <= 20]\n"
        "    ax.plot([x for x, _ in points], [y for _, y in points], color='0.6', lw=0.8)\n"
        "    if points:\n"
        "        ax.annotate(f'R={r}', points[-1], fontsize=8, color='0.4')\n"
        "for name, f in live.items():\n"
        "    marker = '*' if name == BEST_FIXED else 'o'\n"
        "    ax.scatter(f['latency_mean_ms'], f['loss_percent'], marker=marker, s=60)\n"
        "    ax.annotate(f\"{name} (R {f['r_factor']:.0f})\", (f['latency_mean_ms'], f['loss_percent']),\n"
        "                fontsize=8)\n"
        "ax.set_xlabel('mean latency, capture to playout (ms)')\n"
        "ax.set_ylabel('loss (%)')\n"
        "ax.set_xlim(0, 500); ax.set_ylim(0, 20)\n"
        "show(fig)"
    ),
    new_markdown_cell(
        "## The best adaptive policy's size against the delay\n\n"
        "The adaptive policy with the highest R (not `fixed`, which never moves) run again "
        "for its decisions: "
        "its buffer, in milliseconds (size x 20 ms), against each frame's arrival delay. A "
        "frame whose delay is above the buffer at its slot is late. The dashed line is the "
        "best fixed size."
    ),
    new_code_cell(
        "adaptive = [n for n in rows if n not in (BEST_FIXED, 'fixed')]\n"
        "best = max(adaptive, key=lambda n: rows[n]['r_factor'])\n"
        "run = simulate(scenario, load_settings(policy=best))\n"
        "times = [0.0] + [d.time.timestamp() for d in run.decisions]\n"
        "sizes_ms = [run.initial_size * 20] + [d.input_size * 20 for d in run.decisions]\n"
        "fig, ax = plt.subplots(figsize=(11, 4))\n"
        "ax.plot(seconds, delays_ms, lw=0.6, color='0.5', label='arrival delay')\n"
        "ax.step(times, sizes_ms, where='post', color='C3', label=f'{best}: buffer')\n"
        "ax.axhline(rows[BEST_FIXED]['size'] * 20, color='C2', ls='--',\n"
        "           label=f\"best fixed: {rows[BEST_FIXED]['size']} frames\")\n"
        "late = [t / 1e6 for t in run.underrun_us]\n"
        "ax.plot(late, [5] * len(late), '|', color='C3', label='late or lost')\n"
        "ax.set_xlabel('t (s)'); ax.set_ylabel('ms'); ax.legend(fontsize=8)\n"
        "print(f\"best adaptive policy: {best}, R {rows[best]['r_factor']:.1f}, \"\n"
        "      f\"best-fixed R {rows[BEST_FIXED]['r_factor']:.1f}\")\n"
        "show(fig)"
    ),
]


def build() -> None:
    notebooks = (
        (EXPLORE, "explore_decisions"),
        (COMPARE, "compare_policies"),
        (RECORDED, "recorded_links"),
        (TUNING, "tuning"),
    )
    for cells, name in notebooks:
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(notebook, HERE / f"{name}.ipynb")


if __name__ == "__main__":
    build()
