"""Seconds per epoch of our numpy trainer, and of the same models in PyTorch when importable.

    .venv/bin/python bench/train_speed.py [--images 12000] [--repeats 3] [--arch mlp cnn]

For each architecture: builds our model and (if `import torch` works; it is never a project
dependency: `pip install torch==2.13.0` takes a CPU build) the same layers in torch with the
same optimizer settings, then alternates one pass of `--images` training images through each,
`--repeats` times, so a busy neighbour slows both alike. Prints the median seconds per full
60,000-image epoch (extrapolated from `--images`), the ratio ours/torch, and the process's peak
resident memory. Goal (issue 3): cnn ratio <= 1.5, peak RSS under 2 GB.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from model_export.architectures import ARCHITECTURES
from model_export.data import load_split
from model_export.train import TrainConfig, build_model, build_optimizer

EPOCH_IMAGES = 60_000


def time_ours(arch: str, x: np.ndarray, y: np.ndarray) -> float:
    config = TrainConfig(arch=arch).resolved()
    model, optimizer = build_model(config), build_optimizer(config)
    batch = config.batch_size
    started = time.perf_counter()
    for start in range(0, len(x), batch):
        model.train_step_gradients(x[start:start + batch], y[start:start + batch])
        optimizer.apply(model.parameters(), model.gradients())
    return time.perf_counter() - started


def torch_model(arch: str):
    import torch
    from torch import nn

    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(512, 10))
    # TF's `same` padding by hand (extra row/column at the bottom/right). Run channels_last:
    # on this CPU it is the fastest torch layout we found (12-13 s/epoch vs 19 s for NCHW).
    return nn.Sequential(
        nn.ZeroPad2d((2, 3, 2, 3)), nn.Conv2d(1, 6, 6), nn.ReLU(),
        nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(6, 12, 5, stride=2), nn.ReLU(),
        nn.ZeroPad2d((1, 1, 1, 1)), nn.Conv2d(12, 24, 4, stride=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(24 * 7 * 7, 200), nn.ReLU(), nn.Dropout(0.25), nn.Linear(200, 10),
    )


def time_torch(arch: str, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    config = TrainConfig(arch=arch).resolved()
    model = torch_model(arch).to(memory_format=torch.channels_last)
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=1e-7)
    else:
        optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate, alpha=0.9,
                                        eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    # NHWC memory seen as NCHW: exactly torch's channels_last layout, no copy needed.
    inputs = torch.from_numpy(x).permute(0, 3, 1, 2)
    labels = torch.from_numpy(y)
    batch = config.batch_size
    started = time.perf_counter()
    for start in range(0, len(x), batch):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs[start:start + batch]), labels[start:start + batch])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arch", nargs="+", default=["mlp", "cnn"], choices=sorted(ARCHITECTURES))
    args = parser.parse_args()
    train = load_split("train")
    x, y = train.x[:args.images], train.y[:args.images]
    try:
        import torch
        torch.manual_seed(0)
        have_torch = True
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        have_torch = False
        print("torch not importable: printing our times only (pip install torch==2.13.0)")
    scale = EPOCH_IMAGES / len(x)
    for arch in args.arch:
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(time_ours(arch, x, y) * scale)
            if have_torch:
                theirs.append(time_torch(arch, x, y) * scale)
        line = f"{arch}: ours {statistics.median(ours):6.2f} s/epoch"
        if have_torch:
            ratio = statistics.median(ours) / statistics.median(theirs)
            line += f"   torch {statistics.median(theirs):6.2f} s/epoch   ratio ours/torch {ratio:.2f}"
        print(line + f"   (median of {args.repeats}, {len(x)} images each, scaled to 60,000)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
