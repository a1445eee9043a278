"""Fine-tuning on the GPU, built from a loaded model:

    tuner = FineTuner(model)                            # model: a runtime.GpuModel
    tuner.configure_training(optimizer="adam", learning_rate=0.001, trainable="all", l2=0.0)
    loss = tuner.fit_batch(images, labels, n)           # one step; reads back one float
    history = tuner.fit(images, labels, n, epochs=1, batch_size=32, on_progress=callback)
    tuner.reset()                                       # loaded weights, fresh optimizer
    model_json_text, shards = tuner.export()            # TF.js layers format

`parameters` (weights, gradients, optimizer state, updates), `unfolded_layers` (the ops a
step draws: every BatchNormalization unfolded, gamma and beta trained), `refold` (what
predictions draw, recomputed after the updates), `step_plan` (the passes of one step),
`fine_tuner` (the API above).
"""

from webgl_backend.errors import TrainingError
from webgl_backend.training.fine_tuner import (
    MAX_TRAIN_BATCH,
    FineTuner,
    FineTuningSettings,
)

__all__ = ["MAX_TRAIN_BATCH", "FineTuner", "FineTuningSettings", "TrainingError"]
