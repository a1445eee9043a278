"""The plan of one training step for batch n, built once and replayed.

Forward through every op (the final softmax left out: the loss is taken from the
logits), the loss and its gradient in one fused softmax + cross-entropy pass each, then
per op in reverse its backward passes from its layer-table entry (down to the first
trainable op; dx only above it), then the optimizer updates into the twins and the
passes that must follow them (`StepSettings.after_updates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from webgl_backend.codegen import Program
from webgl_backend.context import GLContext
from webgl_backend.errors import TrainingError
from webgl_backend.forward_plan import ForwardStep, append_op, input_shape_of
from webgl_backend.layers import BackwardStep, LayerOp
from webgl_backend.ops.losses import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from webgl_backend.tensor import GpuTensor
from webgl_backend.training.parameters import Draw, Parameter, update_draws


@dataclass
class TrainPlan:
    n: int
    images: GpuTensor
    labels: GpuTensor
    loss: GpuTensor
    draws: list[Draw | ForwardStep]
    owned: list[GpuTensor]


@dataclass
class StepSettings:
    """What a plan depends on besides the batch size."""

    optimizer: str
    l2: float
    first_trainable: int
    parameters: list[Parameter]
    hyper: GpuTensor
    # Passes after the updates (BatchNormalization refolded into what predictions draw).
    after_updates: list[Draw] = field(default_factory=list)


class _PlanBuilder:
    def __init__(self, context: GLContext, parameters: list[Parameter]) -> None:
        self.context = context
        self.draws: list[Draw | ForwardStep] = []
        self.owned: list[GpuTensor] = []
        self.base_shapes: dict[int, tuple[int, ...]] = {}
        self._parameter_of = {id(p.tensor): p for p in parameters}

    def add(self, label: str, program: Program, inputs: dict[str, GpuTensor],
            output: GpuTensor | None = None) -> GpuTensor:
        """Append a pass reading `inputs` (by sampler name); returns its output tensor."""
        if output is None:
            output = GpuTensor.empty(self.context, program.output_shape)
            self.owned.append(output)
        self.draws.append(Draw(label, self.context.compile(program),
                               [inputs[name] for name in program.inputs], output))
        return output

    def parameter(self, tensor: GpuTensor) -> Parameter | None:
        return self._parameter_of.get(id(tensor))

    def base_shape(self, x: GpuTensor) -> tuple[int, ...]:
        return self.base_shapes.get(id(x), x.shape)

    def forward(self, op: LayerOp, x: GpuTensor) -> GpuTensor:
        steps: list[ForwardStep] = []
        y = append_op(self.context, op, x, steps)
        for step in steps:
            if step.compiled is None:
                # A gradient for the view is written in x's layout, so it views back for free.
                self.base_shapes[id(y)] = self.base_shape(x)
                continue
            self.owned.extend(step.parts or [step.output])
            self.draws.append(step)
        return y


def _logit_ops(ops: list[LayerOp]) -> list[LayerOp]:
    """The ops up to the logits: a final Activation('softmax') dropped, a softmax fused into
    the last Dense made linear."""
    last = ops[-1]
    if last.kind == "activation":
        return ops[:-1]
    return ops[:-1] + [replace(last, attrs={**last.attrs, "activation": "linear"})]


def build_train_plan(context: GLContext, ops: list[LayerOp], sample_shape: tuple[int, ...],
                     n: int, settings: StepSettings) -> tuple[TrainPlan, list[GpuTensor]]:
    """The plan and, if building fails, the tensors it allocated (to dispose)."""
    builder = _PlanBuilder(context, settings.parameters)
    try:
        return _build(builder, context, ops, sample_shape, n, settings), builder.owned
    except Exception:
        for tensor in builder.owned:
            tensor.dispose()
        raise


def _build(builder: _PlanBuilder, context: GLContext, ops: list[LayerOp],
           sample_shape: tuple[int, ...], n: int, settings: StepSettings) -> TrainPlan:
    mts = context.max_texture_size
    input_shape, drawn = input_shape_of(ops, n, sample_shape)
    first_trainable = settings.first_trainable - (len(ops) - len(drawn))
    drawn = _logit_ops(drawn)
    images = GpuTensor.empty(context, input_shape)
    builder.owned.append(images)
    xs, ys = [], []  # every op's input and output, for the backward passes
    x = images
    for op in drawn:
        xs.append(x)
        x = builder.forward(op, x)
        ys.append(x)
    logits = x
    if len(logits.shape) != 2:
        raise TrainingError(f"fine-tuning: logits must be (n, classes), got {logits.shape}")
    labels = GpuTensor.empty(context, (n,))
    builder.owned.append(labels)
    pair = {"logits": logits, "labels": labels}
    loss = builder.add("loss", softmax_cross_entropy_forward(logits.shape, labels.shape,
                                                             max_texture_size=mts), pair)
    dy = builder.add("dlogits", softmax_cross_entropy_backward(logits.shape, labels.shape,
                                                               max_texture_size=mts), pair)
    for index in range(len(drawn) - 1, max(first_trainable, 0) - 1, -1):
        op = drawn[index]
        step = BackwardStep(xs[index], ys[index], dy, index > first_trainable, mts,
                            builder.add, builder.parameter, builder.base_shape)
        dy = op.entry.backward(op, step)
    builder.draws.extend(update_draws(context, settings.optimizer, settings.parameters,
                                      settings.l2, settings.hyper))
    builder.draws.extend(settings.after_updates)
    return TrainPlan(n, images, labels, loss, builder.draws, builder.owned)
