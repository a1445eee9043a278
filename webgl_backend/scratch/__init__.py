"""Training a model of the seeds' ladder from scratch in the page: `ScratchSession`
(session.py) over the ladder table (webgl_backend.ladder), seeded initial weights made
as TF.js files in memory (initial_weights.py), MNIST kept as uint8 (dataset.py), the
run's options (options.py) and its figures (metrics.py)."""

from webgl_backend.scratch.session import ScratchSession

__all__ = ["ScratchSession"]
