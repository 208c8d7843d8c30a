"""What a study leaves behind: ``best.toml`` (a profile), ``trials.csv``, ``front.csv``
(``pareto``), ``comparison.csv``, rendered to text here; the command writes them all
whole or none (:func:`adaptive_stream.output.write_files`: every file staged beside its
destination before any is moved into place).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adaptive_stream.tune.study import FIGURES, TuneConfig, toml_value

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from adaptive_stream.tune.compare import ComparisonRow

__all__ = ["comparison_csv", "profile_toml", "trials_csv"]

_SCENARIO_FIGURES = ("r_factor", "mos", "latency_mean_ms", "loss_percent")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string for the values settings hold


def profile_toml(config: TuneConfig, trial: FrozenTrial) -> str:
    """``trial``'s settings as a profile for ``--profile``: the policy, the settings the
    study started from where they differ from the defaults (a profile, flags), and every
    tunable setting as the trial ran it."""
    from adaptive_stream.settings import AdaptiveBufferSettings

    base = config.base
    values: dict[str, Any] = {"policy": base.policy}
    for name, field in AdaptiveBufferSettings.model_fields.items():
        value = getattr(base, name)
        if name not in ("policy", "log_level") and value is not None and value != field.default:
            values[name] = toml_value(value)
    values.update(trial.user_attrs["settings"])
    seeds = ",".join(map(str, config.seeds))
    a = trial.user_attrs
    lines = [
        f"# Tuned by adaptive-stream tune: policy {base.policy}, objective {config.objective},"
        f" trial {trial.number}",
        f"# on {', '.join(s.name for s in config.scenarios)}; seeds {seeds}",
        f"# mean MOS {a['mos']:.4f}, R {a['r_factor']:.2f}, latency "
        f"{a['latency_mean_ms']:.1f} ms, loss {a['loss_percent']:.3f} %",
    ]
    lines += [f"{name} = {_toml(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def trials_csv(config: TuneConfig, trials: Sequence[FrozenTrial]) -> str:
    """One row per trial: its number, mean figures, settings, and each scenario's R, MOS,
    latency and loss (means over the seeds)."""
    names = list(config.space.tunable)
    scenario_columns = [f"{s.name}:{key}" for s in config.scenarios for key in _SCENARIO_FIGURES]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial", *FIGURES, *names, *scenario_columns])
    for trial in trials:
        a = trial.user_attrs
        per = a["scenarios"]
        writer.writerow(
            [
                trial.number,
                *(repr(a[key]) for key in FIGURES),
                *(a["settings"].get(name, "") for name in names),
                *(repr(v) for s in config.scenarios for v in per[s.name]),
            ]
        )
    return out.getvalue()


def comparison_csv(rows: Sequence[ComparisonRow]) -> str:
    """The final comparison, one row per (seed set, profile, scenario or ``all``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if rows:
        writer.writerow(rows[0]._fields)
    for row in rows:
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return out.getvalue()
