"""`SHADERNET_REQUIRE_BROWSER=1` (set by `make test`, hence CI): a browser test that cannot
run fails, naming what is missing, instead of being skipped.

Without it a bare machine (no Chromium, no node_modules) can still run the CPython part of
the suite, and each browser test reports why it was skipped.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_BROWSER_ENV = "SHADERNET_REQUIRE_BROWSER"


def browser_required() -> bool:
    return os.environ.get(REQUIRE_BROWSER_ENV, "") not in ("", "0")


def required_message(reason: str) -> str:
    return f"{reason} ({REQUIRE_BROWSER_ENV}=1: browser tests must run, not be skipped)"


def browser_unavailable(reason: str) -> None:
    """Skip the test with `reason`, or fail with it when browser tests are required."""
    if browser_required():
        pytest.fail(required_message(reason), pytrace=False)
    pytest.skip(reason)


def fail_browser_skip(item, report) -> None:
    """Turn the skip of a `browser`-marked test into a failure when browser tests are
    required; a skip from any fixture or marker counts, whoever raised it."""
    if not (report.skipped and browser_required() and item.get_closest_marker("browser")):
        return
    if hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = required_message(reason.removeprefix("Skipped: "))
