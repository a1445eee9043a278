"""Studies shared through a real PostgreSQL server that the tests start themselves:
several `shadernet tune` processes at once run every trial exactly once, and a worker
killed mid-trial leaves that trial failed while the others carry on.

No PostgreSQL means these tests fail (`make postgres` installs it); they never skip.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from tests.tune.postgres_server import PostgresServer

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
TRIAL_LINE = re.compile(r"^trial (\d+) (complete|pruned)", re.MULTILINE)


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    yield server
    server.stop()
    with pytest.raises(OSError):  # stopped: nothing listens on its port any more
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def _tune(url: str, study: str, output, trials: int, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "model_export.cli", "tune", "--arch", "mlp",
            "--trials", str(trials), "--study", study, "--storage", url,
            "--output", str(output), *extra]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def _finish(process: subprocess.Popen) -> tuple[str, str]:
    out, err = process.communicate(timeout=480)
    assert process.returncode == 0, err[-3000:]
    return out, err


def _printed_trials(err: str) -> list[int]:
    return [int(number) for number, _ in TRIAL_LINE.findall(err)]


def _until_first_trial(process: subprocess.Popen) -> str:
    """What `process` printed on stderr up to and including its first finished trial's line."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        if TRIAL_LINE.match(line):
            return "".join(lines)
    raise AssertionError("the command ended without finishing a trial:\n" + "".join(lines))


def test_two_commands_at_once_run_each_trial_exactly_once(postgres, tmp_path):
    url = postgres.create_database("shared")
    trials = 16
    # Trials of half a second or more each (2 epochs of 4000 images took 0.3 s here, and a
    # second command that needs ~2 s to join then found all 12 trials taken, 1 run in 3):
    # short ones end the study before the second command joins.
    common = ["--subset", "4000", "--epochs", "5"]
    first = _tune(url, "shared", tmp_path / "a", trials, *common, "--workers", "2")
    # The second joins once the first is running trials: on a quiet machine a command started
    # at the same moment could finish the whole study before the first's workers import Optuna.
    first_head = _until_first_trial(first)
    second = _tune(url, "shared", tmp_path / "b", trials, *common)
    (_, first_err), (_, second_err) = _finish(first), _finish(second)
    first_err = first_head + first_err

    study = optuna.load_study(study_name="shared", storage=url)
    finished = [t for t in study.get_trials() if t.state in FINISHED]
    assert len(finished) == trials
    printed = _printed_trials(first_err) + _printed_trials(second_err)
    assert sorted(printed) == sorted(t.number for t in finished), (first_err, second_err)
    assert _printed_trials(first_err) and _printed_trials(second_err)  # both did work
    workers = {t.user_attrs["worker"] for t in finished}
    assert len(workers) >= 2
    others = [t for t in study.get_trials() if t.state not in FINISHED]
    # Only a trial the database numbered past the budget may be left, and it never ran.
    assert all(t.state == TrialState.FAIL and t.user_attrs.get("surplus") and not t.params
               for t in others)
    assert "2 workers on study 'shared', 1 BLAS thread(s) each" in first_err


def _running_trial_of(url: str, study_name: str, pid: int, deadline: float):
    while time.monotonic() < deadline:
        try:
            study = optuna.load_study(study_name=study_name, storage=url)
        except KeyError:  # not created yet
            time.sleep(0.2)
            continue
        for trial in study.get_trials(states=(TrialState.RUNNING,)):
            if trial.params and trial.user_attrs.get("worker", "").endswith(f":{pid}"):
                return trial.number
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never started a trial")


def test_a_worker_killed_mid_trial_leaves_it_failed_and_the_study_carries_on(postgres,
                                                                            tmp_path):
    url = postgres.create_database("killed")
    trials = 6
    common = ["--subset", "2000", "--epochs", "2", "--heartbeat", "1"]
    doomed = _tune(url, "killed", tmp_path / "a", trials, *common)
    survivor = _tune(url, "killed", tmp_path / "b", trials, *common)
    number = _running_trial_of(url, "killed", doomed.pid, time.monotonic() + 240)
    doomed.kill()
    doomed.communicate(timeout=60)
    _, err = _finish(survivor)

    study = optuna.load_study(study_name="killed", storage=url)
    killed = study.get_trials()[number]
    assert killed.number == number and killed.state == TrialState.FAIL
    assert killed.user_attrs["worker"].endswith(f":{doomed.pid}")
    finished = [t for t in study.get_trials() if t.state in FINISHED]
    assert len(finished) == trials
    assert number not in _printed_trials(err)
    assert (tmp_path / "b" / "index.html").exists()
