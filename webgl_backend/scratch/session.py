"""ScratchSession: training a ladder rung from nothing in the page, on the worker's GL
context, beside the drawing model (the two share the context, nothing else).

    session = ScratchSession(context)           # the worker's GLContext
    session.ladder()                            # the rungs, for the picker
    info = session.create("mlp5_relu", seed=0)  # fresh seeded weights, loaded as a file
    session.set_data(train_images, train_labels, n_train, test_images, test_labels, n_test)
    result = await session.train(options, on_progress)   # pause(), resume(), stop()
    session.evaluate(); session.export(); session.dispose()

The model is made as TF.js layers files in memory (`initial_weights`) and loaded by the
same reader and runtime as every model; training is the GPU FineTuner with the rung's
Dropout layers drawn per step and the learning-rate schedule (the loop is run.py). The
run keeps the weights of the epoch with the best validation accuracy and ends holding
them. Every returned value is plain Python (runs in CPython with FakeGL too).
"""

from __future__ import annotations

from array import array

from webgl_backend.context import GLContext
from webgl_backend.ladder import Rung, ladder, layers_with_dropout, rung
from webgl_backend.scratch.dataset import MnistImages
from webgl_backend.scratch.gpu_data import GpuImages
from webgl_backend.scratch.initial_weights import Weights, initial_weights, model_files
from webgl_backend.scratch.metrics import summarise
from webgl_backend.scratch.options import read_options
from webgl_backend.scratch.run import Run, RunControl
from webgl_backend.worker_api import PageSession


class ScratchSession:
    """One model trained from scratch, its data and its run (see the module docstring)."""

    def __init__(self, context) -> None:
        self.context = context if isinstance(context, GLContext) else GLContext(context)
        self._page: PageSession | None = None
        self._rung: Rung | None = None
        self._dropout = 0.0
        self.train_images: GpuImages | None = None
        self.test_images: GpuImages | None = None
        self._control = RunControl()

    # -- the model -----------------------------------------------------------------------

    def ladder(self) -> list[dict]:
        return ladder()

    def create(self, name, seed=0, dropout=None) -> dict:
        """A fresh model of rung `name`: seeded Glorot weights, zero biases; its load info."""
        self._check_idle("create a model")
        if isinstance(seed, float) and seed.is_integer():
            seed = int(seed)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"create: seed must be an integer >= 0, got {seed!r}")
        entry = rung(str(name))
        layers = layers_with_dropout(entry.name, dropout)
        info = self._load(layers, initial_weights(layers, seed))
        self._rung = entry
        self._dropout = entry.dropout if dropout is None else float(dropout)
        return info

    def _load(self, layers: list[dict], weights: Weights) -> dict:
        model_json, shards = model_files(layers, weights)
        page = PageSession(self.context)
        info = page.load(model_json, shards)
        page.warm_up()
        if self._page is not None:
            self._page.dispose()
        self._page = page
        return info

    @property
    def page(self) -> PageSession:
        if self._page is None:
            raise ValueError("no model yet: call create(name) first")
        return self._page

    def weights(self) -> Weights:
        """The model's current weights, by full name (ladder models fold nothing)."""
        model = self.page.model
        specs = [spec for spec in model.artifacts.layers if spec.weights]
        ops = [op for op in model.ops if op.weights]
        return [(name, tuple(shape), tensor.read())
                for spec, op in zip(specs, ops)
                for (name, shape, _), tensor in zip(spec.weights, op.weights)]

    def set_weights(self, weights: Weights) -> None:
        ops = [op for op in self.page.model.ops if op.weights]
        tensors = [tensor for op in ops for tensor in op.weights]
        for tensor, (_, _, values) in zip(tensors, weights):
            tensor.upload(values)

    def predict(self, images, n: int) -> dict:
        """As PageSession.predict, on the model being trained (n*784 floats in [0, 1])."""
        return self.page.predict(images, n)

    # -- data ----------------------------------------------------------------------------

    def set_data(self, train_images, train_labels, n_train, test_images, test_labels,
                 n_test) -> dict:
        """MNIST as uint8 bytes (JS Uint8Arrays: one bulk copy each), uploaded once to the
        GPU as bytes and kept for every run."""
        self._check_idle("replace the data")
        train = MnistImages("training images", train_images, train_labels, n_train)
        test = MnistImages("test images", test_images, test_labels, n_test)
        self._drop_data()
        self.train_images = GpuImages(self.context, train)
        self.test_images = GpuImages(self.context, test)
        return {"train": train.n, "test": test.n}

    def _drop_data(self) -> None:
        for images in (self.train_images, self.test_images):
            if images is not None:
                images.dispose()
        self.train_images = self.test_images = None

    # -- training ------------------------------------------------------------------------

    def state(self) -> str:
        return self._control.state

    def pause(self) -> str:
        return self._control.pause()

    def resume(self) -> str:
        return self._control.resume()

    def stop(self) -> str:
        """Ends a run after its current step; it then holds the best weights so far."""
        return self._control.stop()

    async def train(self, options=None, on_progress=None) -> dict:
        """Train on the data of set_data (see the contract in the module docstring)."""
        self._check_idle("train")
        if self._page is None:
            raise ValueError("train: no model yet: call create(name) first")
        if self.train_images is None:
            raise ValueError("train: no data yet: call set_data(...) first")
        settings = read_options(options, self._rung, self.train_images.images.n)
        if settings.dropout != self._dropout:
            self._load(layers_with_dropout(self._rung.name, settings.dropout), self.weights())
            self._dropout = settings.dropout
        self.page.tuner.configure_training(
            optimizer=settings.optimizer, learning_rate=settings.learning_rate,
            seed=settings.seed, dropout=True, schedule=settings.schedule())
        run = Run(self, settings, on_progress)
        self._control.start()
        try:
            await run.epochs(self._control)
        finally:
            self._control.finish()
            run.keep_best()
        return run.result()

    # -- evaluation and export -----------------------------------------------------------

    def evaluate(self, n=None, mistakes=16) -> dict:
        """Accuracy, loss, confusion matrix and the most confident mistakes on the first n
        test images of set_data (all when n is None)."""
        self._check_idle("evaluate")
        test = self.test_images
        if test is None or test.images.n == 0:
            raise ValueError("evaluate: no test images: call set_data(...) first")
        total = test.images.n
        count = total if n is None else n
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= total:
            raise ValueError(f"evaluate: n must be an integer in [1, {total}] or None, "
                             f"got {n!r}")
        if isinstance(mistakes, bool) or not isinstance(mistakes, int) or mistakes < 0:
            raise ValueError(f"evaluate: mistakes must be an integer >= 0, got {mistakes!r}")
        probabilities = self.probabilities(test, 0, count)
        return summarise(probabilities, test.images.labels[:count], count, mistakes)

    def probabilities(self, images: GpuImages, start: int, stop: int) -> array:
        """The model's probabilities for images start..stop-1, gathered on the GPU."""
        model = self.page.model
        model.check_usable("evaluate")
        out = array("f")
        for first in range(start, stop, model.max_batch):
            count = min(model.max_batch, stop - first)
            plan = model.forward_plan(count)
            images.write(plan.input, range(first, first + count))
            for step in plan.steps:
                if step.compiled is not None:
                    self.context.draw(step.compiled, [t.texture for t in step.inputs],
                                      step.target())
            out.extend(plan.output.read())
        return out

    def export(self) -> dict:
        """{"model_json", "shards"}: the TF.js layers files of the current weights."""
        self._check_idle("export the model")
        return self.page.export()

    def counters(self) -> dict:
        return self.page.counters() if self._page is not None else {
            "context": self.context.counters()}

    def dispose(self) -> None:
        """Free the model's textures (the context and the drawing model stay)."""
        self._check_idle("dispose of the model")
        if self._page is not None:
            self._page.dispose()
            self._page = None
        self._drop_data()

    def _check_idle(self, what: str) -> None:
        if self._control.state != "idle":
            raise RuntimeError(f"cannot {what} while a run is {self._control.state}; stop() "
                               "it first")
