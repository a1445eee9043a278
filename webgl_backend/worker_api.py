"""One loaded model in the worker: a `PageSession` around one Runtime (model_sessions.py
keeps one per model of the public module, all on the worker's one GL context).

    session = PageSession(gl)                   # gl: the worker's OffscreenCanvas WebGL2 context
    info = session.load(model_json_text, shards)     # then session.warm_up()
    session.predict(images, n)                  # {"probabilities": [n*10 floats], "ms", "forward"}
    session.layers(image)                       # predict's answer + every layer's output
    await session.fit(images, labels, n, replay_images, replay_labels, replay_n, on_progress)
    session.reset(); session.export(); session.sources(); session.counters()

The worker shell (static/worker.js) converts results with `toJs` and posts them; every
value returned here is plain Python (dict, list, str, float, bytes), so this module runs
and is tested in CPython too (with FakeGL). JS values coming in (typed arrays, objects)
are converted at the edge by `host_data` (`as_bytes` / `as_floats` / `as_ints`).

Fine-tuning mixes the person's few drawings, each with jittered copies, into a few hundred
MNIST images (replay), because training on the drawings alone makes the model forget
the other digits.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from array import array
from dataclasses import asdict, dataclass

from webgl_backend.errors import TrainingUnavailableError
from webgl_backend.host_data import as_bytes, as_floats, as_ints, to_py
from webgl_backend.layer_maps import layer_maps
from webgl_backend.runtime import GpuModel, Runtime
from webgl_backend.training import FineTuner

IMAGE_SIZE = 28
IMAGE_FLOATS = IMAGE_SIZE * IMAGE_SIZE


@dataclass(frozen=True)
class TrainOptions:
    """How the page fine-tunes (the defaults were tuned on the teach flow's test digits).

    copies: jittered copies added per drawing; epochs over drawings + copies + replay.
    """

    optimizer: str = "adam"
    learning_rate: float = 0.002
    trainable: str | int = "all"
    epochs: int = 3
    batch_size: int = 32
    copies: int = 7
    seed: int = 0

    @classmethod
    def of(cls, options) -> "TrainOptions":
        """From a dict (or a JS object) with any subset of the fields; unknown keys refused."""
        values = to_py(options) if options is not None else {}
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"fit: unknown training option(s) {sorted(unknown)}; expected some "
                             f"of {sorted(cls.__dataclass_fields__)}")
        options = cls(**values)
        if options.epochs < 1 or options.batch_size < 1 or options.copies < 0:
            raise ValueError(f"fit: epochs and batch_size must be >= 1 and copies >= 0, got "
                             f"epochs={options.epochs}, batch_size={options.batch_size}, "
                             f"copies={options.copies}")
        return options


class PageSession:
    """The loaded model of one page, and the fine-tuning around it."""

    def __init__(self, gl) -> None:
        self.runtime = Runtime(gl)
        self.training = False
        self.last_step: dict = {}
        self._tuner: FineTuner | None = None

    # -- loading -------------------------------------------------------------------

    @property
    def model(self) -> GpuModel:
        if self.runtime.model is None:
            raise ValueError("no model is loaded yet")
        return self.runtime.model

    def load(self, model_json_text, shards) -> dict:
        """Validate and upload a model (model.json text + {shard name: bytes}); no warm-up yet.

        Returns {"layers": [...], "parameters", "input_shape", "output_shape", "training"}.
        """
        self._check_idle("load a model")
        files = {str(name): as_bytes(data) for name, data in to_py(shards).items()}
        model = self.runtime.load_model(str(model_json_text), files, warm_up=False)
        self.last_step = {}
        layers = [{"name": spec.name, "class_name": spec.class_name,
                   "output_shape": list(spec.output_shape)} for spec in model.artifacts.layers]
        parameters = sum(len(values) for spec in model.artifacts.layers
                         for _, _, values in spec.weights)
        return {"layers": layers, "parameters": parameters,
                "input_shape": list(model.input_shape), "output_shape": list(model.output_shape),
                "training": self.can_train()}

    def warm_up(self) -> dict:
        """Compile and draw every forward program once; returns {"ms": elapsed}."""
        started = time.perf_counter()
        self.model.warm_up()
        return {"ms": _ms_since(started)}

    def can_train(self) -> bool:
        return self.runtime.model is not None

    @property
    def tuner(self) -> FineTuner:
        """The fine-tuning of the loaded model, built on first use (per loaded model)."""
        if self._tuner is None or self._tuner.model is not self.model:
            self._tuner = FineTuner(self.model)
        return self._tuner

    # -- inference -----------------------------------------------------------------

    def predict(self, images, n: int) -> dict:
        """n 28x28 images (n*784 floats, ink 1.0 on 0.0) -> {"probabilities": n*10 floats,
        "ms": time of the call, "forward": draws/gl_calls/programs/compiles of that pass}."""
        started = time.perf_counter()
        probabilities = self.model.predict(as_floats(images), int(n))
        return {"probabilities": probabilities.tolist(), "ms": _ms_since(started),
                "forward": dict(self.model.last_forward)}

    def layers(self, image) -> dict:
        """One 28x28 image -> predict's answer ("probabilities", "ms", "forward") plus
        every layer's output and time (layer_maps: the 'Layers' view). "ms" covers the
        forward and its readbacks."""
        started = time.perf_counter()
        maps = layer_maps(self.model, as_floats(image))
        return {**maps, "ms": _ms_since(started)}

    def sources(self) -> list[dict]:
        """[{layer, program, source}] of the batch-1 forward pass (the 'Under the hood' panel)."""
        return self.model.generated_sources(1)

    def counters(self) -> dict:
        """Live GL objects and totals of the context, plus the last forward and training step."""
        return {"context": self.runtime.context.counters(),
                "forward": dict(self.model.last_forward) if self.runtime.model else {},
                "step": dict(self.last_step)}

    # -- fine-tuning ---------------------------------------------------------------

    async def fit(self, images, labels, n: int, replay_images=None, replay_labels=None,
                  replay_n: int = 0, on_progress=None, options=None) -> dict:
        """Fine-tune on n drawings (+ jittered copies) mixed with replay_n MNIST images.

        on_progress(step, total_steps, loss, step_ms, draws, gl_calls) is called after every
        step (draws/gl_calls of the GPU step, 0 if the runtime does not count them); between
        steps control returns to the event loop, so the worker still answers predicts.
        Returns {"losses": [...], "steps", "samples", "ms"}.
        """
        if not self.can_train():
            raise TrainingUnavailableError("training is not available: no model is loaded")
        self._check_idle("train")
        settings = TrainOptions.of(options)
        tuner = self.tuner
        x, y, total = build_training_set(
            as_floats(images), as_ints(labels), int(n),
            as_floats(replay_images) if replay_n else array("f"),
            as_ints(replay_labels) if replay_n else array("i"), int(replay_n),
            copies=settings.copies, seed=settings.seed)
        tuner.configure_training(optimizer=settings.optimizer,
                                 learning_rate=settings.learning_rate,
                                 trainable=settings.trainable, seed=settings.seed)
        batches = list(shuffled_batches(total, settings.batch_size, settings.epochs, settings.seed))
        losses: list[float] = []
        started = time.perf_counter()
        self.training = True
        try:
            for step, batch in enumerate(batches, start=1):
                step_started = time.perf_counter()
                batch_x, batch_y = gather(x, y, batch)
                loss = float(tuner.fit_batch(batch_x, batch_y, len(batch)))
                if not math.isfinite(loss):
                    raise FloatingPointError(f"fit: the loss became {loss} at step {step}; "
                                             "reset the model and train with a lower rate")
                losses.append(loss)
                gpu_step = dict(tuner.last_step)
                self.last_step = {**gpu_step, "fit_batch_ms": gpu_step.get("ms"),
                                  "ms": _ms_since(step_started)}
                if on_progress is not None:
                    on_progress(step, len(batches), loss, self.last_step["ms"],
                                self.last_step.get("draws", 0), self.last_step.get("gl_calls", 0))
                await asyncio.sleep(0)  # let the worker answer a predict between steps
        finally:
            self.training = False
        return {"losses": losses, "steps": len(batches), "samples": total,
                "ms": _ms_since(started), "options": asdict(settings)}

    def reset(self) -> None:
        """Weights and optimizer state back to the loaded values."""
        self._check_idle("reset the model")
        self.tuner.reset()

    def export(self) -> dict:
        """{"model_json": text, "shards": {name: bytes}}: the TF.js layers files, fine-tuned."""
        self._check_idle("export the model")
        model_json, shards = self.tuner.export()
        return {"model_json": model_json, "shards": {name: bytes(data)
                                                     for name, data in shards.items()}}

    def dispose(self) -> None:
        """Free the model's and the fine-tuning's GPU objects (the context stays)."""
        self._check_idle("dispose of the model")
        if self._tuner is not None:
            self._tuner.dispose()
            self._tuner = None
        self.runtime.dispose()

    def _check_idle(self, what: str) -> None:
        if self.training:
            raise RuntimeError(f"cannot {what} while the model is training; wait for it to end")


# -- the training set ---------------------------------------------------------------

def build_training_set(images, labels, n: int, replay_images, replay_labels, replay_n: int,
                       copies: int, seed: int) -> tuple[array, array, int]:
    """Drawings, `copies` jittered copies of each, then the replay images.

    images: n*784 floats; labels: n ints 0..9. Returns (x array('f') total*784,
    y array('i') total, total).
    """
    _check_images("drawings", images, labels, n)
    _check_images("replay images", replay_images, replay_labels, replay_n)
    rng = random.Random(seed)
    x = array("f", images[:n * IMAGE_FLOATS])
    y = array("i", labels[:n])
    for index in range(n):
        image = images[index * IMAGE_FLOATS:(index + 1) * IMAGE_FLOATS]
        for _ in range(copies):
            x.extend(jitter(image, rng))
            y.append(int(labels[index]))
    x.extend(replay_images[:replay_n * IMAGE_FLOATS])
    y.extend(int(label) for label in replay_labels[:replay_n])
    return x, y, len(y)


def _check_images(what: str, images, labels, n: int) -> None:
    if n < 0 or len(images) != n * IMAGE_FLOATS or len(labels) != n:
        raise ValueError(f"fit: {what}: expected n={n} images of 28x28 ({n * IMAGE_FLOATS} "
                         f"floats) and {n} labels, got {len(images)} floats and "
                         f"{len(labels)} labels")
    bad = [int(label) for label in labels if not 0 <= int(label) <= 9]
    if bad:
        raise ValueError(f"fit: {what}: labels must be digits 0..9, got {bad[:5]}")


def jitter(image, rng: random.Random, max_shift: float = 1.5, max_rotation_degrees: float = 12.0,
           max_scale: float = 0.12, max_shear: float = 0.15) -> array:
    """A randomly shifted, rotated, scaled and sheared copy of one 28x28 image (bilinear).

    The same family of transforms as model_export.data.augment, written for one image in
    pure Python (it runs in Pyodide, without numpy): about 1 ms per copy.
    """
    angle = math.radians(rng.uniform(-max_rotation_degrees, max_rotation_degrees))
    scale = rng.uniform(1.0 - max_scale, 1.0 + max_scale)
    shear = rng.uniform(-max_shear, max_shear)
    shift_y, shift_x = rng.uniform(-max_shift, max_shift), rng.uniform(-max_shift, max_shift)
    # Inverse map: output pixel p samples the input at A^-1 (p - centre - shift) + centre.
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    a, b, c, d = cos, -sin + shear * cos, sin, cos + shear * sin
    centre = (IMAGE_SIZE - 1) / 2.0
    size = IMAGE_SIZE
    out = array("f", bytes(4 * IMAGE_FLOATS))
    for row in range(size):
        dy = row - centre - shift_y
        for col in range(size):
            dx = col - centre - shift_x
            sy = a * dy + b * dx + centre
            sx = c * dy + d * dx + centre
            y0, x0 = math.floor(sy), math.floor(sx)
            if y0 < -1 or x0 < -1 or y0 >= size or x0 >= size:
                continue
            fy, fx = sy - y0, sx - x0
            value = 0.0
            for yy, wy in ((y0, 1.0 - fy), (y0 + 1, fy)):
                if 0 <= yy < size:
                    base = yy * size
                    if 0 <= x0 < size:
                        value += wy * (1.0 - fx) * image[base + x0]
                    if 0 <= x0 + 1 < size:
                        value += wy * fx * image[base + x0 + 1]
            out[row * size + col] = value
    return out


def shuffled_batches(total: int, batch_size: int, epochs: int, seed: int):
    """Index lists of each mini-batch, every epoch a new seeded shuffle of range(total).

    Every batch has the same size, min(batch_size, total): a short last batch is topped up
    from the start of the epoch's order, because each new batch size costs the runtime a
    new training plan (programs compiled on first draw, textures).
    """
    rng = random.Random(seed)
    order = list(range(total))
    size = min(batch_size, total)
    for _ in range(epochs):
        rng.shuffle(order)
        for start in range(0, total, size):
            batch = order[start:start + size]
            yield batch + order[:size - len(batch)]


def gather(x: array, y: array, batch: list[int]) -> tuple[array, array]:
    """The batch's images (len(batch)*784 floats) and labels, copied in slices."""
    batch_x = array("f")
    for index in batch:
        batch_x.extend(x[index * IMAGE_FLOATS:(index + 1) * IMAGE_FLOATS])
    return batch_x, array("i", (y[index] for index in batch))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)
