"""Time forward + backward of the three CNN conv layers at batch 100 (float32).

Usage: .venv/bin/python bench/conv_speed.py [--runs 30] [--batch 100] [--torch] [--threads N]
                                            [--cpu]

Prints median ms per layer: forward (keeping the tiled windows, as the layer
does), backward (kernel, bias and input gradients; conv1 skips dx as a trainer
does for its first layer) and their sum. With --torch, and torch importable
(it is no project dependency: e.g. `pip install --target /tmp/torchlib torch`
then PYTHONPATH=/tmp/torchlib), also times torch.nn.functional.conv2d on the same
shapes, interleaved run by run with ours so a busy neighbour on the shared cores
skews both alike, and prints the ratio ours / torch. `--threads` sets the BLAS and torch
thread count (default 2); `--cpu` times the calling thread's CPU time instead of the wall
clock, which on a crowded machine measures the work itself (meaningful with --threads 1).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np

from threadpoolctl import threadpool_limits

from model_export.nn.conv import conv2d_backward_cols, conv2d_forward_cols, conv2d_geometry
from model_export.nn.conv_tiles import choose_tile
from model_export.nn.geometry import window_axis
from model_export.nn.workspace import keep_freed_memory

# (name, input (h, w, cin), kernel size, filters, stride, padding, needs dx)
LAYERS = [
    ("conv1 28x28x1 k6 s1 same -> 6", (28, 28, 1), 6, 6, 1, "same", False),
    ("conv2 28x28x6 k5 s2 same -> 12", (28, 28, 6), 5, 12, 2, "same", True),
    ("conv3 14x14x12 k4 s2 same -> 24", (14, 14, 12), 4, 24, 2, "same", True),
]

Step = Callable[[], tuple[float, float]]  # one forward + backward -> (fwd s, bwd s)
clock = time.perf_counter


def numpy_step(batch: int, layer: tuple) -> Step:
    _, (h, w, cin), k, cout, s, padding, need_dx = layer
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, h, w, cin), dtype=np.float32)
    kernel = rng.standard_normal((k, k, cin, cout), dtype=np.float32)
    bias = np.zeros(cout, np.float32)
    kept: dict = {}

    def step() -> tuple[float, float]:
        t0 = clock()
        # As the layer does: the previous step's window matrix is overwritten.
        y, kept["cache"] = conv2d_forward_cols(x, kernel, bias, (s, s), padding,
                                               reuse=kept.get("cache"))
        t1 = clock()
        conv2d_backward_cols(y, kept["cache"], x.shape, kernel, (s, s), padding,
                             need_dx=need_dx)
        return t1 - t0, clock() - t1

    return step


def numpy_tile(layer: tuple) -> tuple[int, int]:
    _, (h, w, cin), k, cout, s, padding, _ = layer
    g = conv2d_geometry((1, h, w, cin), (k, k, cin, cout), (s, s), padding)
    return choose_tile((k, k, cin, cout), (s, s), g)


def torch_step(batch: int, layer: tuple) -> Step:
    import torch
    import torch.nn.functional as F

    _, (h, w, cin), k, cout, s, padding, need_dx = layer
    torch.manual_seed(0)
    x = torch.randn(batch, cin, h, w, requires_grad=need_dx)
    kernel = torch.randn(cout, cin, k, k, requires_grad=True)
    bias = torch.zeros(cout, requires_grad=True)
    rows, cols = window_axis(h, k, s, padding), window_axis(w, k, s, padding)
    pad = (cols.pad_before, cols.pad_after, rows.pad_before, rows.pad_after)

    def step() -> tuple[float, float]:
        t0 = clock()
        y = F.conv2d(F.pad(x, pad), kernel, bias, stride=s)
        t1 = clock()
        y.backward(y.detach())
        return t1 - t0, clock() - t1

    return step


def median_ms(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return (statistics.median(f for f, _ in samples) * 1e3,
            statistics.median(b for _, b in samples) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--torch", action="store_true", help="also time PyTorch CPU")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cpu", action="store_true", help="time thread CPU, not the wall clock")
    args = parser.parse_args()
    global clock
    clock = time.thread_time if args.cpu else time.perf_counter
    keep_freed_memory()  # as a training step does
    with threadpool_limits(args.threads):
        run(args)


def run(args: argparse.Namespace) -> None:
    with_torch = args.torch
    if with_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            print("torch not importable: timing numpy only")
            with_torch = False
    print(f"batch {args.batch}, {args.threads} threads, median {'CPU' if args.cpu else 'wall'} "
          f"time of {args.runs} runs after 3 warm-ups")
    totals = {"numpy": 0.0, "torch": 0.0}
    for layer in LAYERS:
        steps = {"numpy": numpy_step(args.batch, layer)}
        if with_torch:
            steps["torch"] = torch_step(args.batch, layer)
        samples: dict[str, list] = {name: [] for name in steps}
        for run in range(args.runs + 3):
            for name, step in steps.items():
                result = step()
                if run >= 3:
                    samples[name].append(result)
        print(f"{layer[0]}  (tiles of {'x'.join(map(str, numpy_tile(layer)))} output pixels)")
        for name in steps:
            f, b = median_ms(samples[name])
            totals[name] += f + b
            print(f"  {name:5s} forward {f:6.2f} ms  backward {b:6.2f} ms  total {f + b:6.2f} ms")
    print(f"all three: numpy {totals['numpy']:.2f} ms", end="")
    if with_torch:
        print(f", torch {totals['torch']:.2f} ms, ratio {totals['numpy'] / totals['torch']:.2f}")
    else:
        print()


if __name__ == "__main__":
    main()
