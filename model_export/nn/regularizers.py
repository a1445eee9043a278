"""Weight regularizers: the L1/L2 penalty added to the loss, and its gradient.

Definition as in Keras (`keras/src/regularizers/regularizers.py`, class L1L2):
loss = l1 * sum(|kernel|) + l2 * sum(kernel^2). Note there is no factor 1/2 on
the L2 term, so its gradient is 2 * l2 * kernel.
"""

import numpy as np


def _check_factor(name: str, value: object) -> float:
    """`value` as a float, or ValueError naming the argument when it is negative or not a number."""
    try:
        factor = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a non-negative float. "
            f"Received {name}={value!r}."
        ) from None
    if not np.isfinite(factor) or factor < 0.0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a non-negative float. "
            f"Received {name}={value!r}."
        )
    return factor


class L1L2:
    """Penalty l1 * sum(|kernel|) + l2 * sum(kernel^2)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _check_factor("l1", l1)
        self.l2 = _check_factor("l2", l2)

    def loss(self, kernel: np.ndarray) -> float:
        """The penalty for `kernel` (any shape), as a Python float."""
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.sum(np.abs(kernel)))
        if self.l2:
            total += self.l2 * float(np.sum(np.square(kernel)))
        return total

    def gradient(self, kernel: np.ndarray) -> np.ndarray:
        """d loss / d kernel = l1 * sign(kernel) + 2 * l2 * kernel; same shape and dtype as `kernel`.

        At kernel == 0 the L1 term's subgradient is taken as 0 (np.sign).
        """
        grad = np.zeros_like(kernel)
        if self.l1:
            grad += self.l1 * np.sign(kernel)
        if self.l2:
            grad += (2.0 * self.l2) * kernel
        return grad

    def get_config(self) -> dict:
        """Keras/TF.js form: {"class_name": "L1L2", "config": {"l1": ..., "l2": ...}}."""
        return {"class_name": "L1L2", "config": {"l1": self.l1, "l2": self.l2}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, L1L2) and (self.l1, self.l2) == (other.l1, other.l2)

    def __repr__(self) -> str:
        return f"L1L2(l1={self.l1!r}, l2={self.l2!r})"


def l1(value: float = 0.01) -> L1L2:
    """An L1-only penalty, value * sum(|kernel|)."""
    return L1L2(l1=_check_factor("l1", value))


def l2(value: float = 0.01) -> L1L2:
    """An L2-only penalty, value * sum(kernel^2)."""
    return L1L2(l2=_check_factor("l2", value))


def _from_dict(spec: dict) -> L1L2:
    class_name = spec.get("class_name")
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"Invalid regularizer dict {spec!r}: 'config' must be a dict.")
    allowed = {"L1L2": {"l1", "l2"}, "L1": {"l1"}, "L2": {"l2"}}
    if class_name not in allowed:
        raise ValueError(
            f"Unknown regularizer class_name {class_name!r}. Expected one of: L1, L1L2, L2."
        )
    unexpected = set(config) - allowed[class_name]
    if unexpected:
        raise ValueError(
            f"Regularizer {class_name}: unexpected config keys {sorted(unexpected)}; "
            f"expected only {sorted(allowed[class_name])}."
        )
    if class_name == "L1":
        return l1(config.get("l1", 0.01))
    if class_name == "L2":
        return l2(config.get("l2", 0.01))
    return L1L2(l1=config.get("l1", 0.0), l2=config.get("l2", 0.0))


def get_regularizer(spec: None | str | dict | L1L2) -> L1L2 | None:
    """Resolve a regularizer spec.

    None -> None; "l1" -> L1L2(l1=0.01); "l2" -> L1L2(l2=0.01);
    "l1_l2" -> L1L2(l1=0.01, l2=0.01) (Keras 2's `l1_l2` defaults);
    a Keras dict with class_name L1L2, L1 or L2; an L1L2 instance is returned as is.
    """
    if spec is None or isinstance(spec, L1L2):
        return spec
    if isinstance(spec, str):
        named = {"l1": lambda: l1(), "l2": lambda: l2(), "l1_l2": lambda: L1L2(0.01, 0.01)}
        if spec not in named:
            raise ValueError(f"Unknown regularizer {spec!r}. Expected one of: l1, l1_l2, l2.")
        return named[spec]()
    if isinstance(spec, dict):
        return _from_dict(spec)
    raise ValueError(
        f"Invalid regularizer {spec!r} of type {type(spec).__name__}: expected None, "
        "'l1', 'l2', 'l1_l2', a Keras dict or an L1L2 instance."
    )
