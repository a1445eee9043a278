"""Sequential: a list of layers applied in order, Keras-style.

    model = Sequential([
        Conv2D(6, 6, padding="same", activation="relu"),
        Flatten(),
        Dense(10, activation="softmax"),
    ], input_shape=(28, 28, 1), seed=0)

Building happens in the constructor: each layer learns its input shape and creates its
weights. Training takes the loss from the logits (fused softmax + cross-entropy), so the
last layer must end in a softmax, either as its `activation` or as an `Activation` layer.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from model_export.layers import Activation, Layer, layer_from_config
from model_export.nn.losses import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from model_export.nn.workspace import keep_freed_memory


class Sequential:
    def __init__(self, layers: Iterable[Layer], input_shape: tuple[int, ...],
                 name: str = "sequential", seed: int = 0) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential needs at least one layer. Received layers=[].")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"Sequential: layers[{index}] is not a Layer. "
                                 f"Received {type(layer).__name__}: {layer!r}.")
        input_shape = tuple(input_shape)
        if not input_shape or any(not isinstance(d, int) or d <= 0 for d in input_shape):
            raise ValueError("Invalid value for argument `input_shape`. Expected positive "
                             f"integers without the batch dimension. Received {input_shape}.")
        self.name = name
        self.input_shape = input_shape
        self.layers = layers
        self._assign_names()
        rng = np.random.default_rng(seed)
        shape = input_shape
        self.output_shapes: list[tuple[int, ...]] = []
        for layer in layers:
            layer.build(shape, rng)
            shape = tuple(layer.compute_output_shape(shape))
            self.output_shapes.append(shape)
        # Nothing consumes the gradient of the model's input, so no layer up to the first with
        # weights needs its input gradient: conv1's is the costliest, and the MLP's first
        # Dense (after Flatten) spent a third of its GEMMs on it.
        for layer in layers:
            layer.input_gradient_needed = False
            if layer.weights:
                break

    def _assign_names(self) -> None:
        taken = {layer.name for layer in self.layers if layer.name}
        counts: dict[str, int] = {}
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name is None:
                prefix = layer.default_name_prefix
                while True:
                    index = counts.get(prefix, 0)
                    counts[prefix] = index + 1
                    candidate = prefix if index == 0 else f"{prefix}_{index}"
                    if candidate not in taken:
                        break
                layer.name = candidate
                taken.add(candidate)
            if layer.name in seen:
                raise ValueError(f"Sequential: two layers are named '{layer.name}'. "
                                 "Layer names must be unique.")
            seen.add(layer.name)

    # ------------------------------------------------------------------ running

    def forward(self, x: np.ndarray, training: bool = False, logits: bool = False) -> np.ndarray:
        """x (n, *input_shape) -> output (n, *output_shape). `logits` skips the final softmax."""
        self._check_input(x)
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            if logits and index == last:
                if isinstance(layer, Activation):
                    return x  # the softmax layer itself is skipped
                return layer.forward(x, training=training, activate=False)
            x = layer.forward(x, training=training)
        return x

    def backward(self, dy: np.ndarray, from_logits: bool = False) -> np.ndarray | None:
        """Propagate dL/d(output) (or dL/d(logits)) back through every layer; fills grads.

        Returns None: no layer up to the first with weights computes its input gradient."""
        last = len(self.layers) - 1
        for index in range(last, -1, -1):
            layer = self.layers[index]
            if from_logits and index == last:
                if isinstance(layer, Activation):
                    continue
                dy = layer.backward(dy, activated=False)
            else:
                dy = layer.backward(dy)
            if dy is None:  # the layers before this one need no gradient
                break
        return dy

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities (n, classes), computed in batches, inference mode."""
        x = np.asarray(x, dtype=np.float32)
        outputs = [self.forward(x[start:start + batch_size])
                   for start in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.zeros((0,) + self.output_shapes[-1],
                                                                dtype=np.float32)

    def train_step_gradients(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward in training mode, softmax cross-entropy from logits, backward.

        Returns (data loss + regularization loss, probabilities). Gradients are left in each
        layer's `grads`.
        """
        self._check_softmax_output()
        keep_freed_memory()
        logits = self.forward(x, training=True, logits=True)
        loss, probs = softmax_cross_entropy_forward(logits, labels)
        self.backward(softmax_cross_entropy_backward(probs, labels), from_logits=True)
        return float(loss) + self.regularization_loss(), probs

    def evaluate(self, x: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) in inference mode."""
        probs = self.predict(x, batch_size)
        picked = probs[np.arange(len(labels)), labels]
        loss = float(-np.mean(np.log(np.maximum(picked, 1e-12))))
        return loss, float(np.mean(probs.argmax(axis=1) == labels))

    def _check_input(self, x: np.ndarray) -> None:
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"{self.name}: expected input of shape (n, "
                             f"{', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}")

    def _check_softmax_output(self) -> None:
        last = self.layers[-1]
        if getattr(last, "activation", None) != "softmax":
            raise ValueError(f"{self.name}: training with cross-entropy needs the last layer to "
                             f"end in softmax; '{last.name}' has activation "
                             f"{getattr(last, 'activation', None)!r}")

    # ------------------------------------------------------------------ parameters

    def parameters(self) -> list[np.ndarray]:
        """The trainable weight arrays, in layer order (kernel before bias)."""
        return [layer.weights[key] for layer in self.layers if layer.trainable
                for key in layer.weights if key not in layer.non_trainable_weights]

    def gradients(self) -> list[np.ndarray]:
        return [layer.grads[key] for layer in self.layers if layer.trainable
                for key in layer.weights if key not in layer.non_trainable_weights]

    def regularization_loss(self) -> float:
        return float(sum(layer.regularization_loss() for layer in self.layers))

    def get_weights(self) -> list[tuple[str, np.ndarray]]:
        """Every weight as ("layer_name/weight_name", array), in the order Keras saves them."""
        return [(f"{layer.name}/{key}", value) for layer in self.layers
                for key, value in layer.weights.items()]

    def set_weights(self, arrays: list[np.ndarray]) -> None:
        """Replace every weight, in `get_weights` order; shapes must match exactly."""
        current = self.get_weights()
        if len(arrays) != len(current):
            raise ValueError(f"{self.name}: set_weights got {len(arrays)} arrays, "
                             f"the model has {len(current)} weights")
        for (name, old), new in zip(current, arrays):
            if tuple(np.shape(new)) != old.shape:
                raise ValueError(f"{self.name}: weight '{name}' has shape {old.shape}, "
                                 f"got {tuple(np.shape(new))}")
        for (name, old), new in zip(current, arrays):
            old[...] = new

    def count_params(self) -> int:
        return int(sum(w.size for _, w in self.get_weights()))

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict:
        """Keras Sequential config; the first layer carries batch_input_shape."""
        layers = []
        for index, layer in enumerate(self.layers):
            config = layer.get_config()
            if index == 0:
                config = {"batch_input_shape": [None, *self.input_shape], **config}
            layers.append({"class_name": type(layer).__name__, "config": config})
        return {"name": self.name, "layers": layers}

    @classmethod
    def from_config(cls, config: dict, seed: int = 0) -> "Sequential":
        layer_dicts = config.get("layers")
        if not isinstance(layer_dicts, list) or not layer_dicts:
            raise ValueError("Sequential config needs a non-empty 'layers' list")
        first = layer_dicts[0].get("config", {})
        batch_input_shape = first.get("batch_input_shape")
        if not batch_input_shape:
            raise ValueError("Sequential config: the first layer has no 'batch_input_shape'")
        layers = []
        for entry in layer_dicts:
            layer_config = {k: v for k, v in entry.get("config", {}).items()
                            if k != "batch_input_shape"}
            layers.append(layer_from_config({"class_name": entry.get("class_name"),
                                             "config": layer_config}))
        return cls(layers, tuple(batch_input_shape[1:]), name=config.get("name", "sequential"),
                   seed=seed)

    def summary(self) -> str:
        lines = [f"Model: {self.name}  input {self.input_shape}",
                 f"{'layer':<34}{'output shape':<22}{'params':>10}"]
        for layer, shape in zip(self.layers, self.output_shapes):
            params = sum(w.size for w in layer.weights.values())
            lines.append(f"{repr(layer)[:33]:<34}{str((None, *shape)):<22}{params:>10,}")
        lines.append(f"Total params: {self.count_params():,}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner},\n], input_shape={self.input_shape})"
