"""Where a training step from scratch spends its time, per draw (a profile, not a ratio).

    .venv/bin/python -m bench.scratch_profile [--models mlp5_relu,cnn] [--steps 5] [--batch 100]

One Pyodide page (the tests' harness page, the runtime wheel built from this tree) runs a
ScratchSession on MNIST (Adam 0.003). After warm-up steps, each profiled step replays the
step plan draw by draw with `gl.finish()` after every draw (SwiftShader has no timer
queries) each draw is followed by a one-texel readback of its output (gl.finish() returns
at once in Chromium), so each row is the draw's own work plus a fixed round trip, which a
readback after no draw measures. Printed per draw label: median ms over the
steps, and the sums per kind (program name), then a plain step's time (no finishes).
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.report import median

PROFILE = """
import time
from webgl_backend.scratch import ScratchSession
from webgl_backend.tensor import GpuTensor
_tuner = SCRATCH.page.tuner
_tuner.configure_training(optimizer='adam', learning_rate=0.003, seed=1, dropout=True)
_rows = list(range({batch}))
_labels = SCRATCH.train_images.images.label_values(_rows)
_write = lambda tensor: SCRATCH.train_images.write(tensor, _rows)
for _ in range(3):
    _tuner.fit_gathered(_write, _labels, {batch})
_plain = []
for _ in range({steps}):
    _t = time.perf_counter()
    _tuner.fit_gathered(_write, _labels, {batch})
    _plain.append(1000 * (time.perf_counter() - _t))
_plan = _tuner._plan({batch})
_per_draw = {{}}
_probe = GpuTensor.empty(CTX, (4,))
for _ in range({steps}):
    _t = time.perf_counter()
    CTX.read(_probe.texture, 1)
    _per_draw.setdefault("zzz sync of nothing (the round trip in every row)", []).append(
        1000 * (time.perf_counter() - _t))
    CTX.read(_plan.loss.texture, 1)
    for _i, _step in enumerate(_plan.draws):
        _t = time.perf_counter()
        CTX.draw(_step.compiled, [t.texture for t in _step.inputs], _step.target())
        CTX.read((_step.parts or [_step.output])[0].texture, 1)
        _label = getattr(_step, 'label', None) or _step.compiled.program.name
        _per_draw.setdefault(f"{{_i:03d}} {{_label}} [{{_step.compiled.program.name}}]", []).append(
            1000 * (time.perf_counter() - _t))
    _t = time.perf_counter()
    _plan.loss.read()
    _per_draw.setdefault("zzz loss readback", []).append(1000 * (time.perf_counter() - _t))
    _t = time.perf_counter()
    _tuner.last_logits()
    _per_draw.setdefault("zzz logits readback", []).append(1000 * (time.perf_counter() - _t))
    for _p in _tuner._parameters:
        _p.swap()
_probe.dispose()
{{'plain': _plain, 'per_draw': _per_draw, 'draws': len(_plan.draws)}}
"""


def profile(page, arch: str, batch: int, steps: int) -> dict:
    page.run(f"SCRATCH.create({arch!r}, seed=0, dropout=None)")
    return page.run(PROFILE.format(batch=batch, steps=steps))


def report(arch: str, result: dict) -> None:
    per_draw = {label: median(times) for label, times in result["per_draw"].items()}
    total = sum(per_draw.values())
    print(f"\n== {arch}: {result['draws']} draws per step; plain step median "
          f"{median(result['plain']):.1f} ms; finished draw by draw {total:.1f} ms ==")
    for label, ms in sorted(per_draw.items()):
        print(f"  {ms:8.2f} ms  {label}")
    kinds: dict[str, float] = {}
    for label, ms in per_draw.items():
        kind = label.rsplit("[", 1)[-1].rstrip("]") if "[" in label else label
        kinds[kind] = kinds.get(kind, 0.0) + ms
    print("  -- by program --")
    for kind, ms in sorted(kinds.items(), key=lambda item: -item[1]):
        print(f"  {ms:8.2f} ms  {100 * ms / total:5.1f}%  {kind}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp5_relu,cnn")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--json", help="also write the raw times to this file")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from tests.browser.pyodide import PyodidePage
    from tests.browser.scratch_support import load_data
    from server.headless_chromium import CHROMIUM_ARGS
    from tests.conftest import CHROMIUM
    from tests.support.static_server import StaticServer
    from tests.conftest import REPO_ROOT

    server = StaticServer(REPO_ROOT)
    results = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = PyodidePage(browser, server)
            page.page.set_default_timeout(1_800_000)
            load_data(page, server, 1000, 100)
            for arch in [name.strip() for name in args.models.split(",") if name.strip()]:
                results[arch] = profile(page, arch, args.batch, args.steps)
                report(arch, results[arch])
            browser.close()
    finally:
        server.close()
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(results, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
