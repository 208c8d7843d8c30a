"""How fast ``adaptive-stream tune`` searches: trials per minute in-process (``--jobs 1``),
on a two-process pool (``--jobs 2``) and on a two-worker Dask ``LocalCluster`` (what
``--dask`` connects to), and the Dask path's overhead per run against the process pool.

Usage (from the repository root; needs the tune extra)::

    .venv/bin/python benchmarks/tune_speed.py [--trials 16] [--seeds 1..2]
        [--scenarios startup,network-jitter] [--tiny-runs 400] [--json]

The study is the one the command runs (same code: ``open_study``/``run_study``), policy
``feedback``, sampler seed 1, batch 4; each executor must give the same best trial (checked).
The overhead: ``--tiny-runs`` runs of a 0.2 s scenario (a few milliseconds of work each),
submitted at once, on each executor; the wall time per run beyond the in-process time split
over two workers is the cost of getting a run to a worker and its result back.
Figures and the commands that produced them: docs/tuning.md (its table is regenerated from
``--json`` by ``python -m adaptive_stream.tune.tables``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from adaptive_stream.settings import load_settings
from adaptive_stream.simulation import load_scenario, parse_scenario
from adaptive_stream.simulation.report import parse_seeds
from adaptive_stream.tune.executors import open_executor
from adaptive_stream.tune.runs import run_scores
from adaptive_stream.tune.space import policy_space
from adaptive_stream.tune.study import TuneConfig, best_trial, open_study, run_study

TINY = parse_scenario({"name": "tiny", "phases": [{"duration": "0.2s", "jitter": "5ms"}]})


@contextmanager
def local_cluster_executor() -> Iterator[Executor]:
    """A two-worker LocalCluster (one thread each, processes, loopback) and its executor,
    reached by address the way ``--dask`` does."""
    from distributed import LocalCluster

    # A worker's last heartbeat can race the scheduler's shutdown and log a traceback.
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        open_executor(dask=cluster.scheduler_address) as executor,
    ):
        yield executor


EXECUTORS: dict[str, Callable[[], AbstractContextManager[Executor]]] = {
    "jobs 1": lambda: open_executor(jobs=1),
    "jobs 2": lambda: open_executor(jobs=2),
    "dask 2 workers": local_cluster_executor,
}


def study_speed(config: TuneConfig, make: Callable[[], AbstractContextManager[Executor]]) -> Any:
    """Seconds for the study (executor start-up excluded), and its best trial."""
    with make() as executor:
        executor.submit(run_scores, TINY, config.base).result()  # workers up and warm
        study = open_study(config)
        start = time.perf_counter()
        run_study(study, config, executor)
        seconds = time.perf_counter() - start
    best = best_trial(study)
    assert best is not None
    return seconds, best.number, best.params


def run_cost(runs: int, make: Callable[[], AbstractContextManager[Executor]]) -> float:
    """Wall seconds per run for ``runs`` tiny runs submitted at once."""
    settings = load_settings(policy="feedback")
    tasks = [TINY.with_seed(seed) for seed in range(runs)]
    with make() as executor:
        executor.submit(run_scores, TINY, settings).result()
        start = time.perf_counter()
        futures = [executor.submit(run_scores, task, settings) for task in tasks]
        for future in futures:
            future.result()
        return (time.perf_counter() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seeds", default="1..2")
    parser.add_argument("--scenarios", default="startup,network-jitter")
    parser.add_argument("--tiny-runs", type=int, default=400)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    base = load_settings(policy="feedback")
    scenarios = tuple(load_scenario(name) for name in args.scenarios.split(","))
    config = TuneConfig(
        base=base,
        space=policy_space("feedback", base),
        scenarios=scenarios,
        seeds=parse_seeds(args.seeds),
        trials=args.trials,
        sampler_seed=1,
        batch=4,
    )
    runs = args.trials * len(scenarios) * len(config.seeds)
    load_before = os.getloadavg()[0]
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "trials": args.trials,
        "runs": runs,
        "scenarios": args.scenarios,
        "seeds": args.seeds,
        "study": {},
        "per_run_ms": {},
    }
    bests = set()
    for name, make in EXECUTORS.items():
        seconds, number, params = study_speed(config, make)
        bests.add((number, json.dumps(params, sort_keys=True)))
        report["study"][name] = {
            "seconds": round(seconds, 2),
            "trials_per_minute": round(args.trials / seconds * 60, 1),
        }
    report["same_best_trial"] = len(bests) == 1
    for name, make in EXECUTORS.items():
        report["per_run_ms"][name] = round(run_cost(args.tiny_runs, make) * 1e3, 3)
    per_run = report["per_run_ms"]
    ideal = per_run["jobs 1"] / 2
    report["overhead_per_run_ms"] = {
        "process pool": round(per_run["jobs 2"] - ideal, 3),
        "dask": round(per_run["dask 2 workers"] - ideal, 3),
        "dask minus pool": round(per_run["dask 2 workers"] - per_run["jobs 2"], 3),
    }
    report["load"] = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{args.trials} trials x {len(scenarios)} scenarios x {len(config.seeds)} seeds "
        f"= {runs} runs; {report['cpus']} CPUs"
    )
    for name, figures in report["study"].items():
        print(
            f"  {name:<15} {figures['seconds']:7.2f} s  "
            f"{figures['trials_per_minute']:6.1f} trials/min"
        )
    print(f"  same best trial on every executor: {report['same_best_trial']}")
    print(f"per run, {args.tiny_runs} runs of a 0.2 s scenario submitted at once:")
    for name, ms in per_run.items():
        print(f"  {name:<15} {ms:7.3f} ms")
    for name, ms in report["overhead_per_run_ms"].items():
        print(f"  overhead {name:<15} {ms:7.3f} ms")


if __name__ == "__main__":
    main()
