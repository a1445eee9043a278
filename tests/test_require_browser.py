"""SHADERNET_REQUIRE_BROWSER=1 turns a browser test that cannot run into a failure.

Each case runs pytest in a subprocess on this machine's real suite, with what a browser
test needs taken away (Chromium; or the reason a fixture skips), and reads its summary.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HARNESS = "tests/browser/test_harness.py"


def run_pytest(*args: str, require: bool, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    environment.pop("SHADERNET_REQUIRE_BROWSER", None)
    if require:
        environment["SHADERNET_REQUIRE_BROWSER"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=REPO_ROOT, env=environment, capture_output=True,
                          text=True, timeout=300)


def test_without_chromium_browser_tests_skip_by_default():
    done = run_pytest(HARNESS, require=False, CHROMIUM="/nowhere/chromium")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout and "Chromium not found at /nowhere/chromium" in done.stdout


def test_without_chromium_required_browser_tests_fail_naming_it():
    done = run_pytest(HARNESS, require=True, CHROMIUM="/nowhere/chromium")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 error" in done.stdout and not re.search(r"\d+ skipped", done.stdout)
    assert "Chromium not found at /nowhere/chromium" in done.stdout
    assert "SHADERNET_REQUIRE_BROWSER=1" in done.stdout


def test_any_skip_of_a_browser_test_fails_when_required(tmp_path):
    """Skips raised outside our fixtures (another conftest, a marker) are caught too."""
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n"
        "pytestmark = pytest.mark.browser\n"
        "def test_from_a_fixture_elsewhere():\n"
        "    pytest.skip('node_modules/ is missing: run `make setup`')\n"
        "@pytest.mark.skipif(True, reason='models/default/ is not there')\n"
        "def test_from_a_marker():\n"
        "    pass\n"
        "@pytest.mark.xfail(reason='expected to fail', strict=True)\n"
        "def test_xfail_stays_xfail():\n"
        "    assert False\n")
    # The marker is registered by pyproject.toml, which this folder does not see.
    arguments = ("-p", "tests.conftest", "--rootdir", str(tmp_path), str(tmp_path))
    lenient = run_pytest(*arguments, require=False)
    assert "2 skipped, 1 xfailed" in lenient.stdout, lenient.stdout + lenient.stderr
    strict = run_pytest(*arguments, require=True)
    assert strict.returncode == 1
    # A skip at set-up (skipif) is reported as an error, one in the test body as a failure.
    summary = strict.stdout.strip().splitlines()[-1]
    assert re.match(r"1 failed, 1 xfailed(, \d+ warnings?)?, 1 error in ", summary), summary
    assert "node_modules/ is missing" in strict.stdout
    assert "models/default/ is not there" in strict.stdout
