"""Precompiled bytecode for the page's start-up: the stdlib zip and the runtime wheel as `.pyc`.

Pyodide's npm stdlib zip holds only `.py`, so CPython compiles every module it imports on
every start (most of `loadPyodide()`'s time). `tools/compile_pyc.mjs` compiles them once,
with Pyodide's own CPython in Node (the host's CPython is another version, its bytecode
would not load), into

    <cache>/stdlib-<key>.zip     the stdlib zip, each `x.py` replaced by `x.pyc`
    <cache>/wheel-<key>.zip      `__pycache__/*.cpython-314.pyc` of the runtime wheel

where `<key>` hashes everything the output depends on (the Pyodide build, the compiler
script, the input's bytes), so a cached file is never stale and servers can share the
folder. Building takes a minute of CPU on a slow machine, so it runs at set-up
(`python -m server.bytecode`) or in the background at server start; until it is done,
or when it fails (no Node, a compile error), the page gets the plain files.
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

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPILER = REPO_ROOT / "tools" / "compile_pyc.mjs"
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "pyc"
STDLIB_NAME = "python_stdlib.zip"
# Where Pyodide mounts the stdlib zip and installs wheels (Python 3.14): compiled code
# names these files, as tracebacks and `__file__` would without precompiling.
STDLIB_PREFIX = "/lib/python314.zip/"
SITE_PACKAGES_PREFIX = "/lib/python3.14/site-packages/"
BUILD_TIMEOUT_S = 600

log = logging.getLogger("shadernet.bytecode")


def digest(data: bytes) -> str:
    """The 16-hex-digit content hash used in cache names and URLs."""
    return hashlib.sha256(data).hexdigest()[:16]


def pyodide_build_id(pyodide_dir: Path) -> str:
    """A hash of Pyodide's runtime (asm.mjs + asm.wasm), which its snapshots depend on."""
    sha = hashlib.sha256()
    for name in ("pyodide.asm.mjs", "pyodide.asm.wasm"):
        sha.update((pyodide_dir / name).read_bytes())
    return sha.hexdigest()[:16]


@dataclass(frozen=True)
class CompileJob:
    """One archive for the compiler: `layout` is "zipimport" (stdlib) or "pycache" (wheel)."""

    source: bytes
    output: Path
    layout: str
    prefix: str


class Bytecode:
    """The two compiled archives for one Pyodide build and one runtime wheel.

    `stdlib()` / `wheel_pyc()` return the cached file or None; `build()` compiles what is
    missing (one builder at a time per cache folder, others skip), `start_build()` does so
    on a daemon thread.
    """

    def __init__(self, pyodide_dir: Path, wheel_data: bytes,
                 cache_dir: Path = DEFAULT_CACHE_DIR, node: str | None = "node",
                 stdlib_source: Path | None = None) -> None:
        """`node`: the Node.js command (None: none, so nothing is compiled);
        `stdlib_source`: the stdlib zip to compile (default: Pyodide's own)."""
        self.pyodide_dir = pyodide_dir
        self.cache_dir = cache_dir
        self.node = shutil.which(node) if node else None
        self._stdlib_source = stdlib_source or pyodide_dir / STDLIB_NAME
        self._wheel_data = wheel_data
        compiler = COMPILER.read_bytes() if COMPILER.is_file() else b""
        base = pyodide_build_id(pyodide_dir).encode() + hashlib.sha256(compiler).digest()
        self.stdlib_path = cache_dir / f"stdlib-{digest(base + self._stdlib_source.read_bytes())}.zip"
        self.wheel_pyc_path = cache_dir / f"wheel-{digest(base + wheel_data)}.zip"
        self.thread: threading.Thread | None = None

    def stdlib(self) -> Path | None:
        return self.stdlib_path if self.stdlib_path.is_file() else None

    def wheel_pyc(self) -> Path | None:
        return self.wheel_pyc_path if self.wheel_pyc_path.is_file() else None

    def missing_jobs(self) -> list[CompileJob]:
        jobs = []
        if self.stdlib() is None:
            jobs.append(CompileJob(self._stdlib_source.read_bytes(), self.stdlib_path,
                                   "zipimport", STDLIB_PREFIX))
        if self.wheel_pyc() is None:
            jobs.append(CompileJob(self._wheel_data, self.wheel_pyc_path, "pycache",
                                   SITE_PACKAGES_PREFIX))
        return jobs

    def build(self) -> bool:
        """Compile what is missing; True when both archives exist afterwards.

        Never raises: a failure is logged and the page keeps the plain files.
        """
        if not self.missing_jobs():
            return True
        if self.node is None or not COMPILER.is_file():
            log.warning("no .pyc for Pyodide: %s; the page compiles Python at start-up",
                        "`node` is not on PATH" if self.node is None else f"{COMPILER} is missing")
            return False
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cache_dir / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another process is compiling .pyc in %s; not starting a second",
                         self.cache_dir)
                return False
            jobs = self.missing_jobs()  # another process may have finished meanwhile
            if jobs:
                try:
                    self._run_compiler(jobs)
                except (OSError, subprocess.SubprocessError, ValueError) as error:
                    log.warning("compiling .pyc for Pyodide failed (the page falls back to "
                                "the plain files): %s", error)
                    return False
        return not self.missing_jobs()

    def start_build(self) -> None:
        if self.missing_jobs() and self.thread is None:
            self.thread = threading.Thread(target=self.build, daemon=True, name="pyc-build")
            self.thread.start()

    def _run_compiler(self, jobs: list[CompileJob]) -> None:
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".build-") as scratch:
            specs = []
            for index, job in enumerate(jobs):
                source = Path(scratch) / f"source-{index}.zip"
                source.write_bytes(job.source)
                specs.append({"input": str(source), "output": str(Path(scratch) / f"out-{index}.zip"),
                              "layout": job.layout, "prefix": job.prefix})
            jobs_file = Path(scratch) / "jobs.json"
            jobs_file.write_text(json.dumps(specs), "utf-8")
            done = subprocess.run([self.node, str(COMPILER), str(self.pyodide_dir), str(jobs_file)],
                                  capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
                                  check=False)
            if done.returncode != 0:
                raise ValueError(f"{COMPILER.name} exited with {done.returncode}: "
                                 f"{done.stderr.strip()[-2000:]}")
            report = json.loads(done.stdout.strip().splitlines()[-1])
            for spec, job in zip(specs, jobs):
                os.replace(spec["output"], job.output)
            log.info("compiled .pyc for Pyodide (%s): %s", report["cache_tag"],
                     ", ".join(f"{job.output.name} {done['compiled']} modules"
                               for job, done in zip(jobs, report["jobs"])))


def main(argv: list[str]) -> int:
    """`python -m server.bytecode`: compile for the repository's Pyodide and wheel (set-up)."""
    from webgl_backend.wheel import build_runtime_wheel

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pyodide_dir = REPO_ROOT / "node_modules" / "pyodide"
    if not (pyodide_dir / STDLIB_NAME).is_file():
        print(f"server.bytecode: error: {pyodide_dir / STDLIB_NAME} is missing; run `npm install`",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        wheel = build_runtime_wheel(scratch).read_bytes()
    bytecode = Bytecode(pyodide_dir, wheel, Path(argv[0]) if argv else DEFAULT_CACHE_DIR)
    ok = bytecode.build()
    for path in (bytecode.stdlib(), bytecode.wheel_pyc()):
        if path is not None:
            print(path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
