"""``adaptive-stream tune``: fit a policy's settings to a deployment's conditions (the
``tune`` extra: Optuna, Dask).

- :mod:`.space`: what is searched: the settings a policy declares (``TUNABLE``), each within
  its validated range, narrowed or fixed by a ``--space`` file.
- :mod:`.runs`: one run's scores (R, MOS, latency, loss), the task every executor runs.
- :mod:`.study`: Optuna's ask-and-tell loop over any ``concurrent.futures.Executor``;
  reproducible, resumable.
- :mod:`.executors`: in-process, a process pool, or a Dask cluster's executor.
- :mod:`.compare`: the tuned profile against the defaults and ``best-fixed``, on the study's
  seeds and on held-out seeds.
- :mod:`.results`: ``best.toml``, ``trials.csv``, ``front.csv``, ``comparison.csv``, each
  written whole.
- :mod:`.progress`, :mod:`.command`: the command's progress line and glue.

Nothing here is imported by the core package or the other commands.
"""
