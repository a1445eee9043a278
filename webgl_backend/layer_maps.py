"""The page's "Layers" view: every layer's output for one image, read back from the
textures the batch-1 forward plan already writes, and how long each layer took.

    maps = layer_maps(model, image)   # {"probabilities", "forward", "input", "layers", "kernels"}

It replays the plan `GpuModel.predict` uses (same upload, same draws in the same order,
nothing compiled or allocated) and reads each layer's output right after its last draw:
one readback per layer. That readback is a GPU sync point, so the time from one read to
the next is what that layer cost (draw + readback), shown as its "draw time". (One
readback per refresh would need a gather draw copying every output into one texture, and
would lose the per-layer times; not built.) `predict` itself is untouched: with the view
closed the page runs it alone.

A layer drawn in several passes (a Dense split over render targets, then gathered) is read
at its last pass. A Flatten is not listed: a view shares its producer's texture, and a
repacking draw holds the same values reordered (its time counts towards the next layer).
The first convolution's kernels are read from their weight texture, so a fine-tuned model
shows its current kernels.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass

from webgl_backend.codegen import shape_size
from webgl_backend.errors import ShapeError
from webgl_backend.forward_plan import ForwardPlan
from webgl_backend.host_data import as_float_view
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


def first_conv_kernels(model: GpuModel) -> dict | None:
    """{"layer", "shape": [kh, kw, in, out], "values"} of the first Conv2D, or None (an MLP)."""
    for op in model.ops:
        if op.kind == "conv2d" and op.weights:
            kernel = op.weights[0]
            return {"layer": op.layer_name, "shape": list(kernel.shape),
                    "values": kernel.read().tobytes()}
    return None


def _forward_counts(before: dict, after: dict, plan: ForwardPlan) -> dict[str, int]:
    """Like GpuModel.last_forward; gl_calls include the readbacks."""
    counts = {key: after[key] - before[key] for key in ("draws", "gl_calls", "compiles")}
    counts["programs"] = len({id(s.compiled) for s in plan.steps if s.compiled is not None})
    return counts


def layer_maps(model: GpuModel, image) -> dict:
    """Run the batch-1 forward on `image` (28x28 floats), reading every layer's output.

    Returns {"probabilities": [floats], "forward": {draws, gl_calls, compiles, programs},
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
    last_pass = _last_pass(plan)
    before = context.counters()
    plan.input.upload(floats)
    layers, mark, output = [], time.perf_counter(), None
    for index, step in enumerate(plan.steps):
        if step.compiled is None:
            continue
        context.draw(step.compiled, [t.texture for t in step.inputs], step.target())
        if last_pass[step.layer_name] != index or names.classes.get(step.layer_name) == "Flatten":
            continue
        values = step.output.read()
        now = time.perf_counter()
        layers.append(describe_layer(step.layer_name, step.output, values,
                                     1000.0 * (now - mark), names))
        mark, output = now, (values if step.output is plan.output else None)
    probabilities = output if output is not None else plan.output.read()
    forward = _forward_counts(before, context.counters(), plan)
    return {"probabilities": probabilities.tolist(), "forward": forward,
            "input": {"shape": list(model.input_shape), "values": array("f", floats).tobytes()},
            "layers": layers, "kernels": first_conv_kernels(model)}
