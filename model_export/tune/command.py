"""`shadernet tune`: parse and check the options, open the study, run trials, write the report.

Every check that can refuse the command (architecture, ranges, --space file, the storage
connection, a study created with other settings) runs before anything is written.
`--workers N` starts N worker processes of this same command on the one study, each
with its share of the BLAS threads, and writes the report when they are done.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EXIT_INTERRUPTED = 130
MNIST_TRAINING_IMAGES = 60_000


class TuneOptionError(ValueError):
    """An option of `shadernet tune` is out of range (printed as one line, exit 2)."""
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--arch", default="mlp", help="architecture to tune (default mlp)")
    add("--trials", type=_positive_int, default=20,
        help="finished trials the study should have (default 20; a rerun continues towards it)")
    add("--epochs", type=_positive_int, default=2, help="epochs per trial (default 2)")
    add("--subset", type=_positive_int, default=10000,
        help="training images per trial, validation included (default 10000)")
    add("--validation", type=float, default=0.1, dest="validation_fraction",
        help="fraction of --subset scored as validation (default 0.1)")
    add("--seed", type=int, default=0,
        help="training seed of every trial: weights, shuffling, validation split (default 0)")
    add("--space", type=Path, metavar="FILE",
        help="JSON or TOML file of ranges replacing the architecture's default ones")
    add("--sampler", choices=("random", "tpe"), default="random",
        help="random search (default, the seed's method) or TPE")
    add("--sampler-seed", type=int, help="seed the sampler (default: fresh each run)")
    add("--study", help="study name (default: tune-ARCH); rerun with the same name to resume")
    add("--storage", help="database URL, e.g. postgresql://user:pw@host/db; several "
        "machines on one URL share the study (default: SQLite file OUTPUT/study.db)")
    add("--workers", type=_positive_int, default=1,
        help="worker processes on this machine (BLAS threads split between them)")
    add("--heartbeat", type=_positive_int, default=10, metavar="SECONDS",
        help="a worker silent for 3x this long has its trial marked failed (default 10)")
    add("--output", type=Path, default=Path("runs/tune"),
        help="folder for the report (and the SQLite study); default runs/tune")
    add("--worker-index", type=int, help=argparse.SUPPRESS)  # set for spawned workers


def run_tune(args: argparse.Namespace) -> int:
    import optuna

    from model_export.tune.space import default_space, load_space, space_to_json
    from model_export.tune.study import make_sampler, open_storage, open_study

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own lines say what happened
    # SpaceError, StorageError and StudyMismatchError are ValueErrors: `shadernet` prints
    # them as one line and exits with 2.
    settings = _settings(args)
    space = (load_space(args.space, args.arch) if args.space is not None
             else default_space(args.arch))
    name = args.study or f"tune-{args.arch}"
    url = args.storage
    if url is not None:
        storage = open_storage(url, args.heartbeat)
    args.output.mkdir(parents=True, exist_ok=True)
    if url is None:
        url = f"sqlite:///{(args.output / 'study.db').resolve()}"
        storage = open_storage(url, args.heartbeat)
    seed = args.sampler_seed
    if seed is not None and args.worker_index is not None:
        seed += args.worker_index
    study = open_study(storage, name, settings, space_to_json(space),
                       make_sampler(args.sampler, seed))
    if args.workers > 1:
        code = _run_workers(args, url, name)
    else:
        code = _run_here(study, settings, space, args)
    if args.worker_index is None:
        _finish(study, url, settings, args, interrupted=code == EXIT_INTERRUPTED)
    return code


def _settings(args: argparse.Namespace):
    from model_export.tune.objective import SearchSettings
    from model_export.tune.space import DEFAULT_SPACES
    if args.arch not in DEFAULT_SPACES:  # the architectures that have a search space
        raise TuneOptionError(f"Unknown architecture '{args.arch}'. Expected one of: "
                              f"{', '.join(sorted(DEFAULT_SPACES))}.")
    if not 0 < args.validation_fraction < 1:
        raise TuneOptionError(f"--validation: expected a fraction in (0, 1): the search "
                              f"scores trials on it, got {args.validation_fraction}")
    if not 10 <= args.subset <= MNIST_TRAINING_IMAGES:
        raise TuneOptionError(f"--subset: expected 10 to {MNIST_TRAINING_IMAGES} training "
                              f"images, got {args.subset}")
    return SearchSettings(args.arch, args.epochs, args.subset, args.validation_fraction,
                          args.seed)


def _run_here(study, settings, space, args: argparse.Namespace) -> int:
    from model_export.tune.objective import Objective, load_search_data
    from model_export.tune.progress import StudyProgress
    from model_export.tune.study import counts, room_for_a_trial, run_trials

    progress = StudyProgress(args.trials)
    try:
        if not room_for_a_trial(study, args.trials, args.heartbeat, progress.on_wait):
            print(f"study '{study.study_name}' already has {counts(study)[0]} finished "
                  f"trials (--trials {args.trials}); raise --trials to run more",
                  file=sys.stderr)
            return 0
        objective = Objective(settings, space, load_search_data(settings))
        progress.start(study)
        run_trials(study, objective, args.trials, args.heartbeat, progress.on_trial,
                   progress.on_wait)
    except KeyboardInterrupt:
        progress.close()
        finished = counts(study)[0]
        print(f"\ninterrupted: the running trial is marked failed; {finished}/{args.trials} "
              "trials are finished. Run the same command again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    progress.close()
    return 0


def _run_workers(args: argparse.Namespace, url: str, name: str) -> int:
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    env = {**os.environ, **{variable: str(threads) for variable in BLAS_THREAD_VARIABLES}}
    print(f"{args.workers} workers on study '{name}', {threads} BLAS thread(s) each",
          file=sys.stderr)
    workers = [subprocess.Popen(_worker_argv(args, url, name, index), env=env)
               for index in range(args.workers)]
    try:
        codes = [worker.wait() for worker in workers]
    except KeyboardInterrupt:
        # A terminal's Ctrl+C reaches the workers too; forward it when only we got it.
        time.sleep(2)
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        for worker in workers:
            worker.wait()
        return EXIT_INTERRUPTED
    if any(code == EXIT_INTERRUPTED for code in codes):
        return EXIT_INTERRUPTED
    failed = [code for code in codes if code != 0]
    if failed:
        print(f"shadernet tune: error: {len(failed)} of {args.workers} workers failed "
              f"(exit codes {failed})", file=sys.stderr)
        return 1
    return 0


def _worker_argv(args: argparse.Namespace, url: str, name: str, index: int) -> list[str]:
    argv = [sys.executable, "-m", "model_export.cli", "tune", "--arch", args.arch,
            "--trials", str(args.trials), "--epochs", str(args.epochs),
            "--subset", str(args.subset), "--validation", repr(args.validation_fraction),
            "--seed", str(args.seed), "--sampler", args.sampler, "--study", name,
            "--storage", url, "--heartbeat", str(args.heartbeat),
            "--output", str(args.output), "--worker-index", str(index)]
    if args.space is not None:
        argv += ["--space", str(args.space)]
    if args.sampler_seed is not None:
        argv += ["--sampler-seed", str(args.sampler_seed)]
    return argv


def _finish(study, url: str, settings, args: argparse.Namespace, interrupted: bool) -> None:
    from dataclasses import asdict

    from model_export.tune.progress import format_options
    from model_export.tune.report import write_tune_report
    from model_export.tune.study import describe_storage, trial_record

    summary = {"study": study.study_name, "storage": describe_storage(url),
               "sampler": args.sampler, "budget": args.trials, "settings": asdict(settings),
               "space": study.user_attrs["space"],
               "trials": [trial_record(t) for t in study.get_trials(deepcopy=False)]}
    report = write_tune_report(args.output, summary)
    states = [t["state"] for t in summary["trials"] if not t["surplus"]]
    tally = ", ".join(f"{states.count(s)} {s}" for s in ("complete", "pruned", "fail")
                      if states.count(s))
    print(f"study '{study.study_name}': {tally or 'no trials'}"
          f"{' (interrupted)' if interrupted else ''}")
    best = report["best"]
    if best is not None:
        print(f"best: trial {best['trial']}, validation accuracy {best['val_accuracy']:.4f}  "
              f"{format_options(best['options'])}")
        print(f"train it fully: {best['command']}")
    print(f"report: {args.output / 'index.html'}")
