"""The plan of one training step for batch n, built once and replayed.

Forward through every op (the final softmax left out: the loss is taken from the
logits), the loss and its gradient in one fused softmax + cross-entropy pass each, then
per op in reverse its backward passes from its layer-table entry (down to the first
trainable op; dx only above it), then the optimizer updates into the twins and the
passes that must follow them (`StepSettings.after_updates`).
With training dropout (`StepSettings.dropouts`), an op's output is multiplied by the
step's mask (ops/dropout.py) before the next op reads it, and its dy by the same mask
before its own backward passes (which still read the op's undropped output).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from webgl_backend.codegen import Program
from webgl_backend.context import GLContext
from webgl_backend.errors import TrainingError
from webgl_backend.forward_plan import ForwardStep, append_op, input_shape_of
from webgl_backend.layers import BackwardStep, LayerOp
from webgl_backend.ops.dropout import dropout_apply, dropout_mask
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
    masks: list[tuple[str, GpuTensor]] = field(default_factory=list)  # (layer, dropout mask)
    logits: GpuTensor | None = None


@dataclass(frozen=True)
class DropoutSite:
    """A Dropout layer applied while training: its name, rate and mask salt."""

    layer_name: str
    rate: float
    salt: int


INPUT_SITE = "input"  # the key of a Dropout on the images themselves


@dataclass
class StepSettings:
    """What a plan depends on besides the batch size. `dropouts`: id(op) (or INPUT_SITE)
    -> the Dropout applied to that op's output while training."""

    optimizer: str
    l2: float
    first_trainable: int
    parameters: list[Parameter]
    hyper: GpuTensor
    # Passes after the updates (BatchNormalization refolded into what predictions draw).
    after_updates: list[Draw] = field(default_factory=list)
    dropouts: dict[object, DropoutSite] = field(default_factory=dict)


class _PlanBuilder:
    def __init__(self, context: GLContext, parameters: list[Parameter]) -> None:
        self.context = context
        self.draws: list[Draw | ForwardStep] = []
        self.owned: list[GpuTensor] = []
        self.base_shapes: dict[int, tuple[int, ...]] = {}
        self.masks: list[tuple[str, GpuTensor]] = []
        self._parameter_of = {id(p.tensor): p for p in parameters}

    def add(self, label: str, program: Program, inputs: dict[str, GpuTensor],
            output: GpuTensor | None = None) -> GpuTensor | list[GpuTensor]:
        """Append a pass reading `inputs` (by sampler name); returns its output tensor, or
        for a multiple-render-target program the list of its outputs (new tensors)."""
        compiled = self.context.compile(program)
        reads = [inputs[name] for name in program.inputs]
        if program.outputs > 1:
            parts = [GpuTensor.empty(self.context, program.output_shape)
                     for _ in range(program.outputs)]
            self.owned.extend(parts)
            self.draws.append(Draw(label, compiled, reads, parts[0], parts))
            return parts
        if output is None:
            output = GpuTensor.empty(self.context, program.output_shape)
            self.owned.append(output)
        self.draws.append(Draw(label, compiled, reads, output))
        return output

    def dropout(self, site: DropoutSite, x: GpuTensor, hyper: GpuTensor) -> GpuTensor:
        """x times this step's mask of `site` (drawn first, kept in `masks`)."""
        mts = self.context.max_texture_size
        mask = self.add(f"{site.layer_name} mask",
                        dropout_mask(x.shape, site.rate, site.salt, max_texture_size=mts),
                        {"hyper": hyper})
        self.masks.append((site.layer_name, mask))
        return self.apply_mask(f"{site.layer_name} forward", x, mask)

    def apply_mask(self, label: str, x: GpuTensor, mask: GpuTensor) -> GpuTensor:
        program = dropout_apply(x.shape, max_texture_size=self.context.max_texture_size,
                                widths={"x": x.texture.width})
        return self.add(label, program, {"x": x, "mask": mask})

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


# Ops whose backward takes dz = dy * f'(y) of a fused activation first (layers/producer.py).
FUSED_ACTIVATION_KINDS = ("dense", "conv2d")


def _foldable_below(drawn: list[LayerOp], ys: list[GpuTensor], masks: list, index: int
                    ) -> tuple[str, float | None, GpuTensor] | None:
    """The activation of the op right below `index` (and its output) when the dx pass of
    `index` may apply its gradient: a producer with a fused activation and no dropout mask
    between the two."""
    if index == 0 or masks[index - 1] is not None:
        return None
    lower = drawn[index - 1]
    activation = lower.attrs.get("activation", "linear")
    if lower.kind not in FUSED_ACTIVATION_KINDS or activation in ("linear", "softmax"):
        return None
    return activation, lower.attrs.get("alpha"), ys[index - 1]


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
    skipped = ops[:len(ops) - len(drawn)]
    first_trainable = settings.first_trainable - len(skipped)
    drawn = _logit_ops(drawn)
    images = GpuTensor.empty(context, input_shape)
    builder.owned.append(images)
    xs, ys, masks = [], [], []  # every op's input, output and dropout mask, for backward
    x = images
    for key in [INPUT_SITE] + [id(op) for op in skipped]:
        if key in settings.dropouts:
            x = builder.dropout(settings.dropouts[key], x, settings.hyper)
    for op in drawn:
        xs.append(x)
        x = builder.forward(op, x)
        ys.append(x)
        site = settings.dropouts.get(id(op))
        masks.append(None)
        if site is not None:
            x = builder.dropout(site, x, settings.hyper)
            masks[-1] = builder.masks[-1][1]
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
    dy_is_dz = False
    for index in range(len(drawn) - 1, max(first_trainable, 0) - 1, -1):
        op = drawn[index]
        if masks[index] is not None:
            dy = builder.apply_mask(f"{op.layer_name} dropout dy", dy, masks[index])
        need_dx = index > first_trainable
        below = _foldable_below(drawn, ys, masks, index) if need_dx else None
        step = BackwardStep(xs[index], ys[index], dy, need_dx, mts, builder.add,
                            builder.parameter, builder.base_shape, below, dy_is_dz)
        dy = op.entry.backward(op, step)
        dy_is_dz = step.folded
    builder.draws.extend(update_draws(context, settings.optimizer, settings.parameters,
                                      settings.l2, settings.hyper))
    builder.draws.extend(settings.after_updates)
    return TrainPlan(n, images, labels, loss, builder.draws, builder.owned, builder.masks,
                     logits)
