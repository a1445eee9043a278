"""Start-up A/B: the page's files (static/) at a git ref (A) against this checkout's (B),
on two servers of this checkout, visits interleaved A B B A ...; prints the median ms from
navigation at each start-up stage and their difference. For a change to the page's or the
worker's JS; a change to the server or the template is in both sides.

    .venv/bin/python -m bench.startup_ab HEAD~1 --visits 30 --profiles 6  # repeat visits
    .venv/bin/python -m bench.startup_ab HEAD~1 --visits 5 --cold    # first visits
    .venv/bin/python -m bench.startup_ab HEAD~1 --visits 5 --second  # second visits
    .venv/bin/python -m bench.startup_ab HEAD --unbundled-a --second  # bundled page vs not

Repeat visits: persistent profiles, one per side at a time (`--profiles` pairs in turn),
each with a first visit that stores the snapshot, then its share of the `--visits`.
First visits: a fresh profile each, the server's snapshot made first (as `make setup`
does). Second visits (bench/browser.py's "warm"): a fresh profile each, one first visit,
then the measured one (Chromium keeps a script's compiled code from its second load: the
first visit's page loads Pyodide's JS a second time for that, shadernet_startup.mjs).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.report import median
from bench.session import REPO_ROOT
from bench.startup import STARTUP_OBSERVER, PageServer, _visit
from server.headless_chromium import CHROMIUM_ARGS

STAGES = ("worker", "init", "compiled", "snapshot_fetched", "snapshot_read", "wasm", "restore",
          "runtime", "model")
SIDES = ("A", "B")
KINDS = {"first": "first (fresh profile)", "second": "second (fresh profile, after one first visit)",
         "repeat": "repeat"}


def _servers(ref: str, root: Path, unbundled_a: bool = False) -> dict[str, PageServer]:
    subprocess.run(f"git -C {REPO_ROOT} archive {ref} static | tar -x -C {root}", shell=True,
                   check=True)
    statics = {"A": root / "static", "B": REPO_ROOT / "static"}
    servers = {}
    for side in SIDES:
        scratch = root / side
        shutil.copytree(REPO_ROOT / "models" / "default", scratch / "models" / "default")
        servers[side] = PageServer(scratch / "models", scratch, static_dir=statics[side],
                                   bundled=not (unbundled_a and side == "A"))
    return servers


def _order(visit: int) -> tuple[str, str]:
    return SIDES if visit % 2 == 0 else SIDES[::-1]


def _launch(playwright, executable: str):
    profile = tempfile.mkdtemp(prefix="bench-ab-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=executable, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 1000})
    context.add_init_script(STARTUP_OBSERVER)
    return context, profile


def _repeat_visits(playwright, servers, visits: int, executable: str,
                   profiles: int) -> dict[str, list]:
    """`visits` per side, spread over `profiles` pairs of fresh profiles: a profile's own
    state (what its disk cache and code cache hold) biases all of its visits alike, by
    as much as 50 ms, so one pair's difference is not the change's."""
    results = {side: [] for side in SIDES}
    for round_ in range(profiles):
        launched = {side: _launch(playwright, executable) for side in SIDES}
        try:
            for side in SIDES:  # stores the snapshot the measured visits restore
                _visit(launched[side][0], servers[side].url + "/", "ours")
            for visit in range(round_, visits, profiles):
                for side in _order(visit):
                    results[side].append(_visit(launched[side][0], servers[side].url + "/", "ours"))
        finally:
            for context, profile in launched.values():
                context.close()
                shutil.rmtree(profile, ignore_errors=True)
    return results


def _serve_snapshots(playwright, servers, executable: str) -> None:
    """What `make setup` does: each server offers its page's snapshot to first visits."""
    from server.snapshot_maker import make_served_snapshot

    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    try:
        for side in SIDES:
            make_served_snapshot(browser, servers[side].url + "/", servers[side].runtime)
    finally:
        browser.close()


def _fresh_profile_visits(playwright, servers, visits: int, executable: str,
                          second: bool) -> dict[str, list]:
    """A fresh profile per measured visit: the first visit (the server's snapshot
    restored), or with `second` the visit after it (the snapshot kept, the service worker
    installed: bench/browser.py's "warm" visit)."""
    _serve_snapshots(playwright, servers, executable)
    results = {side: [] for side in SIDES}
    for visit in range(visits):
        for side in _order(visit):
            context, profile = _launch(playwright, executable)
            try:
                url = servers[side].url + "/"
                if second:
                    _visit(context, url, "ours")
                    _wait_service_worker(context, url)
                results[side].append(_visit(context, url, "ours"))
            finally:
                context.close()
                shutil.rmtree(profile, ignore_errors=True)
    return results


def _wait_service_worker(context, url: str) -> None:
    """Until the page's service worker is active (its install runs after the warm-up),
    asked from a small page of the same origin: loading the drawing page would be a visit."""
    page = context.new_page()
    try:
        page.goto(url + "api/runtime")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    finally:
        page.close()


def _print(results: dict[str, list], ref: str, kind: str) -> None:
    print(f"start-up A/B, {kind} visits, medians of {len(results['A'])} interleaved: "
          f"static/ at {ref} (A) vs this checkout (B), ms from navigation")
    for key in (*STAGES, "ready", "first"):
        values = {}
        for side in SIDES:
            found = [r[key] if key in ("ready", "first") else (r.get("stages") or {}).get(key)
                     for r in results[side]]
            found = [v for v in found if v is not None]
            values[side] = median(found) if found else None
        if values["A"] is None or values["B"] is None:
            continue
        print(f"  {key:<18}A {values['A']:7.0f}   B {values['B']:7.0f}   "
              f"B-A {values['B'] - values['A']:+6.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref", help="git ref of the A side's static/ (e.g. HEAD~1)")
    parser.add_argument("--visits", type=int, default=8)
    visits = parser.add_mutually_exclusive_group()
    visits.add_argument("--cold", action="store_true", help="first visits, fresh profiles")
    visits.add_argument("--second", action="store_true",
                        help="second visits, each in a fresh profile after one first visit")
    parser.add_argument("--profiles", type=int, default=4,
                        help="repeat visits: pairs of fresh profiles the visits are spread over")
    parser.add_argument("--unbundled-a", action="store_true",
                        help="A loads static/'s modules one by one (both sides are bundled "
                             "otherwise: server/page_bundle.py)")
    parser.add_argument("--executable", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    servers = _servers(args.ref, root, args.unbundled_a)
    try:
        with sync_playwright() as playwright:
            kind = "first" if args.cold else "second" if args.second else "repeat"
            if kind == "repeat":
                results = _repeat_visits(playwright, servers, args.visits, args.executable,
                                         max(1, min(args.profiles, args.visits)))
            else:
                results = _fresh_profile_visits(playwright, servers, args.visits, args.executable,
                                                second=kind == "second")
    finally:
        for server in servers.values():
            server.close()
        shutil.rmtree(root, ignore_errors=True)
    _print(results, f"{args.ref}, unbundled" if args.unbundled_a else args.ref, KINDS[kind])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
