"""The study: Optuna's relational storage, samplers, median pruner, and the trial budget.

Every process that runs `shadernet tune` with the same `--study` and `--storage` joins one
study; the database hands out trial numbers, so each trial runs in exactly one process.
`--trials N` asks for N finished (complete or pruned) trials in the study as a whole:
a rerun after Ctrl+C continues towards N, a second machine shares the same N. A process
that dies mid-trial stops its heartbeat; once the grace period passes, any worker marks
that trial failed (Optuna's `fail_stale_trials`) and the budget gets a fresh trial.
"""

from __future__ import annotations

import os
import random
import socket
import time
import warnings
from dataclasses import asdict
from typing import Any, Callable

import optuna
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState

from model_export.tune.objective import SearchSettings

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SAMPLERS = ("random", "tpe")
CONNECT_TIMEOUT_S = 10
TABLE_CREATION_ATTEMPTS = 5
MEDIAN_STARTUP_TRIALS = 5  # no pruning until this many trials finished: the median needs data


class StorageError(ValueError):
    """The storage URL is malformed or its database cannot be reached."""


class StudyMismatchError(ValueError):
    """The study exists with other settings than this command's."""


class SurplusTrial(Exception):
    """Raised by a trial that the database numbered past the budget: it does not run."""


def describe_storage(url: str) -> str:
    """The URL with its password hidden, plus host and database in words."""
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"{url} (SQLite file {parsed.database})"
    port = f", port {parsed.port}" if parsed.port else ""
    return (f"{parsed.render_as_string(hide_password=True)} (host {parsed.host or 'localhost'}"
            f"{port}, database {parsed.database or '(none)'})")


def open_storage(url: str, heartbeat_s: int) -> optuna.storages.RDBStorage:
    """Connect (and create Optuna's tables when new); StorageError in one line if it fails."""
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError as error:
        raise StorageError(f"--storage: cannot parse {url!r} as a database URL, e.g. "
                           "postgresql://user:password@host:5432/database") from error
    backend = parsed.get_backend_name()
    # SQLite serialises writers with a file lock: let several local workers wait for it.
    connect_args = ({"timeout": 60} if backend == "sqlite"
                    else {"connect_timeout": CONNECT_TIMEOUT_S} if backend == "postgresql" else {})
    for attempt in range(TABLE_CREATION_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, engine_kwargs={"connect_args": connect_args},
                    heartbeat_interval=heartbeat_s, grace_period=3 * heartbeat_s)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as error:
            # Workers starting together on a fresh database race to create Optuna's
            # tables ("duplicate key", "already exists"); the loser finds them made on
            # its next try.
            if attempt + 1 == TABLE_CREATION_ATTEMPTS:
                raise _storage_error(url, error) from error
            time.sleep(0.5 + random.random())
        except (sqlalchemy.exc.SQLAlchemyError, ImportError) as error:
            raise _storage_error(url, error) from error
    raise AssertionError("unreachable")


def _storage_error(url: str, error: Exception) -> StorageError:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return StorageError(f"cannot use storage {describe_storage(url)}: {reason}")


def make_sampler(name: str, seed: int | None) -> optuna.samplers.BaseSampler:
    if name == "tpe":  # constant_liar keeps parallel workers from sampling the same point
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return optuna.samplers.RandomSampler(seed=seed)


def open_study(storage, name: str, settings: SearchSettings, space_json: dict,
               sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    """Create the study or join it; refuse to join one created with other settings."""
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=sampler, direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS),
        load_if_exists=True)
    wanted = {"settings": asdict(settings), "space": space_json}
    if not study.user_attrs:
        for key, value in wanted.items():
            study.set_user_attr(key, value)
    _check_same(name, study.user_attrs, wanted)
    return study


def _check_same(name: str, stored: dict, wanted: dict) -> None:
    for key, value in stored.get("settings", {}).items():
        if wanted["settings"].get(key) != value:
            option = {"validation_fraction": "validation"}.get(key, key)
            raise StudyMismatchError(
                f"study '{name}' was created with --{option} {value}, this command has "
                f"{wanted['settings'].get(key)}: use the same options or another --study")
    if stored.get("space") != wanted["space"]:
        raise StudyMismatchError(f"study '{name}' was created with another search space "
                                 "(--space): use the same file or another --study")


def counts(study: optuna.Study) -> tuple[int, int]:
    """(finished, running) trials of the whole study."""
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in FINISHED for t in trials)
    return finished, sum(t.state == TrialState.RUNNING for t in trials)


def fail_stale(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def room_for_a_trial(study: optuna.Study, budget: int, poll_s: float,
                     on_wait: Callable[[int], None] | None = None) -> bool:
    """True when the budget needs another trial, False when it is full.

    While trials running elsewhere would fill it, wait: they finish, or their worker died
    and they go stale, which frees their place.
    """
    while True:
        fail_stale(study)
        finished, running = counts(study)
        if finished >= budget:
            return False
        if finished + running < budget:
            return True
        if on_wait is not None:
            on_wait(running)
        time.sleep(poll_s)


def within_budget(objective: Callable[[optuna.Trial], float],
                  budget: int) -> Callable[[optuna.Trial], float]:
    """The objective, refusing to run a trial numbered past the budget.

    Two workers can check for room at the same moment and both create a trial; the one
    the database numbered later yields, so the study never runs more than `budget`.
    """
    def guarded(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        ahead = trial.study.get_trials(deepcopy=False,
                                       states=(*FINISHED, TrialState.RUNNING))
        if sum(t.number < trial.number for t in ahead) >= budget:
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"trial {trial.number}: the study already has {budget} trials")
        return objective(trial)
    return guarded


def run_trials(study: optuna.Study, objective: Callable[[optuna.Trial], float], budget: int,
               poll_s: float, on_trial: Callable[[optuna.Study, FrozenTrial], None],
               on_wait: Callable[[int], None] | None = None) -> None:
    """Run trials in this process until the study has `budget` finished trials.

    KeyboardInterrupt propagates after Optuna has marked the interrupted trial failed.
    """
    guarded = within_budget(objective, budget)
    while room_for_a_trial(study, budget, poll_s, on_wait):
        try:
            study.optimize(guarded, n_trials=1, callbacks=[on_trial])
        except SurplusTrial:
            continue


def trial_record(trial: FrozenTrial) -> dict[str, Any]:
    """One trial as tune.json lists it."""
    attrs = trial.user_attrs
    ended = trial.datetime_complete
    seconds = ((ended - trial.datetime_start).total_seconds()
               if ended and trial.datetime_start else None)
    return {"number": trial.number, "state": trial.state.name.lower(),
            "params": dict(trial.params), "options": attrs.get("options", {}),
            "val_accuracy": attrs.get("val_accuracy"), "val_loss": attrs.get("val_loss"),
            "epochs_run": attrs.get("epochs_run"),
            "val_accuracy_per_epoch": [trial.intermediate_values[k]
                                       for k in sorted(trial.intermediate_values)],
            "seconds": seconds, "worker": attrs.get("worker"), "surplus": bool(attrs.get("surplus")),
            "diverged": bool(attrs.get("diverged"))}
