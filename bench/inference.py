"""bench/browser.py section `inference`: ours vs TF.js webgl per model: load -> first
prediction, batch-1 latency, batch-256 time, draws / GL calls / programs (issue 5)."""

from __future__ import annotations

from bench.report import draw_counts, format_ms, median, row, spread
from bench.session import BIG_BATCH, BenchModel, BenchSession

WARM_UP_RUNS = 5
# Goals of issue 5, as ratios ours / TF.js webgl in one run (lower is better).
GOALS = {"first": 0.5, "batch1": 0.5, "batch256": 1.0}


def _goal(ratio: float, key: str) -> str:
    goal = GOALS[key]
    return f"goal <= {goal}: {'met' if ratio <= goal else 'missed'}"


def _bench_model_inference(session: BenchSession, model: BenchModel) -> dict:
    """All inference figures of one model (raw samples in, medians out)."""
    page, args = session.page, session.args
    url = session.server.url + model.url_path
    result = {"model": model.name, "note": model.note}
    result["ours_first"] = page.call("oursFirst", url)
    result["tfjs_first"] = page.call("tfFirst", url)
    page.call("interleave", 1, WARM_UP_RUNS)
    batch1 = page.call("interleave", 1, args.runs)
    result["batch1"] = batch1
    result["counts1"] = page.call("counts", 1)
    # The first batch-256 call compiles that batch size's programs on both sides.
    first_big = page.call("interleave", BIG_BATCH, 1)
    result["first_big"] = {side: samples[0] for side, samples in first_big.items()}
    result["big"] = page.call("interleave", BIG_BATCH, args.batch_runs)
    result["counts_big"] = page.call("counts", BIG_BATCH)
    result["agreement"] = page.call("agreement", BIG_BATCH)
    result["tfjs_tensors_left"] = page.call("tfDispose")
    if not args.no_wasm:
        result["wasm"] = page.call("wasmLatency", url, WARM_UP_RUNS, args.runs)
    return result


def _print_model_inference(r: dict, runs: int, batch_runs: int) -> dict[str, float]:
    ours_first, tfjs_first = r["ours_first"], r["tfjs_first"]
    b1_ours, b1_tfjs = median(r["batch1"]["ours"]), median(r["batch1"]["tfjs"])
    big_ours, big_tfjs = median(r["big"]["ours"]), median(r["big"]["tfjs"])
    ratios = {"first": ours_first["total_ms"] / tfjs_first["total_ms"],
              "batch1": b1_ours / b1_tfjs, "batch256": big_ours / big_tfjs}
    print(f"\n[{r['model']}] {r['note']}")
    print(row("", "ours", "tfjs webgl", "ours/tf"))
    print(row("load -> first prediction (b1)", format_ms(ours_first["total_ms"]),
              format_ms(tfjs_first["total_ms"]), f"{ratios['first']:.2f}", _goal(ratios["first"],
                                                                                "first")))
    print(row("  fetch+upload (+ours: compile)", format_ms(ours_first["load_ms"]),
              format_ms(tfjs_first["load_ms"])))
    print(row("  first predict", format_ms(ours_first["predict_ms"]),
              format_ms(tfjs_first["predict_ms"])))
    print(row(f"batch-1 latency, median of {runs}", format_ms(b1_ours), format_ms(b1_tfjs),
              f"{ratios['batch1']:.2f}", _goal(ratios["batch1"], "batch1")))
    print(row("  interquartile range, ms", spread(r["batch1"]["ours"]),
              spread(r["batch1"]["tfjs"])))
    print(row(f"batch-{BIG_BATCH} time, median of {batch_runs}", format_ms(big_ours), format_ms(big_tfjs),
              f"{ratios['batch256']:.2f}", _goal(ratios["batch256"], "batch256")))
    ours_ips, tfjs_ips = 1000 * BIG_BATCH / big_ours, 1000 * BIG_BATCH / big_tfjs
    print(row(f"batch-{BIG_BATCH} images/s", f"{ours_ips:.0f}", f"{tfjs_ips:.0f}",
              f"{ours_ips / tfjs_ips:.2f}", "higher is better"))
    print(row(f"first batch-{BIG_BATCH} (compiles)", format_ms(r["first_big"]["ours"]),
              format_ms(r["first_big"]["tfjs"])))
    print(row("draws/GL calls/programs, b1", draw_counts(r["counts1"]["ours"]),
              draw_counts(r["counts1"]["tfjs"])))
    print(row(f"draws/GL calls/programs, b{BIG_BATCH}", draw_counts(r["counts_big"]["ours"]),
              draw_counts(r["counts_big"]["tfjs"])))
    if "wasm" in r:
        wasm = r["wasm"]
        print(row("tfjs wasm batch-1 latency", "", format_ms(median(wasm["samples"])), "",
                   f"first {format_ms(wasm['first_ms'])}; context only"))
    agreement = r["agreement"]
    print(f"  check: batch {agreement['n']}, max |ours - tfjs| probability "
          f"{agreement['max_abs_diff']:.2e}, same argmax {agreement['same_argmax']}/"
          f"{agreement['n']}")
    return ratios


def bench_inference(session: BenchSession) -> None:
    """Issue 5: ours vs TF.js webgl inference, per model (see the module docstring)."""
    session.set_images(BIG_BATCH)
    print(f"\n== inference: ours (Pyodide + webgl_backend) vs TF.js "
          f"{session.page.facts['tfjs_version']} webgl; times from performance.now() in "
          f"the page, ours and TF.js alternating ==")
    summary = {}
    for model in session.models.values():
        result = _bench_model_inference(session, model)
        summary[model.name] = _print_model_inference(result, session.args.runs,
                                                     session.args.batch_runs)
        if result["tfjs_tensors_left"]:
            session.notes.append(f"{model.name}: TF.js kept {result['tfjs_tensors_left']} "
                                 "tensors after dispose")
    print(f"\n  ratios ours/TF.js (lower is better; goals: first <= {GOALS['first']}, "
          f"b1 <= {GOALS['batch1']}, b{BIG_BATCH} <= {GOALS['batch256']})")
    print(f"  {'model':<8}{'first':>8}{'b1':>8}{f'b{BIG_BATCH}':>8}")
    for name, ratios in summary.items():
        print(f"  {name:<8}{ratios['first']:>8.2f}{ratios['batch1']:>8.2f}"
              f"{ratios['batch256']:>8.2f}")
