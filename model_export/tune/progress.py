"""What a search prints: one line per finished trial, and a bar for the whole study.

    trial 3 complete  val acc 0.9405 loss 0.2011  1.8s  learning_rate=0.00312 l2=2.1e-06 ...
    study [==========>                 ] 3/6 trials  best 0.9405 (trial 3)  ETA 0:05

On a terminal the bar is redrawn in place under the trial lines; in logs it follows each.
The counts are the study's, so workers in other processes and machines show up too.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import optuna
from optuna.trial import FrozenTrial, TrialState

from model_export.tune.study import counts


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_options(options: dict[str, Any]) -> str:
    return " ".join(f"{name}={format_value(value)}" for name, value in options.items())


class StudyProgress:
    def __init__(self, budget: int, stream: TextIO | None = None, width: int = 28):
        self.budget, self.width = budget, width
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = time.perf_counter()
        self.finished_at_start: int | None = None

    def start(self, study: optuna.Study) -> None:
        self.finished_at_start = counts(study)[0]
        self.started = time.perf_counter()

    def on_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Optuna callback, after each trial this process ran."""
        if trial.user_attrs.get("surplus"):
            return
        self._write(self.trial_line(trial) + "\n")
        self._write(self.bar_line(study) + ("" if self.interactive else "\n"))

    def on_wait(self, running: int) -> None:
        self._write(f"waiting for {running} trial(s) running elsewhere (they finish, or "
                    "their worker is gone and they go stale)"
                    + ("" if self.interactive else "\n"))

    def trial_line(self, trial: FrozenTrial) -> str:
        attrs = trial.user_attrs
        state = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned",
                 TrialState.FAIL: "failed"}.get(trial.state, trial.state.name.lower())
        if attrs.get("diverged"):
            state = "pruned (loss diverged)"
        elif trial.state == TrialState.PRUNED:
            state = f"pruned after epoch {attrs.get('epochs_run')}"
        figures = ""
        if attrs.get("val_accuracy") is not None:
            figures = f"  val acc {attrs['val_accuracy']:.4f} loss {attrs['val_loss']:.4f}"
        seconds = ((trial.datetime_complete - trial.datetime_start).total_seconds()
                   if trial.datetime_complete and trial.datetime_start else 0.0)
        return (f"trial {trial.number} {state}{figures}  {seconds:.1f}s  "
                f"{format_options(attrs.get('options', trial.params))}")

    def bar_line(self, study: optuna.Study) -> str:
        finished, _ = counts(study)
        done = min(finished, self.budget)
        filled = self.width * done // self.budget
        bar = ("=" * filled + (">" if filled < self.width else "")).ljust(self.width)
        text = f"study [{bar[:self.width]}] {finished}/{self.budget} trials"
        best = _best_trial(study)
        if best is not None:
            text += f"  best {best.value:.4f} (trial {best.number})"
        gained = finished - (self.finished_at_start or 0)
        if 0 < gained and finished < self.budget:
            eta = (time.perf_counter() - self.started) / gained * (self.budget - finished)
            text += f"  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        return text

    def _write(self, text: str) -> None:
        if self.interactive:
            text = "\r\x1b[K" + text
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _best_trial(study: optuna.Study) -> FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: t.value) if complete else None
