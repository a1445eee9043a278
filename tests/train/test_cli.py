"""`shadernet train/evaluate`: real runs on small subsets, resumption, and one-line refusals."""

import json
import shutil

import numpy as np
import pytest

from model_export.checkpoint import load_checkpoint
from model_export.cli import main

SMALL_RUN = ["train", "--arch", "mlp", "--subset", "1200", "--epochs", "2", "--seed", "7"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mlp"
    assert main(SMALL_RUN + ["--output", str(out)]) == 0
    return out


def test_train_writes_checkpoint_and_report(small_run, capsys):
    names = {p.name for p in small_run.iterdir()}
    assert {"checkpoint.npz", "metrics.json", "curves.png", "confusion.png",
            "misclassified.png", "index.html"} <= names
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["history"]["epochs"]] == [1, 2]
    assert metrics["test"]["accuracy"] > 0.75  # 1,080 images, 2 epochs: it has learned
    assert len(metrics["test"]["confusion_matrix"]) == 10
    for png in ("curves.png", "confusion.png", "misclassified.png"):
        assert (small_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seed_makes_a_run_repeatable(small_run, tmp_path):
    again = tmp_path / "again"
    assert main(SMALL_RUN + ["--output", str(again)]) == 0
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (small_run, again))
    def without_timings(metrics):
        return [{k: v for k, v in e.items() if k != "seconds"} for e in metrics["history"]["epochs"]]
    assert without_timings(first) == without_timings(second)
    for (name, a), (_, b) in zip(load_checkpoint(small_run / "checkpoint.npz").model.get_weights(),
                                 load_checkpoint(again / "checkpoint.npz").model.get_weights()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_resume_continues_from_the_checkpoint(small_run, tmp_path):
    resumed = tmp_path / "resumed"
    shutil.copytree(small_run, resumed)
    assert main(["train", "--resume", str(resumed / "checkpoint.npz"), "--epochs", "3"]) == 0
    checkpoint = load_checkpoint(resumed / "checkpoint.npz")
    assert [e["epoch"] for e in checkpoint.history["epochs"]] == [1, 2, 3]
    batches_per_epoch = -(-1080 // 128)  # 1,200 images less 10% validation, batch 128
    assert int(checkpoint.optimizer_state["iterations"]) == 3 * batches_per_epoch
    # The original run is untouched: resuming writes next to the checkpoint it resumes.
    assert len(load_checkpoint(small_run / "checkpoint.npz").history["epochs"]) == 2


def test_evaluate_prints_accuracy_and_per_class(small_run, capsys):
    assert main(["evaluate", str(small_run / "checkpoint.npz"), "--subset", "500"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "/500)" in out
    assert out.count("%") == 11  # overall + one line per digit


@pytest.mark.parametrize("argv, message", [
    (["train", "--arch", "resnet"], "Unknown architecture 'resnet'. Expected one of: cnn, "
     "cnn_bn, mlp, mlp5_dropout, mlp5_relu, mlp5_relu_decay, mlp5_sigmoid, softmax."),
    (["train", "--lr", "-0.1"], "--lr: expected a positive number, got -0.1"),
    (["train", "--batch-size", "0"], "--batch-size: expected a positive integer, got 0"),
    (["train", "--optimizer", "adamw"], "--optimizer: expected one of sgd, momentum"),
    (["train", "--validation", "1.5"], "--validation: expected a fraction in [0, 1), got 1.5"),
    (["evaluate", "no/such/checkpoint.npz"], "no/such/checkpoint.npz: no such checkpoint file"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv + (["--output", "out"] if argv[0] == "train" else [])) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_corrupt_checkpoint_is_refused(tmp_path, capsys):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["evaluate", str(bad)]) == 2
    assert f"{bad}: not a readable checkpoint" in capsys.readouterr().err
