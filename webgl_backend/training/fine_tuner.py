"""FineTuner: fine-tuning a loaded GpuModel on the GPU (configure, fit_batch, fit, reset,
export). Built from a model; the model's weight tensors are its parameters, so a
predict after a step sees the new weights without rebuilding anything.

A parameter's update writes a twin texture and the two are swapped (ping-pong); a swap
exchanges `.texture`, so predict plans, which hold the tensor objects, see the change.
Dropout is the identity while fine-tuning (as at inference) unless `dropout=True` is
asked for: the few-sample updates of the page's teach flow do not need it, and the step
then matches numpy's with dropout off exactly. With `dropout=True` (training from
scratch) each Dropout layer draws its mask on the GPU per step (`step_plan`).
A `schedule` (step -> learning rate) replaces the constant rate (decay).
L2 weight decay (`l2`) adds 2 * l2 * kernel to each kernel's gradient, as the numpy
L1L2 regularizer does; biases are not decayed. The only readback is the loss: one texel.
"""

from __future__ import annotations

import random
import time
from array import array
from dataclasses import dataclass
from typing import Callable

from webgl_backend.codegen import shape_size
from webgl_backend.errors import ShapeError, TrainingError, invalid_argument
from webgl_backend.forward_plan import fold_batch_norms
from webgl_backend.host_data import as_float_view, as_labels
from webgl_backend.model_writer import write_model
from webgl_backend.ops.optimizers import HYPER_SHAPE, OPTIMIZER_TARGETS
from webgl_backend.runtime import GpuModel
from webgl_backend.tensor import GpuTensor
from webgl_backend.training.folded_batch_norm import fold_plan, unfold_weights
from webgl_backend.training.parameters import Parameter, hyper_values
from webgl_backend.training.dropout_sites import dropout_sites
from webgl_backend.training.step_plan import StepSettings, TrainPlan, build_train_plan

# Largest training batch: bounds texture sizes and the loops of the gradient programs.
MAX_TRAIN_BATCH = 256
# Training plans (programs + textures) kept for recently used batch sizes.
MAX_TRAIN_PLANS = 2


@dataclass
class FineTuningSettings:
    optimizer: str = "adam"
    learning_rate: float = 0.001
    trainable: object = "all"
    l2: float = 0.0
    seed: int = 0
    dropout: bool = False
    schedule: Callable[[int], float] | None = None

    def learning_rate_at(self, step: int) -> float:
        """The rate of the update after `step` updates (numpy: schedule(iterations))."""
        return self.learning_rate if self.schedule is None else float(self.schedule(step))


class FineTuner:
    """The fine-tuning state of one GpuModel (see the module docstring)."""

    def __init__(self, model: GpuModel) -> None:
        _check_fine_tunable(model)
        self.model = model
        self.context = model.context
        self.settings: FineTuningSettings | None = None
        self.step = 0
        self.last_step: dict[str, float] = {}
        self._parameters: list[Parameter] = []
        self._first_trainable = 0
        self._hyper: GpuTensor | None = None
        self._plans: dict[int, TrainPlan] = {}
        self._dropouts: dict = {}
        self._last_n = 0
        self._initial = self._initial_weights()
        model.on_dispose.append(self.dispose)
        model.on_restore.append(self._forget_textures)

    def _weighted_ops(self):
        return [op for op in self.model.ops if op.weights]

    def _initial_weights(self) -> list[list[tuple[str, array]]]:
        """Per op with weights: (full name, loaded values), matched to the layer specs."""
        specs = [spec for spec in fold_batch_norms(self.model.artifacts.layers) if spec.weights]
        ops = self._weighted_ops()
        if len(specs) != len(ops):
            raise TrainingError(f"fine-tuning: {len(ops)} GPU ops hold weights but the model "
                                f"has {len(specs)} layers with weights")
        return [[(name, array("f", values)) for name, _, values in spec.weights]
                for spec in specs]

    # -- configuration ---------------------------------------------------------------

    def configure_training(self, optimizer: str = "adam", learning_rate: float = 0.001,
                           trainable="all", l2: float = 0.0, seed: int = 0,
                           dropout: bool = False,
                           schedule: Callable[[int], float] | None = None) -> None:
        """Optimizer ('sgd', 'momentum', 'adam'), rate, trainable ('all' or the last N
        layers with weights), L2 decay, the model's Dropout layers applied while training
        (`dropout`, masks seeded by `seed`), a learning-rate `schedule`; (re)creates the
        optimizer state."""
        if optimizer not in OPTIMIZER_TARGETS:
            raise TrainingError(invalid_argument(
                "configure_training", "optimizer", f"one of {', '.join(OPTIMIZER_TARGETS)}",
                optimizer))
        if isinstance(learning_rate, bool) or not float(learning_rate) > 0:
            raise TrainingError(invalid_argument("configure_training", "learning_rate",
                                                 "a number > 0", learning_rate))
        if isinstance(l2, bool) or not float(l2) >= 0:
            raise TrainingError(invalid_argument("configure_training", "l2", "a number >= 0",
                                                 l2))
        weighted = [i for i, op in enumerate(self.model.ops) if op.weights]
        if trainable == "all":
            chosen = weighted
        elif isinstance(trainable, int) and not isinstance(trainable, bool) \
                and 1 <= trainable <= len(weighted):
            chosen = weighted[-trainable:]
        else:
            raise TrainingError(invalid_argument(
                "configure_training", "trainable", f"'all' or an int in [1, {len(weighted)}] "
                "(the last N layers with weights)", trainable))
        self._check_trainable_model()
        self._dropouts = dropout_sites(self.model) if dropout else {}
        self._dispose_training_state()
        self.settings = FineTuningSettings(optimizer, float(learning_rate), trainable,
                                           float(l2), int(seed), bool(dropout), schedule)
        self._first_trainable = chosen[0]
        initial = dict(zip(weighted, self._initial))
        for index in chosen:
            op = self.model.ops[index]
            for position, (tensor, (name, values)) in enumerate(zip(op.weights,
                                                                     initial[index])):
                self._parameters.append(Parameter(name, tensor, values, decay=position == 0))
        for parameter in self._parameters:
            parameter.allocate(self.context, optimizer)
        self._hyper = GpuTensor.from_host(self.context, HYPER_SHAPE, array("f", [0.0] * 4))
        self.step = 0

    def _check_trainable_model(self) -> None:
        ops = self.model.ops
        last = ops[-1] if ops else None
        ends_in_softmax = last is not None and last.attrs.get("activation") == "softmax" and (
            last.kind in ("dense", "activation"))
        if not ends_in_softmax:
            raise TrainingError("fine-tuning: the model must end in a softmax (the loss is "
                                "softmax cross-entropy from the logits)")

    def _dispose_plans(self) -> None:
        for plan in self._plans.values():
            for tensor in plan.owned:
                tensor.dispose()
        self._plans.clear()

    def _dispose_training_state(self) -> None:
        self._dispose_plans()
        for parameter in self._parameters:
            for tensor in parameter.owned():
                tensor.dispose()
        self._parameters = []
        if self._hyper is not None:
            self._hyper.dispose()
            self._hyper = None

    def _forget_textures(self) -> None:
        """After a context restore: every texture died with the context; configure again."""
        self._plans.clear()
        self._parameters = []
        self._hyper = None
        self.settings = None

    def dispose(self) -> None:
        self._dispose_training_state()
        self.settings = None

    # -- running -----------------------------------------------------------------------

    def _plan(self, n: int) -> TrainPlan:
        plan = self._plans.get(n)
        if plan is not None:
            return plan
        if len(self._plans) >= MAX_TRAIN_PLANS:
            oldest = next(iter(self._plans))
            for tensor in self._plans.pop(oldest).owned:
                tensor.dispose()
        settings = StepSettings(self.settings.optimizer, self.settings.l2,
                                self._first_trainable, self._parameters, self._hyper,
                                self._dropouts)
        plan, _ = build_train_plan(self.context, self.model.ops, self.model.input_shape, n,
                                   settings)
        self._plans[n] = plan
        return plan

    def fit_batch(self, images, labels, n: int) -> float:
        """One step on n images (n * prod(input_shape) floats) and n int labels -> loss."""
        flat = as_float_view(images)
        per_image = shape_size(self.model.input_shape)
        self._check_batch("fit_batch", n)
        if len(flat) != n * per_image:
            raise ShapeError(f"fit_batch: expected n={n} images of shape "
                             f"{self.model.input_shape} ({n * per_image} floats), got "
                             f"{len(flat)} floats")
        return self._step(lambda tensor: tensor.upload(flat), labels, n)

    def fit_gathered(self, write_images: Callable[[GpuTensor], None], labels, n: int) -> float:
        """One step whose n images a GPU pass writes: `write_images(tensor)` fills the
        plan's input tensor (shape (n, *input_shape), or (n, features) for an MLP)."""
        self._check_batch("fit_gathered", n)
        return self._step(write_images, labels, n)

    def _check_batch(self, where: str, n: int) -> None:
        if self.settings is None:
            self.configure_training()
        self.model.check_usable(where)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_TRAIN_BATCH:
            raise ShapeError(invalid_argument(where, "n", f"an int in [1, {MAX_TRAIN_BATCH}]",
                                              n))

    def _step(self, write_images: Callable[[GpuTensor], None], labels, n: int) -> float:
        label_values = as_labels(labels)
        classes = self.model.output_shape[-1]
        if len(label_values) != n:
            raise ShapeError(f"fit_batch: expected {n} labels, got {len(label_values)}")
        bad = [v for v in label_values if not (0 <= v < classes and v == int(v))]
        if bad:
            raise ShapeError(invalid_argument("fit_batch", "labels",
                                              f"integers in [0, {classes - 1}]", bad[0]))
        before = self.context.counters()
        started = time.perf_counter()
        plan = self._plan(n)
        self._last_n = n
        write_images(plan.images)
        plan.labels.upload(label_values)
        self._hyper.upload(hyper_values(self.settings.optimizer,
                                        self.settings.learning_rate_at(self.step), self.step,
                                        self.settings.seed))
        draw = self.context.draw
        for step in plan.draws:
            draw(step.compiled, [t.texture for t in step.inputs], step.target())
        loss = float(plan.loss.read()[0])
        for parameter in self._parameters:
            parameter.swap()
        self.step += 1
        after = self.context.counters()
        self.last_step = {"draws": after["draws"] - before["draws"],
                          "gl_calls": after["gl_calls"] - before["gl_calls"],
                          "ms": 1000.0 * (time.perf_counter() - started),
                          "compiles": after["compiles"] - before["compiles"]}
        return loss

    def last_logits(self) -> array:
        """The last step's logits (n * classes floats; a readback, for batch accuracy)."""
        plan = self._plans.get(self._last_n)
        if plan is None:
            raise TrainingError("last_logits: no training step has run yet")
        return plan.logits.read()

    def dropout_masks(self) -> dict[str, array]:
        """The last step's dropout masks, by Dropout layer name (a readback: for tests)."""
        plan = self._plans.get(self._last_n)
        return {} if plan is None else {name: mask.read() for name, mask in plan.masks}

    def fit(self, images, labels, n: int, epochs: int = 1, batch_size: int = 32,
            on_progress=None, shuffle_seed: int = 0) -> list[float]:
        """Mini-batch epochs over n samples (seeded shuffle); returns every step's loss.

        Every batch is full: the last one of an epoch is topped up from the start of the
        shuffled order, so one plan (one set of compiled programs) serves the whole fit.
        `on_progress(step, total_steps, loss)` is called after each step (Python or JS).
        """
        flat = as_float_view(images)
        label_values = as_labels(labels)
        per_image = shape_size(self.model.input_shape)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ShapeError(invalid_argument("fit", "n", "a positive int", n))
        if len(flat) != n * per_image or len(label_values) != n:
            raise ShapeError(f"fit: expected {n} images ({n * per_image} floats) and {n} "
                             f"labels, got {len(flat)} floats and {len(label_values)} labels")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TrainingError(invalid_argument("fit", name, "a positive int", value))
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
        for op, weights in zip(self._weighted_ops(), self._initial):
            for tensor, (_, values) in zip(op.weights, weights):
                tensor.upload(values)
        for parameter in self._parameters:
            zeros = array("f", bytes(4 * parameter.tensor.size))
            for tensor in parameter.state.values():
                tensor.upload(zeros)
        self.step = 0

    def export(self) -> tuple[str, dict[str, bytes]]:
        """(model.json text, shards) of the current weights, TF.js layers format."""
        self.model.check_usable("export")
        weights = {}
        _, folds = fold_plan(self.model.artifacts.layers)
        for op, initial in zip(self._weighted_ops(), self._initial):
            values = [tensor.read() for tensor in op.weights]
            # A fused activation adds "+activation" after the folded pair's name.
            fold = folds.get("+".join(op.layer_name.split("+")[:2]))
            if fold is None:
                weights.update((name, value) for (name, _), value in zip(initial, values))
                continue
            try:
                weights.update(unfold_weights(*fold, *values))
            except ValueError as error:
                raise TrainingError(f"export: {error}") from None
        return write_model(self.model.artifacts, weights)


def _check_fine_tunable(model: GpuModel) -> None:
    """Refuse, naming the layer, a model holding a layer with no backward passes."""
    for op in model.ops:
        if op.entry.backward is None:
            raise TrainingError(f"fine-tuning: layer '{op.layer_name}' ({op.kind}) can run in "
                                f"the page but not be fine-tuned yet: {op.entry.no_backward}")
