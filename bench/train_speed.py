"""Seconds per epoch of our numpy trainer against the same models in PyTorch, as ratios.

    .venv/bin/python bench/train_speed.py [--images 12000] [--repeats 3] [--arch mlp cnn]
                                          [--threads 2 1]

For each thread count and architecture: builds our model and the same layers in torch (it
is never a project dependency: `pip install torch==2.13.0` takes a CPU build) with the same
optimizer settings, then alternates one pass of `--images` training images through each,
`--repeats` times, so a busy neighbour slows both alike. Prints per model the median wall
seconds per full 60,000-image epoch (extrapolated), the ratio ours/torch and its goal, and
the median CPU seconds of the same passes (process time: with one thread it is the work
done, whatever the neighbours do; with more it includes BLAS threads spinning). Then the
numpy/BLAS configuration (threadpoolctl), what `--augment` adds to an epoch (our
augmentation of the same images, batch 100; torch is given none) and the process's peak
resident memory.
Goals (issue 15): cnn <= 1.2 (1.5 the floor), mlp <= 1.0, peak RSS < 1 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from model_export.architectures import ARCHITECTURES
from model_export.data import augment, load_split
from model_export.train import TrainConfig, build_model, build_optimizer

EPOCH_IMAGES = 60_000
GOALS = {"mlp": 1.0, "cnn": 1.2}
Pass = Callable[[np.ndarray, np.ndarray], None]


def ours_pass(arch: str) -> Pass:
    config = TrainConfig(arch=arch).resolved()
    model, optimizer = build_model(config), build_optimizer(config)
    batch = config.batch_size

    def run(x: np.ndarray, y: np.ndarray) -> None:
        for start in range(0, len(x), batch):
            model.train_step_gradients(x[start:start + batch], y[start:start + batch])
            optimizer.apply(model.parameters(), model.gradients())

    return run


def torch_model(arch: str):
    from torch import nn

    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(512, 10))
    # TF's `same` padding by hand (extra row/column at the bottom/right). Run channels_last:
    # on this CPU it is the fastest torch layout we found (about 1.5x NCHW for this CNN).
    return nn.Sequential(
        nn.ZeroPad2d((2, 3, 2, 3)), nn.Conv2d(1, 6, 6), nn.ReLU(),
        nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(6, 12, 5, stride=2), nn.ReLU(),
        nn.ZeroPad2d((1, 1, 1, 1)), nn.Conv2d(12, 24, 4, stride=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(24 * 7 * 7, 200), nn.ReLU(), nn.Dropout(0.25), nn.Linear(200, 10),
    )


def torch_pass(arch: str) -> Pass:
    import torch

    config = TrainConfig(arch=arch).resolved()
    model = torch_model(arch).to(memory_format=torch.channels_last)
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=1e-7)
    else:
        optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate, alpha=0.9,
                                        eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    batch = config.batch_size

    def run(x: np.ndarray, y: np.ndarray) -> None:
        # NHWC memory seen as NCHW: exactly torch's channels_last layout, no copy needed.
        inputs, labels = torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(y)
        for start in range(0, len(x), batch):
            optimizer.zero_grad()
            loss = loss_fn(model(inputs[start:start + batch]), labels[start:start + batch])
            loss.backward()
            optimizer.step()

    return run


def timed(run: Pass, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one pass."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(x, y)
    return time.perf_counter() - wall, time.process_time() - cpu


def blas_configuration() -> str:
    pools = [f"{p['internal_api']} {p.get('version')} ({p['user_api']}): "
             f"{p['num_threads']} threads, core type {p.get('architecture')}"
             for p in threadpool_info()]
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                      "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
           if k in os.environ}
    return (f"numpy {np.__version__}; " + "; ".join(pools)
            + f"; environment {env or 'without OPENBLAS_*/OMP_* overrides'}")


def compare(arch: str, threads: int, x: np.ndarray, y: np.ndarray, repeats: int,
            have_torch: bool) -> None:
    if have_torch:
        import torch
        torch.set_num_threads(threads)
    with threadpool_limits(threads):
        runs = {"ours": ours_pass(arch)}
        if have_torch:
            runs["torch"] = torch_pass(arch)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                samples[name].append(timed(run, x, y))
    scale = EPOCH_IMAGES / len(x)
    wall = {name: statistics.median(w for w, _ in s) * scale for name, s in samples.items()}
    cpu = {name: statistics.median(c for _, c in s) * scale for name, s in samples.items()}
    line = f"{arch} {threads} thread{'s' if threads > 1 else ''}: ours {wall['ours']:6.2f} s/epoch"
    if have_torch:
        ratio = wall["ours"] / wall["torch"]
        line += (f"   torch {wall['torch']:6.2f}   ratio {ratio:.2f} (goal <= {GOALS[arch]})"
                 f"   |  CPU s/epoch ours {cpu['ours']:6.2f} torch {cpu['torch']:6.2f}"
                 f" ratio {cpu['ours'] / cpu['torch']:.2f}")
    print(line, flush=True)


def augment_seconds(x: np.ndarray, repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds per 60,000-image epoch of `--augment`, batch 100, median."""
    rng = np.random.default_rng(0)

    def run(images: np.ndarray, _labels: np.ndarray) -> None:
        for start in range(0, len(images), 100):
            augment(images[start:start + 100], rng)

    samples = [timed(run, x, x) for _ in range(repeats)]
    scale = EPOCH_IMAGES / len(x)
    return (statistics.median(w for w, _ in samples) * scale,
            statistics.median(c for _, c in samples) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arch", nargs="+", default=["mlp", "cnn"], choices=sorted(ARCHITECTURES))
    parser.add_argument("--threads", nargs="+", type=int, default=[2, 1],
                        help="BLAS / torch thread counts to compare at (default: 2 1)")
    args = parser.parse_args()
    train = load_split("train")
    x, y = train.x[:args.images], train.y[:args.images]
    try:
        import torch
        torch.manual_seed(0)
        have_torch = True
        print(f"torch {torch.__version__}")
    except ImportError:
        have_torch = False
        print("torch not importable: printing our times only (pip install torch==2.13.0)")
    print(blas_configuration())
    print(f"median of {args.repeats} passes of {len(x)} images each, interleaved, "
          f"scaled to {EPOCH_IMAGES:,} images")
    for threads in args.threads:
        for arch in args.arch:
            compare(arch, threads, x, y, args.repeats, have_torch)
    wall, cpu = augment_seconds(x, args.repeats)
    print(f"--augment adds {wall:.2f} s/epoch (CPU {cpu:.2f} s), 1 thread (numpy only)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MB (goal < 1024)")


if __name__ == "__main__":
    main()
