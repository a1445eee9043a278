"""Run the app under a real uvicorn on 127.0.0.1 at an ephemeral port: in a thread
(`live_server`), or as `shadernet serve` in its own process (`serve_process`), whose memory
can then be measured on its own."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


# What a converter-corpus folder holds besides the model: the oracle's inputs and outputs.
ORACLE_FILES = shutil.ignore_patterns("expected.json", "inputs.bin")


def app_serving(model_dir: Path | None, root: Path, **settings):
    """The app whose models, store and cache live under `root`, with a copy of `model_dir`
    (unless None) as its model `default`; `settings` override the other Settings fields."""
    from server.main import create_app
    from server.settings import Settings

    if model_dir is not None:
        shutil.copytree(model_dir, root / "models" / "default", ignore=ORACLE_FILES)
    return create_app(Settings(models_dir=root / "models", store_dir=root / "store",
                               cache_dir=root / "cache", **settings))


@contextlib.contextmanager
def live_server(app, start_timeout: float = 10.0, **uvicorn_options) -> Iterator[str]:
    """Yield the base URL (`http://127.0.0.1:PORT`) while the server runs; stop it after.

    uvicorn runs with the options `shadernet serve` gives it (`server.cli.uvicorn_options`),
    updated by `uvicorn_options`.
    """
    from server.cli import uvicorn_options as serve_options
    from server.loopback_server import LoopbackServer

    uvicorn_options = {**serve_options(), **uvicorn_options}
    with LoopbackServer(app, start_timeout, **uvicorn_options) as server:
        yield server.url


@contextlib.contextmanager
def serve_process(args: list[str], start_timeout: float = 60.0
                  ) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python -m server.cli --port <free> *args` in a child process; yields (URL, process)."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(os.devnull, "wb")
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "--port", str(port), *args],
                               cwd=Path(__file__).resolve().parents[2], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"shadernet serve exited with {process.returncode}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"shadernet serve did not answer within {start_timeout:g} s")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
