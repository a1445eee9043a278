"""One run of ScratchSession.train: the epochs, the events sent after every step and
epoch, the best weights so far, and the control (pause/resume/stop) the worker reaches
between steps."""

from __future__ import annotations

import asyncio
import math
import time
from array import array

from webgl_backend.scratch.metrics import Smoothed, batch_accuracy, summarise
from webgl_backend.scratch.options import ScratchOptions
from webgl_backend.worker_api import shuffled_batches


class RunControl:
    """idle -> training <-> paused -> idle; stop() ends the run after its current step."""

    def __init__(self) -> None:
        self.state = "idle"
        self.stop_asked = False
        self._running = asyncio.Event()

    def start(self) -> None:
        self.state, self.stop_asked = "training", False
        self._running = asyncio.Event()  # of the running loop (Pyodide's or asyncio.run's)
        self._running.set()

    def finish(self) -> None:
        self.state = "idle"

    def pause(self) -> str:
        if self.state == "training":
            self._running.clear()
            self.state = "paused"
        return self.state

    def resume(self) -> str:
        if self.state == "paused":
            self._running.set()
            self.state = "training"
        return self.state

    def stop(self) -> str:
        if self.state != "idle":
            self.stop_asked = True
            self._running.set()
        return self.state

    async def between_steps(self) -> bool:
        """Yield to the worker (and wait while paused); True when the run must stop."""
        await asyncio.sleep(0)
        await self._running.wait()
        return self.stop_asked


class Run:
    """One call of train(): the loop, its events, and the best weights so far."""

    def __init__(self, session, settings: ScratchOptions, on_progress) -> None:
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
        self.best: dict | None = None  # {"epoch", "val_accuracy", "weights"}
        self.holds_best = True  # no step since the best weights were taken
        self.started = time.perf_counter()

    def _emit(self, event: dict) -> None:
        if self.on_progress is not None:
            self.on_progress(event)

    async def epochs(self, control: RunControl) -> None:
        settings = self.settings
        batches = shuffled_batches(self.trained, settings.batch_size, settings.epochs,
                                   settings.seed)
        loss_curve, accuracy_curve = Smoothed(), Smoothed()
        for epoch in range(1, settings.epochs + 1):
            for _ in range(self.steps_per_epoch):
                self._train_step(next(batches), epoch, loss_curve, accuracy_curve)
                if await control.between_steps():  # the worker answers its messages here
                    self.stopped = True
                    return
            await self._end_epoch(epoch)

    def _train_step(self, batch: list[int], epoch: int, loss_curve: Smoothed,
                    accuracy_curve: Smoothed) -> None:
        train_set, tuner = self.session.train_images, self.tuner
        labels = train_set.images.label_values(batch)
        rate = tuner.settings.learning_rate_at(tuner.step)
        loss = float(tuner.fit_gathered(lambda tensor: train_set.write(tensor, batch), labels,
                                        len(batch)))
        if not math.isfinite(loss):
            raise FloatingPointError(f"train: the loss became {loss} at step {self.step + 1}; "
                                     "create the model again and train with a lower rate")
        accuracy = batch_accuracy(tuner.last_logits(), labels, len(batch))
        self.step += 1
        self.holds_best = False
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
                         "weights": self.session.weights()}
            self.holds_best = True
        event = {"kind": "epoch", "epoch": epoch, "epochs": self.settings.epochs,
                 "val_loss": val_loss, "val_accuracy": val_accuracy,
                 "best_epoch": self.best["epoch"],
                 "best_val_accuracy": self.best["val_accuracy"]}
        self.history.append(event)
        self._emit(event)

    async def _validate(self) -> tuple[float, float]:
        train_set, settings = self.session.train_images, self.settings
        start, stop = self.trained, settings.train_images
        probabilities = array("f")
        chunk = self.session.page.model.max_batch
        for first in range(start, stop, chunk):
            last = min(stop, first + chunk)
            probabilities.extend(self.session.probabilities(train_set, first, last))
            await asyncio.sleep(0)  # answer the worker's messages between chunks
        scores = summarise(probabilities, train_set.images.labels[start:stop], stop - start)
        return scores["loss"], scores["accuracy"]

    def keep_best(self) -> None:
        """Leave the model holding the best epoch's weights (unless it already does)."""
        if self.best is not None and not self.holds_best:
            self.session.set_weights(self.best["weights"])
            self.holds_best = True

    def result(self) -> dict:
        best = self.best or {}
        return {"stopped": self.stopped, "epochs_done": self.epochs_done,
                "steps_done": self.step, "best_epoch": best.get("epoch"),
                "best_val_accuracy": best.get("val_accuracy"), "history": self.history,
                "ms": round((time.perf_counter() - self.started) * 1000.0, 3),
                "options": self.settings.as_dict()}
