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
Dropout layers drawn per step and the learning-rate schedule. The run keeps the weights
of the epoch with the best validation accuracy and ends holding them. Every returned
value is plain Python (runs in CPython with FakeGL too).
"""

from __future__ import annotations

import asyncio
import math
import time
from array import array

from webgl_backend.context import GLContext

from webgl_backend.ladder import Rung, ladder, layers_with_dropout, rung
from webgl_backend.scratch.dataset import MnistImages
from webgl_backend.scratch.initial_weights import Weights, initial_weights, model_files
from webgl_backend.scratch.metrics import Smoothed, batch_accuracy, summarise
from webgl_backend.scratch.options import ScratchOptions, read_options
from webgl_backend.worker_api import PageSession, shuffled_batches

# Images per predict call while validating or evaluating (bounds the float copy).
EVALUATION_CHUNK = 1000


class ScratchSession:
    """One model trained from scratch, its data and its run (see the module docstring)."""

    def __init__(self, context) -> None:
        self.context = context if isinstance(context, GLContext) else GLContext(context)
        self._page: PageSession | None = None
        self._rung: Rung | None = None
        self._dropout = 0.0
        self._train_set: MnistImages | None = None
        self._test_set: MnistImages | None = None
        self._state = "idle"
        self._stop_asked = False
        self._running: asyncio.Event | None = None

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

    def _weights(self) -> Weights:
        """The model's current weights, by full name (ladder models fold nothing)."""
        model = self.page.model
        specs = [spec for spec in model.artifacts.layers if spec.weights]
        ops = [op for op in model.ops if op.weights]
        return [(name, tuple(shape), tensor.read())
                for spec, op in zip(specs, ops)
                for (name, shape, _), tensor in zip(spec.weights, op.weights)]

    def _set_weights(self, weights: Weights) -> None:
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
        """MNIST as uint8 bytes (JS Uint8Arrays: one bulk copy each), kept for every run."""
        self._check_idle("replace the data")
        train = MnistImages("training images", train_images, train_labels, n_train)
        test = MnistImages("test images", test_images, test_labels, n_test)
        self._train_set, self._test_set = train, test
        return {"train": train.n, "test": test.n}

    # -- training ------------------------------------------------------------------------

    def state(self) -> str:
        return self._state

    def pause(self) -> str:
        if self._state == "training":
            self._running.clear()
            self._state = "paused"
        return self._state

    def resume(self) -> str:
        if self._state == "paused":
            self._running.set()
            self._state = "training"
        return self._state

    def stop(self) -> str:
        """Ends a run after its current step; it then holds the best weights so far."""
        if self._state != "idle":
            self._stop_asked = True
            self._running.set()
        return self._state

    async def train(self, options=None, on_progress=None) -> dict:
        """Train on the data of set_data (see the contract in the module docstring)."""
        self._check_idle("train")
        page, train_set = self.page, self._train_set
        if train_set is None:
            raise ValueError("train: no data yet: call set_data(...) first")
        settings = read_options(options, self._rung, train_set.n)
        if settings.dropout != self._dropout:
            self._load(layers_with_dropout(self._rung.name, settings.dropout), self._weights())
            self._dropout = settings.dropout
            page = self.page
        tuner = page.tuner
        tuner.configure_training(optimizer=settings.optimizer,
                                 learning_rate=settings.learning_rate, seed=settings.seed,
                                 dropout=True, schedule=settings.schedule())
        self._state, self._stop_asked = "training", False
        self._running = asyncio.Event()
        self._running.set()
        run = _Run(self, settings, on_progress)
        try:
            await run.epochs()
        finally:
            self._state = "idle"
            run.keep_best()
        return run.result()

    # -- evaluation and export -----------------------------------------------------------

    def evaluate(self, n=None, mistakes=16) -> dict:
        """Accuracy, loss, confusion matrix and the most confident mistakes on the first n
        test images of set_data (all when n is None)."""
        self._check_idle("evaluate")
        test = self._test_set
        if test is None or test.n == 0:
            raise ValueError("evaluate: no test images: call set_data(...) first")
        count = test.n if n is None else n
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= test.n:
            raise ValueError(f"evaluate: n must be an integer in [1, {test.n}] or None, "
                             f"got {n!r}")
        if isinstance(mistakes, bool) or not isinstance(mistakes, int) or mistakes < 0:
            raise ValueError(f"evaluate: mistakes must be an integer >= 0, got {mistakes!r}")
        probabilities = self._probabilities(test, 0, count)
        return summarise(probabilities, test.labels[:count], count, mistakes)

    def _probabilities(self, images: MnistImages, start: int, stop: int) -> array:
        out = array("f")
        for first in range(start, stop, EVALUATION_CHUNK):
            last = min(stop, first + EVALUATION_CHUNK)
            out.extend(self.page.model.predict(images.range_floats(first, last), last - first))
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
        self._train_set = self._test_set = None

    def _check_idle(self, what: str) -> None:
        if self._state != "idle":
            raise RuntimeError(f"cannot {what} while a run is {self._state}; stop() it first")


class _Run:
    """One call of train(): the loop, its events, and the best weights so far."""

    def __init__(self, session: ScratchSession, settings: ScratchOptions, on_progress) -> None:
        self.session = session
        self.settings = settings
        self.on_progress = on_progress
        self.tuner = session.page.tuner
        self.trained = settings.trained_images
        batch = min(settings.batch_size, self.trained)
        self.steps_per_epoch = -(-self.trained // batch)
        self.steps = settings.epochs * self.steps_per_epoch
        self.step = 0
        self.epochs_done = 0
        self.stopped = False
        self.history: list[dict] = []
        self.best: dict | None = None  # {"epoch", "val_accuracy", "weights", "current"}
        self.started = time.perf_counter()

    def _emit(self, event: dict) -> None:
        if self.on_progress is not None:
            self.on_progress(event)

    async def epochs(self) -> None:
        settings, session = self.settings, self.session
        batches = shuffled_batches(self.trained, settings.batch_size, settings.epochs,
                                   settings.seed)
        loss_curve, accuracy_curve = Smoothed(), Smoothed()
        for epoch in range(1, settings.epochs + 1):
            for _ in range(self.steps_per_epoch):
                self._train_step(next(batches), epoch, loss_curve, accuracy_curve)
                await asyncio.sleep(0)  # the worker answers predict/pause/stop here
                await session._running.wait()
                if session._stop_asked:
                    self.stopped = True
                    return
            await self._end_epoch(epoch)

    def _train_step(self, batch: list[int], epoch: int, loss_curve: Smoothed,
                    accuracy_curve: Smoothed) -> None:
        train_set, tuner = self.session._train_set, self.tuner
        labels = train_set.label_values(batch)
        rate = tuner.settings.learning_rate_at(tuner.step)
        loss = float(tuner.fit_batch(train_set.floats(batch), labels, len(batch)))
        if not math.isfinite(loss):
            raise FloatingPointError(f"train: the loss became {loss} at step {self.step + 1}; "
                                     "create the model again and train with a lower rate")
        accuracy = batch_accuracy(tuner.last_logits(), labels, len(batch))
        self.step += 1
        elapsed = time.perf_counter() - self.started
        self._emit({"kind": "batch", "step": self.step, "steps": self.steps, "epoch": epoch,
                    "epochs": self.settings.epochs, "loss": loss, "accuracy": accuracy,
                    "smoothed_loss": loss_curve.add(loss),
                    "smoothed_accuracy": accuracy_curve.add(accuracy),
                    "learning_rate": rate,
                    "images_per_s": self.step * len(batch) / elapsed if elapsed else 0.0,
                    "eta_s": elapsed / self.step * (self.steps - self.step),
                    "elapsed_s": elapsed})

    async def _end_epoch(self, epoch: int) -> None:
        self.epochs_done = epoch
        val_loss = val_accuracy = None
        if self.settings.validation_images:
            val_loss, val_accuracy = await self._validate()
        if self.best is None or val_accuracy is None or val_accuracy > self.best["val_accuracy"]:
            self.best = {"epoch": epoch, "val_accuracy": val_accuracy,
                         "weights": self.session._weights(), "current": True}
        else:
            self.best["current"] = False
        event = {"kind": "epoch", "epoch": epoch, "epochs": self.settings.epochs,
                 "val_loss": val_loss, "val_accuracy": val_accuracy,
                 "best_epoch": self.best["epoch"],
                 "best_val_accuracy": self.best["val_accuracy"]}
        self.history.append(event)
        self._emit(event)

    async def _validate(self) -> tuple[float, float]:
        train_set, settings = self.session._train_set, self.settings
        start, stop = self.trained, settings.train_images
        probabilities = array("f")
        for first in range(start, stop, EVALUATION_CHUNK):
            last = min(stop, first + EVALUATION_CHUNK)
            probabilities.extend(self.session._probabilities(train_set, first, last))
            await asyncio.sleep(0)
        scores = summarise(probabilities, train_set.labels[start:stop], stop - start)
        return scores["loss"], scores["accuracy"]

    def keep_best(self) -> None:
        """Leave the model holding the best epoch's weights (unless they are current)."""
        if self.best is not None and not self.best["current"]:
            self.session._set_weights(self.best["weights"])
            self.best["current"] = True

    def result(self) -> dict:
        best = self.best or {}
        return {"stopped": self.stopped, "epochs_done": self.epochs_done,
                "steps_done": self.step, "best_epoch": best.get("epoch"),
                "best_val_accuracy": best.get("val_accuracy"), "history": self.history,
                "ms": round((time.perf_counter() - self.started) * 1000.0, 3),
                "options": self.settings.as_dict()}



