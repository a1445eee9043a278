"""Time forward + backward of the three CNN conv layers at batch 100 (float32).

Usage: .venv/bin/python bench/conv_speed.py [--runs 20] [--torch]
Prints median ms per layer for forward (with cached columns), backward (kernel,
bias and input gradients; the first layer skips dx as a trainer would) and both.
With --torch and torch installed, times torch.nn.functional.conv2d the same way,
back to back, because a busy neighbour on the shared cores skews any one figure.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from model_export.nn.conv import conv2d_backward_cols, conv2d_forward_cols

# (name, input (h, w, cin), kernel size, filters, stride, padding, needs dx)
LAYERS = [
    ("conv1 28x28x1 k6 s1 same -> 6", (28, 28, 1), 6, 6, 1, "same", False),
    ("conv2 28x28x6 k5 s2 same -> 12", (28, 28, 6), 5, 12, 2, "same", True),
    ("conv3 14x14x12 k4 s2 same -> 24", (14, 14, 12), 4, 24, 2, "same", True),
]


def time_numpy(batch: int, runs: int) -> list[tuple[str, float, float]]:
    rng = np.random.default_rng(0)
    results = []
    for name, (h, w, cin), k, cout, s, padding, need_dx in LAYERS:
        x = rng.standard_normal((batch, h, w, cin), dtype=np.float32)
        kernel = rng.standard_normal((k, k, cin, cout), dtype=np.float32)
        bias = np.zeros(cout, np.float32)
        fwd, bwd = [], []
        for _ in range(runs + 2):
            t0 = time.perf_counter()
            y, cols = conv2d_forward_cols(x, kernel, bias, (s, s), padding)
            t1 = time.perf_counter()
            conv2d_backward_cols(y, cols, x.shape, kernel, (s, s), padding, need_dx=need_dx)
            t2 = time.perf_counter()
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
        results.append((name, statistics.median(fwd[2:]) * 1e3, statistics.median(bwd[2:]) * 1e3))
    return results


def time_torch(batch: int, runs: int) -> list[tuple[str, float, float]] | None:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.manual_seed(0)
    results = []
    for name, (h, w, cin), k, cout, s, padding, need_dx in LAYERS:
        x = torch.randn(batch, cin, h, w, requires_grad=need_dx)
        kernel = torch.randn(cout, cin, k, k, requires_grad=True)
        bias = torch.zeros(cout, requires_grad=True)
        total = (s * (-(-h // s) - 1) + k - h)
        pad = (total // 2, total - total // 2, total // 2, total - total // 2)
        fwd, bwd = [], []
        for _ in range(runs + 2):
            t0 = time.perf_counter()
            y = F.conv2d(F.pad(x, pad), kernel, bias, stride=s)
            t1 = time.perf_counter()
            y.backward(y.detach())
            t2 = time.perf_counter()
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
        results.append((name, statistics.median(fwd[2:]) * 1e3, statistics.median(bwd[2:]) * 1e3))
    return results


def report(title: str, results: list[tuple[str, float, float]]) -> None:
    print(title)
    total = 0.0
    for name, f, b in results:
        total += f + b
        print(f"  {name:34s} forward {f:6.2f} ms  backward {b:6.2f} ms  total {f + b:6.2f} ms")
    print(f"  {'all three':34s} {'':34s}total {total:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--torch", action="store_true", help="also time PyTorch CPU if installed")
    args = parser.parse_args()
    report(f"numpy (batch {args.batch}, median of {args.runs})", time_numpy(args.batch, args.runs))
    if args.torch:
        torch_results = time_torch(args.batch, args.runs)
        if torch_results is None:
            print("torch not installed: skipped")
        else:
            report(f"torch (batch {args.batch}, median of {args.runs})", torch_results)


if __name__ == "__main__":
    main()
