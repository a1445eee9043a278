"""Runtime: load a validated model onto the GPU, predict batches, dispose.

    runtime = Runtime(gl)                       # gl: a WebGL2RenderingContext (or FakeGL)
    model = runtime.load_model(model_json, shards)
    probabilities = model.predict(images, n)    # n * 28*28 floats in, n * 10 floats out
    model.dispose()

Layers become ops through the layer table (`webgl_backend.layers`), activations fused
into their producers (`forward_plan.py`). A Dense on 8 rows or more is two draws: four
rows per fragment into four render targets, then a gather (ops/dense.py). A forward pass
for batch n is a plan: the programs specialised for n, compiled once, plus the output
textures, reused by every predict of that batch size. Fine-tuning is
`webgl_backend.training.FineTuner(model)`, built from a model; the model knows nothing of it.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from typing import Callable

from webgl_backend.codegen import shape_size
from webgl_backend.context import GLContext
from webgl_backend.errors import ContextLostError, ModelFormatError, ShapeError
from webgl_backend.forward_plan import ForwardPlan, build_forward_plan, build_ops
from webgl_backend.host_data import as_float_view
from webgl_backend.layers import LayerOp
from webgl_backend.model_format import ModelArtifacts, parse_model_json, read_model, shard_paths

# Batches above this are split: bounds texture sizes and the number of specialisations.
MAX_BATCH = 1024
# Plans (programs + textures) kept for recently used batch sizes.
MAX_PLANS = 3


class GpuModel:
    """A model whose weights live in textures of one GLContext.

    `ops` are its layers as the GPU runs them (their weight tensors are the parameters a
    FineTuner updates); `on_dispose` and `on_restore` hold the callbacks of whatever was
    built from this model, so it can drop its own textures at the same time.
    """

    def __init__(self, context: GLContext, artifacts: ModelArtifacts, max_batch: int = MAX_BATCH):
        self.context = context
        self.artifacts = artifacts
        self.input_shape = tuple(artifacts.input_shape)
        self.last_forward: dict[str, int] = {}
        self.on_dispose: list[Callable[[], None]] = []
        self.on_restore: list[Callable[[], None]] = []
        self._plans: OrderedDict[int, ForwardPlan] = OrderedDict()
        self._disposed = False
        self.ops: list[LayerOp] = build_ops(context, artifacts.layers)
        self.output_shape = self._output_shape()
        self.max_batch = min(max_batch, self._row_layout_batch_limit())

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

    def _plan(self, n: int) -> ForwardPlan:
        plan = self._plans.get(n)
        if plan is not None:
            self._plans.move_to_end(n)
            return plan
        plan = build_forward_plan(self.context, self.ops, n, self.input_shape)
        self._plans[n] = plan
        if len(self._plans) > MAX_PLANS:
            _, evicted = self._plans.popitem(last=False)
            for tensor in evicted.owned_tensors():
                tensor.dispose()
        return plan

    # -- running ---------------------------------------------------------------------

    def check_usable(self, action: str = "predict") -> None:
        """Raise unless the model can draw: not disposed, context not lost."""
        if self._disposed:
            raise ValueError(f"{action}: this model was disposed (load it again to use it)")
        self.context.check_not_lost()

    def _forward(self, plan: ForwardPlan, images, offset: int, count: int) -> array:
        plan.input.upload(images[offset:offset + count])
        context = self.context
        for step in plan.steps:
            if step.compiled is not None:
                context.draw(step.compiled, [t.texture for t in step.inputs], step.target())
        return plan.output.read()

    def predict(self, images, n: int) -> array:
        """Probabilities for n images: `images` holds n * prod(input_shape) floats, NHWC.

        Accepts what `host_data.as_float_view` does (array('f'), float32 bytes, a list, a
        JS Float32Array). Returns array('f') of n * prod(output_shape) floats. Batches
        above `max_batch` run in chunks.
        """
        self.check_usable()
        flat = as_float_view(images)
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

    # -- lifetime --------------------------------------------------------------------

    def dispose(self) -> None:
        """Free every texture this model and what was built from it hold."""
        for callback in self.on_dispose:
            callback()
        self.on_dispose.clear()
        self.on_restore.clear()
        for plan in self._plans.values():
            for tensor in plan.owned_tensors():
                tensor.dispose()
        self._plans.clear()
        for op in self.ops:
            for tensor in op.weights:
                tensor.dispose()
        self.ops = []
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
        self.ops = build_ops(self.context, self.artifacts.layers)
        for callback in self.on_restore:
            callback()  # their textures died with the context
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
