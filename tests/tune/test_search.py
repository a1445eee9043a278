"""The parts of a search the tiny study does not reach: median pruning per epoch, TPE with
a --space file, and a study refusing a command with other settings."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState

from model_export.cli import main
from model_export.tune.objective import Objective, SearchSettings, load_search_data
from model_export.tune.space import Fixed, default_space


def _fixed(**values) -> dict:
    space = default_space("mlp")
    space.update({name: Fixed(value) for name, value in values.items()})
    return space


def test_a_trial_below_the_median_is_pruned_after_its_first_epoch():
    settings = SearchSettings("mlp", epochs=2, subset=600, validation_fraction=0.2, seed=0)
    data = load_search_data(settings)
    assert len(data.test) == 0 and len(data.validation) == 120
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    good = _fixed(optimizer="adam", learning_rate=0.003, batch_size=32, dropout=0.1,
                  l2=1e-6, beta_1=0.9, decay_rate=0.5)
    bad = _fixed(optimizer="sgd", learning_rate=1e-5, batch_size=256, dropout=0.1,
                 l2=1e-6, decay_rate=0.5)
    study.optimize(Objective(settings, good, data), n_trials=1)
    study.optimize(Objective(settings, bad, data), n_trials=1)
    first, second = study.get_trials()
    assert first.state == TrialState.COMPLETE and sorted(first.intermediate_values) == [1, 2]
    assert first.value == first.intermediate_values[2] > 0.8
    assert second.state == TrialState.PRUNED
    assert sorted(second.intermediate_values) == [1]
    assert second.user_attrs["epochs_run"] == 1
    assert second.intermediate_values[1] < first.intermediate_values[1]


@pytest.fixture(scope="module")
def tpe_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tpe")
    space = folder / "space.json"
    space.write_text(json.dumps({"optimizer": "adam", "batch_size": {"choices": [32, 64]},
                                 "learning_rate": {"low": 0.001, "high": 0.01, "log": True}}))
    argv = ["tune", "--sampler", "tpe", "--sampler-seed", "1", "--trials", "3", "--subset", "400",
            "--epochs", "1", "--space", str(space), "--study", "tpe",
            "--output", str(folder / "out")]
    assert main(argv) == 0
    return folder, argv


def test_tpe_with_a_space_file_samples_only_what_it_allows(tpe_study):
    folder, _ = tpe_study
    report = json.loads((folder / "out" / "tune.json").read_text())
    assert report["sampler"] == "tpe"
    assert report["space"]["optimizer"] == "adam"
    assert len(report["trials"]) == 3
    for trial in report["trials"]:
        options = trial["options"]
        assert options["optimizer"] == "adam" and "momentum" not in options
        assert "optimizer" not in trial["params"]  # fixed, not sampled
        assert options["batch_size"] in (32, 64)
        assert 0.001 <= options["learning_rate"] <= 0.01 and 0.8 <= options["beta_1"] <= 0.99


def test_a_study_refuses_a_command_with_other_settings(tpe_study, capsys):
    folder, argv = tpe_study
    changed = [*argv]
    changed[changed.index("--epochs") + 1] = "2"
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "study 'tpe' was created with --epochs 1, this command has 2" in err
