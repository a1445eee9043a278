"""Optimizer update formulas, optimizer classes, learning-rate schedules."""

import math

import numpy as np
import pytest

from model_export.nn import optimizers
from model_export.nn.optimizers import (
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    RMSProp,
    adagrad_update,
    adam_update,
    get_optimizer,
    momentum_update,
    nesterov_update,
    rmsprop_update,
    sgd_update,
)
from model_export.nn.schedules import Constant, ExponentialDecay, StepDecay, get_schedule

# Two steps from the same start, so state carried between steps matters.
PARAM0 = [1.0, -2.0]
GRADS = [[0.5, -1.0], [0.25, 2.0]]


def _f64(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# ---------------------------------------------------------------- update formulas by hand


def test_sgd_update_two_steps_by_hand():
    param = _f64(PARAM0)
    for grad in GRADS:
        sgd_update(param, _f64(grad), 0.1)
    # 1 - 0.05 - 0.025, -2 + 0.1 - 0.2
    np.testing.assert_allclose(param, [0.925, -2.1], rtol=1e-14)


def test_momentum_update_two_steps_by_hand():
    param, velocity = _f64(PARAM0), np.zeros(2)
    momentum_update(param, _f64(GRADS[0]), velocity, 0.1, 0.9)
    np.testing.assert_allclose(velocity, [-0.05, 0.1], rtol=1e-14)
    np.testing.assert_allclose(param, [0.95, -1.9], rtol=1e-14)
    momentum_update(param, _f64(GRADS[1]), velocity, 0.1, 0.9)
    # v = 0.9 * v - 0.1 * g = [-0.045 - 0.025, 0.09 - 0.2]
    np.testing.assert_allclose(velocity, [-0.07, -0.11], rtol=1e-14)
    np.testing.assert_allclose(param, [0.88, -2.01], rtol=1e-14)


def test_nesterov_update_two_steps_by_hand():
    param, velocity = _f64(PARAM0), np.zeros(2)
    nesterov_update(param, _f64(GRADS[0]), velocity, 0.1, 0.9)
    # p += 0.9 * v - 0.1 * g = [1 - 0.045 - 0.05, -2 + 0.09 + 0.1]
    np.testing.assert_allclose(param, [0.905, -1.81], rtol=1e-14)
    nesterov_update(param, _f64(GRADS[1]), velocity, 0.1, 0.9)
    np.testing.assert_allclose(velocity, [-0.07, -0.11], rtol=1e-14)
    # [0.905 - 0.063 - 0.025, -1.81 - 0.099 - 0.2]
    np.testing.assert_allclose(param, [0.817, -2.109], rtol=1e-14)


def test_adagrad_update_two_steps_by_hand():
    lr, epsilon = 0.1, 1e-7
    param, accumulator = _f64(PARAM0), np.full(2, 0.1)
    expected_param, expected_acc = list(PARAM0), [0.1, 0.1]
    for grad in GRADS:
        adagrad_update(param, _f64(grad), accumulator, lr, epsilon)
        for i, g in enumerate(grad):
            expected_acc[i] += g * g
            expected_param[i] -= lr * g / math.sqrt(expected_acc[i] + epsilon)
    np.testing.assert_allclose(accumulator, [0.1 + 0.25 + 0.0625, 0.1 + 1.0 + 4.0], rtol=1e-14)
    np.testing.assert_allclose(param, expected_param, rtol=1e-14)


def test_rmsprop_update_two_steps_by_hand():
    lr, rho, epsilon = 0.01, 0.9, 1e-7
    param, ms = _f64(PARAM0), np.zeros(2)
    expected_param, expected_ms = list(PARAM0), [0.0, 0.0]
    for grad in GRADS:
        rmsprop_update(param, _f64(grad), ms, lr, rho, epsilon)
        for i, g in enumerate(grad):
            expected_ms[i] = rho * expected_ms[i] + (1 - rho) * g * g
            expected_param[i] -= lr * g / math.sqrt(expected_ms[i] + epsilon)
    # ms after step 1: 0.1 * g^2 = [0.025, 0.1]; after step 2: 0.9 * that + 0.1 * g^2
    np.testing.assert_allclose(ms, [0.0225 + 0.00625, 0.09 + 0.4], rtol=1e-14)
    np.testing.assert_allclose(param, expected_param, rtol=1e-14)


def test_adam_update_two_steps_against_textbook_form():
    """Keras's form equals Kingma & Ba's with epsilon-hat: m = b1 m + (1 - b1) g, ..."""
    lr, beta_1, beta_2, epsilon = 0.01, 0.9, 0.999, 1e-7
    param, m, v = _f64(PARAM0), np.zeros(2), np.zeros(2)
    expected_param, expected_m, expected_v = list(PARAM0), [0.0, 0.0], [0.0, 0.0]
    for step, grad in enumerate(GRADS, start=1):
        adam_update(param, _f64(grad), m, v, step, lr, beta_1, beta_2, epsilon)
        lr_t = lr * math.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        for i, g in enumerate(grad):
            expected_m[i] = beta_1 * expected_m[i] + (1 - beta_1) * g
            expected_v[i] = beta_2 * expected_v[i] + (1 - beta_2) * g * g
            expected_param[i] -= lr_t * expected_m[i] / (math.sqrt(expected_v[i]) + epsilon)
    np.testing.assert_allclose(m, expected_m, rtol=1e-13)
    np.testing.assert_allclose(v, expected_v, rtol=1e-13)
    np.testing.assert_allclose(param, expected_param, rtol=1e-13)


def test_adam_bias_correction_makes_first_step_lr_sized():
    """At step 1 with zero state, m*alpha/(sqrt(v)+eps) = lr * g / (|g| + eps / sqrt(1 - b2))."""
    lr, beta_1, beta_2, epsilon = 0.01, 0.9, 0.999, 1e-7
    grad = _f64([0.5, -0.01, 3.0])
    param, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
    adam_update(param, grad, m, v, 1, lr, beta_1, beta_2, epsilon)
    expected = -lr * grad / (np.abs(grad) + epsilon / math.sqrt(1 - beta_2))
    np.testing.assert_allclose(param, expected, rtol=1e-12)
    # without bias correction the step would be lr * 0.1 / sqrt(0.001) ~ 3.2 lr; with it, ~lr
    np.testing.assert_allclose(np.abs(param), lr, rtol=1e-3)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_update_functions_keep_float32_with_float64_scalars(name):
    """np.float64 hyperparameters must not promote float32 state (NEP 50)."""
    rng = np.random.default_rng(0)
    param = rng.standard_normal(5).astype(np.float32)
    grad = rng.standard_normal(5).astype(np.float32)
    state = [np.zeros(5, dtype=np.float32), np.zeros(5, dtype=np.float32)]
    lr = np.float64(0.01)
    calls = {
        "sgd": lambda: sgd_update(param, grad, lr),
        "momentum": lambda: momentum_update(param, grad, state[0], lr, np.float64(0.9)),
        "nesterov": lambda: nesterov_update(param, grad, state[0], lr, np.float64(0.9)),
        "adagrad": lambda: adagrad_update(param, grad, state[0], lr, np.float64(1e-7)),
        "rmsprop": lambda: rmsprop_update(param, grad, state[0], lr, np.float64(0.9), np.float64(1e-7)),
        "adam": lambda: adam_update(param, grad, *state, 1, lr, np.float64(0.9), np.float64(0.999), np.float64(1e-7)),
    }
    assert calls[name]() is None
    assert param.dtype == np.float32 and all(s.dtype == np.float32 for s in state)


def test_adam_update_rejects_step_zero():
    with pytest.raises(ValueError, match=r"adam_update: step must be >= 1 .*Received step=0"):
        adam_update(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), 0, 0.1, 0.9, 0.999, 1e-7)


# ---------------------------------------------------------------- optimizer classes

# learning rates that suit each method on the quadratic below
QUADRATIC_CASES = {
    "sgd": dict(learning_rate=0.1),
    "momentum": dict(learning_rate=0.05, momentum=0.9),
    "nesterov": dict(learning_rate=0.05, momentum=0.9),
    "adagrad": dict(learning_rate=1.0),
    "rmsprop": dict(learning_rate=0.01),
    "adam": dict(learning_rate=0.05),
}


def _quadratic(params: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """Loss 0.5 * sum(scale * (p - target)^2) over a (3, 2) kernel and a (2,) bias, and its gradients."""
    scales = [np.array([[1.0, 2.0], [0.5, 1.5], [3.0, 1.0]], np.float32), np.array([1.0, 0.25], np.float32)]
    targets = [np.array([[1.0, -1.0], [0.5, 2.0], [-0.5, 0.0]], np.float32), np.array([0.3, -0.7], np.float32)]
    loss = sum(float(0.5 * np.sum(s * (p - t) ** 2)) for p, s, t in zip(params, scales, targets))
    return loss, [s * (p - t) for p, s, t in zip(params, scales, targets)]


def _start_params() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(2).astype(np.float32)]


@pytest.mark.parametrize("name", QUADRATIC_CASES)
def test_optimizer_minimizes_quadratic(name):
    optimizer = get_optimizer(name, **QUADRATIC_CASES[name])
    params = _start_params()
    initial_loss, _ = _quadratic(params)
    for _ in range(300):
        _, grads = _quadratic(params)
        optimizer.apply(params, grads)
    final_loss, _ = _quadratic(params)
    assert optimizer.iterations == 300
    assert all(p.dtype == np.float32 for p in params)
    assert final_loss < 1e-3 * initial_loss, f"{name}: loss {initial_loss} -> {final_loss}"


@pytest.mark.parametrize("name", QUADRATIC_CASES)
def test_apply_in_slices_matches_one_whole_update_bit_for_bit(name):
    """Tensors over UPDATE_SLICE elements are updated slice by slice: the same bits as the
    formula on the whole tensor, also for a non-contiguous gradient."""
    rng = np.random.default_rng(7)
    shape = (optimizers.UPDATE_SLICE // 100 + 3, 250)  # 2.5 slices, the last one partial
    params = [rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(5, dtype=np.float32)]
    reference = [p.copy() for p in params]
    sliced, whole = get_optimizer(name, **QUADRATIC_CASES[name]), get_optimizer(name, **QUADRATIC_CASES[name])
    for _ in range(3):
        grads = [np.asfortranarray(rng.standard_normal(shape, dtype=np.float32)),
                 rng.standard_normal(5, dtype=np.float32)]
        sliced.apply(params, grads)
        whole.iterations += 1
        if whole.state is None:
            whole.state = {slot: [np.full_like(p, whole._initial_value(slot)) for p in reference]
                           for slot in whole.slots}
        lr = float(whole.schedule(whole.iterations - 1))
        for i, (param, grad) in enumerate(zip(reference, grads)):
            whole._update(param, grad, [whole.state[slot][i] for slot in whole.slots], lr)
    for got, expected in zip(params, reference):
        assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("name", QUADRATIC_CASES)
def test_state_dict_round_trip_continues_identically(name, tmp_path):
    schedule = ExponentialDecay(QUADRATIC_CASES[name]["learning_rate"], decay_steps=2, decay_rate=0.5)
    kwargs = {**QUADRATIC_CASES[name], "learning_rate": schedule}
    original = get_optimizer(name, **kwargs)
    params = _start_params()
    for _ in range(3):
        original.apply(params, _quadratic(params)[1])

    np.savez(tmp_path / "state.npz", **original.state_dict())
    with np.load(tmp_path / "state.npz") as archive:
        restored = get_optimizer(name, **kwargs)
        restored.load_state_dict(dict(archive))
    assert restored.iterations == 3
    assert restored.current_learning_rate() == original.current_learning_rate()

    params_copy = [p.copy() for p in params]
    for _ in range(3):
        original.apply(params, _quadratic(params)[1])
        restored.apply(params_copy, _quadratic(params_copy)[1])
    for a, b in zip(params, params_copy):
        np.testing.assert_array_equal(a, b)
    for key, value in original.state_dict().items():
        np.testing.assert_array_equal(value, restored.state_dict()[key], err_msg=key)


def test_state_dict_keys_and_copies():
    adam = Adam()
    assert list(adam.state_dict()) == ["iterations"]
    params = _start_params()
    adam.apply(params, _quadratic(params)[1])
    state = adam.state_dict()
    assert sorted(state) == ["iterations", "m/0", "m/1", "v/0", "v/1"]
    assert state["iterations"] == 1 and state["m/0"].shape == (3, 2) and state["v/1"].dtype == np.float32
    state["m/0"][...] = 99.0  # a copy: the optimizer is unaffected
    assert not np.any(adam.state_dict()["m/0"] == 99.0)
    assert sorted(Momentum().state_dict()) == ["iterations"]


def test_adagrad_accumulator_starts_at_initial_value():
    optimizer = AdaGrad(learning_rate=0.1, initial_accumulator_value=0.5)
    params, grads = [np.zeros(3, np.float32)], [np.zeros(3, np.float32)]
    optimizer.apply(params, grads)
    np.testing.assert_array_equal(optimizer.state_dict()["accumulator/0"], [0.5, 0.5, 0.5])


def test_learning_rate_follows_schedule_per_apply():
    optimizer = SGD(learning_rate=StepDecay(1.0, drop_every_steps=2, factor=0.5))
    param = [np.zeros(1)]
    seen = []
    for _ in range(5):
        seen.append(optimizer.current_learning_rate())
        before = param[0].copy()
        optimizer.apply(param, [np.ones(1)])
        assert param[0][0] == pytest.approx(before[0] - seen[-1])
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]


@pytest.mark.parametrize(
    "optimizer, config",
    [
        (SGD(), {"name": "sgd", "learning_rate": 0.01}),
        (Momentum(0.1), {"name": "momentum", "learning_rate": 0.1, "momentum": 0.9}),
        (Nesterov(0.1, momentum=0.5), {"name": "nesterov", "learning_rate": 0.1, "momentum": 0.5}),
        (AdaGrad(0.1), {"name": "adagrad", "learning_rate": 0.1, "epsilon": 1e-7, "initial_accumulator_value": 0.1}),
        (RMSProp(), {"name": "rmsprop", "learning_rate": 0.001, "rho": 0.9, "epsilon": 1e-7}),
        (Adam(), {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ],
    ids=["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"],
)
def test_get_config_and_rebuild(optimizer, config):
    assert optimizer.get_config() == config
    rebuilt = get_optimizer(**optimizer.get_config())
    assert type(rebuilt) is type(optimizer) and rebuilt.get_config() == config


def test_get_config_with_schedule_round_trips():
    adam = Adam(learning_rate=ExponentialDecay(0.01, 100, 0.9, floor=0.001, staircase=True))
    config = adam.get_config()
    assert config["learning_rate"] == {
        "class_name": "ExponentialDecay",
        "config": {"initial_learning_rate": 0.01, "decay_steps": 100, "decay_rate": 0.9, "floor": 0.001, "staircase": True},
    }
    assert get_optimizer(**config).get_config() == config


@pytest.mark.parametrize("name", ["SGD", "Adam", "rmsProp", "NESTEROV"])
def test_get_optimizer_is_case_insensitive(name):
    assert get_optimizer(name).name == name.lower()


# ---------------------------------------------------------------- optimizer errors


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: get_optimizer("foo"), r"Unknown optimizer 'foo'\. Expected one of: adagrad, adam, momentum, nesterov, rmsprop, sgd\."),
        (lambda: get_optimizer("adam", momentum=0.9), r"Optimizer 'adam': .*unexpected keyword argument 'momentum'"),
        (lambda: SGD(learning_rate=0.0), r"SGD: invalid value for argument `learning_rate`.*Received learning_rate=0\.0"),
        (lambda: Adam(learning_rate=-1), r"Adam: invalid value for argument `learning_rate`.*Received learning_rate=-1"),
        (lambda: SGD(learning_rate="fast"), r"argument `learning_rate`.*Received learning_rate='fast'"),
        (lambda: Momentum(0.1, momentum=1.0), r"Momentum: .*`momentum`. Expected a number in \[0\.0, 1\.0\)\. Received momentum=1\.0"),
        (lambda: Nesterov(0.1, momentum=-0.1), r"Nesterov: .*`momentum`.*Received momentum=-0\.1"),
        (lambda: AdaGrad(epsilon=0.0), r"AdaGrad: .*`epsilon`.*Received epsilon=0\.0"),
        (lambda: AdaGrad(initial_accumulator_value=-1.0), r"`initial_accumulator_value`.*Received initial_accumulator_value=-1\.0"),
        (lambda: RMSProp(rho=1.0), r"RMSProp: .*`rho`.*Received rho=1\.0"),
        (lambda: Adam(beta_1=1.5), r"Adam: .*`beta_1`.*Received beta_1=1\.5"),
        (lambda: Adam(beta_2=float("nan")), r"Adam: .*`beta_2`.*Received beta_2=nan"),
        (lambda: Adam(epsilon=-1e-7), r"Adam: .*`epsilon`.*Received epsilon=-1e-07"),
    ],
    ids=[
        "unknown-name", "unexpected-kwarg", "lr-zero", "lr-negative", "lr-string", "momentum-one",
        "momentum-negative", "adagrad-epsilon-zero", "adagrad-negative-accumulator", "rho-one",
        "beta_1-above-one", "beta_2-nan", "epsilon-negative",
    ],
)
def test_invalid_optimizer_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_apply_rejects_mismatched_grads():
    optimizer = Adam()
    params = [np.zeros((3, 2), np.float32), np.zeros(2, np.float32)]
    with pytest.raises(ValueError, match=r"Adam\.apply: got 2 params but 1 grads"):
        optimizer.apply(params, [np.zeros((3, 2), np.float32)])
    with pytest.raises(ValueError, match=r"Adam\.apply: grads\[1\] has shape \(3,\) but params\[1\] has shape \(2,\)"):
        optimizer.apply(params, [np.zeros((3, 2), np.float32), np.zeros(3, np.float32)])
    assert optimizer.iterations == 0 and optimizer.state is None


def test_apply_rejects_params_that_do_not_match_state():
    optimizer = Momentum(0.1)
    optimizer.apply([np.zeros((3, 2)), np.zeros(2)], [np.zeros((3, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"Momentum\.apply: params\[1\] has shape \(4,\) but optimizer state 'velocity/1' has shape \(2,\)"):
        optimizer.apply([np.zeros((3, 2)), np.zeros(4)], [np.zeros((3, 2)), np.zeros(4)])
    with pytest.raises(ValueError, match=r"Momentum\.apply: optimizer state holds 2 tensors per slot but 1 params"):
        optimizer.apply([np.zeros((3, 2))], [np.zeros((3, 2))])
    assert optimizer.iterations == 1


def _trained_adam() -> Adam:
    adam = Adam()
    adam.apply([np.zeros((3, 2), np.float32)], [np.ones((3, 2), np.float32)])
    return adam


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d.pop("iterations"), r"Adam\.load_state_dict: missing key 'iterations'"),
        (lambda d: d.pop("v/0"), r"Adam\.load_state_dict: missing key 'v/0' \(state holds 1 params\)"),
        (lambda d: d.update({"velocity/0": np.zeros((3, 2))}), r"unexpected key 'velocity/0'; expected 'iterations' and 'm/<i>', 'v/<i>'"),
        (lambda d: d.update({"m/x": np.zeros((3, 2))}), r"unexpected key 'm/x'"),
        (lambda d: d.update({"iterations": np.array(-1)}), r"'iterations' must be a non-negative integer scalar"),
        (lambda d: d.update({"iterations": np.array(1.5)}), r"'iterations' must be a non-negative integer scalar"),
        (lambda d: d.update({"m/0": np.zeros((2, 3), np.float32)}), r"'m/0' has shape \(2, 3\) but this optimizer's state has shape \(3, 2\)"),
        (lambda d: d.update({"m/1": np.zeros(2), "v/1": np.zeros(2)}), r"state for 2 params but this optimizer holds 1"),
        (lambda d: d.update({"v/0": np.full((3, 2), np.nan, np.float32)}), r"'v/0' contains NaN or infinite values"),
        (lambda d: d.update({"v/0": np.zeros((3, 2), np.int32)}), r"'v/0' has dtype int32; expected a float array"),
    ],
    ids=[
        "missing-iterations", "missing-slot", "unknown-slot", "bad-index", "negative-iterations",
        "float-iterations", "wrong-shape", "wrong-count", "nan-state", "int-state",
    ],
)
def test_load_state_dict_errors_leave_optimizer_unchanged(edit, match):
    adam = _trained_adam()
    before = adam.state_dict()
    state = adam.state_dict()
    edit(state)
    with pytest.raises(ValueError, match=match):
        adam.load_state_dict(state)
    after = adam.state_dict()
    assert sorted(after) == sorted(before)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_load_state_into_fresh_optimizer_checks_shapes_at_apply():
    fresh = Adam()
    fresh.load_state_dict(_trained_adam().state_dict())
    with pytest.raises(ValueError, match=r"Adam\.apply: params\[0\] has shape \(2, 3\) but optimizer state 'm/0' has shape \(3, 2\)"):
        fresh.apply([np.zeros((2, 3), np.float32)], [np.zeros((2, 3), np.float32)])


# ---------------------------------------------------------------- schedules


def test_constant_schedule():
    schedule = Constant(0.1)
    assert [schedule(s) for s in (0, 1, 1000)] == [0.1, 0.1, 0.1]
    assert schedule.get_config() == {"class_name": "Constant", "config": {"learning_rate": 0.1}}


def test_exponential_decay_values_and_floor():
    schedule = ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, floor=0.2)
    assert schedule(0) == 1.0
    assert schedule(5) == pytest.approx(0.5**0.5, rel=1e-15)
    assert schedule(10) == pytest.approx(0.5, rel=1e-15)
    assert schedule(20) == pytest.approx(0.25, rel=1e-15)
    assert schedule(30) == 0.2  # 0.125 is below the floor
    assert schedule(10_000) == 0.2
    assert type(schedule(7)) is float


def test_exponential_decay_staircase():
    schedule = ExponentialDecay(0.1, decay_steps=3, decay_rate=0.1, staircase=True)
    assert [schedule(s) for s in (0, 2, 3, 5, 6)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001], rel=1e-12)


def test_step_decay_values():
    schedule = StepDecay(0.8, drop_every_steps=100, factor=0.5)
    assert [schedule(s) for s in (0, 99, 100, 199, 200, 350)] == [0.8, 0.8, 0.4, 0.4, 0.2, 0.1]


@pytest.mark.parametrize(
    "schedule",
    [Constant(0.3), ExponentialDecay(0.1, 10, 0.9, floor=0.01, staircase=True), StepDecay(0.5, 4, 0.25)],
    ids=["constant", "exponential", "step"],
)
def test_schedule_config_round_trip(schedule):
    rebuilt = get_schedule(schedule.get_config())
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(s) for s in range(20)] == [schedule(s) for s in range(20)]


def test_get_schedule_from_number_and_instance():
    assert get_schedule(0.5).get_config() == Constant(0.5).get_config()
    schedule = StepDecay(0.5, 4, 0.25)
    assert get_schedule(schedule) is schedule
    assert get_schedule(np.float32(0.25))(0) == 0.25


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Constant(0), r"Constant: invalid value for argument `learning_rate`.*Received learning_rate=0"),
        (lambda: Constant(float("inf")), r"Constant: argument `learning_rate` must be finite"),
        (lambda: ExponentialDecay(-0.1, 10, 0.5), r"ExponentialDecay: .*`initial_learning_rate`.*Received initial_learning_rate=-0\.1"),
        (lambda: ExponentialDecay(0.1, 0, 0.5), r"ExponentialDecay: .*`decay_steps`.*Received decay_steps=0"),
        (lambda: ExponentialDecay(0.1, 2.5, 0.5), r"`decay_steps`.*Received decay_steps=2\.5"),
        (lambda: ExponentialDecay(0.1, 10, 0.0), r"`decay_rate`. Expected a number in \(0, 1\]\. Received decay_rate=0\.0"),
        (lambda: ExponentialDecay(0.1, 10, 1.5), r"`decay_rate`.*Received decay_rate=1\.5"),
        (lambda: ExponentialDecay(0.1, 10, 0.5, floor=0.2), r"`floor`. Expected a number in \[0, initial_learning_rate=0\.1\]\. Received floor=0\.2"),
        (lambda: ExponentialDecay(0.1, 10, 0.5, floor=-0.01), r"`floor`.*Received floor=-0\.01"),
        (lambda: StepDecay(0.0, 10, 0.5), r"StepDecay: .*`initial_learning_rate`.*Received initial_learning_rate=0\.0"),
        (lambda: StepDecay(0.1, -1, 0.5), r"StepDecay: .*`drop_every_steps`.*Received drop_every_steps=-1"),
        (lambda: StepDecay(0.1, 10, 2.0), r"StepDecay: .*`factor`.*Received factor=2\.0"),
        (lambda: Constant(0.1)(-1), r"Constant: step must be >= 0\. Received step=-1"),
        (lambda: StepDecay(0.1, 10, 0.5)(1.5), r"StepDecay: step must be an integer\. Received step=1\.5"),
        (lambda: get_schedule({"class_name": "CosineDecay", "config": {}}), r"Unknown learning-rate schedule 'CosineDecay'\. Expected one of: Constant, ExponentialDecay, StepDecay"),
        (lambda: get_schedule(None), r"argument `learning_rate`.*Received learning_rate=None"),
    ],
    ids=[
        "constant-zero", "constant-inf", "exp-negative-lr", "exp-zero-steps", "exp-float-steps",
        "exp-rate-zero", "exp-rate-above-one", "exp-floor-above-lr", "exp-floor-negative",
        "step-zero-lr", "step-negative-every", "step-factor-above-one", "negative-step",
        "float-step", "unknown-class", "none",
    ],
)
def test_schedule_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_module_exports_every_update_function():
    for name in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"):
        assert callable(getattr(optimizers, f"{name}_update"))
