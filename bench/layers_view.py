"""The "Layers" view's cost per refresh next to a plain forward, on the real drawing page.

    .venv/bin/python -m bench.layers_view [--runs 30] [--executable /usr/bin/chromium]
    .venv/bin/python -m bench.browser --sections layers       # the same, as a section

The page (server.main.create_app under uvicorn, models/default) is loaded, a 7 is drawn,
then the page's own model (the public module's Model app.js loaded) is called with the
drawing's 28x28 image, interleaved run by run: `predict` (what a refresh costs with the
view closed) and `layerMaps` (with it open:
the same forward with a finish after each layer, one gather draw of every output into
one texture and its one readback), the latter also drawn into a detached
LayersView (the canvases a person sees). Round trips are timed in the page with
performance.now(); medians are printed with the ratio layers / predict (issue 12: a
refresh with the view open costs at most 2x a forward at batch 1).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.report import format_ms, median, row
from tests.e2e.digits import DIGITS, PLACES, place
from tests.support.live_server import app_serving, live_server
from tests.support.page_driver import DrawingPage, draw

REPO_ROOT = Path(__file__).resolve().parents[1]
GOAL = 2.0
WARM_UP_RUNS = 3
# Interleaved round trips from the page to its worker; the image is the pad's 28x28 preview.
MEASURE = """async (runs) => {
  const config = JSON.parse(document.getElementById('shadernet-config').textContent);
  const model = await (await import(new URL('app.js', new URL(config.static_url, location.href)).href)).firstModel;
  const { LayersView } = await import(new URL('layers_view.js', new URL(config.static_url, location.href)).href);
  const preview = document.querySelector('[data-testid=input-preview]').getContext('2d');
  const rgba = preview.getImageData(0, 0, 28, 28).data;
  const image = Float32Array.from({length: 784}, (_, i) => rgba[4 * i] / 255);
  const panel = document.createElement('details');
  const view = new LayersView(panel, document.createElement('div'), () => {});
  const samples = {predict: [], layers: [], layers_shown: [], predict_worker: [], layers_worker: []};
  for (let run = 0; run < runs; run++) {
    let t = performance.now();
    await model.predict(image, 1);
    samples.predict.push(performance.now() - t);
    const plain = model.lastRun;
    samples.predict_worker.push(plain.ms);
    t = performance.now();
    const open = await model.layerMaps(image);
    samples.layers.push(performance.now() - t);
    view.show(open);
    samples.layers_shown.push(performance.now() - t);
    samples.layers_worker.push(open.ms);
    samples.draws = [plain.forward.draws, open.forward.draws];
  }
  window.shadernetLayers = null;
  return samples;
}"""


def measure_layers(browser, runs: int) -> dict:
    """Samples (ms) of predict vs layers round trips on the real page, default model."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-layers-"))
    app = app_serving(REPO_ROOT / "models" / "default", scratch)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        with live_server(app) as url:
            page = context.new_page()
            page.set_default_timeout(120_000)
            drawing = DrawingPage(page, url + "/")
            draw(page, place(DIGITS[7], *PLACES["centre-large"]))
            drawing.wait_settled()
            page.evaluate(MEASURE, WARM_UP_RUNS)
            return page.evaluate(MEASURE, runs)
    finally:
        context.close()
        shutil.rmtree(scratch, ignore_errors=True)


def print_layers(samples: dict, runs: int) -> None:
    plain, shown = median(samples["predict"]), median(samples["layers_shown"])
    ratio = shown / plain
    print(f"\n[layers view] models/default, batch 1, medians of {runs} interleaved round trips "
          f"page -> worker -> page (draws per forward: closed {samples['draws'][0]}, "
          f"open {samples['draws'][1]})")
    print(row("", "ms", "in worker", "/ predict"))
    print(row("predict (view closed)", format_ms(plain),
              format_ms(median(samples["predict_worker"])), "1.00"))
    print(row("layers (view open)", format_ms(median(samples["layers"])),
              format_ms(median(samples["layers_worker"])),
              f"{median(samples['layers']) / plain:.2f}"))
    print(row("layers + drawing the panel", format_ms(shown), "",
              f"{ratio:.2f}", f"goal <= {GOAL}: {'met' if ratio <= GOAL else 'missed'}"))


def bench_layers(session) -> None:
    """bench/browser.py section `layers`."""
    print_layers(measure_layers(session.browser, session.args.runs), session.args.runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--executable", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from server.headless_chromium import CHROMIUM_ARGS
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.executable, args=CHROMIUM_ARGS)
        try:
            print_layers(measure_layers(browser, args.runs), args.runs)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
