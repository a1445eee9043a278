"""What every section of bench/browser.py shares: the models and images it measures, the
bench page (bench/pages/bench.html: Pyodide + our wheel + TF.js side by side) and the
session object handed to each section."""

from __future__ import annotations

import argparse
import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.support.static_server import StaticServer

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGE_PATH = "bench/pages/bench.html"
CACHE_DIR = REPO_ROOT / ".cache" / "bench"
WHEEL_DIR = REPO_ROOT / "build" / "bench_wheels"
PAGE_TIMEOUT_MS = 300_000
NUM_CLASSES = 10
BIG_BATCH = 256


# -- models and data -------------------------------------------------------------------

@dataclass(frozen=True)
class BenchModel:
    name: str
    folder: Path
    note: str

    @property
    def url_path(self) -> str:
        return "/" + self.folder.relative_to(REPO_ROOT).as_posix()


def _export_random(name: str, build_layers) -> Path:
    """Export a seeded random-init model into .cache/bench/<name>/ (fine for timing)."""
    from model_export.architectures import MNIST_INPUT_SHAPE
    from model_export.export import export_model
    from model_export.model import Sequential

    folder = CACHE_DIR / name
    if not (folder / "model.json").is_file():
        export_model(Sequential(build_layers(), MNIST_INPUT_SHAPE, seed=0), folder)
    return folder


def prepare_models(names: list[str]) -> dict[str, BenchModel]:
    """cnn: models/default (the shipped CNN); mlp: 784-512-10, random init, exported here."""
    from model_export.architectures import cnn_layers, mlp_layers

    models = {}
    for name in names:
        if name == "cnn":
            folder = REPO_ROOT / "models" / "default"
            note = "models/default, trained CNN"
            if not (folder / "model.json").is_file():
                folder = _export_random("cnn", cnn_layers)
                note = "models/default missing: random-init CNN in .cache/bench/cnn"
        elif name == "mlp":
            folder = _export_random("mlp", mlp_layers)
            note = "784-512-10 MLP, random init, .cache/bench/mlp"
        else:
            raise ValueError(f"--models: unknown model '{name}'. Expected cnn and/or mlp.")
        models[name] = BenchModel(name, folder, note)
    return models


def load_images(count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(count, 28, 28, 1) float32 images and (count,) int labels: MNIST test images, or
    seeded noise with seeded labels without MNIST."""
    from model_export.data import DataError, load_split

    try:
        split = load_split("test")
        return (np.ascontiguousarray(split.x[:count]), np.asarray(split.y[:count], np.int32),
                "MNIST test images")
    except (DataError, OSError) as error:
        rng = np.random.default_rng(0)
        noise = rng.random((count, 28, 28, 1), dtype=np.float32)
        labels = rng.integers(0, NUM_CLASSES, count, dtype=np.int32)
        return noise, labels, f"random images (MNIST not loaded: {error})"



class BenchPage:
    """bench/pages/bench.html loaded in a fresh context: Pyodide + our wheel + TF.js."""

    def __init__(self, browser, server: StaticServer) -> None:
        from webgl_backend.wheel import build_runtime_wheel

        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        self.page.set_default_timeout(PAGE_TIMEOUT_MS)
        self.page.goto(f"{server.url}/{PAGE_PATH}")
        self.pyodide_load_ms = self.page.evaluate("() => window.benchReady")
        wheel = build_runtime_wheel(WHEEL_DIR)
        self.facts = self.call("setup", f"/{wheel.relative_to(REPO_ROOT).as_posix()}")

    def call(self, name: str, *args):
        """await window.bench[name](...args) in the page; the browser console on failure."""
        mark = len(self.console)
        try:
            return self.page.evaluate(f"(args) => window.bench.{name}(...args)", list(args))
        except Exception as error:  # playwright.Error carries the JS/Python traceback
            console = "\n".join(self.console[mark:][-40:])
            raise RuntimeError(f"bench.{name}: {error}\n--- browser console ---\n"
                               f"{console}") from None

    def python(self, code: str):
        """Run Python in the page's Pyodide; its last expression (JSON text) decoded."""
        text = self.call("python", code)
        return json.loads(text) if isinstance(text, str) else text

    def close(self) -> None:
        self.context.close()


@dataclass
class BenchSession:
    """What every section gets: the args, the loaded page, the models and the images."""

    args: argparse.Namespace
    browser: object
    server: StaticServer
    launch_args: list[str]
    page: BenchPage
    models: dict[str, BenchModel]
    images: np.ndarray
    labels: np.ndarray
    notes: list[str] = field(default_factory=list)

    def set_images(self, count: int) -> None:
        """Hand the first `count` images to the page (both sides read the same array)."""
        images = self.images[:count]
        encoded = base64.b64encode(images.astype(np.float32).tobytes()).decode("ascii")
        self.page.call("setImages", encoded, len(images), int(np.prod(images.shape[1:])),
                       NUM_CLASSES)

