"""Trials per hour of the tiny study (mlp, subset 2,000, 1 epoch) with 1 and with 2 workers.

    .venv/bin/python bench/tune_speed.py [--trials 8] [--repeats 3]

Runs `shadernet tune --workers 1`, the same with one BLAS thread (a control: on a busy
machine two BLAS threads in one process can cost more than they give) and `--workers 2`
(one BLAS thread each) in turn, `--repeats` times each,
each time on a fresh SQLite study in a temporary folder, so a busy neighbour slows both
alike. Batch size and optimizer are fixed (`--space`), so every trial costs the same work and
the rates compare; learning rate, L2, dropout and decay rate are sampled as usual. A run's rate is its trials over the span from the first trial's start to the last
trial's end (Optuna's timestamps; process start-up and data loading are not in it); the
command's whole wall time is printed beside it. Prints the medians and the speed-up
(2-worker rate / 1-worker rate).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

TINY = ["--arch", "mlp", "--subset", "2000", "--epochs", "1", "--study", "bench"]
SAME_COST = {"batch_size": 128, "optimizer": "rmsprop"}


ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS")}
SETUPS = {"1 worker": (1, {}), "1 worker, 1 BLAS thread": (1, ONE_THREAD),
          "2 workers": (2, {})}


def run_study(workers: int, trials: int, env: dict[str, str]) -> tuple[float, float]:
    """(trials per hour over the trials' span, wall seconds of the command)."""
    with tempfile.TemporaryDirectory(prefix="tune-speed-") as folder:
        space = Path(folder) / "space.json"
        space.write_text(json.dumps(SAME_COST))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "model_export.cli", "tune", *TINY,
                        "--space", str(space), "--trials", str(trials),
                        "--workers", str(workers), "--output", folder],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, **env})
        wall = time.perf_counter() - started
        study = optuna.load_study(study_name="bench", storage=f"sqlite:///{folder}/study.db")
        done = [t for t in study.get_trials() if t.datetime_complete and t.params]
        span = (max(t.datetime_complete for t in done)
                - min(t.datetime_start for t in done)).total_seconds()
    return len(done) / span * 3600, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in SETUPS}
    walls: dict[str, list[float]] = {name: [] for name in SETUPS}
    for repeat in range(args.repeats):
        for name, (workers, env) in SETUPS.items():
            rate, wall = run_study(workers, args.trials, env)
            rates[name].append(rate)
            walls[name].append(wall)
            print(f"repeat {repeat + 1}: {name}: {rate:.0f} trials/hour "
                  f"({wall:.1f} s for the command)", file=sys.stderr)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"tiny study (mlp, subset 2000, 1 epoch, batch 128, rmsprop, {args.trials} trials), "
          f"medians of {args.repeats}:")
    for name, rate in median.items():
        print(f"  {name:24s} {rate:7.0f} trials/hour  (command "
              f"{statistics.median(walls[name]):.1f} s)")
    print(f"  speed-up 2 workers vs 1 worker: {median['2 workers'] / median['1 worker']:.2f}; "
          f"vs 1 worker with 1 BLAS thread: "
          f"{median['2 workers'] / median['1 worker, 1 BLAS thread']:.2f}")


if __name__ == "__main__":
    main()
