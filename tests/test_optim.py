"""Optimizers against their documented update rules written out in NumPy; schedulers; state
dicts; errors; and swapping optimizers and activations in one line."""

import math

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.optim import lr_scheduler

STEPS = 6


def reference_sgd(p, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
    buf = None
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def reference_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, decoupled=False):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
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
    return p


def reference_rmsprop(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
    sq = np.zeros_like(p)
    mean_g = np.zeros_like(p)
    buf = np.zeros_like(p)
    for g in grads:
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
    return p


def reference_adagrad(p, grads, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10):
    total = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        total = total + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(total) + eps)
    return p


CASES = [
    (optim.SGD, reference_sgd, dict(lr=0.1)),
    (optim.SGD, reference_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, reference_sgd, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    (optim.SGD, reference_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    (optim.Adam, reference_adam, dict()),
    (optim.Adam, reference_adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, reference_adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, lambda p, g, **k: reference_adam(p, g, decoupled=True, **{"weight_decay": 1e-2, **k}), dict(lr=0.01)),
    (
        optim.AdamW,
        lambda p, g, **k: reference_adam(p, g, decoupled=True, **k),
        dict(lr=0.01, weight_decay=0.3, amsgrad=True),
    ),
    (optim.RMSprop, reference_rmsprop, dict()),
    (optim.RMSprop, reference_rmsprop, dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    (optim.RMSprop, reference_rmsprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (optim.Adagrad, reference_adagrad, dict()),
    (optim.Adagrad, reference_adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
]


@pytest.mark.parametrize("cls, reference, options", CASES, ids=[f"{c.__name__}-{o}" for c, _, o in CASES])
def test_each_optimizer_follows_its_documented_rule_for_several_steps(cls, reference, options, rng):
    start = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(STEPS)]
    p = mg.Tensor(start.copy(), requires_grad=True)
    opt = cls([p], **options)
    for g in grads:
        p.grad = g.copy()
        opt.step()
    np.testing.assert_allclose(p.data, reference(start, grads, **options), rtol=0, atol=1e-12)


def test_defaults_are_pytorchs():
    p = [mg.Tensor([1.0], requires_grad=True)]
    assert optim.SGD(p).defaults == dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)
    assert optim.Adam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.RMSprop(p).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)
    assert optim.Adagrad(p).defaults["lr"] == 1e-2


def test_parameter_groups_have_their_own_hyperparameters():
    a, b = mg.Tensor([1.0], requires_grad=True), mg.Tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)


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
        (optim.SGD, dict(lr=0.1, momentum=0.9)),
        (optim.Adam, dict(lr=0.01, amsgrad=True)),
        (optim.AdamW, dict(lr=0.01)),
        (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
        (optim.Adagrad, dict(lr=0.1)),
    ],
)
def test_optimizer_state_dict_round_trip_continues_identically(cls, options, rng):
    start = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(6)]
    p1 = mg.Tensor(start.copy(), requires_grad=True)
    opt1 = cls([p1], **options)
    for g in grads[:3]:
        p1.grad = g
        opt1.step()
    saved, saved_param = opt1.state_dict(), p1.data.copy()
    for g in grads[3:]:
        p1.grad = g
        opt1.step()
    p2 = mg.Tensor(saved_param, requires_grad=True)
    opt2 = cls([p2], lr=123.0)
    opt2.load_state_dict(saved)
    for g in grads[3:]:
        p2.grad = g
        opt2.step()
    np.testing.assert_array_equal(p1.data, p2.data)
    with pytest.raises(ValueError, match="1 parameter groups saved, 2 here"):
        cls(
            [{"params": [mg.Tensor([1.0], requires_grad=True)]}, {"params": [mg.Tensor([1.0], requires_grad=True)]}]
        ).load_state_dict(saved)


# ------------------------------------------------------------------ schedulers
def lrs_over(scheduler, optimizer, epochs):
    out = []
    for _ in range(epochs):
        out.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return out


def test_schedulers_follow_pytorchs_closed_forms():
    def opt():
        return optim.SGD([mg.Tensor([1.0], requires_grad=True)], lr=0.8)

    o = opt()
    assert lrs_over(lr_scheduler.StepLR(o, step_size=3, gamma=0.5), o, 7) == pytest.approx(
        [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2]
    )
    o = opt()
    assert lrs_over(lr_scheduler.ExponentialLR(o, gamma=0.9), o, 4) == pytest.approx([0.8 * 0.9**k for k in range(4)])
    o = opt()
    expected = [0.1 + 0.7 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(6)]
    assert lrs_over(lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.1), o, 6) == pytest.approx(expected)


def test_scheduler_state_dict_round_trip():
    o1 = optim.SGD([mg.Tensor([1.0], requires_grad=True)], lr=1.0)
    s1 = lr_scheduler.StepLR(o1, step_size=2, gamma=0.1)
    lrs_over(s1, o1, 3)
    o2 = optim.SGD([mg.Tensor([1.0], requires_grad=True)], lr=1.0)
    s2 = lr_scheduler.StepLR(o2, step_size=5, gamma=0.5)
    s2.load_state_dict(s1.state_dict())
    o2.load_state_dict(o1.state_dict())
    assert lrs_over(s2, o2, 4) == lrs_over(s1, o1, 4)


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


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_swapping_optimizer_or_activation_is_one_line_and_the_loss_falls(activation, name):
    first, last = final_loss(activation, OPTIMIZERS[name])
    assert last < 0.5 * first, (first, last)
