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


def update_program(optimizer: str, parameter: Parameter, target: str, l2: float,
                   max_texture_size: int) -> Program:
    """The update pass writing `target` ('param' or a state tensor) of one parameter."""
    kwargs = {"l2": l2 if parameter.decay else 0.0, "target": target,
              "max_texture_size": max_texture_size}
    if optimizer == "momentum":
        kwargs["momentum"] = OPTIMIZER_DEFAULTS["momentum"]
    elif optimizer == "adam":
        kwargs.update(beta_1=OPTIMIZER_DEFAULTS["beta_1"], beta_2=OPTIMIZER_DEFAULTS["beta_2"],
                      epsilon=OPTIMIZER_DEFAULTS["epsilon"])
    return UPDATE_BUILDERS[optimizer](parameter.tensor.shape, **kwargs)


def update_draws(context: GLContext, optimizer: str, parameters: list[Parameter], l2: float,
                 hyper: GpuTensor) -> list[Draw]:
    """One draw per (parameter, tensor its optimizer writes), into the twins."""
    draws = []
    for parameter in parameters:
        for target in OPTIMIZER_TARGETS[optimizer]:
            program = update_program(optimizer, parameter, target, l2, context.max_texture_size)
            named = {"param": parameter.tensor, "grad": parameter.grad, "hyper": hyper,
                     **parameter.state}
            draws.append(Draw(f"{parameter.name} {optimizer} {target}", context.compile(program),
                              [named[name] for name in program.inputs],
                              parameter.twins[target]))
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
