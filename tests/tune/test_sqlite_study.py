"""The tiny study of the issue (mlp, subset 2,000, 1 epoch, 6 trials) in the default SQLite
storage, interrupted once by Ctrl+C and resumed, with the MNIST test split made unreadable."""

from __future__ import annotations

import contextlib
import io
import json

import matplotlib.image
import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from model_export import data as mnist
from model_export.cli import main
from model_export.tune import objective as objective_module

TINY = ["tune", "--arch", "mlp", "--subset", "2000", "--epochs", "1", "--trials", "6",
        "--study", "tiny", "--sampler-seed", "3"]
INTERRUPTED_TRIAL = 2


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


class _InterruptingTrainer(objective_module.Trainer):
    """Ctrl+C in the middle of the third trial's training."""
    calls = 0

    def fit(self, data, checkpoint_path=None):
        type(self).calls += 1
        if type(self).calls == INTERRUPTED_TRIAL + 1:
            raise KeyboardInterrupt
        return super().fit(data, checkpoint_path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    output = tmp_path_factory.mktemp("tune") / "tiny"
    argv = [*TINY, "--output", str(output)]
    reads = []
    real_load_idx = mnist.load_idx

    def train_split_only(spec, directory=None):
        reads.append(spec.name)
        if spec in (mnist.FILES["test_images"], mnist.FILES["test_labels"]):
            raise AssertionError(f"the search read the test split ({spec.name})")
        return real_load_idx(spec, directory)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mnist, "load_idx", train_split_only)
        patch.setattr(objective_module, "Trainer", _InterruptingTrainer)
        interrupted = _run(argv)
        resumed = _run(argv)
        again = _run(argv)
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{output / 'study.db'}")
    return {"output": output, "reads": reads, "study": study, "interrupted": interrupted,
            "resumed": resumed, "again": again,
            "report": json.loads((output / "tune.json").read_text())}


def test_the_test_split_is_never_read(tiny):
    assert tiny["reads"], "the training split was not loaded through load_idx"
    assert all(name.startswith("train-") for name in tiny["reads"]), tiny["reads"]


def test_ctrl_c_fails_the_running_trial_and_a_rerun_resumes(tiny):
    code, _, err = tiny["interrupted"]
    assert code == 130
    assert "interrupted" in err and "Run the same command again to resume" in err
    assert "Traceback" not in err
    trials = tiny["study"].get_trials()
    states = {t.number: t.state for t in trials}
    assert states[INTERRUPTED_TRIAL] == TrialState.FAIL
    finished = [n for n, s in states.items() if s in (TrialState.COMPLETE, TrialState.PRUNED)]
    # The first run finished trials 0 and 1; the rerun added four, not six from scratch.
    assert sorted(finished) == [0, 1, 3, 4, 5, 6]
    assert len(trials) == 7
    assert tiny["resumed"][0] == 0 and "trial 6 complete" in tiny["resumed"][2]
    assert "trial 0 " not in tiny["resumed"][2]


def test_a_finished_study_runs_no_more_trials(tiny):
    code, out, err = tiny["again"]
    assert code == 0
    assert "already has 6 finished trials" in err
    assert "trial " not in err.replace("finished trials", "")
    assert "best: trial" in out


def test_every_trial_is_recorded_with_validation_figures(tiny):
    stored = {t.number: t for t in tiny["study"].get_trials()}
    listed = {t["number"]: t for t in tiny["report"]["trials"]}
    assert listed.keys() == stored.keys()
    for number, trial in listed.items():
        if trial["state"] == "fail":
            continue
        assert trial["state"] == "complete"  # one epoch: nothing to prune before the end
        assert 0.0 < trial["val_accuracy"] <= 1.0 and trial["val_loss"] > 0
        assert trial["val_accuracy"] == pytest.approx(stored[number].value)
        assert trial["val_accuracy_per_epoch"] == [trial["val_accuracy"]]
        assert trial["params"]["optimizer"] == trial["options"]["optimizer"]
        assert {"learning_rate", "l2", "batch_size", "dropout", "decay_rate"} <= \
            trial["params"].keys()


def test_the_best_is_the_best(tiny):
    report = tiny["report"]
    complete = [t for t in report["trials"] if t["state"] == "complete"]
    top = max(complete, key=lambda t: t["val_accuracy"])
    assert report["best"]["trial"] == top["number"] == tiny["study"].best_trial.number
    best = json.loads((tiny["output"] / "best.json").read_text())
    assert best == {"arch": "mlp", **top["options"], "seed": 0, "validation_fraction": 0.1}
    assert "--config" in report["best"]["command"]
    good = report["good_ranges"]["learning_rate"]
    assert good["low"] <= top["params"]["learning_rate"] <= good["high"]


@pytest.mark.parametrize("name", ["history.png", "params.png", "top_trials.png"])
def test_the_plots_are_not_blank(tiny, name):
    image = matplotlib.image.imread(tiny["output"] / name)[..., :3]
    assert image.shape[0] > 200 and image.shape[1] > 300
    assert image.std() > 0.05
    colours = np.unique((image.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert len(colours) > 20  # markers, shading and text, not one flat fill


def test_index_html_shows_the_report(tiny):
    page = (tiny["output"] / "index.html").read_text()
    for name in ("history.png", "params.png", "top_trials.png", "tune.json", "--config"):
        assert name in page


def test_train_config_best_json_prints_the_test_accuracy_once(tiny, tmp_path):
    best = tiny["output"] / "best.json"
    code, out, _ = _run(["train", "--config", str(best), "--subset", "600", "--epochs", "1",
                         "--output", str(tmp_path)])
    assert code == 0
    assert out.count("test accuracy") == 1
    assert out.splitlines()[0].startswith("test accuracy")
    config = json.loads((tmp_path / "metrics.json").read_text())["config"]
    options = json.loads(best.read_text())
    assert {k: config[k] for k in options} == options
