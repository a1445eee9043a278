"""bench/browser.py section `training`: one SGD step at batch 32, ours `fit_batch` vs
TF.js `trainOnBatch`, interleaved (issue 6)."""

from __future__ import annotations

from bench.report import format_ms, median, row, spread
from bench.session import BIG_BATCH, BenchModel, BenchSession

TRAIN_BATCH = 32
TRAIN_LEARNING_RATE = 0.01
TRAIN_WARM_UP_STEPS = 2
TRAIN_GOAL = 0.7  # issue 6: training step ours / TF.js


def _bench_model_training(session: BenchSession, model: BenchModel) -> dict:
    """First step (compiles) and interleaved step times of one model, both sides."""
    page, args = session.page, session.args
    url = session.server.url + model.url_path
    first = page.call("trainFirst", url, TRAIN_BATCH, TRAIN_LEARNING_RATE)
    page.call("interleaveTrain", TRAIN_BATCH, TRAIN_WARM_UP_STEPS)
    steps = page.call("interleaveTrain", TRAIN_BATCH, args.train_steps)
    counts = page.call("trainCounts", TRAIN_BATCH)
    tensors_left = page.call("tfDispose")
    return {"model": model.name, "note": model.note, "first": first, "steps": steps,
            "counts": counts, "tfjs_tensors_left": tensors_left}


def _print_model_training(r: dict, steps: int) -> float:
    ours, tfjs = median(r["steps"]["ours"]), median(r["steps"]["tfjs"])
    ratio = ours / tfjs
    first, counts = r["first"], r["counts"]
    print(f"\n[{r['model']}] {r['note']}")
    print(row("", "ours", "tfjs webgl", "ours/tf"))
    print(row(f"training step b{TRAIN_BATCH}, median of {steps}", format_ms(ours), format_ms(tfjs),
              f"{ratio:.2f}", f"goal <= {TRAIN_GOAL}: "
              f"{'met' if ratio <= TRAIN_GOAL else 'missed'}"))
    print(row("  interquartile range, ms", spread(r["steps"]["ours"]),
              spread(r["steps"]["tfjs"])))
    print(row("first step (compiles included)", format_ms(first["ours"]["step_ms"]),
              format_ms(first["tfjs"]["step_ms"]),
              f"{first['ours']['step_ms'] / first['tfjs']['step_ms']:.2f}"))
    print(row("  load before it (fetch+upload)", format_ms(first["ours"]["load_ms"]),
              format_ms(first["tfjs"]["load_ms"])))
    ours_counts = counts["ours"]
    print(row("draws/GL calls per step", f"{ours_counts['draws']}/{ours_counts['gl_calls']}",
              f"{counts['tfjs']['draws']}/{counts['tfjs']['gl_calls']}"))
    print(f"  check: loss of the first step (same weights, same batch) ours "
          f"{first['ours']['loss']:.5f}, tfjs {first['tfjs']['loss']:.5f}")
    return ratio


def bench_training(session: BenchSession) -> None:
    """Issue 6: one SGD step at batch 32, ours `fit_batch` vs TF.js `trainOnBatch`."""
    session.set_images(BIG_BATCH)
    session.page.call("setLabels", [int(v) for v in session.labels[:BIG_BATCH]])
    print(f"\n== training: one SGD step (lr {TRAIN_LEARNING_RATE}), batch {TRAIN_BATCH}, ours "
          f"fit_batch vs TF.js {session.page.facts['tfjs_version']} webgl trainOnBatch "
          f"(categorical cross-entropy); each step uploads its batch and reads the loss "
          f"back; steps alternate ours / TF.js after {TRAIN_WARM_UP_STEPS} warm-up steps ==")
    summary = {}
    for model in session.models.values():
        result = _bench_model_training(session, model)
        summary[model.name] = _print_model_training(result, session.args.train_steps)
        if result["tfjs_tensors_left"]:
            session.notes.append(f"training {model.name}: TF.js kept "
                                 f"{result['tfjs_tensors_left']} tensors after dispose")
    print(f"\n  training step ratio ours/TF.js (goal <= {TRAIN_GOAL}): " +
          ", ".join(f"{name} {ratio:.2f}" for name, ratio in summary.items()))
