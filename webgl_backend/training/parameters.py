"""Trainable parameters on the GPU: each weight tensor with its gradient, its optimizer
state and the twin textures the update writes (ping-pong), and the update draws."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from webgl_backend.codegen import Program, shape_size
from webgl_backend.context import CompiledProgram, GLContext
from webgl_backend.ops.optimizers import OPTIMIZER_TARGETS, UPDATE_BUILDERS, adam_alpha
from webgl_backend.tensor import GpuTensor

# Keras's defaults, as the numpy optimizers use them.
OPTIMIZER_DEFAULTS = {"momentum": 0.9, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}


@dataclass
class Parameter:
    """One trainable weight: the model's tensor, its gradient, optimizer state, twins."""

    name: str
    tensor: GpuTensor
    initial: array
    decay: bool
    grad: GpuTensor | None = None
    state: dict[str, GpuTensor] = field(default_factory=dict)
    twins: dict[str, GpuTensor] = field(default_factory=dict)

    def target(self, name: str) -> GpuTensor:
        return self.tensor if name == "param" else self.state[name]

    def owned(self) -> list[GpuTensor]:
        return [t for t in [self.grad, *self.state.values(), *self.twins.values()] if t]

    def allocate(self, context: GLContext, optimizer: str) -> None:
        """Gradient, zeroed optimizer state and a twin for every tensor the update writes."""
        shape = self.tensor.shape
        zeros = array("f", bytes(4 * shape_size(shape)))
        self.grad = GpuTensor.empty(context, shape)
        for target in OPTIMIZER_TARGETS[optimizer]:
            if target != "param":
                self.state[target] = GpuTensor.from_host(context, shape, zeros)
            self.twins[target] = GpuTensor.empty(context, shape)

    def swap(self) -> None:
        """The twins hold the updated values: exchange textures (no pass reads what it writes)."""
        for target, twin in self.twins.items():
            current = self.target(target)
            current.texture, twin.texture = twin.texture, current.texture


@dataclass
class Draw:
    """One pass of a step: program, input tensors in sampler order, output tensor (and
    `parts`, every output of a multiple-render-target program, `output` the first)."""

    label: str
    compiled: CompiledProgram
    inputs: list[GpuTensor]
    output: GpuTensor
    parts: list[GpuTensor] = field(default_factory=list)

    def target(self):
        """What `GLContext.draw` writes: the output texture, or the parts' textures."""
        return [t.texture for t in self.parts] if self.parts else self.output.texture


def update_program(optimizer: str, parameter: Parameter, l2: float,
                   max_texture_size: int) -> Program:
    """The update pass of one parameter, writing it and its state (OPTIMIZER_TARGETS order)."""
    kwargs = {"l2": l2 if parameter.decay else 0.0, "max_texture_size": max_texture_size}
    if optimizer == "momentum":
        kwargs["momentum"] = OPTIMIZER_DEFAULTS["momentum"]
    elif optimizer == "adam":
        kwargs.update(beta_1=OPTIMIZER_DEFAULTS["beta_1"], beta_2=OPTIMIZER_DEFAULTS["beta_2"],
                      epsilon=OPTIMIZER_DEFAULTS["epsilon"])
    return UPDATE_BUILDERS[optimizer](parameter.tensor.shape, **kwargs)


def update_draws(context: GLContext, optimizer: str, parameters: list[Parameter], l2: float,
                 hyper: GpuTensor) -> list[Draw]:
    """One draw per parameter, writing the twins of it and of its optimizer state at once."""
    draws = []
    for parameter in parameters:
        program = update_program(optimizer, parameter, l2, context.max_texture_size)
        named = {"param": parameter.tensor, "grad": parameter.grad, "hyper": hyper,
                 **parameter.state}
        twins = [parameter.twins[target] for target in OPTIMIZER_TARGETS[optimizer]]
        draws.append(Draw(f"{parameter.name} {optimizer} update", context.compile(program),
                          [named[name] for name in program.inputs], twins[0],
                          twins if len(twins) > 1 else []))
    return draws


# Step and seed ride in float32 lanes: integers up to 2^24 are exact there.
EXACT_FLOAT_INTEGERS = 2 ** 24


def hyper_values(optimizer: str, learning_rate: float, step: int, seed: int = 0) -> array:
    """The per-step uniforms texel: learning rate, Adam's bias-corrected step size, and
    the step and seed the dropout masks hash."""
    alpha = 0.0
    if optimizer == "adam":
        alpha = adam_alpha(learning_rate, OPTIMIZER_DEFAULTS["beta_1"],
                           OPTIMIZER_DEFAULTS["beta_2"], step + 1)
    return array("f", [learning_rate, alpha, float(step % EXACT_FLOAT_INTEGERS),
                       float(seed % EXACT_FLOAT_INTEGERS)])
