"""`shadernet`: the command line. Each subcommand parses, validates, then calls one module.

    shadernet data [--refetch]                 fetch and verify MNIST
    shadernet train --arch cnn [options]       train, checkpoint, report
    shadernet train --config best.json         train a configuration `shadernet tune` found
    shadernet tune --arch cnn --trials 40      hyperparameter search (Optuna) on validation
    shadernet evaluate CHECKPOINT_OR_FOLDER    test accuracy and per-class accuracy
    shadernet export CHECKPOINT OUT_DIR        TF.js layers-format model.json + shards
    shadernet serve                            the drawing page and the model API

Bad input (unknown architecture, negative learning rate, missing or corrupt checkpoint) is
one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from importlib.metadata import entry_points
from pathlib import Path

from model_export.architectures import ARCHITECTURES

EXIT_USAGE = 2
COMMAND_HELP = {
    "serve": "serve the drawing page and the model API",
    "tune": "hyperparameter search on the validation split (Optuna)",
}


class UsageError(Exception):
    """A user mistake: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="shadernet", description="Train MNIST models in numpy, export them "
                     "for the browser, run them on WebGL2.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    data = commands.add_parser("data", help="fetch and verify the MNIST files")
    data.add_argument("--refetch", action="store_true", help="fetch every file again")

    train = commands.add_parser("train", help="train a model; writes checkpoint and report")
    train.add_argument("--arch", help=f"one of {', '.join(sorted(ARCHITECTURES))} (default mlp)")
    train.add_argument("--epochs", type=int, help="number of epochs (default: per architecture)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--optimizer", help="sgd, momentum, nesterov, adagrad, rmsprop, adam")
    train.add_argument("--lr", type=float, dest="learning_rate", help="initial learning rate")
    train.add_argument("--decay", help="learning-rate schedule: none, exponential, step")
    train.add_argument("--decay-rate", type=float, help="factor per --decay-steps updates")
    train.add_argument("--decay-steps", type=int)
    train.add_argument("--lr-floor", type=float, help="exponential decay never goes below this")
    train.add_argument("--dropout", type=float, help="rate of the Dropout layer "
                       "(default: per architecture)")
    train.add_argument("--momentum", type=float, help="momentum of the momentum and nesterov "
                       "optimizers (default 0.9)")
    train.add_argument("--beta-1", type=float, dest="beta_1",
                       help="adam's first-moment decay (default 0.9)")
    # Defaults of None leave the value to --config, then to TrainConfig's own default.
    train.add_argument("--l2", type=float, help="L2 penalty on kernels (default 0)")
    train.add_argument("--augment", action="store_true", default=None,
                       help="random shifts, rotations and zoom of each training batch")
    train.add_argument("--seed", type=int, help="default 0")
    train.add_argument("--validation", type=float, dest="validation_fraction",
                       help="fraction of the training set held out for validation (default 0.1)")
    train.add_argument("--subset", type=int, help="train on this many images only")
    train.add_argument("--patience", type=int,
                       help="early stopping: epochs without validation-loss improvement")
    train.add_argument("--output", help="folder for checkpoint and report (default: "
                       "runs/latest, or the resumed checkpoint's folder)")
    train.add_argument("--resume", type=Path, metavar="CHECKPOINT",
                       help="continue a run from its checkpoint.npz (--epochs may extend it)")
    train.add_argument("--config", type=Path, metavar="JSON",
                       help="options from a file such as the best.json of `shadernet tune`; "
                       "options given on the command line override it")

    evaluate = commands.add_parser("evaluate", help="test accuracy of a checkpoint or export")
    evaluate.add_argument("model", type=Path, help="checkpoint.npz or an exported model folder")
    evaluate.add_argument("--subset", type=_positive_int, help="first N test images only")

    _add_optional_commands(commands)
    return parser


def _add_optional_commands(commands) -> None:
    """export (numpy writer), then the commands other packages of this distribution
    register under the `shadernet.commands` entry points (serve: server/). They are found
    by name, so this package never imports the server: module `m` registered as `name`
    provides `add_<name>_arguments(parser)` and `run_<name>(args)`."""
    from model_export.export_cli import add_export_arguments, run_export
    export = commands.add_parser(
        "export", help="write a model as TF.js layers-format model.json + weight shards")
    add_export_arguments(export)
    export.set_defaults(handler=run_export)
    for plugin in sorted(entry_points(group="shadernet.commands"), key=lambda p: p.name):
        try:
            module = plugin.load()
        except ImportError:  # its extra (e.g. `serve`) is not installed
            continue
        command = commands.add_parser(plugin.name, help=COMMAND_HELP.get(plugin.name))
        getattr(module, f"add_{plugin.name}_arguments")(command)
        command.set_defaults(handler=getattr(module, f"run_{plugin.name}"))


# ----------------------------------------------------------------------------- commands

def run_data(args) -> int:
    from model_export.data import fetch_mnist
    folder = fetch_mnist(force=args.refetch)
    print(f"MNIST verified in {folder}")
    return 0


def run_train(args) -> int:
    from model_export.checkpoint import load_checkpoint
    from model_export.data import load_mnist
    from model_export.train import ConfigError, TrainConfig, Trainer, build_model, build_optimizer

    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "resume", "config", "handler") and v is not None}
    if args.config is not None:
        if args.resume is not None:
            raise UsageError("--config and --resume do not combine: a resumed run keeps the "
                             "options of its checkpoint")
        from model_export.tune.best_config import read_train_options
        options = {**read_train_options(args.config), **options}
    if args.resume is not None:
        checkpoint = load_checkpoint(args.resume)
        saved = checkpoint.train_config
        config = TrainConfig(**{**saved, "epochs": args.epochs or saved["epochs"],
                                "output": args.output or str(args.resume.parent)})
        model = checkpoint.model
    else:
        config = TrainConfig(**options)
    try:
        config = config.resolved()
        config.validate()
    except ConfigError as error:
        raise UsageError(str(error)) from error
    data = load_mnist(config.validation_fraction, config.subset, config.seed)
    if args.resume is not None:
        from model_export.nn.optimizers import get_optimizer
        optimizer = get_optimizer(**checkpoint.optimizer_config)
        optimizer.load_state_dict(checkpoint.optimizer_state)
        history = checkpoint.history
    else:
        model, optimizer, history = build_model(config), build_optimizer(config), {"epochs": []}
    output = Path(config.output)
    print(model.summary(), file=sys.stderr)
    print(f"optimizer {optimizer!r}; {len(data.train)} training, {len(data.validation)} "
          f"validation, {len(data.test)} test images", file=sys.stderr)
    trainer = Trainer(model, optimizer, config, history)
    checkpoint_path = output / "checkpoint.npz"
    try:
        trainer.fit(data, checkpoint_path)
    except KeyboardInterrupt:
        print(f"\ninterrupted; the last finished epoch is in {checkpoint_path} "
              f"(continue with --resume {checkpoint_path})", file=sys.stderr)
        return 130
    return _report(model, config, trainer.history, data, output)


def _report(model, config, history, data, output: Path) -> int:
    from model_export.report import evaluate_predictions, format_evaluation, write_report
    evaluation = evaluate_predictions(model.predict(data.test.x), data.test.y)
    write_report(output, asdict(config), history, evaluation, data.test.x, data.test.y,
                 extra={"parameters": model.count_params()})
    print(format_evaluation(evaluation, len(data.test)))
    print(f"checkpoint: {output / 'checkpoint.npz'}\nreport: {output / 'index.html'}")
    return 0


def run_evaluate(args) -> int:
    from model_export.data import load_split
    from model_export.report import evaluate_predictions, format_evaluation
    model = load_any_model(args.model)
    test = load_split("test")
    x, y = (test.x, test.y) if args.subset is None else (test.x[:args.subset], test.y[:args.subset])
    print(format_evaluation(evaluate_predictions(model.predict(x), y), len(y)))
    return 0


def load_any_model(path: Path):
    """A numpy Sequential from a checkpoint.npz or an exported TF.js folder."""
    from model_export.checkpoint import load_checkpoint
    if path.is_dir():
        try:
            from model_export.exported import load_exported
        except ImportError as error:
            raise UsageError(f"{path}: reading exported folders is not available") from error
        return load_exported(path)
    return load_checkpoint(path).model


HANDLERS = {"data": run_data, "train": run_train, "evaluate": run_evaluate}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = HANDLERS.get(args.command) or getattr(args, "handler", None)
    try:
        return handler(args)
    except (UsageError, ValueError, OSError) as error:
        # ValueError covers DataError, CheckpointError, ConfigError and ModelFormatError.
        print(f"shadernet {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
