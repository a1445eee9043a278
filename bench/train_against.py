"""CPU seconds per training epoch of this checkout against another git revision, as ratios.

    .venv/bin/python bench/train_against.py REV [--images 6000] [--repeats 3]

Extracts REV's `model_export/` (git archive) into a temporary folder, then alternates
training passes of `--images` MNIST images through each tree in fresh processes (one BLAS
thread, each tree first on PYTHONPATH), `--repeats` times, for cnn, cnn with --augment and
mlp. Prints median CPU seconds per 60,000-image epoch and the ratio this / REV: on a
crowded machine a steadier figure than one against torch, whose CPU time moves more.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES = (("cnn", False), ("cnn", True), ("mlp", False))
PASS = r'''
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from model_export.data import augment, load_split
from model_export.train import TrainConfig, build_model, build_optimizer
arch, with_augment, images = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
config = TrainConfig(arch=arch).resolved()
model, optimizer = build_model(config), build_optimizer(config)
train = load_split("train")
x, y, batch, rng = train.x[:images], train.y[:images], config.batch_size, np.random.default_rng(0)
def run():
    for start in range(0, len(x), batch):
        inputs = x[start:start + batch]
        if with_augment:
            inputs = augment(inputs, rng)
        model.train_step_gradients(inputs, y[start:start + batch])
        optimizer.apply(model.parameters(), model.gradients())
with threadpool_limits(1):
    run()  # warm-up
    started = time.process_time()
    run()
    print(json.dumps((time.process_time() - started) * 60_000 / len(x)))
'''


def cpu_seconds(tree: Path, arch: str, with_augment: bool, images: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS="1",
               SHADERNET_CACHE_DIR=str(REPO / ".cache"))  # both trees read this MNIST
    done = subprocess.run([sys.executable, "-c", PASS, arch, "1" if with_augment else "0",
                           str(images)], env=env, capture_output=True, text=True, cwd=tree,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.revision, "model_export"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        samples: dict[tuple, list[float]] = {}
        for _ in range(args.repeats):
            for name, tree in (("theirs", base), ("ours", REPO)):
                for arch, with_augment in CASES:
                    samples.setdefault((arch, with_augment, name), []).append(
                        cpu_seconds(tree, arch, with_augment, args.images))
    print(f"CPU s per 60,000-image epoch, 1 BLAS thread, median of {args.repeats} interleaved "
          f"passes of {args.images} images")
    for arch, with_augment in CASES:
        theirs = statistics.median(samples[(arch, with_augment, "theirs")])
        ours = statistics.median(samples[(arch, with_augment, "ours")])
        label = arch + (" --augment" if with_augment else "")
        print(f"{label:14s} {args.revision}: {theirs:6.2f}  this checkout: {ours:6.2f}  "
              f"ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
