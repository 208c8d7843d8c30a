"""Progress of a study on stderr: a bar with the best MOS so far on a terminal (tqdm), a
plain line every few trials otherwise (logs, CI)."""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

from adaptive_stream.tune.study import best_trial, counted_trials

if TYPE_CHECKING:
    import optuna

__all__ = ["Progress"]


class Progress:
    """Called with the study after each trial is told; :meth:`close` ends the bar.

    Args:
        total: the trials the study will hold.
        stream: where to write (default ``sys.stderr``); a bar only if it is a terminal.
    """

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        self._every = max(1, total // 20)
        if self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=self.stream, unit="trial", desc="tune")

    def __call__(self, study: optuna.Study) -> None:
        finished = counted_trials(study)
        best = best_trial(study)
        shown = (
            f"best MOS {best.user_attrs['mos']:.3f} (trial {best.number})"
            if best is not None
            else "no finished trial yet"
        )
        if self._bar is not None:
            self._bar.n = min(finished, self.total)
            self._bar.set_postfix_str(shown)
            return
        if finished % self._every == 0 or finished >= self.total:
            print(f"tune: {finished}/{self.total} trials, {shown}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
