"""Refusals of `shadernet tune` and `shadernet train --config`: one line on stderr naming the
file, field and value, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from model_export.cli import main


def _refused(capsys, argv: list[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses before main's handler runs
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe closes


@pytest.fixture
def output(tmp_path):
    folder = tmp_path / "out"
    yield folder
    assert not folder.exists(), "a refused command wrote its output folder"


def test_unknown_architecture(capsys, output):
    err = _refused(capsys, ["tune", "--arch", "resnet", "--output", str(output)])
    assert "Unknown architecture 'resnet'. Expected one of: cnn, cnn_bn, mlp." in err


def test_zero_trials(capsys, output):
    err = _refused(capsys, ["tune", "--trials", "0", "--output", str(output)])
    assert "--trials" in err and "expected a positive integer, got 0" in err


@pytest.mark.parametrize("space, message", [
    ({"lr": {"low": 0.001, "high": 0.1}},
     "unknown hyperparameter 'lr'. Expected one of: learning_rate, l2, batch_size"),
    ({"learning_rate": {"low": 0.1, "high": 0.001, "log": True}},
     "learning_rate: empty or inverted range [0.1, 0.001] (need low < high)"),
    ({"dropout": {"low": 0.3, "high": 0.3}}, "dropout: empty or inverted range [0.3, 0.3]"),
    ({"l2": {"low": 0, "high": 0.001, "log": True}},
     "l2: a log range must stay above 0, got [0.0, 0.001]"),
    ({"batch_size": {"choices": []}}, "batch_size: choices must be a non-empty list"),
    ({"optimizer": {"choices": ["adam", "lbfgs"]}},
     "optimizer: 'lbfgs' is out of range: expected one of sgd, momentum"),
    ({"dropout": {"low": 0.0, "high": 1.5}}, "dropout: 1.5 is out of range: expected a rate"),
    ({"momentum": {"low": 0.5, "hi": 0.9}}, "momentum: expected {\"low\", \"high\"[, \"log\"]}"),
], ids=["unknown-name", "inverted", "empty", "log-touches-0", "no-choices", "bad-choice",
        "out-of-domain", "bad-key"])
def test_bad_space_file(capsys, output, tmp_path, space, message):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(space))
    err = _refused(capsys, ["tune", "--space", str(path), "--output", str(output)])
    assert f"{path}: " in err and message in err


def test_bad_toml_space_file(capsys, output, tmp_path):
    path = tmp_path / "space.toml"
    path.write_text("[learning_rate]\nlow = 0.01\nhigh = 0.001\n")
    err = _refused(capsys, ["tune", "--space", str(path), "--output", str(output)])
    assert f"{path}: learning_rate: empty or inverted range [0.01, 0.001]" in err


def test_unreachable_storage_names_host_and_database(output):
    """A real process: the message is all the user sees, no traceback."""
    url = f"postgresql://tune:secret@127.0.0.1:{_closed_port()}/studies"
    result = subprocess.run([sys.executable, "-m", "model_export.cli", "tune", "--storage", url,
                             "--output", str(output)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("shadernet tune: error: cannot use storage")
    assert "host 127.0.0.1" in lines[0] and "database studies" in lines[0]
    assert "Connection refused" in lines[0]
    assert "secret" not in lines[0]


def test_storage_url_that_is_not_a_url(capsys, output):
    err = _refused(capsys, ["tune", "--storage", "not a url", "--output", str(output)])
    assert "--storage: cannot parse 'not a url' as a database URL" in err


@pytest.mark.parametrize("content, message", [
    ({"lr": 0.1}, "unknown option 'lr'. Expected one of: arch, augment"),
    ({"learning_rate": "fast"}, "learning_rate: expected a number, got 'fast'"),
    ({"batch_size": 12.5}, "batch_size: expected an integer, got 12.5"),
], ids=["unknown-option", "text-for-number", "fraction-for-integer"])
def test_bad_train_config_file(capsys, output, tmp_path, content, message):
    path = tmp_path / "best.json"
    path.write_text(json.dumps(content))
    err = _refused(capsys, ["train", "--config", str(path), "--output", str(output)])
    assert f"--config {path}: {message}" in err


def test_momentum_for_an_optimizer_without_it(capsys, output):
    err = _refused(capsys, ["train", "--optimizer", "adam", "--momentum", "0.9",
                            "--output", str(output)])
    assert "--momentum applies to the momentum and nesterov optimizers only, not adam" in err
