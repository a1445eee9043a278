"""What one Keras layer class is to us: a `LayerEntry` of the layer table (`table.py`).

An entry holds, for its class: how its model.json config is read and validated (and so
its output shape and weights), how a loaded layer becomes a GPU op, the op's forward
programs, its backward passes (or a declared reason why it has none), its fusion rule,
the numpy reference it must agree with, and the sample shapes of its parity cases.
The reader, the runtime's forward plan, the trainer's backward plan and the parity
suite all read the entries; none of them lists layer classes itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from webgl_backend.codegen import Program
from webgl_backend.tensor import GpuTensor

# (where, config, input_shape) -> (normalized config, output shape, [(short name, shape, why)])
ConfigReader = Callable[[str, dict, tuple], tuple[dict, tuple, list]]


@dataclass
class LayerOp:
    """One loaded layer as the GPU runs it: its entry, attributes and weight tensors.

    `kind` is the op's name ('dense', 'conv2d', 'max_pool2d', 'avg_pool2d', 'activation',
    'view', 'channel_affine', 'global_avg_pool2d', 'global_max_pool2d', 'keras_activation',
    'zero_padding2d'); `layer_name` grows '+activation' when a following activation layer
    is fused in (and is 'dense+batch_normalization' for a folded pair).
    """

    layer_name: str
    entry: LayerEntry
    kind: str
    attrs: dict = field(default_factory=dict)
    weights: list[GpuTensor] = field(default_factory=list)

    def programs(self, x_shape: tuple[int, ...], x_width: int,
                 max_texture_size: int) -> list[Program]:
        """The draws of this op for input x (batch included) in a texture `x_width` wide."""
        return self.entry.forward(self, x_shape, x_width, max_texture_size)

    @property
    def view_shape(self) -> tuple[int, ...] | None:
        """The per-sample output shape when the op only reshapes (Flatten), else None."""
        return self.attrs.get("shape") if self.kind == "view" else None


@dataclass
class BackwardStep:
    """What a layer's backward passes read and where they append their draws.

    `add(label, program, inputs, output=None)` appends one pass reading `inputs` by
    sampler name and returns its output tensor (a new one unless `output` is given; a
    multiple-render-target program returns the list of its new outputs);
    `parameter(tensor)` is the trainer's parameter for a weight tensor, None when frozen;
    `base_shape(x)` is the shape x's texture was written in (x may be a Flatten view).
    `below` (activation, alpha, that op's output y): the op below has a fused activation
    whose gradient this op's dx pass may apply (dx * f'(y)); a layer that does so sets
    `folded`, and the op below then gets `dy_is_dz` (its dy already is its dz).
    """

    x: GpuTensor
    y: GpuTensor
    dy: GpuTensor
    need_dx: bool
    max_texture_size: int
    add: Callable[..., GpuTensor]
    parameter: Callable[[GpuTensor], object]
    base_shape: Callable[[GpuTensor], tuple[int, ...]]
    below: tuple[str, float | None, GpuTensor] | None = None
    dy_is_dz: bool = False
    folded: bool = False


@dataclass(frozen=True)
class ParityCase:
    """One parity sample: the layer with `config` on a per-sample input of `input_shape`."""

    input_shape: tuple[int, ...]
    config: dict

    @property
    def id(self) -> str:
        attrs = "-".join(f"{k}={v}" for k, v in sorted(self.config.items()))
        return "x=" + "x".join(str(d) for d in self.input_shape) + (f"-{attrs}" if attrs else "")


@dataclass(frozen=True)
class LayerEntry:
    """One row of the layer table (see the module docstring).

    `to_op(context, spec)` uploads the weights and returns the op, or None when the layer
    draws nothing (InputLayer, Dropout at inference, a linear Activation).
    `backward(op, step)` appends the op's gradient passes and returns dx (None when
    `step.need_dx` is false); `no_backward` says why a class has none instead.
    `absorbs(op, activation)` is the fusion rule of a producer (Dense, Conv2D): whether a
    following activation layer can run inside its draw; `fuses_into_producer` marks the
    activation layers that may be absorbed that way.
    `reference` is the dotted name of the numpy reference in model_export (layers run
    through `model_export.layers.<class_name>`, which calls it).
    """

    class_name: str
    config_keys: frozenset
    read_config: ConfigReader
    to_op: Callable[..., LayerOp | None]
    forward: Callable[[LayerOp, tuple, int, int], list[Program]] | None
    backward: Callable[[LayerOp, BackwardStep], GpuTensor | None] | None
    reference: str
    parity: tuple[ParityCase, ...] = ()
    no_backward: str = ""
    absorbs: Callable[[LayerOp, str], bool] | None = None
    fuses_into_producer: bool = False


def weight_tensors(context, spec) -> list[GpuTensor]:
    """The layer's weights uploaded in Keras order (kernel, bias)."""
    return [GpuTensor.from_host(context, tuple(shape), values)
            for _, shape, values in spec.weights]


def only(widths: dict[str, int], *names: str) -> dict[str, int]:
    """The texture widths of just these inputs (a builder is told only what it reads)."""
    return {name: widths[name] for name in names if name in widths}
