"""The forward pass on the GPU: layer specs -> ops (activations fused), and the plan of
one batch size (programs compiled, output textures allocated), replayed by every predict.

Each layer becomes an op through its layer-table entry; an activation layer right after
a producer that absorbs it (Dense, Conv2D) runs inside the producer's draw, a softmax
after the last Dense too. Flatten is a view (or one repacking draw), Dropout the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webgl_backend.context import CompiledProgram, GLContext
from webgl_backend.errors import ModelFormatError
from webgl_backend.layers import LAYERS, LayerOp
from webgl_backend.tensor import GpuTensor


def build_ops(context: GLContext, layers) -> list[LayerOp]:
    """Upload weights and turn layer specs into ops, fusing activations into producers."""
    ops: list[LayerOp] = []
    for spec in layers:
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
        if (entry.fuses_into_producer and previous is not None
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
