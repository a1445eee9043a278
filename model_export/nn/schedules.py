"""Learning-rate schedules: step (number of optimizer updates done) -> learning rate.

Each schedule is callable, returns a Python float (never a numpy float64 scalar,
which would promote float32 updates to float64), and round-trips through
`get_config()` / `get_schedule()`.
"""

import math
import numbers
import operator


def _check_positive(owner: str, name: str, value: object) -> float:
    if not _is_real(value) or not value > 0:
        raise ValueError(
            f"{owner}: invalid value for argument `{name}`. Expected a strictly positive "
            f"number. Received {name}={value!r}."
        )
    if not math.isfinite(value):
        raise ValueError(f"{owner}: argument `{name}` must be finite. Received {name}={value!r}.")
    return float(value)


def _check_unit_interval(owner: str, name: str, value: object) -> float:
    """`value` in (0, 1]."""
    if not _is_real(value) or not 0 < value <= 1:
        raise ValueError(
            f"{owner}: invalid value for argument `{name}`. Expected a number in (0, 1]. "
            f"Received {name}={value!r}."
        )
    return float(value)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_step(owner: str, step: int) -> int:
    if not _is_integer(step):
        raise ValueError(f"{owner}: step must be an integer. Received step={step!r}.")
    step = operator.index(step)
    if step < 0:
        raise ValueError(f"{owner}: step must be >= 0. Received step={step}.")
    return step


class Constant:
    """lr(step) = learning_rate."""

    def __init__(self, learning_rate: float):
        self.learning_rate = _check_positive("Constant", "learning_rate", learning_rate)

    def __call__(self, step: int) -> float:
        _check_step("Constant", step)
        return self.learning_rate

    def get_config(self) -> dict:
        return {"class_name": "Constant", "config": {"learning_rate": self.learning_rate}}


class ExponentialDecay:
    """lr(step) = max(floor, initial_learning_rate * decay_rate ** (step / decay_steps)).

    With staircase=True the exponent is step // decay_steps (Keras's staircase).
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        floor: float = 0.0,
        staircase: bool = False,
    ):
        owner = "ExponentialDecay"
        self.initial_learning_rate = _check_positive(owner, "initial_learning_rate", initial_learning_rate)
        if not _is_integer(decay_steps) or decay_steps <= 0:
            raise ValueError(
                f"{owner}: invalid value for argument `decay_steps`. Expected a strictly "
                f"positive integer. Received decay_steps={decay_steps!r}."
            )
        self.decay_steps = int(decay_steps)
        self.decay_rate = _check_unit_interval(owner, "decay_rate", decay_rate)
        if not _is_real(floor) or not 0 <= floor <= self.initial_learning_rate:
            raise ValueError(
                f"{owner}: invalid value for argument `floor`. Expected a number in "
                f"[0, initial_learning_rate={self.initial_learning_rate!r}]. Received floor={floor!r}."
            )
        self.floor = float(floor)
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        step = _check_step("ExponentialDecay", step)
        exponent = step // self.decay_steps if self.staircase else step / self.decay_steps
        return max(self.floor, self.initial_learning_rate * self.decay_rate**exponent)

    def get_config(self) -> dict:
        return {
            "class_name": "ExponentialDecay",
            "config": {
                "initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate,
                "floor": self.floor,
                "staircase": self.staircase,
            },
        }


class StepDecay:
    """lr(step) = initial_learning_rate * factor ** (step // drop_every_steps)."""

    def __init__(self, initial_learning_rate: float, drop_every_steps: int, factor: float):
        owner = "StepDecay"
        self.initial_learning_rate = _check_positive(owner, "initial_learning_rate", initial_learning_rate)
        if not _is_integer(drop_every_steps) or drop_every_steps <= 0:
            raise ValueError(
                f"{owner}: invalid value for argument `drop_every_steps`. Expected a strictly "
                f"positive integer. Received drop_every_steps={drop_every_steps!r}."
            )
        self.drop_every_steps = int(drop_every_steps)
        self.factor = _check_unit_interval(owner, "factor", factor)

    def __call__(self, step: int) -> float:
        step = _check_step("StepDecay", step)
        return self.initial_learning_rate * self.factor ** (step // self.drop_every_steps)

    def get_config(self) -> dict:
        return {
            "class_name": "StepDecay",
            "config": {
                "initial_learning_rate": self.initial_learning_rate,
                "drop_every_steps": self.drop_every_steps,
                "factor": self.factor,
            },
        }


Schedule = Constant | ExponentialDecay | StepDecay
_SCHEDULES = {"Constant": Constant, "ExponentialDecay": ExponentialDecay, "StepDecay": StepDecay}


def get_schedule(spec: float | dict | Schedule) -> Schedule:
    """A schedule from a positive number (-> Constant), a `get_config()` dict, or a schedule."""
    if isinstance(spec, (Constant, ExponentialDecay, StepDecay)):
        return spec
    if isinstance(spec, dict):
        class_name = spec.get("class_name")
        if class_name not in _SCHEDULES:
            raise ValueError(
                f"Unknown learning-rate schedule {class_name!r}. "
                f"Expected one of: {', '.join(sorted(_SCHEDULES))}."
            )
        return _SCHEDULES[class_name](**spec.get("config", {}))
    if _is_real(spec):
        return Constant(spec)
    raise ValueError(
        f"Invalid value for argument `learning_rate`. Expected a positive number or a schedule. "
        f"Received learning_rate={spec!r}."
    )
