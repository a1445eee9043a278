"""The drawing page's modules bundled by esbuild: a few files where static/ has ~35.

Each module the page or its worker imports is a request (on a repeat visit, from the
HTTP cache), whose response the renderer's main thread handles, and the worker's thread
starts only once that thread gets round to it. With static/'s ~24 page modules and ~12
worker modules, `bench.startup_ab HEAD --unbundled-a` (README, Start-up): first visits
"Ready" -203 ms bundled, second visits the worker running -62 ms but "Ready" only -19
(the later stages, all CPU on 2 cores, give it back). The modules stay what they are
(tests, other pages and `/static/shadernet.mjs` import them one by one); only the
drawing page loads the bundle:

    <cache>/<id>/app.js, worker.js, chunk-*.js, ...   esbuild's output (code splitting:
                                                       the page's shared modules in chunks)
    <cache>/<id>/manifest.json                         {"entry", "preload"}: the files the
                                                       page hints (modulepreload)

`<id>` is the static/ folder's content version plus a hash of esbuild's version, so a
bundle is never stale: an edited module means a new version, and until its bundle is
built (at set-up, `python -m server.page_bundle`, or in the background once the server
sees the version) the page loads the plain modules, as it does without esbuild.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from server.static_version import StaticVersion

REPO_ROOT = Path(__file__).resolve().parent.parent
ESBUILD = REPO_ROOT / "node_modules" / ".bin" / "esbuild"
DEFAULT_BUNDLE_DIR = REPO_ROOT / ".cache" / "bundle"
BUNDLE_ROOT = "/static/b"  # where the server mounts the bundle folder (server/main.py)
# The page's entry module and its worker's (shadernet.mjs starts the worker at
# new URL("./worker.js", import.meta.url): in a bundle, the bundled worker beside it).
ENTRIES = ("app.js", "worker.js")
PAGE_ENTRY = "app.js"
# The modules the page imports at once (app.js, then page.js and shadernet_model.mjs by
# import()): hinted with their chunks, as the template hints them in static/; not
# shadernet_trainer.mjs (the Train panel imports it when it opens), nor the worker's.
HINTED = ("app.js", "page.js", "shadernet_model.mjs")
BUILD_TIMEOUT_S = 120

log = logging.getLogger("shadernet.page_bundle")


@dataclass(frozen=True)
class Bundle:
    """A built bundle: its URL folder (ends in '/'), entry file and the files to hint."""

    url: str
    entry: str
    preload: tuple[str, ...]


def preload_list(metafile: dict) -> list[str]:
    """The output files the page loads at start (esbuild's metafile): HINTED's chunks and
    every chunk they import statically; the worker's own file is the worker's to load."""
    outputs = {Path(path).name: info for path, info in metafile["outputs"].items()
               if path.endswith(".js")}
    by_source = {Path(info["entryPoint"]).name: name for name, info in outputs.items()
                 if info.get("entryPoint")}
    todo = [by_source[source] for source in HINTED]
    found: list[str] = []
    while todo:
        name = todo.pop(0)
        if name not in found:
            found.append(name)
            todo += [Path(i["path"]).name for i in outputs[name].get("imports", [])
                     if i.get("kind") == "import-statement"]
    return found


class PageBundle:
    """The bundle of `static`'s current version in `cache_dir`, built when missing;
    `cache_dir` None: never (nor without `esbuild`)."""

    def __init__(self, static: StaticVersion, cache_dir: Path | None = DEFAULT_BUNDLE_DIR,
                 esbuild: Path | None = ESBUILD) -> None:
        self.static = static
        self.cache_dir = cache_dir
        usable = cache_dir is not None and esbuild is not None and esbuild.is_file()
        self.esbuild = esbuild if usable else None
        self._tool = self._tool_version() if self.esbuild else ""
        self._building: set[str] = set()
        self._lock = threading.Lock()

    def _tool_version(self) -> str:
        try:
            done = subprocess.run([str(self.esbuild), "--version"], capture_output=True,
                                  text=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as error:
            log.warning("esbuild does not run (%s): the page loads its modules one by one", error)
            self.esbuild = None
            return ""
        return hashlib.sha256(done.stdout.strip().encode()).hexdigest()[:8]

    def bundle_id(self) -> str:
        return f"{self.static.current()}-{self._tool}"

    def current(self) -> Bundle | None:
        """The bundle of today's static/, or None (none built yet: one starts building)."""
        if self.esbuild is None:
            return None
        bundle_id = self.bundle_id()
        manifest = self.cache_dir / bundle_id / "manifest.json"
        try:
            found = json.loads(manifest.read_text("utf-8"))
        except (OSError, ValueError):
            self.start_build(bundle_id)
            return None
        return Bundle(f"{BUNDLE_ROOT}/{bundle_id}/", found["entry"], tuple(found["preload"]))

    def start_build(self, bundle_id: str) -> None:
        with self._lock:
            if bundle_id in self._building:
                return
            self._building.add(bundle_id)
        threading.Thread(target=self.build, daemon=True, name="page-bundle").start()

    def build(self, bundle_id: str | None = None) -> bool:
        """Bundle today's static/ unless it is bundled; True when it is afterwards.
        Never raises: a failure is logged and the page keeps its plain modules."""
        if self.esbuild is None:
            return False
        bundle_id = bundle_id or self.bundle_id()
        target = self.cache_dir / bundle_id
        if (target / "manifest.json").is_file():
            return True
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cache_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another server's build of it: wait, then use it
            if (target / "manifest.json").is_file():
                return True
            try:
                self._run_esbuild(target)
            except (OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
                log.warning("bundling the page's modules failed (it loads them one by one): %s",
                            error)
                return False
        log.info("bundled the page's modules: %s", target)
        return True

    def _run_esbuild(self, target: Path) -> None:
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".build-") as scratch:
            out = Path(scratch) / "out"
            meta = Path(scratch) / "meta.json"
            done = subprocess.run(
                [str(self.esbuild), *(str(self.static.directory / e) for e in ENTRIES),
                 "--bundle", "--splitting", "--format=esm", "--log-level=warning",
                 "--charset=utf8", f"--outdir={out}", f"--metafile={meta}"],
                capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
            if done.returncode != 0:
                raise ValueError(f"esbuild exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
            if not target.name.startswith(self.static.current() + "-"):
                raise ValueError("static/ changed while it was bundled; the next page load "
                                 "bundles its new version")
            preload = preload_list(json.loads(meta.read_text("utf-8")))
            (out / "manifest.json").write_text(
                json.dumps({"entry": PAGE_ENTRY, "preload": preload}), "utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(out, target)


def main(argv: list[str]) -> int:
    """`python -m server.page_bundle`: bundle the repository's static/ (set-up)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bundle = PageBundle(StaticVersion(REPO_ROOT / "static"))
    if bundle.esbuild is None:
        print(f"server.page_bundle: {ESBUILD} is missing or does not run (npm install); "
              "the page loads its modules one by one", file=sys.stderr)
        return 0
    built = bundle.build()
    print(bundle.cache_dir / bundle.bundle_id() if built else "server.page_bundle: not built")
    return 0 if built else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
