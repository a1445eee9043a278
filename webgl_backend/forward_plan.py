"""The forward pass on the GPU: layer specs -> ops (activations fused), and the plan of
one batch size (programs compiled, output textures allocated), replayed by every predict.

Each layer becomes an op through its layer-table entry; an activation layer right after
a producer that absorbs it (Dense, Conv2D) runs inside the producer's draw, a softmax
after the last Dense too. Flatten is a view (or one repacking draw), Dropout the identity.

Before that, each inference BatchNormalization (y = x * a + b per channel, see
`layers/batch_norm.py`) is folded into a neighbouring Dense or Conv2D where it can be:
- after a Dense/Conv2D with a linear activation (the usual Conv -> BN -> ReLU):
  kernel[..., j] *= a[j], bias = bias * a + b;
- before a Dense on a flat input (BN after an activation): kernel[i, :] *= a[i],
  bias += b @ kernel. (A Conv2D after it is not folded: its zero padding would not be
  shifted by b.)
Otherwise it stays a `channel_affine` draw. The arithmetic is done in double, then
stored as float32; the folded layer is named after both ("conv2d+batch_normalization").
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, replace

from webgl_backend.context import CompiledProgram, GLContext
from webgl_backend.errors import ModelFormatError
from webgl_backend.layers import LAYERS, LayerOp
from webgl_backend.layers.batch_norm import batch_norm_affine
from webgl_backend.model_format import LayerSpec
from webgl_backend.tensor import GpuTensor

PRODUCERS = ("Dense", "Conv2D")


def build_ops(context: GLContext, layers) -> list[LayerOp]:
    """Upload weights and turn layer specs into ops, BatchNormalization folded where it
    can be, activations fused into producers."""
    ops: list[LayerOp] = []
    for spec in fold_batch_norms(layers):
        entry = LAYERS.get(spec.class_name)
        if entry is None:
            raise ModelFormatError(
                f"model.json: layer '{spec.name}' is a {spec.class_name}, which the GPU "
                f"runtime cannot run; supported: {', '.join(sorted(LAYERS))}")
        op = entry.to_op(context, spec)
        if op is None:
            continue
        previous = ops[-1] if ops else None
        activation = op.attrs.get("activation")
        if (entry.fuses_into_producer and activation is not None and previous is not None
                and previous.entry.absorbs is not None
                and previous.entry.absorbs(previous, activation)):
            previous.attrs["activation"] = activation
            previous.attrs["alpha"] = op.attrs.get("alpha")
            previous.layer_name += f"+{op.layer_name}"
            continue
        ops.append(op)
    return ops


@dataclass
class ForwardStep:
    """One op's output; `compiled` is None for a view (no draw). `parts`: every output
    of a multiple-render-target program (`output` is the first)."""

    layer_name: str
    compiled: CompiledProgram | None
    inputs: list[GpuTensor]
    output: GpuTensor
    parts: list[GpuTensor] = field(default_factory=list)

    def target(self):
        """What `GLContext.draw` writes: the output texture, or the parts' textures."""
        return [t.texture for t in self.parts] if self.parts else self.output.texture


@dataclass
class ForwardPlan:
    """Everything one forward pass of batch n draws, built once per n."""

    n: int
    input: GpuTensor
    steps: list[ForwardStep]
    output: GpuTensor

    def owned_tensors(self) -> list[GpuTensor]:
        outputs = [t for step in self.steps for t in (step.parts or [step.output])]
        return [self.input] + [t for t in outputs if t.owner]


def input_shape_of(ops: list[LayerOp], n: int, sample_shape: tuple[int, ...]
                   ) -> tuple[tuple[int, ...], list[LayerOp]]:
    """(uploaded input shape, ops to draw): a leading Flatten (an MLP) is skipped, the
    images are uploaded already flat, with no repacking draw."""
    if ops and ops[0].view_shape is not None:
        return (n,) + tuple(ops[0].view_shape), ops[1:]
    return (n,) + tuple(sample_shape), ops


def append_op(context: GLContext, op: LayerOp, x: GpuTensor,
              steps: list[ForwardStep]) -> GpuTensor:
    """Append op's steps reading x; returns its output (a view of x when nothing draws)."""
    programs = op.programs(x.shape, x.texture.width, context.max_texture_size)
    if not programs:  # a view: same texture, new shape
        y = x.reshape((x.shape[0],) + tuple(op.view_shape))
        steps.append(ForwardStep(op.layer_name, None, [x], y))
        return y
    inputs = [x] + op.weights
    for program in programs:
        parts = [GpuTensor.empty(context, program.output_shape) for _ in range(program.outputs)]
        steps.append(ForwardStep(op.layer_name, context.compile(program), inputs, parts[0],
                                 parts if program.outputs > 1 else []))
        inputs = parts  # a gather draw reads the parts
    return steps[-1].output


def build_forward_plan(context: GLContext, ops: list[LayerOp], n: int,
                       sample_shape: tuple[int, ...]) -> ForwardPlan:
    input_shape, ops = input_shape_of(ops, n, sample_shape)
    x = GpuTensor.empty(context, input_shape)
    first_input, steps = x, []
    try:
        for op in ops:
            x = append_op(context, op, x, steps)
    except Exception:
        for tensor in [first_input] + [t for s in steps for t in (s.parts or [s.output])]:
            tensor.dispose()
        raise
    return ForwardPlan(n, first_input, steps, x)


def _kernel_bias(spec: LayerSpec) -> tuple[tuple[int, ...], list[float], list[float]]:
    kernel_shape, kernel = spec.weights[0][1], list(spec.weights[0][2])
    units = kernel_shape[-1]
    bias = list(spec.weights[1][2]) if len(spec.weights) > 1 else [0.0] * units
    return kernel_shape, kernel, bias


def _with_kernel_bias(spec: LayerSpec, kernel_shape, kernel, bias, name: str) -> LayerSpec:
    """`spec` with new kernel and bias values, named after the layers folded together in
    data order ("conv2d+batch_normalization", "batch_normalization_2+dense_2")."""
    weights = [(spec.weights[0][0], kernel_shape, array("f", kernel)),
               (f"{spec.name}/bias", (kernel_shape[-1],), array("f", bias))]
    return replace(spec, name=name, weights=weights,
                   config={**spec.config, "use_bias": True})


def fold_into_producer(producer: LayerSpec, bn: LayerSpec) -> LayerSpec:
    """A Dense/Conv2D spec with the BatchNormalization after it folded in."""
    a, b = batch_norm_affine(bn)
    shape, kernel, bias = _kernel_bias(producer)
    units = shape[-1]
    kernel = [k * a[i % units] for i, k in enumerate(kernel)]
    bias = [bi * s + t for bi, s, t in zip(bias, a, b)]
    return _with_kernel_bias(producer, shape, kernel, bias, f"{producer.name}+{bn.name}")


def fold_into_consumer(bn: LayerSpec, consumer: LayerSpec) -> LayerSpec:
    """A Dense spec with the BatchNormalization before it folded in."""
    a, b = batch_norm_affine(bn)
    shape, kernel, bias = _kernel_bias(consumer)
    rows, units = shape
    bias = [bias[j] + sum(b[i] * kernel[i * units + j] for i in range(rows))
            for j in range(units)]
    kernel = [k * a[i // units] for i, k in enumerate(kernel)]
    return _with_kernel_bias(consumer, shape, kernel, bias, f"{bn.name}+{consumer.name}")


def _foldable_producer(spec: LayerSpec | None) -> bool:
    return (spec is not None and spec.class_name in PRODUCERS
            and spec.config.get("activation", "linear") == "linear")


def fold_batch_norms(layers: list[LayerSpec]) -> list[LayerSpec]:
    """The layers with every BatchNormalization folded where it can be (see above)."""
    out: list[LayerSpec] = []
    pending: LayerSpec | None = None  # a BN waiting for the Dense after it
    for spec in layers:
        if pending is not None:
            if spec.class_name == "Dense" and len(spec.input_shape) == 1:
                out.append(fold_into_consumer(pending, spec))
                pending = None
                continue
            out.append(pending)
            pending = None
        if spec.class_name != "BatchNormalization":
            out.append(spec)
        elif _foldable_producer(out[-1] if out else None):
            out[-1] = fold_into_producer(out[-1], spec)
        else:
            pending = spec
    if pending is not None:
        out.append(pending)
    return out
