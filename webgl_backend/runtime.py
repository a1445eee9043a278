"""Runtime: load a validated model onto the GPU, predict batches, dispose.

    runtime = Runtime(gl)                       # gl: a WebGL2RenderingContext (or FakeGL)
    model = runtime.load_model(model_json, shards)
    probabilities = model.predict(images, n)    # n * 28*28 floats in, n * 10 floats out
    model.dispose()

Layers map to ops (one table, `_LAYER_BUILDERS`); an activation layer after Dense or
Conv2D is fused into that producer's draw, a softmax after the last Dense is fused too,
Flatten is a view, Dropout is the identity. A Dense on 8 rows or more is two draws: four
rows per fragment into four render targets, then a gather (ops/dense.py); each kernel
texel then serves four rows. A forward pass for batch n is a "plan": the
programs specialised for n, compiled once, plus the output textures, reused by every
predict of that batch size.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from dataclasses import dataclass, field

from webgl_backend.batchnorm_fold import fold_batch_norms
from webgl_backend.codegen import Program, shape_size
from webgl_backend.context import CompiledProgram, GLContext
from webgl_backend.errors import ContextLostError, ModelFormatError, ShapeError
from webgl_backend.keras_layer_ops import KERAS_KINDS, keras_layer_op, keras_program
from webgl_backend.model_format import ModelArtifacts, read_model
from webgl_backend.ops.activations import activation_forward
from webgl_backend.ops.conv import conv2d_forward
from webgl_backend.ops.dense import (
    MAX_FUSED_SOFTMAX_UNITS,
    dense_forward,
    dense_forward_programs,
)
from webgl_backend.ops.pool import avg_pool2d_forward, max_pool2d_forward
from webgl_backend.ops.reshape import is_view, reshape_forward
from webgl_backend.tensor import GpuTensor

# Batches above this are split: bounds texture sizes and the number of specialisations.
MAX_BATCH = 1024
# Plans (programs + textures) kept for recently used batch sizes.
MAX_PLANS = 3


@dataclass
class _LayerOp:
    """One drawn op of the model: which builder, its attributes, and its weight tensors.

    `kind` is 'dense', 'conv2d', 'max_pool2d', 'avg_pool2d', 'activation' or 'view'
    (Flatten: shares the texture when the packing allows, else one repacking draw).
    """

    layer_name: str
    kind: str
    attrs: dict = field(default_factory=dict)
    weights: list[GpuTensor] = field(default_factory=list)

    def program(self, x_shape: tuple[int, ...], x_width: int,
                max_texture_size: int) -> Program | None:
        """The program for input x (batch included) in a texture `x_width` wide, or None."""
        kind, attrs, mts = self.kind, self.attrs, max_texture_size
        widths = {"x": x_width}
        if kind == "view":
            return None
        if kind == "dense":
            bias_shape = self.weights[1].shape if len(self.weights) > 1 else None
            return dense_forward(x_shape, self.weights[0].shape, bias_shape,
                                 activation=attrs["activation"], alpha=attrs.get("alpha"),
                                 max_texture_size=mts, widths=widths)
        if kind == "conv2d":
            bias_shape = self.weights[1].shape if len(self.weights) > 1 else None
            return conv2d_forward(x_shape, self.weights[0].shape, bias_shape,
                                  strides=attrs["strides"], padding=attrs["padding"],
                                  activation=attrs["activation"], alpha=attrs.get("alpha"),
                                  max_texture_size=mts, widths=widths)
        if kind in ("max_pool2d", "avg_pool2d"):
            builder = max_pool2d_forward if kind == "max_pool2d" else avg_pool2d_forward
            return builder(x_shape, attrs["pool_size"], attrs["strides"], attrs["padding"],
                           max_texture_size=mts, widths=widths)
        if kind == "activation":
            return activation_forward(attrs["activation"], x_shape, attrs.get("alpha"),
                                      max_texture_size=mts, widths=widths)
        if kind in KERAS_KINDS:
            return keras_program(kind, attrs, x_shape, widths, mts)
        raise AssertionError(f"unknown op kind {kind!r}")

    def programs(self, x_shape: tuple[int, ...], x_width: int,
                 max_texture_size: int) -> list[Program]:
        """The draws of this op in order: usually `[program(...)]`; a Dense on many rows
        is `[dense_forward_rows4, dense_gather_rows4]` (ops/dense.py)."""
        if self.kind == "dense":
            bias_shape = self.weights[1].shape if len(self.weights) > 1 else None
            return dense_forward_programs(x_shape, self.weights[0].shape, bias_shape,
                                          activation=self.attrs["activation"],
                                          alpha=self.attrs.get("alpha"),
                                          max_texture_size=max_texture_size,
                                          widths={"x": x_width})
        program = self.program(x_shape, x_width, max_texture_size)
        return [] if program is None else [program]

    def can_fuse(self, activation: str) -> bool:
        """Whether an activation layer right after this op can run inside its draw."""
        if self.kind not in ("dense", "conv2d") or self.attrs["activation"] != "linear":
            return False
        if activation == "softmax":
            return self.kind == "dense" and self.weights[0].shape[1] <= MAX_FUSED_SOFTMAX_UNITS
        return True


@dataclass
class _Step:
    """One draw; `parts`: every output of a multiple-render-target program (`output` is
    the first)."""

    layer_name: str
    compiled: CompiledProgram | None
    inputs: list[GpuTensor]
    output: GpuTensor
    parts: list[GpuTensor] = field(default_factory=list)


@dataclass
class _Plan:
    """Everything one forward pass of batch n draws, built once per n."""

    n: int
    input: GpuTensor
    steps: list[_Step]
    output: GpuTensor

    def owned_tensors(self) -> list[GpuTensor]:
        outputs = [t for step in self.steps for t in (step.parts or [step.output])]
        return [self.input] + [t for t in outputs if t.owner]


class GpuModel:
    """A model whose weights live in textures of one GLContext."""

    def __init__(self, context: GLContext, artifacts: ModelArtifacts, max_batch: int = MAX_BATCH):
        self.context = context
        self.artifacts = artifacts
        self.input_shape = tuple(artifacts.input_shape)
        self.max_batch = max_batch
        self.last_forward: dict[str, int] = {}
        self._plans: OrderedDict[int, _Plan] = OrderedDict()
        self._ops: list[_LayerOp] = []
        self._disposed = False
        self._build_ops()
        self.output_shape = self._output_shape()
        self.max_batch = min(max_batch, self._row_layout_batch_limit())

    # -- building --------------------------------------------------------------------

    def _build_ops(self) -> None:
        """Upload weights and turn layer specs into ops, fusing activations into producers."""
        ops: list[_LayerOp] = []
        for spec in fold_batch_norms(self.artifacts.layers):
            builder = _LAYER_BUILDERS.get(spec.class_name)
            if builder is None:
                raise ModelFormatError(
                    f"model.json: layer '{spec.name}' is a {spec.class_name}, which the GPU "
                    f"runtime cannot run; supported: {', '.join(sorted(_LAYER_BUILDERS))}"
                )
            op = builder(self.context, spec)
            if op is None:
                continue
            if op.kind == "activation" and ops and ops[-1].can_fuse(op.attrs["activation"]):
                ops[-1].attrs["activation"] = op.attrs["activation"]
                ops[-1].attrs["alpha"] = op.attrs.get("alpha")
                ops[-1].layer_name += f"+{op.layer_name}"
                continue
            ops.append(op)
        self._ops = ops

    def _row_layout_batch_limit(self) -> int:
        """Largest batch whose NHWC activations keep the division-free row layout.

        An (n, h, w, c) tensor is n*h texels tall; past MAX_TEXTURE_SIZE it falls back to
        a near-square layout that shaders must address with divisions (slower, correct).
        """
        heights = [shape[0] for spec in self.artifacts.layers
                   for shape in (tuple(spec.input_shape), tuple(spec.output_shape))
                   if len(shape) >= 3]
        if len(self.input_shape) >= 3:
            heights.append(self.input_shape[0])
        return max(1, self.context.max_texture_size // max(heights, default=1))

    def _output_shape(self) -> tuple[int, ...]:
        layers = self.artifacts.layers
        return tuple(layers[-1].output_shape) if layers else self.input_shape

    def _plan(self, n: int) -> _Plan:
        plan = self._plans.get(n)
        if plan is not None:
            self._plans.move_to_end(n)
            return plan
        context = self.context
        mts = context.max_texture_size
        ops = self._ops
        input_shape = (n,) + self.input_shape
        if ops and ops[0].kind == "view":
            # Flatten first (an MLP): upload the images already flat, no repacking draw.
            input_shape = (n,) + tuple(ops[0].attrs["shape"])
            ops = ops[1:]
        x = GpuTensor.empty(context, input_shape)
        first_input, steps = x, []
        try:
            for op in ops:
                if op.kind == "view":
                    y_shape = (n,) + tuple(op.attrs["shape"])
                    if is_view(x.shape, y_shape):
                        y = x.reshape(y_shape)
                        steps.append(_Step(op.layer_name, None, [x], y))
                        x = y
                        continue
                    program = reshape_forward(x.shape, y_shape, max_texture_size=mts,
                                              widths={"x": x.texture.width})
                    y = GpuTensor.empty(context, program.output_shape)
                    steps.append(_Step(op.layer_name, context.compile(program), [x], y))
                    x = y
                    continue
                inputs = [x] + op.weights
                for program in op.programs(x.shape, x.texture.width, mts):
                    parts = [GpuTensor.empty(context, program.output_shape)
                             for _ in range(program.outputs)]
                    steps.append(_Step(op.layer_name, context.compile(program), inputs,
                                       parts[0], parts if program.outputs > 1 else []))
                    inputs = parts  # a gather draw reads the parts
                x = steps[-1].output
        except Exception:
            for tensor in [first_input] + [t for s in steps for t in (s.parts or [s.output])]:
                tensor.dispose()
            raise
        plan = _Plan(n, first_input, steps, x)
        self._plans[n] = plan
        if len(self._plans) > MAX_PLANS:
            _, evicted = self._plans.popitem(last=False)
            for tensor in evicted.owned_tensors():
                tensor.dispose()
        return plan

    # -- running ---------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._disposed:
            raise ValueError("predict: this model was disposed (load it again to use it)")
        self.context.check_not_lost()

    def _forward(self, plan: _Plan, images, offset: int, count: int) -> array:
        plan.input.upload(images[offset:offset + count])
        context = self.context
        for step in plan.steps:
            if step.compiled is not None:
                output = [t.texture for t in step.parts] if step.parts else step.output.texture
                context.draw(step.compiled, [t.texture for t in step.inputs], output)
        return plan.output.read()

    def predict(self, images, n: int) -> array:
        """Probabilities for n images: `images` holds n * prod(input_shape) floats, NHWC.

        Accepts array('f'), a float32 memoryview/bytes, a list, or a JS Float32Array.
        Returns array('f') of n * prod(output_shape) floats. Batches above `max_batch`
        run in chunks.
        """
        self._check_usable()
        flat = _as_float_view(images)
        per_image = shape_size(self.input_shape)
        if n < 1 or len(flat) != n * per_image:
            raise ShapeError(
                f"predict: expected n={n} images of shape {self.input_shape} "
                f"({n * per_image} floats), got {len(flat)} floats"
            )
        before = self.context.counters()
        result = array("f")
        programs = set()
        for start in range(0, n, self.max_batch):
            count = min(self.max_batch, n - start)
            plan = self._plan(count)
            programs.update(id(s.compiled) for s in plan.steps if s.compiled is not None)
            result.extend(self._forward(plan, flat, start * per_image, count * per_image))
        after = self.context.counters()
        self.last_forward = {
            "draws": after["draws"] - before["draws"],
            "gl_calls": after["gl_calls"] - before["gl_calls"],
            "compiles": after["compiles"] - before["compiles"],
            "programs": len(programs),
        }
        return result

    def warm_up(self, n: int = 1) -> None:
        """Compile and draw every program of batch n once (SwiftShader compiles on first draw)."""
        self.predict(array("f", bytes(4 * n * shape_size(self.input_shape))), n)

    def generated_sources(self, n: int = 1) -> list[dict[str, str]]:
        """[{layer, program, source}] of the forward pass for batch n ('Under the hood')."""
        sources = []
        for step in self._plan(n).steps:
            if step.compiled is not None:
                program = step.compiled.program
                sources.append({"layer": step.layer_name, "program": program.name,
                                "source": program.source})
        return sources

    # -- fine-tuning (webgl_backend/training.py) ---------------------------------------

    def _training(self):
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            from webgl_backend.training import Trainer  # noqa: PLC0415 - only when training

            trainer = self._trainer = Trainer(self)
        return trainer

    def configure_training(self, optimizer: str = "adam", learning_rate: float = 0.001,
                           trainable="all", l2: float = 0.0, seed: int = 0) -> None:
        """Optimizer ('sgd', 'momentum', 'adam'), rate, trainable ('all' or last N layers)."""
        self._training().configure(optimizer, learning_rate, trainable, l2, seed)

    def fit_batch(self, images, labels, n: int) -> float:
        """One training step on n images and labels; returns the loss (one readback)."""
        return self._training().fit_batch(images, labels, n)

    def fit(self, images, labels, n: int, epochs: int = 1, batch_size: int = 32,
            on_progress=None, shuffle_seed: int = 0) -> list[float]:
        """Mini-batch epochs; on_progress(step, total_steps, loss) after each step."""
        return self._training().fit(images, labels, n, epochs, batch_size, on_progress,
                                    shuffle_seed)

    def reset(self) -> None:
        """Weights and optimizer state back to the loaded values."""
        self._training().reset()

    def export(self) -> tuple[str, dict[str, bytes]]:
        """(model.json text, {shard name: bytes}) with the current weights."""
        return self._training().export()

    @property
    def last_step(self) -> dict:
        """Counters of the last training step: draws, gl_calls, ms (and compiles)."""
        trainer = getattr(self, "_trainer", None)
        return dict(trainer.last_step) if trainer is not None else {}

    # -- lifetime --------------------------------------------------------------------

    def dispose(self) -> None:
        """Free every texture this model holds (weights and per-batch activations)."""
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.dispose()
            self._trainer = None
        for plan in self._plans.values():
            for tensor in plan.owned_tensors():
                tensor.dispose()
        self._plans.clear()
        for op in self._ops:
            for tensor in op.weights:
                tensor.dispose()
        self._ops = []
        self._disposed = True

    def restore(self) -> None:
        """Rebuild textures and programs from the kept artifacts after a context restore."""
        if self.context.is_lost():
            raise ContextLostError(
                "restore: the WebGL context is still lost; wait for the canvas "
                "'webglcontextrestored' event, then call restore() again"
            )
        self.context.reset_after_restore()
        self._plans.clear()
        self._trainer = None  # its textures died with the context; configure again
        self._build_ops()
        self._disposed = False
        self.warm_up()


class Runtime:
    """The GPU runtime of one page: a GLContext and the model currently loaded on it."""

    def __init__(self, gl) -> None:
        self.context = gl if isinstance(gl, GLContext) else GLContext(gl)
        self.model: GpuModel | None = None

    def load_model(self, model_json, shards: dict, warm_up: bool = True) -> GpuModel:
        """Validate and upload a model (model.json bytes/str/dict + shard name -> bytes).

        The model loaded before is disposed only once the new one is ready, so a bad file
        leaves the old model working.
        """
        artifacts = model_json if isinstance(model_json, ModelArtifacts) else read_model(
            model_json, shards)
        model = GpuModel(self.context, artifacts)
        try:
            if warm_up:
                model.warm_up()
        except Exception:
            model.dispose()
            raise
        if self.model is not None:
            self.model.dispose()
        self.model = model
        return model

    async def load_model_url(self, base_url: str, warm_up: bool = True) -> GpuModel:
        """Fetch `base_url/model.json` and its shards (in Pyodide), then `load_model`."""
        from pyodide.http import pyfetch  # noqa: PLC0415 - only inside Pyodide

        from webgl_backend.model_format import parse_model_json, shard_paths

        base = base_url.rstrip("/")
        response = await pyfetch(f"{base}/model.json")
        if not response.ok:
            raise ModelFormatError(f"{base}/model.json: HTTP {response.status}")
        model_json = parse_model_json(await response.bytes())
        shards = {}
        for path in shard_paths(model_json):
            shard = await pyfetch(f"{base}/{path}")
            if not shard.ok:
                raise ModelFormatError(f"{base}/{path}: HTTP {shard.status}")
            shards[path] = await shard.bytes()
        return self.load_model(model_json, shards, warm_up=warm_up)

    def dispose(self) -> None:
        if self.model is not None:
            self.model.dispose()
            self.model = None


def load_model(gl, model_json, shards: dict, warm_up: bool = True) -> GpuModel:
    """One-call form: a Runtime on `gl` with this model loaded."""
    return Runtime(gl).load_model(model_json, shards, warm_up=warm_up)


# -- layer table ---------------------------------------------------------------------

def _weight_tensors(context: GLContext, spec) -> list[GpuTensor]:
    return [GpuTensor.from_host(context, tuple(shape), values)
            for _, shape, values in spec.weights]


def _dense(context, spec) -> _LayerOp:
    return _LayerOp(spec.name, "dense", {"activation": spec.config.get("activation", "linear")},
                    _weight_tensors(context, spec))


def _conv2d(context, spec) -> _LayerOp:
    config = spec.config
    attrs = {"activation": config.get("activation", "linear"), "padding": config["padding"],
             "strides": tuple(config.get("strides", (1, 1)))}
    return _LayerOp(spec.name, "conv2d", attrs, _weight_tensors(context, spec))


def _pool(kind: str):
    def build(context, spec) -> _LayerOp:
        config = spec.config
        pool_size = tuple(config.get("pool_size", (2, 2)))
        strides = tuple(config.get("strides") or pool_size)
        return _LayerOp(spec.name, kind, {"pool_size": pool_size, "strides": strides,
                                          "padding": config.get("padding", "valid")})
    return build


def _flatten(context, spec) -> _LayerOp:
    return _LayerOp(spec.name, "view", {"shape": tuple(spec.output_shape)})


def _activation(context, spec) -> _LayerOp | None:
    activation = spec.config.get("activation", "linear")
    if activation == "linear":
        return None
    return _LayerOp(spec.name, "activation", {"activation": activation})


def _leaky_relu(context, spec) -> _LayerOp:
    return _LayerOp(spec.name, "activation",
                    {"activation": "leaky_relu", "alpha": spec.config.get("alpha", 0.3)})


def _identity(context, spec) -> None:
    return None


def _keras_layer(context, spec) -> _LayerOp:
    kind, attrs, weights = keras_layer_op(spec)
    return _LayerOp(spec.name, kind, attrs,
                    [GpuTensor.from_host(context, shape, values) for shape, values in weights])


_LAYER_BUILDERS = {
    "InputLayer": _identity,
    "Dense": _dense,
    "Conv2D": _conv2d,
    "MaxPooling2D": _pool("max_pool2d"),
    "AveragePooling2D": _pool("avg_pool2d"),
    "Flatten": _flatten,
    "Dropout": _identity,  # inference: identity
    "Activation": _activation,
    "LeakyReLU": _leaky_relu,
    "BatchNormalization": _keras_layer,  # only where batchnorm_fold could not fold it
    "GlobalAveragePooling2D": _keras_layer,
    "GlobalMaxPooling2D": _keras_layer,
    "ReLU": _keras_layer,
    "ELU": _keras_layer,
    "Softmax": _keras_layer,
    "ZeroPadding2D": _keras_layer,
    "Reshape": _flatten,  # a view in NHWC order, as Flatten
}


def _as_float_view(images):
    """A float32 sequence view of `images` without copying where possible."""
    if isinstance(images, (list, tuple)):
        return array("f", images)
    to_py = getattr(images, "to_py", None)
    if to_py is not None and not isinstance(images, (memoryview, array)):
        images = to_py()  # a JS typed array: one bulk copy across the FFI
    view = memoryview(images)
    if view.format != "f":
        view = view.cast("B").cast("f")
    return view
