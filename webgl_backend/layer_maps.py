"""The page's "Layers" view: every layer's output for one image, read back from the
textures the batch-1 forward plan already writes, and how long each layer took.

    maps = layer_maps(model, image)   # {"probabilities", "forward", "input", "layers", "kernels"}

It replays the plan `GpuModel.predict` uses (same upload, same draws in the same order,
nothing compiled or allocated after the first refresh), then one gather draw
(`layer_gather.py`) copies every layer's output and the first convolution's kernels into
one atlas texture, read back once: one readPixels per refresh, whatever the depth. A
layer's time is its draws up to a `finish` after its last one (a GPU sync point with no
data moved), shown as its "draw time". `predict` itself is untouched: with the view
closed the page runs it alone, and the gather's textures and program exist only once the
view has been refreshed.

A layer drawn in several passes (a Dense split over render targets, then gathered) is read
at its last pass. A Flatten is not listed: a view shares its producer's texture, and a
repacking draw holds the same values reordered (its time counts towards the next layer).
The kernels are read from their weight texture as it is now, so a fine-tuned model shows
its current kernels.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from webgl_backend.codegen import shape_size
from webgl_backend.errors import ShapeError
from webgl_backend.forward_plan import ForwardPlan, ForwardStep
from webgl_backend.host_data import as_float_view
from webgl_backend.layer_gather import LayerGather
from webgl_backend.runtime import GpuModel
from webgl_backend.tensor import GpuTensor


def _parameter_counts(model: GpuModel) -> dict[str, int]:
    return {spec.name: sum(len(values) for _, _, values in spec.weights)
            for spec in model.artifacts.layers}


def _class_names(model: GpuModel) -> dict[str, str]:
    return {spec.name: spec.class_name for spec in model.artifacts.layers}


def _activations(model: GpuModel) -> dict[str, str]:
    """The activation each layer applies: its own config's, or an Activation layer's."""
    return {spec.name: "leaky_relu" if spec.class_name == "LeakyReLU"
            else str(spec.config.get("activation", "linear")) for spec in model.artifacts.layers}


def describe_layer(name: str, tensor: GpuTensor, values: array, ms: float,
                   names: "LayerNames") -> dict:
    """One layer's entry: fused names ('dense+leaky_re_lu') keep every part's class, and
    the activation is the last part's that is not linear."""
    parts = name.split("+")
    applied = [names.activations.get(part, "linear") for part in parts]
    return {"name": name,
            "class_name": "+".join(names.classes.get(part, "?") for part in parts),
            "activation": next((a for a in reversed(applied) if a != "linear"), "linear"),
            "shape": list(tensor.shape[1:]),
            "parameters": sum(names.parameters.get(part, 0) for part in parts),
            "ms": round(ms, 3),
            "values": values.tobytes()}


@dataclass(frozen=True)
class LayerNames:
    """What the model file says about each layer, by name."""

    classes: dict[str, str]
    activations: dict[str, str]
    parameters: dict[str, int]

    @classmethod
    def of(cls, model: GpuModel) -> "LayerNames":
        return cls(_class_names(model), _activations(model), _parameter_counts(model))


def _last_pass(plan: ForwardPlan) -> dict[str, int]:
    """Layer name -> index of its last drawing step."""
    return {step.layer_name: index for index, step in enumerate(plan.steps)
            if step.compiled is not None}


def first_conv_kernel(model: GpuModel) -> tuple[str, GpuTensor] | None:
    """(layer name, kernel tensor [kh, kw, in, out]) of the first Conv2D, or None (an MLP)."""
    for op in model.ops:
        if op.kind == "conv2d" and op.weights:
            return op.layer_name, op.weights[0]
    return None


def _counts(before: dict, after: dict) -> dict[str, int]:
    return {key: after[key] - before[key] for key in ("draws", "gl_calls", "compiles")}


def _forward_counts(before: dict, after: dict, plan: ForwardPlan) -> dict[str, int]:
    """Like GpuModel.last_forward: the upload and the plan's draws (gl_calls include the
    finish after each listed layer)."""
    counts = _counts(before, after)
    counts["programs"] = len({id(s.compiled) for s in plan.steps if s.compiled is not None})
    return counts


# The gather of each model, built on its first refresh; freed with the model.
_GATHERS: "WeakKeyDictionary[GpuModel, LayerGather]" = WeakKeyDictionary()


def gather_for(model: GpuModel, tensors: list[GpuTensor]) -> LayerGather:
    """The model's gather for these tensors (rebuilt when their layout changed, or after a
    context restore)."""
    gather = _GATHERS.get(model)
    if gather is not None and gather.fits(tensors):
        return gather
    if gather is not None:
        gather.dispose()
    else:
        model.on_dispose.append(lambda: _drop_gather(model))
    gather = LayerGather.for_tensors(model.context, tensors)
    _GATHERS[model] = gather
    return gather


def _drop_gather(model: GpuModel) -> None:
    gather = _GATHERS.pop(model, None)
    if gather is not None:
        gather.dispose()


def _draw_timed(model: GpuModel, plan: ForwardPlan, names: "LayerNames"
                ) -> list[tuple[ForwardStep, float]]:
    """Draw the plan; (step, ms) of each listed layer, timed up to a finish after its
    last draw."""
    context, last_pass = model.context, _last_pass(plan)
    shown, mark = [], time.perf_counter()
    for index, step in enumerate(plan.steps):
        if step.compiled is None:
            continue
        context.draw(step.compiled, [t.texture for t in step.inputs], step.target())
        if last_pass[step.layer_name] != index or names.classes.get(step.layer_name) == "Flatten":
            continue
        context.finish()
        now = time.perf_counter()
        shown.append((step, 1000.0 * (now - mark)))
        mark = now
    return shown


def layer_maps(model: GpuModel, image) -> dict:
    """Run the batch-1 forward on `image` (28x28 floats), reading every layer's output.

    Returns {"probabilities": [floats], "forward": {draws, gl_calls, compiles, programs}
    (the plan's part), "gather": {draws, gl_calls, compiles, readbacks} (the copy into the
    atlas and its one readback),
    "input": {"shape", "values"}, "layers": [{name, class_name, activation, shape,
    parameters, ms, values}], "kernels": {"layer", "shape", "values"} | None}; values are
    flat NHWC float32 bytes (the worker hands them to the page as Float32Arrays: one copy
    each, far cheaper than converting thousands of Python floats).
    """
    model.check_usable("layers")
    floats = as_float_view(image)
    if len(floats) != shape_size(model.input_shape):
        raise ShapeError(f"layers: expected one image of shape {model.input_shape} "
                         f"({shape_size(model.input_shape)} floats), got {len(floats)} floats")
    plan, names, context = model.forward_plan(1), LayerNames.of(model), model.context
    before = context.counters()
    plan.input.upload(floats)
    shown = _draw_timed(model, plan, names)
    kernel = first_conv_kernel(model)
    outputs = [step.output for step, _ in shown]
    # A model ending in a view or a Flatten draw: its output is not a listed layer's.
    own_output = not outputs or plan.output.texture is not outputs[-1].texture
    tensors = (outputs + ([plan.output] if own_output else [])
               + ([kernel[1]] if kernel is not None else []))
    drawn = context.counters()
    values = gather_for(model, tensors).read(tensors)
    rest = values[len(shown):]
    probabilities = rest.pop(0) if own_output else values[len(shown) - 1]
    layers = [describe_layer(step.layer_name, step.output, part, ms, names)
              for (step, ms), part in zip(shown, values)]
    kernels = kernel and {"layer": kernel[0], "shape": list(kernel[1].shape),
                          "values": rest[0].tobytes()}
    forward = _forward_counts(before, drawn, plan)
    gather = {**_counts(drawn, context.counters()), "readbacks": 1}
    return {"probabilities": probabilities.tolist(), "forward": forward, "gather": gather,
            "input": {"shape": list(model.input_shape), "values": array("f", floats).tobytes()},
            "layers": layers, "kernels": kernels}
