"""The search report in `--output`: what the study found, as files a person can open.

    tune.json         settings, space, every trial (state, options, validation figures), best
    best.json         the best trial's options, for `shadernet train --config best.json`
    history.png       validation accuracy of each trial in order, and the best so far
    params.png        each hyperparameter against validation accuracy; the range of the best
                      20% of trials (the seed's "narrowed range") shaded
    top_trials.png    a table of the best trials
    index.html        all of the above on one page, with the command that trains the best
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402

from model_export.tune.best_config import (best_options, flags_command,  # noqa: E402
                                           train_command, write_json_atomic)
from model_export.tune.progress import format_options, format_value  # noqa: E402
from model_export.tune.space import PARAMETERS  # noqa: E402

GOOD_FRACTION = 0.2
TOP_ROWS = 10
STATE_STYLE = {"complete": ("tab:blue", "o"), "pruned": ("tab:gray", "x")}


def write_tune_report(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Write every report file from `summary` (study, storage, settings, space, trials)."""
    trials = [t for t in summary["trials"] if t["state"] in STATE_STYLE]
    complete = sorted((t for t in trials if t["state"] == "complete"),
                      key=lambda t: (-t["val_accuracy"], t["number"]))
    settings = summary["settings"]
    best = complete[0] if complete else None
    report = {**summary, "best": None}
    if best is not None:
        options = best_options(settings["arch"], best["options"], settings["seed"],
                               settings["validation_fraction"])
        write_json_atomic(folder / "best.json", options)
        report["best"] = {"trial": best["number"], "val_accuracy": best["val_accuracy"],
                          "val_loss": best["val_loss"], "options": options,
                          "command": train_command(folder / "best.json", folder / "best"),
                          "flags": flags_command(options)}
        report["good_ranges"] = good_ranges(complete, summary["space"])
    write_json_atomic(folder / "tune.json", report)
    plot_history(trials, folder / "history.png")
    plot_params(trials, report.get("good_ranges", {}), summary["space"], folder / "params.png")
    plot_top_trials(complete[:TOP_ROWS], folder / "top_trials.png")
    _write_index(folder, report)
    return report


def good_ranges(complete: list[dict], space: dict) -> dict[str, Any]:
    """Per hyperparameter, where the best 20% of complete trials (at least one) lie:
    {"low", "high"} for a range, {"values"} for choices."""
    good = complete[:max(1, math.ceil(GOOD_FRACTION * len(complete)))]
    ranges: dict[str, Any] = {}
    for name in PARAMETERS:
        values = [t["params"][name] for t in good if name in t["params"]]
        if not values:
            continue
        if _is_choice(name, space.get(name)):
            ranges[name] = {"values": sorted(set(values), key=values.index)}
        else:
            ranges[name] = {"low": min(values), "high": max(values)}
    return ranges


def _is_choice(name: str, entry: Any) -> bool:
    return PARAMETERS[name].kind == "category" or (isinstance(entry, dict) and "choices" in entry)


def _accuracy(trial: dict) -> float | None:
    per_epoch = trial["val_accuracy_per_epoch"]
    return trial["val_accuracy"] if trial["val_accuracy"] is not None else (
        per_epoch[-1] if per_epoch else None)


def plot_history(trials: list[dict], path: Path) -> None:
    figure, axis = plt.subplots(figsize=(7, 4))
    for state, (color, marker) in STATE_STYLE.items():
        points = [(t["number"], _accuracy(t)) for t in trials
                  if t["state"] == state and _accuracy(t) is not None]
        if points:
            axis.scatter(*zip(*points), c=color, marker=marker, label=state, zorder=3)
    best_so_far, running = [], -math.inf
    for trial in sorted(trials, key=lambda t: t["number"]):
        if trial["state"] == "complete":
            running = max(running, trial["val_accuracy"])
            best_so_far.append((trial["number"], running))
    if best_so_far:
        axis.step(*zip(*best_so_far), where="post", color="tab:red", label="best so far")
    axis.set(xlabel="trial", ylabel="validation accuracy", title="Optimisation history")
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="lower right")
    else:
        axis.text(0.5, 0.5, "no finished trial yet", ha="center", va="center",
                  transform=axis.transAxes)
    _save(figure, path)


def plot_params(trials: list[dict], ranges: dict[str, Any], space: dict, path: Path) -> None:
    names = [n for n in PARAMETERS if any(n in t["params"] for t in trials)] or ["learning_rate"]
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.0 * rows),
                                squeeze=False)
    for axis, name in zip(axes.flat, names):
        _plot_param(axis, name, trials, ranges.get(name), space.get(name))
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    figure.suptitle(f"Hyperparameters vs validation accuracy (shaded: the best "
                    f"{int(GOOD_FRACTION * 100)}% of trials)")
    _save(figure, path)


def _plot_param(axis, name: str, trials: list[dict], good: Any, entry: Any) -> None:
    points = [(t["params"][name], _accuracy(t), t["state"]) for t in trials
              if name in t["params"] and _accuracy(t) is not None]
    if _is_choice(name, entry):
        labels = [str(c) for c in (entry or {}).get("choices", [])] or \
            sorted({str(p[0]) for p in points})
        position = {label: i for i, label in enumerate(labels)}
        axis.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        axis.set_xlim(-0.6, len(labels) - 0.4)
        for value in (good or {}).get("values", []):
            spot = position[str(value)]
            axis.axvspan(spot - 0.4, spot + 0.4, color="tab:green", alpha=0.2)
        points = [(position[str(x)], y, s) for x, y, s in points]
    else:
        if isinstance(entry, dict) and entry.get("log"):
            axis.set_xscale("log")
        if isinstance(entry, dict) and "low" in entry:  # the whole searched range
            axis.set_xlim(entry["low"], entry["high"])
        if good:
            low, high = good["low"], good["high"]
            if low == high:  # one good trial: a visible band around its value
                axis.axvline(low, color="tab:green", alpha=0.5, linewidth=6)
            else:
                axis.axvspan(low, high, color="tab:green", alpha=0.2)
    for state, (color, marker) in STATE_STYLE.items():
        chosen = [(x, y) for x, y, s in points if s == state]
        if chosen:
            axis.scatter(*zip(*chosen), c=color, marker=marker, s=18, zorder=3)
    axis.set_title(name, fontsize=10)
    axis.set_ylabel("val accuracy", fontsize=8)
    axis.grid(alpha=0.3)


def plot_top_trials(complete: list[dict], path: Path) -> None:
    names = [n for n in PARAMETERS if any(n in t["params"] for t in complete)]
    header = ["rank", "trial", "val acc", "val loss", *names]
    cells = [[str(rank), str(t["number"]), f"{t['val_accuracy']:.4f}", f"{t['val_loss']:.4f}",
              *(format_value(t["params"].get(n, "")) for n in names)]
             for rank, t in enumerate(complete, 1)]
    figure, axis = plt.subplots(figsize=(1.1 * len(header) + 1, 0.35 * len(cells) + 1.2))
    axis.axis("off")
    axis.set_title("Top trials by validation accuracy")
    if cells:
        table = axis.table(cellText=cells, colLabels=header, loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        for column in range(len(header)):
            table[0, column].set_facecolor("#d8e4f0")
        for column in range(len(header)):
            table[1, column].set_facecolor("#e2f2e2")  # the best
    else:
        axis.text(0.5, 0.5, "no complete trial yet", ha="center", va="center")
    _save(figure, path)


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _write_index(folder: Path, report: dict[str, Any]) -> None:
    escape = html.escape
    states: dict[str, int] = {}
    for trial in (t for t in report["trials"] if not t["surplus"]):
        states[trial["state"]] = states.get(trial["state"], 0) + 1
    best = report["best"]
    best_html = "<p>No trial has completed yet.</p>"
    if best is not None:
        best_html = (f"<p>Best: trial {best['trial']}, validation accuracy "
                     f"{best['val_accuracy']:.4f}: <code>{escape(format_options(best['options']))}"
                     f"</code></p><p>Train it fully (prints the test accuracy at the end):</p>"
                     f"<pre>{escape(best['command'])}</pre><p>or</p>"
                     f"<pre>{escape(best['flags'])}</pre>")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shadernet tune: {escape(report['study'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}
img{{max-width:100%;border:1px solid #ddd;margin:0.5em 0}}pre{{background:#f4f4f4;padding:0.5em}}
</style></head><body>
<h1>Study {escape(report['study'])}</h1>
<p>{escape(report['settings']['arch'])}, {report['settings']['epochs']} epoch(s) per trial,
validation accuracy on {escape(str(report['settings']['validation_fraction']))} of the training
split (the test set is never read); sampler {escape(report['sampler'])}; {escape(counts)};
storage <code>{escape(report['storage'])}</code>.</p>
{best_html}
<h2>Optimisation history</h2><img src="history.png" alt="optimisation history">
<h2>Hyperparameters</h2><img src="params.png" alt="hyperparameters vs validation accuracy">
<h2>Top trials</h2><img src="top_trials.png" alt="top trials">
<p>All trials: <a href="tune.json">tune.json</a>.</p>
</body></html>
"""
    (folder / "index.html").write_text(page)
