"""Optimizers against their documented update rules written out in NumPy; schedulers against
their rules written out in Python; state dicts; errors; swapping optimizers and activations in
one line; and, where PyTorch is installed, the same numbers as PyTorch's."""

import inspect
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.optim import lr_scheduler

# Enough steps for RAdam to switch from momentum steps to rectified Adam steps (at step 6 with
# the default betas) and for every moment estimate to move well away from its start.
STEPS = 30


# ------------------------------------------------------------------ reference update rules
# Each takes a start and a list of gradients and returns the parameter after every step.
def reference_sgd(p, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    buf, out = None, []
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return out


def reference_adam(
    p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False, decoupled=False
):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        if amsgrad:
            v_max = np.maximum(v_max, v)
        v_hat = v_max if amsgrad else v
        p = p - lr / (1 - betas[0] ** t) * m / (np.sqrt(v_hat) / math.sqrt(1 - betas[1] ** t) + eps)
        out.append(p)
    return out


def reference_adamw(p, grads, **options):
    return reference_adam(p, grads, decoupled=True, **{"weight_decay": 1e-2, **options})


def reference_rmsprop(
    p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False
):
    sq = np.zeros_like(p)
    mean_g = np.zeros_like(p)
    buf = np.zeros_like(p)
    out = []
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            mean_g = alpha * mean_g + (1 - alpha) * g
            avg = np.sqrt(sq - mean_g * mean_g) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        out.append(p)
    return out


def reference_adagrad(
    p, grads, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False
):
    total = np.full_like(p, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        g = g + weight_decay * p
        total = total + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(total) + eps)
        out.append(p)
    return out


def reference_adamax(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    m = np.zeros_like(p)
    u = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        u = np.maximum(betas[1] * u, np.abs(g) + eps)
        p = p - lr / (1 - betas[0] ** t) * m / u
        out.append(p)
    return out


def reference_nadam(
    p,
    grads,
    lr=2e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0,
    momentum_decay=4e-3,
    decoupled_weight_decay=False,
    maximize=False,
):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    mu_product = 1.0
    out = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = mu_product * mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        d = np.sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_product) * g / d
        p = p - lr * mu_next / (1 - mu_product * mu_next) * m / d
        out.append(p)
    return out


def reference_radam(
    p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False, maximize=False
):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    rho_inf = 2 / (1 - b2) - 1
    out = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - m_hat * lr * (math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)) * r
        else:
            p = p - m_hat * lr
        out.append(p)
    return out


def reference_adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    sq = np.zeros_like(p)
    acc = np.zeros_like(p)
    out = []
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        sq = rho * sq + (1 - rho) * g * g
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc = rho * acc + (1 - rho) * delta * delta
        p = p - lr * delta
        out.append(p)
    return out


CASES = [
    (optim.SGD, reference_sgd, dict(lr=0.1)),
    (optim.SGD, reference_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, reference_sgd, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    (optim.SGD, reference_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    (optim.SGD, reference_sgd, dict(lr=0.1, maximize=True)),
    (optim.SGD, reference_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01, maximize=True)),
    (optim.Adam, reference_adam, dict()),
    (optim.Adam, reference_adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, reference_adam, dict(lr=0.01, amsgrad=True)),
    (optim.Adam, reference_adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    (optim.AdamW, reference_adamw, dict(lr=0.01)),
    (optim.AdamW, reference_adamw, dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    (optim.AdamW, reference_adamw, dict(lr=0.01, weight_decay=0.3, maximize=True)),
    (optim.RMSprop, reference_rmsprop, dict()),
    (optim.RMSprop, reference_rmsprop, dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    (optim.RMSprop, reference_rmsprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (optim.RMSprop, reference_rmsprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1, maximize=True)),
    (optim.Adagrad, reference_adagrad, dict()),
    (optim.Adagrad, reference_adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    (optim.Adagrad, reference_adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, maximize=True)),
    (optim.Adamax, reference_adamax, dict()),
    (optim.Adamax, reference_adamax, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.Adamax, reference_adamax, dict(lr=0.01, weight_decay=0.1, maximize=True)),
    (optim.NAdam, reference_nadam, dict()),
    (optim.NAdam, reference_nadam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.05)),
    (optim.NAdam, reference_nadam, dict(lr=0.01, weight_decay=0.1)),
    (optim.NAdam, reference_nadam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (optim.RAdam, reference_radam, dict()),
    (optim.RAdam, reference_radam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.RAdam, reference_radam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.RAdam, reference_radam, dict(lr=0.01, betas=(0.9, 0.5), maximize=True)),  # rho_t never > 5
    (optim.Adadelta, reference_adadelta, dict()),
    (optim.Adadelta, reference_adadelta, dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    (optim.Adadelta, reference_adadelta, dict(lr=0.5, weight_decay=0.1, maximize=True)),
]
CASE_IDS = [f"{c.__name__}-{o}" for c, _, o in CASES]


def trajectory(cls, options, start, grads):
    p = mg.Tensor(start.copy(), requires_grad=True)
    opt = cls([p], **options)
    out = []
    for g in grads:
        p.grad = g.copy()
        opt.step()
        out.append(p.data.copy())
    return out


def start_and_grads(rng, shape=(3, 2), steps=STEPS):
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(steps)]


@pytest.mark.parametrize("cls, reference, options", CASES, ids=CASE_IDS)
def test_each_optimizer_follows_its_documented_rule_at_every_step(cls, reference, options, rng):
    start, grads = start_and_grads(rng)
    got = trajectory(cls, options, start, grads)
    expected = reference(start, grads, **options)
    for step, (a, b) in enumerate(zip(got, expected, strict=True), start=1):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=f"step {step}")


OPTIMIZER_CLASSES = sorted({c for c, _, _ in CASES}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", OPTIMIZER_CLASSES, ids=lambda c: c.__name__)
def test_maximize_is_descent_on_the_negated_gradient(cls, rng):
    start, grads = start_and_grads(rng, steps=8)
    options = dict(lr=0.01, weight_decay=0.1)
    up = trajectory(cls, {**options, "maximize": True}, start, grads)
    down = trajectory(cls, options, start, [-g for g in grads])
    np.testing.assert_array_equal(up[-1], down[-1])


def test_radam_takes_momentum_steps_until_the_variance_is_tractable(rng):
    start, grads = start_and_grads(rng, steps=7)
    got = trajectory(optim.RAdam, dict(lr=0.1), start, grads)
    m, p = np.zeros_like(start), start
    for t, g in enumerate(grads[:5], start=1):  # rho_t <= 5 for t <= 5 with beta2 = 0.999
        m = 0.9 * m + 0.1 * g
        p = p - 0.1 * m / (1 - 0.9**t)
    np.testing.assert_allclose(got[4], p, rtol=0, atol=1e-14)
    assert not np.allclose(got[6] - got[5], -0.1 * (0.9 * m + 0.1 * grads[5]) / (1 - 0.9**6))


def test_float32_parameters_stay_float32(rng):
    for cls, _, options in CASES:
        p = mg.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
        opt = cls([p], **options)
        for _ in range(3):
            p.grad = rng.standard_normal(3).astype(np.float32)
            opt.step()
        assert p.dtype == np.float32, cls.__name__
        assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("cls", [optim.Adamax, optim.NAdam, optim.RAdam, optim.Adadelta])
def test_inf_and_nan_gradients_give_inf_or_nan_weights_without_warnings(cls):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = mg.Tensor([1.0, 2.0, 3.0, 0.0], requires_grad=True)
        opt = cls([p], lr=0.1, eps=0.0, weight_decay=0.1)
        for grad in ([np.inf, -np.inf, np.nan, 0.0], [1e308, -1e308, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]):
            p.grad = np.array(grad)
            opt.step()
    assert not np.isfinite(p.data[:3]).any()


def test_defaults_are_pytorchs():
    p = [mg.Tensor([1.0], requires_grad=True)]
    assert optim.SGD(p).defaults == dict(
        lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False
    )
    assert optim.Adam(p).defaults == dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False
    )
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.RMSprop(p).defaults == dict(
        lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False
    )
    assert optim.Adagrad(p).defaults["lr"] == 1e-2
    assert optim.Adamax(p).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False)
    assert optim.NAdam(p).defaults == dict(
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        maximize=False,
    )
    assert optim.RAdam(p).defaults == dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False, maximize=False
    )
    assert optim.Adadelta(p).defaults == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)
    assert "maximize" in inspect.signature(optim.SGD).parameters


def test_parameter_groups_have_their_own_hyperparameters():
    a, b = mg.Tensor([1.0], requires_grad=True), mg.Tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "maximize": True}], lr=0.1)
    a.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(1.5)


def test_a_frozen_module_can_stay_in_the_optimizer_as_in_pytorch():
    model = nn.MLP(2, 3, 1, rng=np.random.default_rng(0))
    model[0].requires_grad_(False)
    frozen = model[0].weight.data.copy()
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(3):
        loss = nn.MSELoss()(model(mg.ones((4, 2))), np.zeros((4, 1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert model[0].weight.grad is None and model[2].weight.grad is not None


def test_step_skips_parameters_without_grad_so_frozen_layers_work():
    model = nn.MLP(2, 3, 1)
    frozen = model[0].weight.data.copy()
    model[0].weight.requires_grad = False
    opt = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    nn.MSELoss()(model(mg.ones((4, 2))), np.zeros((4, 1))).backward()
    opt.step()
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    partly = optim.SGD([model[2].weight, model[2].bias], lr=1.0)
    model[2].bias.grad = None
    before = model[2].bias.data.copy()
    partly.step()
    np.testing.assert_array_equal(model[2].bias.data, before)


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda p: optim.SGD([], lr=0.1), "SGD: got an empty parameter list"),
        (lambda p: optim.SGD(p, lr=-1), "SGD: invalid learning rate -1"),
        (lambda p: optim.Adam(p, lr=-0.1), "Adam: invalid learning rate"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Adam: invalid beta at index 0: 1.0"),
        (lambda p: optim.SGD(p, nesterov=True), "SGD: nesterov momentum needs momentum > 0"),
        (lambda p: optim.SGD(p, weight_decay=-1), "SGD: invalid weight_decay"),
        (lambda p: optim.SGD([p[0] * 2]), "SGD: can't optimize a non-leaf Tensor"),
        (lambda p: optim.SGD([p[0], p[0]]), "appears in more than one group"),
        (lambda p: optim.SGD([{"params": p, "momentun": 0.9}]), r"unknown hyper-parameter\(s\) \['momentun'\]"),
        (lambda p: optim.SGD(p[0]), "params must be an iterable of tensors"),
        (lambda p: optim.Adamax(p, lr=-0.5), "Adamax: invalid learning rate -0.5"),
        (lambda p: optim.Adamax(p, betas=(0.9, 1.5)), r"Adamax: invalid beta at index 1: 1.5"),
        (lambda p: optim.Adamax(p, eps=-1e-8), "Adamax: invalid eps -1e-08"),
        (lambda p: optim.Adamax(p, weight_decay=-0.1), "Adamax: invalid weight_decay -0.1"),
        (lambda p: optim.NAdam(p, lr=-2.0), "NAdam: invalid learning rate -2.0"),
        (lambda p: optim.NAdam(p, betas=(-0.1, 0.9)), r"NAdam: invalid beta at index 0: -0.1"),
        (lambda p: optim.NAdam(p, momentum_decay=-0.004), "NAdam: invalid momentum_decay -0.004"),
        (lambda p: optim.NAdam(p, eps=-1.0), "NAdam: invalid eps -1.0"),
        (lambda p: optim.RAdam(p, lr=-1e-3), "RAdam: invalid learning rate -0.001"),
        (lambda p: optim.RAdam(p, betas=(0.9, 1.0)), r"RAdam: invalid beta at index 1: 1.0"),
        (lambda p: optim.RAdam(p, eps=-0.5), "RAdam: invalid eps -0.5"),
        (lambda p: optim.RAdam(p, weight_decay=-2), "RAdam: invalid weight_decay -2"),
        (lambda p: optim.Adadelta(p, rho=1.1), r"Adadelta: invalid rho 1.1"),
        (lambda p: optim.Adadelta(p, eps=-1e-6), "Adadelta: invalid eps -1e-06"),
        (lambda p: optim.Adadelta(p, lr=-1.0), "Adadelta: invalid learning rate -1.0"),
        (lambda p: optim.Adadelta(p, weight_decay=-0.5), "Adadelta: invalid weight_decay -0.5"),
        (lambda p: optim.Adadelta([{"params": p, "rho": -0.5}]), r"Adadelta: invalid rho -0.5"),
        (lambda p: optim.RMSprop(p, alpha=-0.5), "RMSprop: invalid alpha -0.5"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: invalid lr_decay -1"),
    ],
)
def test_optimizer_errors_are_clear(make, pattern):
    params = [mg.Tensor([1.0], requires_grad=True)]
    with pytest.raises((ValueError, TypeError), match=pattern):
        make(params)


def test_zero_grad_sets_grads_to_none():
    p = mg.Tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize(
    "cls, options",
    [
        (optim.SGD, dict(lr=0.1, momentum=0.9, maximize=True)),
        (optim.Adam, dict(lr=0.01, amsgrad=True)),
        (optim.AdamW, dict(lr=0.01)),
        (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
        (optim.Adagrad, dict(lr=0.1)),
        (optim.Adamax, dict(lr=0.01, weight_decay=0.1)),
        (optim.NAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
        (optim.RAdam, dict(lr=0.01)),
        (optim.Adadelta, dict(lr=0.5, maximize=True)),
    ],
)
def test_optimizer_state_dict_round_trip_continues_identically(cls, options, rng, tmp_path):
    start = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(12)]
    p1 = mg.Tensor(start.copy(), requires_grad=True)
    opt1 = cls([p1], **options)
    for g in grads[:6]:  # past RAdam's switch to rectified steps
        p1.grad = g
        opt1.step()
    mg.save({"optimizer": opt1.state_dict(), "param": p1.data}, tmp_path / "ckpt")
    for g in grads[6:]:
        p1.grad = g
        opt1.step()
    saved = mg.load(tmp_path / "ckpt")
    p2 = mg.Tensor(saved["param"], requires_grad=True)
    opt2 = cls([p2], lr=123.0)
    opt2.load_state_dict(saved["optimizer"])
    for g in grads[6:]:
        p2.grad = g
        opt2.step()
    np.testing.assert_array_equal(p1.data, p2.data)
    with pytest.raises(ValueError, match="1 parameter groups saved, 2 here"):
        cls(
            [{"params": [mg.Tensor([1.0], requires_grad=True)]}, {"params": [mg.Tensor([1.0], requires_grad=True)]}]
        ).load_state_dict(saved["optimizer"])


# ------------------------------------------------------------------ schedulers
def sgd(lr=0.8, momentum=0.9, groups=1):
    """An SGD optimizer over ``groups`` groups of one parameter each; group i has lr * (i + 1)."""
    params = [{"params": [mg.Tensor([1.0], requires_grad=True)], "lr": lr * (i + 1)} for i in range(groups)]
    return optim.SGD(params, lr=lr, momentum=momentum)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def run(scheduler, optimizer, epochs, metrics=None):
    """The learning rates (one list per group) and momenta of ``epochs`` epochs, the first being
    the one the constructor set up; stepping as a training loop does."""
    lrs, momenta = [], []
    for epoch in range(epochs):
        lrs.append(scheduler.get_last_lr())
        assert lrs[-1] == [g["lr"] for g in optimizer.param_groups]
        momenta.append([momentum_of(g) for g in optimizer.param_groups])
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
    return lrs, momenta


def assert_close(got, expected, tol=1e-12):
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(expected, dtype=float), rtol=tol, atol=tol)


def first_group(lrs):
    return [row[0] for row in lrs]


def test_step_exponential_and_cosine_follow_their_closed_forms():
    o = sgd()
    lrs, _ = run(lr_scheduler.StepLR(o, step_size=3, gamma=0.5), o, 10)
    assert_close(first_group(lrs), [0.8 * 0.5 ** (k // 3) for k in range(10)])
    o = sgd()
    lrs, _ = run(lr_scheduler.ExponentialLR(o, gamma=0.9), o, 20)
    assert_close(first_group(lrs), [0.8 * 0.9**k for k in range(20)])
    o = sgd(groups=2)
    lrs, _ = run(lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.1), o, 20)  # down, up, down...
    for i, base in enumerate([0.8, 1.6]):
        assert_close(
            [row[i] for row in lrs], [0.1 + (base - 0.1) * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(20)]
        )


def test_lambda_lr_scales_each_groups_initial_rate():
    o = sgd(groups=2)
    sched = lr_scheduler.LambdaLR(o, lr_lambda=[lambda e: 0.95**e, lambda e: 1 / (1 + e)])
    lrs, _ = run(sched, o, 12)
    assert_close(lrs, [[0.8 * 0.95**e, 1.6 / (1 + e)] for e in range(12)])
    o = sgd(groups=2)
    lrs, _ = run(lr_scheduler.LambdaLR(o, lr_lambda=lambda e: e // 3), o, 7)
    assert_close(lrs, [[0.8 * (e // 3), 1.6 * (e // 3)] for e in range(7)])


def test_multiplicative_lr_multiplies_the_current_rate():
    o = sgd()
    lrs, _ = run(lr_scheduler.MultiplicativeLR(o, lr_lambda=lambda e: 0.9 + 0.01 * e), o, 12)
    assert_close(first_group(lrs), [0.8 * math.prod(0.9 + 0.01 * k for k in range(1, e + 1)) for e in range(12)])


def test_multistep_lr_decays_at_each_milestone_counting_repeats():
    o = sgd()
    lrs, _ = run(lr_scheduler.MultiStepLR(o, milestones=[9, 2, 5, 5], gamma=0.5), o, 12)
    assert_close(first_group(lrs), [0.8 * 0.5 ** sum(m <= e for m in [2, 5, 5, 9]) for e in range(12)])


def test_constant_and_linear_lr_ramp_then_hold():
    o = sgd()
    lrs, _ = run(lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4), o, 8)
    assert_close(first_group(lrs), [0.4] * 4 + [0.8] * 4)
    for start, end in [(0.2, 0.9), (1.0, 0.1), (0.5, 0.0)]:
        o = sgd()
        lrs, _ = run(lr_scheduler.LinearLR(o, start_factor=start, end_factor=end, total_iters=6), o, 10)
        assert_close(first_group(lrs), [0.8 * (start + (end - start) * min(e, 6) / 6) for e in range(10)])


def warm_restarts(epoch, T_0, T_mult):
    """(epochs into the current period, its length) at ``epoch`` (a float may fall mid-epoch)."""
    begin, length = 0, T_0
    while epoch >= begin + length:
        begin, length = begin + length, length * T_mult
    return epoch - begin, length


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_cosine_warm_restarts_restart_every_period(T_mult):
    o = sgd(groups=2)
    lrs, _ = run(lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=T_mult, eta_min=0.05), o, 40)
    for i, base in enumerate([0.8, 1.6]):
        expected = []
        for e in range(40):
            t, length = warm_restarts(e, 3, T_mult)
            expected.append(0.05 + (base - 0.05) * (1 + math.cos(math.pi * t / length)) / 2)
        assert_close([row[i] for row in lrs], expected)


@pytest.mark.parametrize("T_mult", [1, 2])
def test_cosine_warm_restarts_take_fractional_epochs(T_mult):
    o = sgd()
    sched = lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=T_mult)
    for epoch in np.arange(0, 20, 0.125):
        sched.step(float(epoch))
        t, length = warm_restarts(float(epoch), 2, T_mult)
        assert_close(sched.get_last_lr(), [0.8 * (1 + math.cos(math.pi * t / length)) / 2])
        assert sched.last_epoch == math.floor(epoch)
    sched.step(3)
    sched.step()  # whole steps continue from the last epoch
    t, length = warm_restarts(4, 2, T_mult)
    assert_close(sched.get_last_lr(), [0.8 * (1 + math.cos(math.pi * t / length)) / 2])
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: epoch must be >= 0, got -1"):
        sched.step(-1)


def cyclic_reference(epoch, base, top, up, down, scale):
    """(the lr's fraction of the way from base to top, the cycle number) at ``epoch``."""
    cycle = math.floor(1 + epoch / (up + down))
    into = epoch - (cycle - 1) * (up + down)
    fraction = into / up if into <= up else 1 - (into - up) / down
    return fraction, cycle


CYCLIC = [
    (dict(mode="triangular"), lambda cycle, e: 1.0),
    (dict(mode="triangular2"), lambda cycle, e: 0.5 ** (cycle - 1)),
    (dict(mode="exp_range", gamma=0.97), lambda cycle, e: 0.97**e),
    (dict(scale_fn=lambda x: 1 / (1 + x), scale_mode="cycle"), lambda cycle, e: 1 / (1 + cycle)),
    (dict(scale_fn=lambda x: 0.99**x, scale_mode="iterations"), lambda cycle, e: 0.99**e),
]


@pytest.mark.parametrize("options, scale", CYCLIC, ids=[str(sorted(o)) for o, _ in CYCLIC])
@pytest.mark.parametrize("up, down", [(4, None), (3, 5)])
def test_cyclic_lr_and_its_momentum_follow_the_triangle(options, scale, up, down):
    o = sgd(groups=2)
    sched = lr_scheduler.CyclicLR(
        o, base_lr=[0.1, 0.2], max_lr=1.0, step_size_up=up, step_size_down=down, base_momentum=0.7, **options
    )
    lrs, momenta = run(sched, o, 30)
    down = up if down is None else down
    for e in range(30):
        fraction, cycle = cyclic_reference(e, 0.1, 1.0, up, down, scale)
        height = fraction * scale(cycle, e)
        assert_close(lrs[e], [0.1 + 0.9 * height, 0.2 + 0.8 * height])
        assert_close(momenta[e], [0.9 - 0.2 * height] * 2)


def test_cyclic_lr_cycles_adams_beta1_and_leaves_beta2():
    o = optim.Adam([mg.Tensor([1.0], requires_grad=True)], betas=(0.5, 0.95))
    sched = lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2)
    _, momenta = run(sched, o, 6)
    assert_close(first_group(momenta), [0.9, 0.85, 0.8, 0.85, 0.9, 0.85])
    assert o.param_groups[0]["betas"][1] == 0.95
    o = optim.Adagrad([mg.Tensor([1.0], requires_grad=True)])
    lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, cycle_momentum=False)  # no momentum: fine without cycling
    with pytest.raises(ValueError, match="CyclicLR: cycle_momentum=True needs an optimizer with momentum or betas"):
        lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1)


def anneal(start, end, pct, strategy):
    if strategy == "cos":
        return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2
    return start + (end - start) * pct


def one_cycle_reference(total, max_lr, pct_start, strategy, three_phase, div, final_div, momenta=(0.85, 0.95)):
    """The lr and momentum of every step, phase by phase, as the one-cycle policy defines them."""
    low, high = momenta
    initial = max_lr / div
    phases = [(pct_start * total - 1, initial, max_lr, high, low)]  # (last step, lr from, to, momentum from, to)
    if three_phase:
        phases.append((2 * pct_start * total - 2, max_lr, initial, low, high))
        phases.append((total - 1, initial, initial / final_div, high, high))
    else:
        phases.append((total - 1, max_lr, initial / final_div, low, high))
    out = []
    for step in range(total + 1):
        begin = 0.0
        for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
            if step <= end or i == len(phases) - 1:
                pct = (step - begin) / (end - begin)
                out.append((anneal(lr0, lr1, pct, strategy), anneal(m0, m1, pct, strategy)))
                break
            begin = end
    return out


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_lr_and_momentum_follow_each_phase(strategy, three_phase):
    o = sgd()
    sched = lr_scheduler.OneCycleLR(
        o, max_lr=2.0, total_steps=50, pct_start=0.3, anneal_strategy=strategy, three_phase=three_phase
    )
    lrs, momenta = run(sched, o, 50)
    expected = one_cycle_reference(50, 2.0, 0.3, strategy, three_phase, 25.0, 1e4)
    assert_close(first_group(lrs), [lr for lr, _ in expected[:50]])
    assert_close(first_group(momenta), [m for _, m in expected[:50]])
    assert max(first_group(lrs)) == pytest.approx(2.0) and lrs[0][0] == pytest.approx(2.0 / 25)
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 51 times, but total_steps is 50"):
        sched.step()


def test_one_cycle_lr_takes_epochs_times_steps_and_cycles_adams_beta1():
    o1, o2 = optim.Adam([mg.Tensor([1.0], requires_grad=True)]), optim.Adam([mg.Tensor([1.0], requires_grad=True)])
    s1 = lr_scheduler.OneCycleLR(o1, max_lr=[0.5], epochs=4, steps_per_epoch=5, div_factor=10, final_div_factor=100)
    s2 = lr_scheduler.OneCycleLR(o2, max_lr=0.5, total_steps=20, div_factor=10, final_div_factor=100)
    a, b = run(s1, o1, 20), run(s2, o2, 20)
    assert a == b
    expected = one_cycle_reference(20, 0.5, 0.3, "cos", False, 10, 100)
    assert_close(first_group(a[1]), [m for _, m in expected[:20]])
    assert o1.param_groups[0]["betas"][1] == 0.999


@given(
    total=st.integers(2, 60),
    pct_start=st.floats(0.05, 0.95),
    strategy=st.sampled_from(["cos", "linear"]),
    three_phase=st.booleans(),
    div=st.floats(1.5, 100),
    final_div=st.floats(1.5, 1e4),
)
def test_one_cycle_lr_matches_its_rule_for_any_settings(total, pct_start, strategy, three_phase, div, final_div):
    # Settings where a phase is empty divide by zero in PyTorch too; skip those.
    ends = [pct_start * total - 1, 2 * pct_start * total - 2, total - 1][: 3 if three_phase else 2]
    if not three_phase:
        ends[1] = total - 1
    if any(b - a == 0 for a, b in zip([0.0, *ends], ends, strict=False)):
        return
    o = sgd()
    sched = lr_scheduler.OneCycleLR(
        o,
        max_lr=1.0,
        total_steps=total,
        pct_start=pct_start,
        anneal_strategy=strategy,
        three_phase=three_phase,
        div_factor=div,
        final_div_factor=final_div,
    )
    lrs, momenta = run(sched, o, total)
    expected = one_cycle_reference(total, 1.0, pct_start, strategy, three_phase, div, final_div)
    assert_close(first_group(lrs), [lr for lr, _ in expected[:total]], tol=1e-10)
    assert_close(first_group(momenta), [m for _, m in expected[:total]], tol=1e-10)


def plateau_reference(
    metrics,
    lr,
    mode="min",
    factor=0.1,
    patience=10,
    threshold=1e-4,
    threshold_mode="rel",
    cooldown=0,
    min_lr=0.0,
    eps=1e-8,
):
    def better(a, best):
        if mode == "min":
            return a < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
        return a > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)

    best, bad, cool, out = (math.inf if mode == "min" else -math.inf), 0, 0, []
    for metric in metrics:
        if better(metric, best):
            best, bad = metric, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.5, cooldown=3),
    dict(patience=0, factor=0.5, min_lr=0.1),
    dict(patience=1, threshold=0.05),
    dict(patience=1, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", patience=1, factor=0.3),
    dict(mode="max", patience=1, threshold=0.1, threshold_mode="abs", cooldown=1),
    dict(patience=0, factor=0.999, eps=1e-2),  # reductions smaller than eps are skipped
]


@pytest.mark.parametrize("options", PLATEAU, ids=[str(o) for o in PLATEAU])
def test_reduce_lr_on_plateau_follows_its_rule(options, rng):
    metrics = list(np.round(np.cumsum(rng.normal(0.0, 1.0, 60)), 1))  # a random walk: plateaus and improvements
    o = sgd()
    sched = lr_scheduler.ReduceLROnPlateau(o, **options)
    lrs = []
    for metric in metrics:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == plateau_reference(metrics, 0.8, **options)
    assert sched.last_epoch == 60


@given(metrics=st.lists(st.sampled_from([0.5, 1.0, 1.001, 1.5, 2.0]), max_size=40), patience=st.integers(0, 3))
def test_reduce_lr_on_plateau_on_any_sequence(metrics, patience):
    o = sgd()
    sched = lr_scheduler.ReduceLROnPlateau(o, patience=patience, factor=0.5, cooldown=1, min_lr=0.01)
    lrs = []
    for metric in metrics:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == plateau_reference(metrics, 0.8, patience=patience, factor=0.5, cooldown=1, min_lr=0.01)


def test_reduce_lr_on_plateau_has_min_lr_per_group():
    o = sgd(groups=2)
    sched = lr_scheduler.ReduceLROnPlateau(o, patience=0, factor=0.5, min_lr=[0.3, 0.1])
    for _ in range(5):
        sched.step(1.0)
    assert sched.get_last_lr() == [0.3, 0.1]


def test_sequential_lr_hands_over_at_each_milestone():
    o = sgd()
    sched = lr_scheduler.SequentialLR(
        o,
        schedulers=[
            lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
            lr_scheduler.ExponentialLR(o, gamma=0.8),
            lr_scheduler.CosineAnnealingLR(o, T_max=4),
        ],
        milestones=[3, 6],
    )
    lrs, _ = run(sched, o, 14)
    expected = [0.8 * (0.1 + 0.9 * e / 3) for e in range(3)]
    expected += [0.8 * 0.8 ** (e - 3) for e in range(3, 6)]
    expected += [0.8 * (1 + math.cos(math.pi * (e - 6) / 4)) / 2 for e in range(6, 14)]
    assert_close(first_group(lrs), expected)
    o = sgd(lr=0.05)  # PyTorch's documented example
    sched = lr_scheduler.SequentialLR(
        o,
        [lr_scheduler.ConstantLR(o, factor=0.1, total_iters=20), lr_scheduler.ExponentialLR(o, gamma=0.9)],
        milestones=[20],
    )
    lrs, _ = run(sched, o, 23)
    assert_close(first_group(lrs), [0.005] * 20 + [0.05, 0.045, 0.0405])


def test_chained_scheduler_multiplies_the_rules():
    o = sgd()
    sched = lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(o, factor=0.1, total_iters=2), lr_scheduler.ExponentialLR(o, gamma=0.9)]
    )
    lrs, _ = run(sched, o, 8)
    assert_close(first_group(lrs), [0.8 * 0.9**e * (0.1 if e < 2 else 1) for e in range(8)])
    o = sgd()
    sched = lr_scheduler.ChainedScheduler(
        [lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=4), lr_scheduler.StepLR(o, step_size=3, gamma=0.5)], o
    )
    lrs, _ = run(sched, o, 10)
    assert_close(first_group(lrs), [0.8 * (0.5 + 0.5 * min(e, 4) / 4) * 0.5 ** (e // 3) for e in range(10)])


def test_two_schedulers_on_one_optimizer_compose_as_in_pytorch():
    o = sgd()
    a = lr_scheduler.StepLR(o, step_size=2, gamma=0.5)
    b = lr_scheduler.MultiplicativeLR(o, lr_lambda=lambda e: 0.9)
    lrs = []
    for _ in range(6):
        lrs.append(o.param_groups[0]["lr"])
        o.step()
        a.step()
        b.step()
    assert_close(lrs, [0.8 * 0.5 ** (e // 2) * 0.9**e for e in range(6)])


# Every scheduler, built on an optimizer made by ``make_optimizer(optim)`` (``optim`` is
# microgradnn.optim or torch.optim, so the PyTorch cross-check reuses them).
def sgd_two_groups(module, params):
    return module.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=0.8, momentum=0.9)


def adam_two_groups(module, params):
    return module.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=0.8, betas=(0.9, 0.99))


class Warmup:
    """A callable object: LambdaLR saves its __dict__."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


SCHEDULERS = {
    "LambdaLR": (sgd_two_groups, lambda m, o: m.LambdaLR(o, [lambda e: 0.9**e, Warmup(5)]), 12),
    "MultiplicativeLR": (sgd_two_groups, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95 - 0.01 * e), 12),
    "StepLR": (sgd_two_groups, lambda m, o: m.StepLR(o, step_size=3, gamma=0.5), 12),
    "MultiStepLR": (sgd_two_groups, lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.5), 12),
    "ConstantLR": (sgd_two_groups, lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4), 8),
    "LinearLR": (sgd_two_groups, lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6), 10),
    "ExponentialLR": (sgd_two_groups, lambda m, o: m.ExponentialLR(o, gamma=0.9), 12),
    "CosineAnnealingLR": (sgd_two_groups, lambda m, o: m.CosineAnnealingLR(o, T_max=4, eta_min=0.01), 20),
    "CosineAnnealingWarmRestarts": (
        sgd_two_groups,
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
        25,
    ),
    "CyclicLR-triangular2": (
        sgd_two_groups,
        lambda m, o: m.CyclicLR(
            o, base_lr=[0.1, 0.05], max_lr=1.0, step_size_up=3, step_size_down=5, mode="triangular2"
        ),
        30,
    ),
    "CyclicLR-exp_range-adam": (
        adam_two_groups,
        lambda m, o: m.CyclicLR(o, base_lr=0.1, max_lr=[1.0, 0.5], step_size_up=4, mode="exp_range", gamma=0.95),
        30,
    ),
    "OneCycleLR-cos": (sgd_two_groups, lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=30), 30),
    "OneCycleLR-linear-three-phase-adam": (
        adam_two_groups,
        lambda m, o: m.OneCycleLR(
            o, max_lr=1.0, epochs=6, steps_per_epoch=5, anneal_strategy="linear", three_phase=True, pct_start=0.2
        ),
        30,
    ),
    "ReduceLROnPlateau": (
        sgd_two_groups,
        lambda m, o: m.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1, min_lr=[0.05, 0.1]),
        25,
    ),
    "SequentialLR": (
        sgd_two_groups,
        lambda m, o: m.SequentialLR(
            o,
            [m.LinearLR(o, start_factor=0.1, total_iters=3), m.ExponentialLR(o, gamma=0.8), m.CosineAnnealingLR(o, 4)],
            milestones=[3, 6],
        ),
        14,
    ),
    "ChainedScheduler": (
        sgd_two_groups,
        lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=2), m.ExponentialLR(o, gamma=0.9)]),
        10,
    ),
}
PLATEAU_METRICS = [3.0, 2.0, 2.0, 2.0, 1.0, 1.5, 1.5, 1.5, 1.5, 0.5] * 3


def metrics_for(name):
    return PLATEAU_METRICS if name.startswith("ReduceLROnPlateau") else None


def our_run(name, epochs=None, stop=None):
    make_optimizer, make_scheduler, default_epochs = SCHEDULERS[name]
    o = make_optimizer(optim, [mg.Tensor([1.0], requires_grad=True), mg.Tensor([1.0], requires_grad=True)])
    s = make_scheduler(lr_scheduler, o)
    return run(s, o, epochs or default_epochs, metrics_for(name))


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_state_dict_round_trip_continues_exactly(name, tmp_path):
    make_optimizer, make_scheduler, epochs = SCHEDULERS[name]
    metrics = metrics_for(name)
    half = epochs // 2

    def build():
        o = make_optimizer(optim, [mg.Tensor([1.0], requires_grad=True), mg.Tensor([1.0], requires_grad=True)])
        return o, make_scheduler(lr_scheduler, o)

    o1, s1 = build()
    run(s1, o1, half, metrics)
    mg.save({"optimizer": o1.state_dict(), "scheduler": s1.state_dict()}, tmp_path / "ckpt")  # a checkpoint holds it
    rest = run(s1, o1, epochs - half, metrics and metrics[half:])
    o2, s2 = build()
    saved = mg.load(tmp_path / "ckpt")
    o2.load_state_dict(saved["optimizer"])
    s2.load_state_dict(saved["scheduler"])
    assert run(s2, o2, epochs - half, metrics and metrics[half:]) == rest


def test_lambda_lr_saves_callable_objects_but_not_functions():
    o = sgd(groups=2)
    warmup = Warmup(5)
    sched = lr_scheduler.LambdaLR(o, [lambda e: 1.0, warmup])
    warmup.epochs = 10
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"epochs": 10}]
    assert "optimizer" not in state
    other = Warmup(5)
    lr_scheduler.LambdaLR(sgd(groups=2), [lambda e: 1.0, other]).load_state_dict(state)
    assert other.epochs == 10


def test_existing_base_class_api_still_works():
    class Halving(lr_scheduler.LRScheduler):
        def lr_at(self, base_lr, epoch):
            return base_lr / 2**epoch

    o = sgd()
    lrs, _ = run(Halving(o), o, 4)
    assert first_group(lrs) == [0.8, 0.4, 0.2, 0.1]
    assert lr_scheduler.StepLR(sgd(), 2).lr_at(1.0, 5) == pytest.approx(0.01)
    with pytest.raises(TypeError, match="StepLR: expected an Optimizer, got list"):
        lr_scheduler.StepLR([], 2)


RESUMABLE = {
    "StepLR": lambda m, o, **k: m.StepLR(o, 2, 0.5, **k),
    "MultiStepLR": lambda m, o, **k: m.MultiStepLR(o, [2, 4, 4], 0.5, **k),
    "ExponentialLR": lambda m, o, **k: m.ExponentialLR(o, 0.9, **k),
    "CosineAnnealingLR": lambda m, o, **k: m.CosineAnnealingLR(o, 5, **k),
    "LinearLR": lambda m, o, **k: m.LinearLR(o, 0.2, total_iters=6, **k),
    "LambdaLR": lambda m, o, **k: m.LambdaLR(o, lambda e: 0.9**e, **k),
}


def resumed_run(module, make, params):
    """Rates after resuming at epoch 4 (``last_epoch=4``) from a run stopped there: PyTorch's
    constructors then make the initial step, which moves the chainable ones on, or not."""
    o = module.SGD([params[0]], lr=0.8)
    s = make(module.lr_scheduler, o)
    for _ in range(4):
        o.step()
        s.step()
    o2 = module.SGD([params[1]], lr=0.8)
    o2.load_state_dict(o.state_dict())  # which brings initial_lr
    resumed = make(module.lr_scheduler, o2, last_epoch=4)
    return [resumed.get_last_lr()] + [(o2.step(), resumed.step(), resumed.get_last_lr())[2] for _ in range(6)]


@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_resuming_with_last_epoch_needs_initial_lr_and_steps_on(name):
    rates = resumed_run(optim, RESUMABLE[name], [mg.Tensor([1.0], requires_grad=True) for _ in range(2)])
    closed = {"StepLR": lambda e: 0.8 * 0.5 ** (e // 2), "LambdaLR": lambda e: 0.8 * 0.9**e}
    if name in closed:  # the initial step of a resumed closed form lands on epoch 5
        assert_close(rates, [[closed[name](e)] for e in range(5, 12)])
    with pytest.raises(KeyError, match=f"{name}: param_groups\\[0\\] has no 'initial_lr'"):
        RESUMABLE[name](lr_scheduler, sgd(), last_epoch=3)


@pytest.mark.parametrize(
    "make, error, pattern",
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be >= 1, got 0"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "CosineAnnealingLR: T_max must be >= 1"),
        (
            lambda o: lr_scheduler.ConstantLR(o, factor=1.5),
            ValueError,
            r"ConstantLR: factor must be in \[0, 1\], got 1.5",
        ),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, r"LinearLR: start_factor .* got 0"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=2.0), ValueError, r"LinearLR: end_factor .* got 2.0"),
        (lambda o: lr_scheduler.LinearLR(o, total_iters=0), ValueError, "LinearLR: total_iters must be >= 1, got 0"),
        (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 2), ValueError, "LambdaLR: lr_lambda has 2 values"),
        (lambda o: lr_scheduler.MultiplicativeLR(o, 0.9), TypeError, "MultiplicativeLR: lr_lambda must be a function"),
        (
            lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
            ValueError,
            "CosineAnnealingWarmRestarts: T_0 must be a positive integer, got 0",
        ),
        (
            lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
            ValueError,
            "CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got 0",
        ),
        (lambda o: lr_scheduler.CyclicLR(o, 0.1, 1.0, mode="square"), ValueError, "CyclicLR: unknown mode 'square'"),
        (lambda o: lr_scheduler.CyclicLR(o, 0.1, 1.0, step_size_up=0), ValueError, "CyclicLR: step sizes must be"),
        (lambda o: lr_scheduler.CyclicLR(o, [0.1, 0.2], 1.0), ValueError, "CyclicLR: base_lr has 2 values"),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0), ValueError, "OneCycleLR: give total_steps, or epochs"),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=0), ValueError, "OneCycleLR: total_steps .* got 0"),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=-1), ValueError, "steps_per_epoch .* -1"),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, pct_start=1.5), ValueError, "OneCycleLR: pct_start .* 1.5"),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "anneal_strategy .* 'exp'"),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
            ValueError,
            "ReduceLROnPlateau: factor must be < 1.0",
        ),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, "ReduceLROnPlateau: mode .* 'up'"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold_mode .* 'x'"),
        (lambda o: lr_scheduler.SequentialLR(o, [], []), ValueError, "SequentialLR: expected at least one scheduler"),
        (
            lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)] * 2, [1, 2]),
            ValueError,
            "SequentialLR: expected 1 milestones for 2 schedulers, got 2",
        ),
        (
            lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(sgd(), 2)], []),
            ValueError,
            r"SequentialLR: the scheduler at index 0 \(StepLR\) has another optimizer",
        ),
        (
            lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(o)]),
            ValueError,
            "ChainedScheduler: ReduceLROnPlateau .* cannot be combined",
        ),
        (lambda o: lr_scheduler.ChainedScheduler([]), ValueError, "ChainedScheduler: expected at least one scheduler"),
    ],
)
def test_scheduler_errors_are_clear(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make(sgd())


# ------------------------------------------------------------------ swapping
TRASK_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
Y = np.array([[0.0, 1.0, 1.0, 0.0]]).T


def final_loss(activation, make_optimizer, steps=600):
    model = nn.MLP(3, 8, 1, activation=activation, output_activation=nn.Sigmoid, rng=np.random.default_rng(0))
    opt = make_optimizer(model.parameters())
    loss_fn = nn.MSELoss()
    x, y = mg.Tensor(TRASK_X), mg.Tensor(Y)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses[0], losses[-1]


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=2.0),
    "momentum": lambda p: optim.SGD(p, lr=0.5, momentum=0.9),
    "adam": lambda p: optim.Adam(p, lr=0.05),
    "adamw": lambda p: optim.AdamW(p, lr=0.05),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.3),
}
NEW_OPTIMIZERS = {
    "adamax": lambda p: optim.Adamax(p, lr=0.05),
    "nadam": lambda p: optim.NAdam(p, lr=0.05),
    "radam": lambda p: optim.RAdam(p, lr=0.05),
    "adadelta": lambda p: optim.Adadelta(p, lr=1.0),
}


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_swapping_optimizer_or_activation_is_one_line_and_the_loss_falls(activation, name):
    first, last = final_loss(activation, OPTIMIZERS[name])
    assert last < 0.5 * first, (first, last)


@pytest.mark.parametrize("name", sorted(NEW_OPTIMIZERS))
def test_the_other_optimizers_train_the_tutorial_network(name):
    first, last = final_loss(nn.Tanh, NEW_OPTIMIZERS[name], steps=300)
    assert last < 0.5 * first, (first, last)


# ------------------------------------------------------------------ PyTorch's numbers
@pytest.fixture
def torch64():
    """torch, with float64 as its default dtype for the test: PyTorch keeps NAdam's product of
    momenta in a tensor of the default dtype, which float32 rounds (by about 1e-9), while
    microgradnn keeps it as a Python float."""
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(previous)


@pytest.mark.parametrize("cls, reference, options", CASES, ids=CASE_IDS)
def test_each_optimizer_matches_pytorch(cls, reference, options, rng, torch64):
    torch = torch64
    start, grads = start_and_grads(rng)
    p = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    opt = getattr(torch.optim, cls.__name__)([p], **options)
    for step, (g, ours) in enumerate(zip(grads, trajectory(cls, options, start, grads), strict=True), start=1):
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        np.testing.assert_allclose(ours, p.detach().numpy(), rtol=1e-11, atol=1e-13, err_msg=f"step {step}")


@pytest.mark.parametrize("cls", OPTIMIZER_CLASSES, ids=lambda c: c.__name__)
def test_optimizer_signatures_and_defaults_match_pytorch(cls):
    torch = pytest.importorskip("torch")
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(getattr(torch.optim, cls.__name__)).parameters
    for name, parameter in ours.items():
        assert name in theirs, f"{cls.__name__}({name}=...) is not PyTorch's"
        assert parameter.default == theirs[name].default, (cls.__name__, name)
    positional = [n for n, p in ours.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == list(theirs)[: len(positional)], cls.__name__


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_each_scheduler_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    make_optimizer, make_scheduler, epochs = SCHEDULERS[name]
    params = [torch.nn.Parameter(torch.ones(1, dtype=torch.float64)) for _ in range(2)]
    o = make_optimizer(torch.optim, params)
    s = make_scheduler(torch.optim.lr_scheduler, o)
    expected = run(s, o, epochs, metrics_for(name))
    got = our_run(name)
    assert_close(got[0], expected[0], tol=1e-14)
    assert_close(got[1], expected[1], tol=1e-14)


@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_resuming_with_last_epoch_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    ours = resumed_run(optim, RESUMABLE[name], [mg.Tensor([1.0], requires_grad=True) for _ in range(2)])
    theirs = resumed_run(torch.optim, RESUMABLE[name], [torch.nn.Parameter(torch.ones(1)) for _ in range(2)])
    assert_close(ours, theirs, tol=1e-14)


@pytest.mark.parametrize("T_mult", [1, 2])
def test_cosine_warm_restarts_fractional_epochs_match_pytorch(T_mult):
    torch = pytest.importorskip("torch")
    theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.8)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs_opt, T_0=2, T_mult=T_mult, eta_min=0.01)
    ours_opt = sgd()
    ours = lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, T_0=2, T_mult=T_mult, eta_min=0.01)
    for epoch in [*np.arange(0, 15, 0.2), 3, None, None, 14.5, None]:
        theirs.step(None if epoch is None else float(epoch))
        ours.step(None if epoch is None else float(epoch))
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-14, abs=1e-15)
        assert ours.last_epoch == theirs.last_epoch


@pytest.mark.parametrize(
    "cls",
    [
        lr_scheduler.LambdaLR,
        lr_scheduler.MultiplicativeLR,
        lr_scheduler.StepLR,
        lr_scheduler.MultiStepLR,
        lr_scheduler.ConstantLR,
        lr_scheduler.LinearLR,
        lr_scheduler.ExponentialLR,
        lr_scheduler.CosineAnnealingLR,
        lr_scheduler.CosineAnnealingWarmRestarts,
        lr_scheduler.CyclicLR,
        lr_scheduler.OneCycleLR,
        lr_scheduler.ReduceLROnPlateau,
        lr_scheduler.SequentialLR,
        lr_scheduler.ChainedScheduler,
    ],
)
def test_scheduler_signatures_and_defaults_match_pytorch(cls):
    torch = pytest.importorskip("torch")
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(getattr(torch.optim.lr_scheduler, cls.__name__)).parameters
    assert list(ours) == list(theirs), cls.__name__
    for name, parameter in ours.items():
        assert parameter.default == theirs[name].default, (cls.__name__, name)
