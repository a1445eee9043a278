"""Optimizers: per-tensor update formulas and the classes that apply them to a model.

The `<name>_update` functions are the reference the GLSL update shaders
(`shaders/<name>_update.glsl`) match term for term; each docstring gives the
formula and its source. They update `param` and the state arrays in place,
return None, and keep float32 arrays float32 (scalars are turned into Python
floats first, so a numpy float64 scalar cannot promote the arithmetic).

The classes add what the shaders do not need: lazily created state, shape
checks, an iteration counter, learning-rate schedules, and a flat state dict
for checkpoints (np.savez-friendly: "iterations", "<slot>/<index>").

Longer than our ~300-line rule on purpose: each formula sits beside the class that applies
it, so reading one checks the other (six optimizers, each short).
"""

import numbers

import numpy as np

from model_export.nn.schedules import Schedule, get_schedule


# ---------------------------------------------------------------- update formulas


def sgd_update(param: np.ndarray, grad: np.ndarray, lr: float) -> None:
    """param -= lr * grad.

    Source: Keras `keras/src/optimizers/sgd.py` (momentum == 0 branch).
    """
    param -= float(lr) * grad


def momentum_update(
    param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float
) -> None:
    """velocity = momentum * velocity - lr * grad; param += velocity.

    Source: Keras `keras/src/optimizers/sgd.py` (momentum > 0, nesterov=False).
    `velocity` has param's shape and starts at zeros.
    """
    velocity *= float(momentum)
    velocity -= float(lr) * grad
    param += velocity


def nesterov_update(
    param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float
) -> None:
    """velocity = momentum * velocity - lr * grad; param += momentum * velocity - lr * grad.

    Source: Keras `keras/src/optimizers/sgd.py` (momentum > 0, nesterov=True); the
    second line uses the velocity just updated. `velocity` starts at zeros.
    """
    lr = float(lr)
    momentum = float(momentum)
    velocity *= momentum
    velocity -= lr * grad
    param += momentum * velocity - lr * grad


def adagrad_update(
    param: np.ndarray, grad: np.ndarray, accumulator: np.ndarray, lr: float, epsilon: float
) -> None:
    """accumulator += grad^2; param -= lr * grad / sqrt(accumulator + epsilon).

    Source: Keras `keras/src/optimizers/adagrad.py` (epsilon inside the square root;
    the accumulator starts at `initial_accumulator_value`, Keras's default 0.1).
    """
    accumulator += np.square(grad)
    denominator = accumulator + float(epsilon)
    np.sqrt(denominator, out=denominator)
    step = float(lr) * grad
    step /= denominator
    param -= step


def rmsprop_update(
    param: np.ndarray, grad: np.ndarray, ms: np.ndarray, lr: float, rho: float, epsilon: float
) -> None:
    """ms = rho * ms + (1 - rho) * grad^2; param -= lr * grad / sqrt(ms + epsilon).

    Source: Keras `keras/src/optimizers/rmsprop.py` with momentum=0, centered=False
    (epsilon inside the square root). `ms` (mean square, Keras's "velocity") starts at zeros.
    """
    rho = float(rho)
    ms *= rho
    ms += (1.0 - rho) * np.square(grad)
    denominator = ms + float(epsilon)
    np.sqrt(denominator, out=denominator)
    step = float(lr) * grad
    step /= denominator
    param -= step


def adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    step: int,
    lr: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
) -> None:
    """Adam, Keras's formula (bias correction folded into the step size, epsilon added to sqrt(v)):

        alpha = lr * sqrt(1 - beta_2^step) / (1 - beta_1^step)
        m += (grad - m) * (1 - beta_1)
        v += (grad^2 - v) * (1 - beta_2)
        param -= m * alpha / (sqrt(v) + epsilon)

    Source: Keras `keras/src/optimizers/adam.py` (amsgrad=False), which is Kingma & Ba's
    "epsilon hat" form (the formula before their Section 2.1). It differs from TF.js
    (`adam_optimizer.ts`), which adds epsilon to sqrt(v_hat) after bias-correcting v.
    `step` is the 1-based number of this update (Keras's iterations + 1); m and v start at zeros.
    alpha is computed once per step in float64 on the host and passed to the shader as a uniform.
    """
    if step < 1:
        raise ValueError(f"adam_update: step must be >= 1 (1-based update count). Received step={step!r}.")
    beta_1 = float(beta_1)
    beta_2 = float(beta_2)
    alpha = float(lr) * (1.0 - beta_2**step) ** 0.5 / (1.0 - beta_1**step)
    delta = grad - m
    delta *= 1.0 - beta_1
    m += delta
    delta = np.square(grad)
    delta -= v
    delta *= 1.0 - beta_2
    v += delta
    denominator = np.sqrt(v)
    denominator += float(epsilon)
    update = m * alpha
    update /= denominator
    param -= update


# ---------------------------------------------------------------- validation


def _check_range(
    owner: str, name: str, value: object, low: float, high: float, include_low: bool, include_high: bool
) -> float:
    """`value` as a float if it lies in the interval, else ValueError naming the argument."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        above_low = value >= low if include_low else value > low
        below_high = value <= high if include_high else value < high
        ok = above_low and below_high
    if not ok:
        interval = f"{'[' if include_low else '('}{low}, {high}{']' if include_high else ')'}"
        raise ValueError(
            f"{owner}: invalid value for argument `{name}`. Expected a number in {interval}. "
            f"Received {name}={value!r}."
        )
    return float(value)


def _check_positive(owner: str, name: str, value: object) -> float:
    return _check_range(owner, name, value, 0.0, float("inf"), False, False)


def _make_schedule(owner: str, learning_rate: object) -> Schedule:
    if isinstance(learning_rate, numbers.Real) and not isinstance(learning_rate, bool):
        _check_positive(owner, "learning_rate", learning_rate)
    return get_schedule(learning_rate)


# ---------------------------------------------------------------- optimizer classes

# Elements per slice of one update. The formulas make up to a dozen passes over param, grad
# and state; slices this size keep all of them in a core's L2 cache between passes, where
# whole tensors did not (Adam on the CNN's 235K-weight dense kernel: 1.4 to 0.6 ms). The
# formulas are element-wise, so the result is bit for bit the same.
UPDATE_SLICE = 32768


def _slices(param: np.ndarray, grad: np.ndarray, state: list[np.ndarray]):
    """(param, grad, state) in flat slices of UPDATE_SLICE elements, or whole where small
    or where param or a state array is not contiguous (a flat view would be a copy)."""
    if param.size <= UPDATE_SLICE or not all(a.flags.c_contiguous for a in (param, *state)):
        yield param, grad, state
        return
    flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)
    flat_state = [a.reshape(-1) for a in state]
    for start in range(0, param.size, UPDATE_SLICE):
        part = slice(start, start + UPDATE_SLICE)
        yield flat_param[part], flat_grad[part], [a[part] for a in flat_state]


class Optimizer:
    """Shared machinery. Subclasses set `name`, `slots` (state names) and define
    `_hyperparameters()`, `_initial_state(param)` and `_update(param, grad, state, lr)`."""

    name = "optimizer"
    slots: tuple[str, ...] = ()

    def __init__(self, learning_rate: float | Schedule):
        self.schedule = _make_schedule(type(self).__name__, learning_rate)
        self.iterations = 0
        # state[slot][i] is the state array of that slot for params[i]; None until first apply
        self.state: dict[str, list[np.ndarray]] | None = None

    # -- hooks
    def _hyperparameters(self) -> dict:
        return {}

    def _initial_value(self, slot: str) -> float:
        return 0.0

    def _update(self, param: np.ndarray, grad: np.ndarray, state: list[np.ndarray], lr: float) -> None:
        raise NotImplementedError

    # -- public interface
    def current_learning_rate(self) -> float:
        """The learning rate the next `apply` will use: schedule(iterations)."""
        return float(self.schedule(self.iterations))

    def apply(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update every params[i] in place from grads[i]; state is created on the first call."""
        owner = f"{type(self).__name__}.apply"
        if len(params) != len(grads):
            raise ValueError(f"{owner}: got {len(params)} params but {len(grads)} grads.")
        for i, (param, grad) in enumerate(zip(params, grads)):
            if param.shape != grad.shape:
                raise ValueError(
                    f"{owner}: grads[{i}] has shape {grad.shape} but params[{i}] has shape {param.shape}."
                )
        if self.state is None:
            self.state = {
                slot: [np.full_like(p, self._initial_value(slot)) for p in params] for slot in self.slots
            }
        self._check_state_matches(owner, params)
        lr = self.current_learning_rate()
        self.iterations += 1
        for i, (param, grad) in enumerate(zip(params, grads)):
            for piece in _slices(param, grad, [self.state[slot][i] for slot in self.slots]):
                self._update(*piece, lr)

    def _check_state_matches(self, owner: str, params: list[np.ndarray]) -> None:
        for slot in self.slots:
            arrays = self.state[slot]
            if len(arrays) != len(params):
                raise ValueError(
                    f"{owner}: optimizer state holds {len(arrays)} tensors per slot "
                    f"but {len(params)} params were given."
                )
            for i, (param, array) in enumerate(zip(params, arrays)):
                if param.shape != array.shape:
                    raise ValueError(
                        f"{owner}: params[{i}] has shape {param.shape} but optimizer state "
                        f"'{slot}/{i}' has shape {array.shape}."
                    )

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat copy of the state: "iterations" (int64 scalar) and "<slot>/<i>" arrays."""
        result = {"iterations": np.array(self.iterations, dtype=np.int64)}
        for slot, arrays in (self.state or {}).items():
            for i, array in enumerate(arrays):
                result[f"{slot}/{i}"] = array.copy()
        return result

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Replace iterations and state with copies of `state`; nothing changes if it is invalid."""
        owner = f"{type(self).__name__}.load_state_dict"
        iterations = self._parse_iterations(owner, state)
        loaded = self._parse_slots(owner, state)
        if self.state is not None and loaded is not None:
            for slot in self.slots:
                if len(self.state[slot]) != len(loaded[slot]):
                    raise ValueError(
                        f"{owner}: state for {len(loaded[slot])} params but this optimizer "
                        f"holds {len(self.state[slot])}."
                    )
                for i, (old, new) in enumerate(zip(self.state[slot], loaded[slot])):
                    if old.shape != new.shape:
                        raise ValueError(
                            f"{owner}: '{slot}/{i}' has shape {new.shape} but this optimizer's "
                            f"state has shape {old.shape}."
                        )
                    loaded[slot][i] = new.astype(old.dtype, copy=False)
        self.iterations = iterations
        self.state = loaded

    def _parse_iterations(self, owner: str, state: dict) -> int:
        if "iterations" not in state:
            raise ValueError(f"{owner}: missing key 'iterations'.")
        value = np.asarray(state["iterations"])
        if value.shape != () or value.dtype.kind not in "iu" or int(value) < 0:
            raise ValueError(
                f"{owner}: 'iterations' must be a non-negative integer scalar. "
                f"Received {state['iterations']!r}."
            )
        return int(value)

    def _parse_slots(self, owner: str, state: dict) -> dict[str, list[np.ndarray]] | None:
        """The slot arrays of `state` (copied), or None when it holds none (saved before any apply)."""
        counts = {}
        for key in state:
            if key == "iterations":
                continue
            slot, _, index = key.partition("/")
            if slot not in self.slots or not index.isdigit():
                expected = ", ".join(f"'{s}/<i>'" for s in self.slots) or "none"
                raise ValueError(f"{owner}: unexpected key {key!r}; expected 'iterations' and {expected}.")
            counts[slot] = max(counts.get(slot, 0), int(index) + 1)
        if not counts:
            return None
        count = max(counts.values())
        loaded = {}
        for slot in self.slots:
            loaded[slot] = []
            for i in range(count):
                key = f"{slot}/{i}"
                if key not in state:
                    raise ValueError(f"{owner}: missing key {key!r} (state holds {count} params).")
                array = np.array(state[key], copy=True)
                if array.dtype.kind != "f":
                    raise ValueError(f"{owner}: {key!r} has dtype {array.dtype}; expected a float array.")
                if not np.all(np.isfinite(array)):
                    raise ValueError(f"{owner}: {key!r} contains NaN or infinite values.")
                loaded[slot].append(array)
        return loaded

    def get_config(self) -> dict:
        """{"name": ..., "learning_rate": float or schedule config, **hyperparameters}."""
        learning_rate = self.schedule.get_config()
        if learning_rate["class_name"] == "Constant":
            learning_rate = learning_rate["config"]["learning_rate"]
        return {"name": self.name, "learning_rate": learning_rate, **self._hyperparameters()}

    def __repr__(self) -> str:
        config = self.get_config()
        args = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent; no state."""

    name = "sgd"

    def __init__(self, learning_rate: float | Schedule = 0.01):
        super().__init__(learning_rate)

    def _update(self, param, grad, state, lr):
        sgd_update(param, grad, lr)


class Momentum(Optimizer):
    """Heavy-ball momentum (Keras SGD with momentum); state "velocity"."""

    name = "momentum"
    slots = ("velocity",)

    def __init__(self, learning_rate: float | Schedule = 0.01, momentum: float = 0.9):
        super().__init__(learning_rate)
        self.momentum = _check_range(type(self).__name__, "momentum", momentum, 0.0, 1.0, True, False)

    def _hyperparameters(self):
        return {"momentum": self.momentum}

    def _update(self, param, grad, state, lr):
        momentum_update(param, grad, state[0], lr, self.momentum)


class Nesterov(Momentum):
    """Nesterov momentum (Keras SGD with nesterov=True); state "velocity"."""

    name = "nesterov"

    def _update(self, param, grad, state, lr):
        nesterov_update(param, grad, state[0], lr, self.momentum)


class AdaGrad(Optimizer):
    """AdaGrad; state "accumulator", starting at initial_accumulator_value."""

    name = "adagrad"
    slots = ("accumulator",)

    def __init__(
        self,
        learning_rate: float | Schedule = 0.001,
        epsilon: float = 1e-7,
        initial_accumulator_value: float = 0.1,
    ):
        super().__init__(learning_rate)
        owner = type(self).__name__
        self.epsilon = _check_positive(owner, "epsilon", epsilon)
        self.initial_accumulator_value = _check_range(
            owner, "initial_accumulator_value", initial_accumulator_value, 0.0, float("inf"), True, False
        )

    def _hyperparameters(self):
        return {"epsilon": self.epsilon, "initial_accumulator_value": self.initial_accumulator_value}

    def _initial_value(self, slot):
        return self.initial_accumulator_value

    def _update(self, param, grad, state, lr):
        adagrad_update(param, grad, state[0], lr, self.epsilon)


class RMSProp(Optimizer):
    """RMSProp (Keras RMSprop, no momentum, not centered); state "ms" (mean square)."""

    name = "rmsprop"
    slots = ("ms",)

    def __init__(self, learning_rate: float | Schedule = 0.001, rho: float = 0.9, epsilon: float = 1e-7):
        super().__init__(learning_rate)
        owner = type(self).__name__
        self.rho = _check_range(owner, "rho", rho, 0.0, 1.0, True, False)
        self.epsilon = _check_positive(owner, "epsilon", epsilon)

    def _hyperparameters(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def _update(self, param, grad, state, lr):
        rmsprop_update(param, grad, state[0], lr, self.rho, self.epsilon)


class Adam(Optimizer):
    """Adam, Keras's formula (see `adam_update`); state "m" and "v"."""

    name = "adam"
    slots = ("m", "v")

    def __init__(
        self,
        learning_rate: float | Schedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ):
        super().__init__(learning_rate)
        owner = type(self).__name__
        self.beta_1 = _check_range(owner, "beta_1", beta_1, 0.0, 1.0, True, False)
        self.beta_2 = _check_range(owner, "beta_2", beta_2, 0.0, 1.0, True, False)
        self.epsilon = _check_positive(owner, "epsilon", epsilon)

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _update(self, param, grad, state, lr):
        # apply() has already counted this update, so iterations is its 1-based number
        m, v = state
        adam_update(param, grad, m, v, self.iterations, lr, self.beta_1, self.beta_2, self.epsilon)


_OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam)
}


def get_optimizer(name: str, **kwargs) -> Optimizer:
    """An optimizer by name ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
    any case) with keyword hyperparameters; learning_rate may be a float, a schedule or a
    schedule config dict, so `get_optimizer(**opt.get_config())` rebuilds `opt`."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}. Expected one of: {', '.join(sorted(_OPTIMIZERS))}.")
    cls = _OPTIMIZERS[key]
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ValueError(f"Optimizer {key!r}: {error}") from None
