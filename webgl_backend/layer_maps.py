"""The page's "Layers" view: every layer's output for one image, read back from the
textures the batch-1 forward plan already writes.

    model.predict(image, 1)
    maps = layer_maps(model, image)   # reads what that predict's plan drew

Nothing here draws: `GpuModel.predict` runs the ordinary forward (same draws, same
counters), then each layer's output texture is read: one readback per layer. (One per
refresh would need a gather draw copying every output into one texture; not built yet.) A layer drawn in several passes (a
Dense split over render targets, then gathered) is read at its last pass; a Flatten view
shares its producer's texture and a repacking Flatten holds the same values reordered,
so neither is listed. The first convolution's kernels
are read from their weight texture, so a fine-tuned model shows its current kernels.
"""

from __future__ import annotations

from array import array

from webgl_backend.forward_plan import ForwardPlan
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


def _drawn_outputs(plan: ForwardPlan) -> list[tuple[str, GpuTensor]]:
    """(layer name, output) of every layer that draws, in forward order, each once."""
    outputs: dict[str, GpuTensor] = {}
    for step in plan.steps:
        if step.compiled is not None:
            outputs[step.layer_name] = step.output  # a later pass of one layer replaces it
    return list(outputs.items())


def describe_output(name: str, tensor: GpuTensor, classes: dict[str, str],
                    parameters: dict[str, int], activations: dict[str, str]) -> dict:
    """One layer's entry: fused names ('dense+leaky_re_lu') keep every part's class, and
    the activation is the last part's that is not linear."""
    parts = name.split("+")
    applied = [activations.get(part, "linear") for part in parts]
    return {"name": name,
            "class_name": "+".join(classes.get(part, "?") for part in parts),
            "activation": next((a for a in reversed(applied) if a != "linear"), "linear"),
            "shape": list(tensor.shape[1:]),
            "parameters": sum(parameters.get(part, 0) for part in parts),
            "values": tensor.read().tobytes()}


def first_conv_kernels(model: GpuModel) -> dict | None:
    """{"layer", "shape": [kh, kw, in, out], "values"} of the first Conv2D, or None (an MLP)."""
    for op in model.ops:
        if op.kind == "conv2d" and op.weights:
            kernel = op.weights[0]
            return {"layer": op.layer_name, "shape": list(kernel.shape),
                    "values": kernel.read().tobytes()}
    return None


def layer_maps(model: GpuModel, image) -> dict:
    """The input (`image`, the floats that predict uploaded) and every drawn layer's
    output of the last batch-1 predict, plus the first convolution's kernels.

    Returns {"input": {"shape", "values"}, "layers": [{name, class_name, shape,
    parameters, activation, values}], "kernels": {...} | None}; values are flat NHWC
    float32 bytes (the worker hands them to the page as Float32Arrays: one copy each, far
    cheaper than converting thousands of Python floats).
    """
    plan = model.forward_plan(1)
    classes, parameters = _class_names(model), _parameter_counts(model)
    activations = _activations(model)
    return {"input": {"shape": list(model.input_shape), "values": array("f", image).tobytes()},
            "layers": [describe_output(name, tensor, classes, parameters, activations)
                       for name, tensor in _drawn_outputs(plan)
                       if classes.get(name) != "Flatten"],
            "kernels": first_conv_kernels(model)}
