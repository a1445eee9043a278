"""Fine-tuning on the GPU: backward plan, optimizer state in textures, fit / reset / export.

    model.configure_training(optimizer="adam", learning_rate=0.001, trainable="all", l2=0.0)
    loss = model.fit_batch(images, labels, n)           # one step; reads back one float
    history = model.fit(images, labels, n, epochs=1, batch_size=32, on_progress=callback)
    model.reset()                                       # loaded weights, fresh optimizer
    model_json_text, shards = model.export()            # TF.js layers format

A step for batch n is a plan built once (programs compiled, textures allocated) and
replayed: the forward of every layer (the final softmax left out: the loss is taken
from the logits), the loss and its gradient in one fused softmax + cross-entropy pass,
then per layer in reverse the weight and bias gradients and (down to the first
trainable layer only) the input gradient. A layer's activation gradient is one cheap
elementwise pass (dz = dy * f'(y), from dy and the layer's output y) whose result the
kernel, bias and input gradients all read; a Dense's kernel gradient reads its input
transposed (one small pass), four rows per fetch. Then one
update pass per (parameter, state tensor) writes into a twin texture, and the twins
are swapped (ping-pong; a program never reads the texture it writes). The only
readback is the loss: one texel.

The parameters are the model's own weight tensors (`GpuModel._ops[i].weights`); a swap
exchanges their `.texture`, so predict plans, which hold the tensor objects, see the
new weights without being rebuilt.

Dropout is the identity while fine-tuning (as at inference): the few-sample updates of
the page do not need it, and the step then matches numpy's with dropout off exactly.
L2 weight decay (`l2`) adds 2 * l2 * kernel to each kernel's gradient, as the numpy
L1L2 regularizer does; biases are not decayed.
"""

from __future__ import annotations

import random
import time
from array import array
from dataclasses import dataclass, field, replace

from webgl_backend.codegen import Program, shape_size
from webgl_backend.context import CompiledProgram, GLContext
from webgl_backend.errors import ShapeError
from webgl_backend.batchnorm_fold import fold_batch_norms, fold_plan, unfold_weights
from webgl_backend.keras_layer_ops import (
    FORWARD_ONLY_KINDS,
    KERAS_KINDS,
    keras_backward_program,
)
from webgl_backend.model_writer import write_model
from webgl_backend.ops.activations import activation_backward
from webgl_backend.ops.conv import (
    conv2d_backward_bias,
    conv2d_backward_input,
    conv2d_backward_kernel,
)
from webgl_backend.ops.dense import (
    dense_backward_bias,
    dense_backward_input,
    dense_backward_kernel,
    dense_transpose_input,
)
from webgl_backend.ops.losses import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from webgl_backend.ops.optimizers import (
    HYPER_SHAPE,
    OPTIMIZER_TARGETS,
    UPDATE_BUILDERS,
    adam_alpha,
)
from webgl_backend.ops.pool import avg_pool2d_backward, max_pool2d_backward
from webgl_backend.ops.reshape import is_view, reshape_forward
from webgl_backend.tensor import GpuTensor

# Largest training batch: bounds texture sizes and the loops of the gradient programs.
MAX_TRAIN_BATCH = 256
# Training plans (programs + textures) kept for recently used batch sizes.
MAX_TRAIN_PLANS = 2
DEFAULTS = {"momentum": 0.9, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}


class TrainingError(ValueError):
    """Fine-tuning asked for something this model or these arguments cannot do."""


@dataclass
class _Param:
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


@dataclass
class _Draw:
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


@dataclass
class _TrainPlan:
    n: int
    images: GpuTensor
    labels: GpuTensor
    loss: GpuTensor
    draws: list[_Draw]
    owned: list[GpuTensor]


@dataclass
class TrainingConfig:
    optimizer: str = "adam"
    learning_rate: float = 0.001
    trainable: object = "all"
    l2: float = 0.0
    seed: int = 0


class Trainer:
    """The fine-tuning state of one GpuModel (see the module docstring)."""

    def __init__(self, model) -> None:
        _check_fine_tunable(model)
        self.model = model
        self.context: GLContext = model.context
        self.config: TrainingConfig | None = None
        self.step = 0
        self.last_step: dict[str, float] = {}
        self._params: list[_Param] = []
        self._param_of: dict[int, _Param] = {}
        self._first_trainable = 0
        self._hyper: GpuTensor | None = None
        self._plans: dict[int, _TrainPlan] = {}
        self._initial = self._initial_weights()

    # -- configuration ---------------------------------------------------------------

    def _initial_weights(self) -> list[list[tuple[str, array]]]:
        """Per op with weights: (full name, loaded values), matched to the layer specs."""
        specs = [spec for spec in fold_batch_norms(self.model.artifacts.layers) if spec.weights]
        ops = [op for op in self.model._ops if op.weights]
        if len(specs) != len(ops):
            raise TrainingError(f"fine-tuning: {len(ops)} GPU ops hold weights but the model "
                                f"has {len(specs)} layers with weights")
        return [[(name, array("f", values)) for name, _, values in spec.weights]
                for spec in specs]

    def configure(self, optimizer: str = "adam", learning_rate: float = 0.001,
                  trainable="all", l2: float = 0.0, seed: int = 0) -> None:
        """Choose optimizer, rate, trainable layers; (re)creates the optimizer state."""
        if optimizer not in OPTIMIZER_TARGETS:
            raise TrainingError(f"configure_training: optimizer must be one of "
                                f"{', '.join(OPTIMIZER_TARGETS)}, got {optimizer!r}")
        if isinstance(learning_rate, bool) or not float(learning_rate) > 0:
            raise TrainingError(f"configure_training: learning_rate must be > 0, got "
                                f"{learning_rate!r}")
        if isinstance(l2, bool) or not float(l2) >= 0:
            raise TrainingError(f"configure_training: l2 must be >= 0, got {l2!r}")
        weighted = [i for i, op in enumerate(self.model._ops) if op.weights]
        if trainable == "all":
            chosen = weighted
        elif isinstance(trainable, int) and not isinstance(trainable, bool) \
                and 1 <= trainable <= len(weighted):
            chosen = weighted[-trainable:]
        else:
            raise TrainingError(f"configure_training: trainable must be 'all' or an int in "
                                f"[1, {len(weighted)}] (the last N layers with weights), got "
                                f"{trainable!r}")
        self._check_trainable_model()
        self._dispose_training_state()
        self.config = TrainingConfig(optimizer, float(learning_rate), trainable, float(l2),
                                     int(seed))
        self._first_trainable = chosen[0]
        initial = dict(zip(weighted, self._initial))
        for index in chosen:
            op = self.model._ops[index]
            for position, (tensor, (name, values)) in enumerate(zip(op.weights,
                                                                     initial[index])):
                self._params.append(_Param(name, tensor, values, decay=position == 0))
        for param in self._params:
            self._param_of[id(param.tensor)] = param
            self._allocate(param)
        self._hyper = GpuTensor.from_host(self.context, HYPER_SHAPE, array("f", [0.0] * 4))
        self.step = 0

    def _check_trainable_model(self) -> None:
        ops = self.model._ops
        last = ops[-1] if ops else None
        ends_in_softmax = last is not None and last.attrs.get("activation") == "softmax" and (
            last.kind in ("dense", "activation"))
        if not ends_in_softmax:
            raise TrainingError("fine-tuning: the model must end in a softmax (the loss is "
                                "softmax cross-entropy from the logits)")

    def _allocate(self, param: _Param) -> None:
        context, shape = self.context, param.tensor.shape
        zeros = array("f", bytes(4 * shape_size(shape)))
        param.grad = GpuTensor.empty(context, shape)
        for target in OPTIMIZER_TARGETS[self.config.optimizer]:
            if target != "param":
                param.state[target] = GpuTensor.from_host(context, shape, zeros)
            param.twins[target] = GpuTensor.empty(context, shape)

    def _dispose_plans(self) -> None:
        for plan in self._plans.values():
            for tensor in plan.owned:
                tensor.dispose()
        self._plans.clear()

    def _dispose_training_state(self) -> None:
        self._dispose_plans()
        for param in self._params:
            for tensor in param.owned():
                tensor.dispose()
        self._params = []
        self._param_of = {}
        if self._hyper is not None:
            self._hyper.dispose()
            self._hyper = None

    def dispose(self) -> None:
        self._dispose_training_state()
        self.config = None

    # -- the step plan -----------------------------------------------------------------

    def _compile(self, program: Program) -> CompiledProgram:
        return self.context.compile(program)

    def _add(self, plan_draws: list[_Draw], owned: list[GpuTensor], label: str,
             program: Program, inputs: dict[str, GpuTensor], output: GpuTensor | None = None
             ) -> GpuTensor:
        """Append a pass reading `inputs` (by sampler name); returns its output tensor."""
        if output is None:
            output = GpuTensor.empty(self.context, program.output_shape)
            owned.append(output)
        plan_draws.append(_Draw(label, self._compile(program),
                                [inputs[name] for name in program.inputs], output))
        return output

    def _plan(self, n: int) -> _TrainPlan:
        plan = self._plans.get(n)
        if plan is not None:
            return plan
        if len(self._plans) >= MAX_TRAIN_PLANS:
            oldest = next(iter(self._plans))
            for tensor in self._plans.pop(oldest).owned:
                tensor.dispose()
        draws: list[_Draw] = []
        owned: list[GpuTensor] = []
        try:
            plan = self._build_plan(n, draws, owned)
        except Exception:
            for tensor in owned:
                tensor.dispose()
            raise
        self._plans[n] = plan
        return plan

    def _build_plan(self, n: int, draws: list[_Draw], owned: list[GpuTensor]) -> _TrainPlan:
        context, mts = self.context, self.context.max_texture_size
        ops = list(self.model._ops)
        input_shape = (n,) + tuple(self.model.input_shape)
        first_trainable = self._first_trainable
        if ops and ops[0].kind == "view":
            # Flatten first (an MLP): the images are uploaded already flat, as in predict.
            input_shape = (n,) + tuple(ops[0].attrs["shape"])
            ops = ops[1:]
            first_trainable -= 1
        last = ops[-1]
        if last.kind == "activation":  # Activation('softmax'): the logits are its input
            ops = ops[:-1]
        else:
            ops[-1] = replace(last, attrs={**last.attrs, "activation": "linear"})
        images = GpuTensor.empty(context, input_shape)
        owned.append(images)
        # Forward: keep every op's input and output for the backward passes.
        xs, ys = [], []
        self._base_shapes: dict[int, tuple[int, ...]] = {}
        x = images
        for op in ops:
            xs.append(x)
            if op.kind == "view":
                y_shape = (n,) + tuple(op.attrs["shape"])
                if is_view(x.shape, y_shape):
                    y = x.reshape(y_shape)
                    # A gradient for y is written in x's layout, so it views back for free.
                    self._base_shapes[id(y)] = self._base_shapes.get(id(x), x.shape)
                else:
                    y = self._add(draws, owned, op.layer_name,
                                  reshape_forward(x.shape, y_shape, max_texture_size=mts,
                                                  widths={"x": x.texture.width}), {"x": x})
            else:
                inputs = [x] + op.weights
                for program in op.programs(x.shape, x.texture.width, mts):
                    parts = [GpuTensor.empty(context, program.output_shape)
                             for _ in range(program.outputs)]
                    owned.extend(parts)
                    draws.append(_Draw(op.layer_name, self._compile(program), inputs, parts[0],
                                       parts if program.outputs > 1 else []))
                    inputs = parts  # a gather draw reads the parts
                y = draws[-1].output
            ys.append(y)
            x = y
        logits = x
        if len(logits.shape) != 2:
            raise TrainingError(f"fine-tuning: logits must be (n, classes), got {logits.shape}")
        labels = GpuTensor.empty(context, (n,))
        owned.append(labels)
        pair = {"logits": logits, "labels": labels}
        loss = self._add(draws, owned, "loss",
                         softmax_cross_entropy_forward(logits.shape, labels.shape,
                                                       max_texture_size=mts), pair)
        dy = self._add(draws, owned, "dlogits",
                       softmax_cross_entropy_backward(logits.shape, labels.shape,
                                                      max_texture_size=mts), pair)
        for index in range(len(ops) - 1, max(first_trainable, 0) - 1, -1):
            need_dx = index > first_trainable
            dy = self._backward_op(ops[index], xs[index], ys[index], dy, need_dx, draws, owned)
        self._add_updates(draws)
        return _TrainPlan(n, images, labels, loss, draws, owned)

    def _backward_op(self, op, x: GpuTensor, y: GpuTensor, dy: GpuTensor, need_dx: bool,
                     draws: list[_Draw], owned: list[GpuTensor]) -> GpuTensor | None:
        """Append op's gradient passes; returns dx (None when not needed)."""
        mts = self.context.max_texture_size
        attrs = op.attrs
        label = op.layer_name
        widths = {"x": x.texture.width, "dy": dy.texture.width}
        if attrs.get("activation", "linear") != "linear":
            widths["y"] = y.texture.width  # read only for an activation's gradient
        named = {"x": x, "dy": dy, "y": y}
        if op.kind in ("dense", "conv2d"):
            if attrs["activation"] != "linear":
                # dz = dy * f'(y) once, in one cheap elementwise pass: the kernel, bias and
                # input gradients then fetch one texel per dz value instead of two.
                dz_program = activation_backward(attrs["activation"], dy.shape, y.shape,
                                                 attrs.get("alpha"), max_texture_size=mts,
                                                 widths=_only(widths, "dy", "y"))
                dy = self._add(draws, owned, f"{label} dz", dz_program, named)
                widths = {"x": x.texture.width, "dy": dy.texture.width}
                named = {"x": x, "dy": dy}
            act = {"activation": "linear", "max_texture_size": mts}
            kernel = op.weights[0]
            params = [self._param_of.get(id(t)) for t in op.weights]
            if op.kind == "dense":
                programs = [dense_backward_kernel(x.shape, dy.shape, **act,
                                                  widths=_only(widths, "dy")),
                            dense_backward_bias(dy.shape, **act, widths=_only(widths, "dy"))]
                if params[0] is not None:
                    transpose = dense_transpose_input(x.shape, max_texture_size=mts,
                                                      widths=_only(widths, "x"))
                    named["xt"] = self._add(draws, owned, f"{label} xt", transpose, named)
                dx_program = dense_backward_input(dy.shape, kernel.shape,
                                                  x_shape=self._base_shapes.get(id(x), x.shape),
                                                  **act, widths=_only(widths, "dy"))
            else:
                geometry = {"strides": attrs["strides"], "padding": attrs["padding"]}
                programs = [conv2d_backward_kernel(x.shape, dy.shape,
                                                   kernel_size=kernel.shape[:2], **geometry,
                                                   **act, widths=_only(widths, "x", "dy")),
                            conv2d_backward_bias(dy.shape, **act, widths=_only(widths, "dy"))]
                dx_program = conv2d_backward_input(dy.shape, kernel.shape,
                                                   x_shape=x.shape, **geometry, **act,
                                                   widths=_only(widths, "dy"))
            for param, program in zip(params, programs):
                if param is not None:
                    self._add(draws, owned, f"{label} d{param.name}", program, named,
                              output=param.grad)
            if not need_dx:
                return None
            return self._add(draws, owned, f"{label} dx", dx_program, {**named, "kernel": kernel})
        if not need_dx:
            return None
        if op.kind in ("max_pool2d", "avg_pool2d"):
            builder = max_pool2d_backward if op.kind == "max_pool2d" else avg_pool2d_backward
            read = ("dy", "x") if op.kind == "max_pool2d" else ("dy",)
            program = builder(dy.shape, x.shape, attrs["pool_size"], attrs["strides"],
                              attrs["padding"], max_texture_size=mts,
                              widths=_only(widths, *read))
            return self._add(draws, owned, f"{label} dx", program, named)
        if op.kind == "activation":
            program = activation_backward(attrs["activation"], dy.shape, y.shape,
                                          attrs.get("alpha"), max_texture_size=mts,
                                          widths=_only(widths, "dy", "y"))
            return self._add(draws, owned, f"{label} dx", program, named)
        if op.kind == "view":
            if is_view(dy.shape, x.shape):
                return dy.reshape(x.shape)
            program = reshape_forward(dy.shape, x.shape, max_texture_size=mts,
                                      widths={"x": dy.texture.width})
            return self._add(draws, owned, f"{label} dx", program, {"x": dy})
        if op.kind in KERAS_KINDS:
            program = keras_backward_program(op.kind, attrs, dy.shape, x.shape, widths, mts)
            return self._add(draws, owned, f"{label} dx", program, named)
        raise AssertionError(f"no backward for op kind {op.kind!r}")

    def _add_updates(self, draws: list[_Draw]) -> None:
        config = self.config
        builder = UPDATE_BUILDERS[config.optimizer]
        mts = self.context.max_texture_size
        for param in self._params:
            for target in OPTIMIZER_TARGETS[config.optimizer]:
                kwargs = {"l2": config.l2 if param.decay else 0.0, "target": target,
                          "max_texture_size": mts}
                if config.optimizer == "momentum":
                    kwargs["momentum"] = DEFAULTS["momentum"]
                elif config.optimizer == "adam":
                    kwargs.update(beta_1=DEFAULTS["beta_1"], beta_2=DEFAULTS["beta_2"],
                                  epsilon=DEFAULTS["epsilon"])
                program = builder(param.tensor.shape, **kwargs)
                named = {"param": param.tensor, "grad": param.grad, "hyper": self._hyper,
                         **param.state}
                draws.append(_Draw(f"{param.name} {config.optimizer} {target}",
                                   self._compile(program),
                                   [named[name] for name in program.inputs],
                                   param.twins[target]))

    # -- running -----------------------------------------------------------------------

    def _hyper_values(self) -> array:
        config = self.config
        alpha = 0.0
        if config.optimizer == "adam":
            alpha = adam_alpha(config.learning_rate, DEFAULTS["beta_1"], DEFAULTS["beta_2"],
                               self.step + 1)
        return array("f", [config.learning_rate, alpha, 0.0, 0.0])

    def fit_batch(self, images, labels, n: int) -> float:
        """One step on n images (n * prod(input_shape) floats) and n int labels -> loss."""
        if self.config is None:
            self.configure()
        self.model._check_usable()
        flat = _as_float_view(images)
        label_values = _as_labels(labels)
        per_image = shape_size(self.model.input_shape)
        classes = self.model.output_shape[-1]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_TRAIN_BATCH:
            raise ShapeError(f"fit_batch: n must be an int in [1, {MAX_TRAIN_BATCH}], got {n!r}")
        if len(flat) != n * per_image:
            raise ShapeError(f"fit_batch: expected n={n} images of shape "
                             f"{self.model.input_shape} ({n * per_image} floats), got "
                             f"{len(flat)} floats")
        if len(label_values) != n:
            raise ShapeError(f"fit_batch: expected {n} labels, got {len(label_values)}")
        bad = [v for v in label_values if not (0 <= v < classes and v == int(v))]
        if bad:
            raise ShapeError(f"fit_batch: labels must be integers in [0, {classes - 1}], got "
                             f"{bad[0]!r}")
        before = self.context.counters()
        started = time.perf_counter()
        plan = self._plan(n)
        plan.images.upload(flat)
        plan.labels.upload(label_values)
        self._hyper.upload(self._hyper_values())
        draw = self.context.draw
        for step in plan.draws:
            draw(step.compiled, [t.texture for t in step.inputs], step.target())
        loss = float(plan.loss.read()[0])
        self._swap()
        self.step += 1
        after = self.context.counters()
        self.last_step = {"draws": after["draws"] - before["draws"],
                          "gl_calls": after["gl_calls"] - before["gl_calls"],
                          "ms": 1000.0 * (time.perf_counter() - started),
                          "compiles": after["compiles"] - before["compiles"]}
        return loss

    def _swap(self) -> None:
        for param in self._params:
            for target, twin in param.twins.items():
                current = param.target(target)
                current.texture, twin.texture = twin.texture, current.texture

    def fit(self, images, labels, n: int, epochs: int = 1, batch_size: int = 32,
            on_progress=None, shuffle_seed: int = 0) -> list[float]:
        """Mini-batch epochs over n samples (seeded shuffle); returns every step's loss.

        Every batch is full: the last one of an epoch is topped up from the start of the
        shuffled order, so one plan (one set of compiled programs) serves the whole fit.
        `on_progress(step, total_steps, loss)` is called after each step (Python or JS).
        """
        flat = _as_float_view(images)
        label_values = _as_labels(labels)
        per_image = shape_size(self.model.input_shape)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ShapeError(f"fit: n must be a positive int, got {n!r}")
        if len(flat) != n * per_image or len(label_values) != n:
            raise ShapeError(f"fit: expected {n} images ({n * per_image} floats) and {n} "
                             f"labels, got {len(flat)} floats and {len(label_values)} labels")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TrainingError(f"fit: {name} must be a positive int, got {value!r}")
        batch = min(batch_size, n, MAX_TRAIN_BATCH)
        steps_per_epoch = -(-n // batch)
        total = epochs * steps_per_epoch
        rng = random.Random(shuffle_seed)
        order = list(range(n))
        history: list[float] = []
        batch_images = array("f")
        for _ in range(epochs):
            rng.shuffle(order)
            for s in range(steps_per_epoch):
                rows = [order[(s * batch + j) % n] for j in range(batch)]
                del batch_images[:]
                for row in rows:
                    batch_images.frombytes(
                        memoryview(flat[row * per_image:(row + 1) * per_image]).cast("B"))
                loss = self.fit_batch(batch_images, [label_values[r] for r in rows], batch)
                history.append(loss)
                if on_progress is not None:
                    on_progress(len(history), total, loss)
        return history

    def reset(self) -> None:
        """Every weight back to its loaded value; optimizer state zeroed, step 0."""
        for op, weights in zip([op for op in self.model._ops if op.weights], self._initial):
            for tensor, (_, values) in zip(op.weights, weights):
                tensor.upload(values)
        for param in self._params:
            zeros = array("f", bytes(4 * param.tensor.size))
            for tensor in param.state.values():
                tensor.upload(zeros)
        self.step = 0

    def export(self) -> tuple[str, dict[str, bytes]]:
        """(model.json text, shards) of the current weights, TF.js layers format."""
        self.model._check_usable()
        weights = {}
        _, folds = fold_plan(self.model.artifacts.layers)
        for op, initial in zip([op for op in self.model._ops if op.weights], self._initial):
            values = [tensor.read() for tensor in op.weights]
            fold = folds.get(op.layer_name.split("+")[0] + "+" + op.layer_name.split("+")[1]) \
                if op.layer_name.count("+") else None
            if fold is not None:
                try:
                    weights.update(unfold_weights(*fold, *values))
                except ValueError as error:
                    raise TrainingError(f"export: {error}") from None
                continue
            for (name, _), value in zip(initial, values):
                weights[name] = value
        return write_model(self.model.artifacts, weights)


def _check_fine_tunable(model) -> None:
    """Refuse, naming the layer, a model holding a layer with no backward programs yet."""
    for op in model._ops:
        if op.kind in FORWARD_ONLY_KINDS:
            raise TrainingError(f"fine-tuning: layer '{op.layer_name}' ({op.kind}) can run "
                                "in the page but not be fine-tuned yet")


def _only(widths: dict[str, int], *names: str) -> dict[str, int]:
    return {name: widths[name] for name in names if name in widths}


def _as_float_view(images):
    from webgl_backend.runtime import _as_float_view as as_view

    return as_view(images)


def _as_labels(labels) -> array:
    """n labels (list, array('i'), memoryview, JS Int32Array) as array('f') for upload."""
    to_py = getattr(labels, "to_py", None)
    if to_py is not None and not isinstance(labels, (list, tuple, memoryview, array)):
        labels = to_py()
    if isinstance(labels, memoryview):
        labels = labels.tolist()
    return array("f", [float(v) for v in labels])
