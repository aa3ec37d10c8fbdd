"""Losses and nn.functional extras: values against NumPy formulas, gradients against finite
differences (input and target), second derivatives, options, errors, and dropout variants;
optionally values and gradients against PyTorch."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F

TOL = {"atol": 1e-6, "rtol": 1e-5}
R = np.random.default_rng(7)


def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _probs(shape, axis=-1):
    return np.exp(_log_softmax(R.standard_normal(shape), axis))


# ------------------------------------------------------------------ the cases
# Each case: (function name, arguments, keyword options, smooth). An argument is a float
# ndarray (differentiated when its name is in `diff`), or an int ndarray / label array
# (constant). The same table drives the finite-difference, second-derivative and PyTorch checks.
def _cases():
    x = R.standard_normal((4, 3))
    t = R.standard_normal((4, 3))
    logits = R.standard_normal((4, 5)) * 2
    y = np.array([0, 4, 2, 2])
    pm = np.array([1.0, -1.0, -1.0, 1.0])
    c = [
        ("mse_loss", (x, t), {}, "01", True),
        ("l1_loss", (x, t), {}, "01", False),
        ("smooth_l1_loss", (x, t), {"beta": 0.7}, "01", False),
        ("huber_loss", (x, t), {"delta": 0.6}, "01", False),
        ("kl_div", (_log_softmax(x, 1), _probs((4, 3))), {"reduction": "batchmean"}, "01", True),
        ("kl_div", (_log_softmax(x, 1), _log_softmax(t, 1)), {"log_target": True}, "01", True),
        ("poisson_nll_loss", (x, np.abs(t) * 3), {}, "01", True),
        ("poisson_nll_loss", (np.abs(x) + 0.5, np.abs(t) * 3), {"log_input": False, "full": True}, "01", True),
        ("gaussian_nll_loss", (x, t, np.abs(R.standard_normal((4, 3))) + 0.5), {}, "012", True),
        ("gaussian_nll_loss", (x, t, np.abs(R.standard_normal(4)) + 0.5), {"full": True}, "012", True),
        ("binary_cross_entropy", (_probs((4, 3), 0) * 0.9 + 0.05, R.uniform(0, 1, (4, 3))), {}, "01", True),
        (
            "binary_cross_entropy",
            (R.uniform(0.05, 0.95, (4, 3)), R.uniform(0, 1, (4, 3))),
            {"weight": R.uniform(0.5, 2, 3)},
            "01",
            True,
        ),
        (
            "binary_cross_entropy_with_logits",
            (x * 3, R.uniform(0, 1, (4, 3))),
            {"pos_weight": np.array([0.5, 2.0, 3.0]), "weight": R.uniform(0.5, 2, (4, 1))},
            "01",
            True,
        ),
        ("cross_entropy", (logits, y), {}, "0", True),
        ("cross_entropy", (logits, y), {"weight": np.array([1.0, 2, 0.5, 1, 3]), "label_smoothing": 0.2}, "0", True),
        ("cross_entropy", (logits, np.array([0, -100, 2, -100])), {"weight": np.arange(1.0, 6)}, "0", True),
        ("cross_entropy", (logits, _probs((4, 5))), {"label_smoothing": 0.1, "weight": np.arange(1.0, 6)}, "01", True),
        ("cross_entropy", (R.standard_normal((2, 3, 2, 2)), R.integers(0, 3, (2, 2, 2))), {}, "0", True),
        ("cross_entropy", (R.standard_normal((2, 3, 4)), _probs((2, 3, 4), 1)), {}, "01", True),
        ("cross_entropy", (R.standard_normal(5), np.array(3)), {"label_smoothing": 0.3}, "0", True),
        ("nll_loss", (_log_softmax(logits, 1), y), {"weight": np.array([1.0, 2, 0.5, 1, 3])}, "0", True),
        ("nll_loss", (_log_softmax(R.standard_normal((2, 3, 4)), 1), R.integers(0, 3, (2, 4))), {}, "0", True),
        ("cosine_embedding_loss", (x, t, pm), {"margin": -0.5}, "01", True),
        ("margin_ranking_loss", (x[:, 0], t[:, 0], pm), {"margin": 0.1}, "01", False),
        (
            "hinge_embedding_loss",
            (x * 2, np.array([[1.0, -1, 1], [-1, -1, 1], [1, 1, 1], [-1, -1, -1]])),
            {},
            "0",
            False,
        ),
        ("multi_margin_loss", (logits, y), {"p": 2, "margin": 1.5, "weight": np.arange(1.0, 6)}, "0", False),
        ("multi_margin_loss", (logits, y), {}, "0", False),
        ("soft_margin_loss", (x * 3, np.sign(t)), {}, "0", True),
        ("triplet_margin_loss", (x, t, R.standard_normal((4, 3))), {"margin": 2.0}, "012", False),
        (
            "triplet_margin_loss",
            (x, t, R.standard_normal((4, 3))),
            {"p": 1.0, "swap": True, "margin": 3.0},
            "012",
            False,
        ),
    ]
    return c


CASES = _cases()
IDS = [f"{name}-{i}" for i, (name, *_rest) in enumerate(CASES)]


def _mg_args(args, diff, dtype=np.float64):
    out = []
    for i, a in enumerate(args):
        if str(i) in diff:
            out.append(mg.Tensor(a, requires_grad=True, dtype=dtype))
        else:
            out.append(a)
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradients_match_finite_differences(case, reduction):
    name, args, kwargs, diff, _smooth = case
    if name == "kl_div" and reduction == "mean":
        reduction = "batchmean"
    kwargs = {**kwargs, "reduction": reduction}
    fn = getattr(F, name)
    inputs = _mg_args(args, diff)
    positions = [int(i) for i in diff]

    def call(*xs):
        full = list(inputs)
        for p, v in zip(positions, xs, strict=True):
            full[p] = v
        return fn(*full, **kwargs).sum()

    mg.gradcheck(call, tuple(inputs[p] for p in positions), **TOL)


@pytest.mark.parametrize("case", [c for c in CASES if c[4]], ids=[i for i, c in zip(IDS, CASES, strict=True) if c[4]])
def test_second_derivatives_of_smooth_losses(case):
    name, args, kwargs, diff, _smooth = case
    fn = getattr(F, name)
    inputs = _mg_args(args, diff)
    positions = [int(i) for i in diff]

    def call(*xs):
        full = list(inputs)
        for p, v in zip(positions, xs, strict=True):
            full[p] = v
        return fn(*full, **kwargs)

    mg.gradgradcheck(call, tuple(inputs[p] for p in positions), **TOL)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(case):
    name, args, kwargs, diff, _smooth = case
    inputs = _mg_args(args, diff, np.float32)
    out = getattr(F, name)(*inputs, **kwargs)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(inputs[int(i)].grad.dtype == np.float32 for i in diff)


# ------------------------------------------------------------------ against PyTorch
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_against_torch(case, reduction):
    torch = pytest.importorskip("torch")
    name, args, kwargs, diff, _smooth = case
    kwargs = {**kwargs, "reduction": reduction}
    inputs = _mg_args(args, diff)
    ours = getattr(F, name)(*inputs, **kwargs)
    ours.sum().backward()
    t_inputs = []
    for i, a in enumerate(args):
        if a.dtype.kind == "i":
            t_inputs.append(torch.tensor(a, dtype=torch.long))
        else:
            t_inputs.append(torch.tensor(a, dtype=torch.float64, requires_grad=str(i) in diff))
    t_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's "mean" warns in PyTorch
        theirs = getattr(torch.nn.functional, name)(*t_inputs, **t_kwargs)
    theirs.sum().backward()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for i in diff:
        np.testing.assert_allclose(inputs[int(i)].grad, t_inputs[int(i)].grad.numpy(), rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ values against NumPy
def test_cross_entropy_options_against_numpy():
    logits, y = R.standard_normal((6, 4)), np.array([0, 3, 1, -100, 2, 1])
    w, s = np.array([0.5, 2.0, 1.0, 3.0]), 0.25
    log_p = _log_softmax(logits, 1)
    kept = y != -100
    yk = np.where(kept, y, 0)
    nll = -log_p[np.arange(6), yk] * w[yk] * kept
    smooth = -(log_p * w).sum(1) * kept
    expected = (1 - s) * nll.sum() / w[yk][kept].sum() + s / 4 * smooth.sum() / w[yk][kept].sum()
    got = nn.CrossEntropyLoss(weight=w, label_smoothing=s)(mg.Tensor(logits), y)
    np.testing.assert_allclose(got.item(), expected, rtol=1e-12)
    # NLL's weighted mean is sum(w_y l) / sum(w_y), as PyTorch's.
    got = nn.NLLLoss(weight=w)(mg.Tensor(log_p), yk)
    np.testing.assert_allclose(got.item(), (-log_p[np.arange(6), yk] * w[yk]).sum() / w[yk].sum(), rtol=1e-12)
    # probability targets: -sum(t log p) per sample, mean over samples.
    t = _probs((6, 4))
    got = F.cross_entropy(mg.Tensor(logits), mg.Tensor(t), reduction="none")
    np.testing.assert_allclose(got.data, -(t * log_p).sum(1), rtol=1e-12)


def test_cross_entropy_of_spatial_inputs_matches_flattened_rows():
    x, y = R.standard_normal((2, 3, 4, 5)), R.integers(0, 3, (2, 4, 5))
    rows = np.moveaxis(x, 1, -1).reshape(-1, 3)
    flat = F.cross_entropy(mg.Tensor(rows), y.reshape(-1), reduction="none").data.reshape(2, 4, 5)
    np.testing.assert_allclose(F.cross_entropy(mg.Tensor(x), y, reduction="none").data, flat, rtol=1e-12)


def test_target_gradients_of_probability_cross_entropy():
    x, t = mg.Tensor(R.standard_normal((3, 4))), mg.Tensor(_probs((3, 4)), requires_grad=True)
    F.cross_entropy(x, t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad, -_log_softmax(x.data, 1), rtol=1e-12)


def test_class_index_targets_are_never_differentiated():
    x = mg.Tensor(R.standard_normal((3, 4)), requires_grad=True)
    y = mg.Tensor([0.0, 1.0, 3.0], requires_grad=True)
    F.cross_entropy(x, y).backward()
    F.nll_loss(x, y).backward()
    assert y.grad is None and x.grad is not None


@pytest.mark.parametrize(
    "name, kwargs, formula",
    [
        ("l1_loss", {}, lambda x, t: np.abs(x - t)),
        (
            "smooth_l1_loss",
            {"beta": 0.5},
            lambda x, t: np.where(np.abs(x - t) < 0.5, (x - t) ** 2, np.abs(x - t) - 0.25),
        ),
        ("smooth_l1_loss", {"beta": 0.0}, lambda x, t: np.abs(x - t)),
        (
            "huber_loss",
            {"delta": 0.5},
            lambda x, t: np.where(np.abs(x - t) < 0.5, 0.5 * (x - t) ** 2, 0.5 * (np.abs(x - t) - 0.25)),
        ),
        ("poisson_nll_loss", {}, lambda x, t: np.exp(x) - t * x),
        ("soft_margin_loss", {}, lambda x, t: np.log1p(np.exp(-np.sign(t) * x))),
    ],
)
def test_elementwise_losses_against_numpy(name, kwargs, formula):
    x, t = R.standard_normal((5, 2)), R.standard_normal((5, 2))
    if name == "soft_margin_loss":
        t = np.sign(t)
    np.testing.assert_allclose(
        getattr(F, name)(mg.Tensor(x), t, reduction="none", **kwargs).data, formula(x, t), rtol=1e-12
    )


def test_kl_div_reductions_and_zero_targets():
    logq, t = _log_softmax(R.standard_normal((3, 4)), 1), _probs((3, 4))
    t[0, 0] = 0.0
    terms = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * logq
    assert np.isfinite(terms).all()
    for reduction, expected in [("mean", terms.mean()), ("batchmean", terms.sum() / 3), ("sum", terms.sum())]:
        np.testing.assert_allclose(nn.KLDivLoss(reduction)(mg.Tensor(logq), t).item(), expected, rtol=1e-12)


def test_gaussian_nll_against_numpy_and_var_clamp():
    x, t, v = R.standard_normal((4, 2)), R.standard_normal((4, 2)), np.array([1e-9, 0.5, 2.0, 1.0])
    var = mg.Tensor(v, requires_grad=True)
    loss = nn.GaussianNLLLoss(full=True, reduction="sum")(mg.Tensor(x), t, var)
    vc = np.maximum(v, 1e-6)[:, None]
    expected = 0.5 * (np.log(vc) + (x - t) ** 2 / vc) + 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(loss.item(), expected.sum(), rtol=1e-12)
    loss.backward()
    # The clamp passes the gradient straight through, as PyTorch's no_grad clamp does.
    np.testing.assert_allclose(var.grad, (0.5 / vc - 0.5 * (x - t) ** 2 / vc**2).sum(1), rtol=1e-10)
    np.testing.assert_allclose(
        F.gaussian_nll_loss(mg.Tensor(x), t, 2.0).item(), (0.5 * (np.log(2) + (x - t) ** 2 / 2)).mean()
    )


def test_margin_losses_against_numpy():
    a, b, y = R.standard_normal(6), R.standard_normal(6), np.array([1.0, -1, 1, -1, 1, -1])
    np.testing.assert_allclose(
        F.margin_ranking_loss(mg.Tensor(a), mg.Tensor(b), y, margin=0.3, reduction="none").data,
        np.maximum(0, -y * (a - b) + 0.3),
    )
    np.testing.assert_allclose(
        F.hinge_embedding_loss(mg.Tensor(a), y, margin=0.5, reduction="none").data,
        np.where(y == 1, a, np.maximum(0, 0.5 - a)),
    )
    x, c = R.standard_normal((3, 4)), np.array([1, 0, 3])
    xy = x[np.arange(3), c][:, None]
    terms = np.maximum(0, 1 - xy + x)
    terms[np.arange(3), c] = 0
    np.testing.assert_allclose(F.multi_margin_loss(mg.Tensor(x), c, reduction="none").data, terms.sum(1) / 4)
    u, v = R.standard_normal((3, 4)), R.standard_normal((3, 4))
    cos = (u * v).sum(1) / np.sqrt((u * u).sum(1) * (v * v).sum(1))
    np.testing.assert_allclose(
        F.cosine_embedding_loss(mg.Tensor(u), mg.Tensor(v), [1, -1, -1], margin=0.1, reduction="none").data,
        np.where([True, False, False], 1 - cos, np.maximum(0, cos - 0.1)),
        rtol=1e-10,
    )
    n = R.standard_normal((3, 4))
    d = lambda p, q: np.sqrt(((p - q + 1e-6) ** 2).sum(1))  # noqa: E731
    np.testing.assert_allclose(
        F.triplet_margin_loss(mg.Tensor(u), mg.Tensor(v), mg.Tensor(n), reduction="none").data,
        np.maximum(0, d(u, v) - d(u, n) + 1),
    )


# ------------------------------------------------------------------ stability at ±1000
def test_logit_losses_are_stable_for_huge_logits():
    big = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in [
            lambda x: F.cross_entropy(x, [1, 0], weight=[1.0, 2.0, 3.0], label_smoothing=0.1),
            lambda x: F.cross_entropy(x, _probs((2, 3))),
            lambda x: F.binary_cross_entropy_with_logits(x, np.ones((2, 3)) * 0.5, pos_weight=[2.0, 1.0, 3.0]),
            lambda x: F.soft_margin_loss(x, np.array([[1.0, -1, 1], [1, -1, -1]])),
            lambda x: (
                F.poisson_nll_loss(x, np.ones((2, 3)), log_input=False) if False else F.kl_div(x, np.zeros((2, 3)))
            ),
        ]:
            x = mg.Tensor(big, requires_grad=True)
            out = loss(x)
            out.backward()
            assert np.isfinite(out.item()) and np.isfinite(x.grad).all()


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: F.cross_entropy(mg.ones((2, 3, 4)), [[0, 1, 2, 0]]),
            mg.ShapeError,
            r"cross_entropy: target shape \(1, 4\) does not match \(2, 4\)",
        ),
        (
            lambda: F.cross_entropy(mg.ones((2, 3)), [0, 3]),
            IndexError,
            "cross_entropy: class index 3 is out of range for 3 classes",
        ),
        (
            lambda: F.cross_entropy(mg.ones((2, 3)), [0, 1], weight=[1.0, 2.0]),
            mg.ShapeError,
            r"cross_entropy: weight of shape \(2,\) does not match the 3 classes",
        ),
        (
            lambda: F.cross_entropy(mg.ones((2, 3)), [0, 1], "sum"),
            TypeError,
            r"cross_entropy: weight must be a tensor .* \(pass reduction= by keyword\)",
        ),
        (
            lambda: F.cross_entropy(mg.ones((2, 3)), [0, 1], label_smoothing=1.5),
            ValueError,
            "label_smoothing must be in",
        ),
        (
            lambda: F.nll_loss(mg.ones((2, 3)), [0, -100, 5]),
            mg.ShapeError,
            r"nll_loss: target shape \(3,\) does not match \(N,\) = \(2,\)",
        ),
        (
            lambda: F.l1_loss(mg.ones((2, 3)), mg.ones(3)),
            mg.ShapeError,
            r"l1_loss: target shape \(3,\) does not match input shape \(2, 3\)",
        ),
        (
            lambda: F.kl_div(mg.ones(2), [1.0, 0.0], reduction="avg"),
            ValueError,
            "kl_div: reduction must be 'mean', 'batchmean'",
        ),
        (lambda: nn.KLDivLoss("avg"), ValueError, "KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none'"),
        (
            lambda: F.binary_cross_entropy_with_logits(mg.ones((2, 3)), np.ones((2, 3)), pos_weight=[1.0, 2.0]),
            mg.ShapeError,
            r"pos_weight of shape \(2,\) does not broadcast to the input's shape \(2, 3\)",
        ),
        (
            lambda: F.gaussian_nll_loss(mg.ones((2, 3)), np.ones((2, 3)), mg.ones((3, 3))),
            mg.ShapeError,
            r"gaussian_nll_loss: var of shape \(3, 3\) does not fit input of shape \(2, 3\)",
        ),
        (
            lambda: F.gaussian_nll_loss(mg.ones(2), np.ones(2), mg.Tensor([1.0, -1.0])),
            ValueError,
            "gaussian_nll_loss: var has negative entries",
        ),
        (lambda: F.multi_margin_loss(mg.ones((2, 3)), [0, 1], p=3), ValueError, "multi_margin_loss: p must be 1 or 2"),
        (
            lambda: F.multi_margin_loss(mg.ones((2, 3)), [0, -1]),
            IndexError,
            "multi_margin_loss: class index -1 is out of range",
        ),
        (
            lambda: F.margin_ranking_loss(mg.ones(2), mg.ones(3), [1, 1]),
            mg.ShapeError,
            r"margin_ranking_loss: input1 shape \(2,\) does not match input2 shape \(3,\)",
        ),
        (
            lambda: F.hinge_embedding_loss(mg.ones(2), [1, 1, 1]),
            mg.ShapeError,
            r"hinge_embedding_loss: target shape \(3,\) does not match \(2,\)",
        ),
        (
            lambda: F.triplet_margin_loss(mg.ones((2, 3)), mg.ones((2, 3)), mg.ones((2, 4))),
            mg.ShapeError,
            "triplet_margin_loss: anchor, positive and negative must have one shape",
        ),
        (
            lambda: F.smooth_l1_loss(mg.ones(2), [1.0, 1.0], beta=-1.0),
            ValueError,
            "smooth_l1_loss: beta must be non-negative",
        ),
        (lambda: F.one_hot([0, 3], num_classes=3), IndexError, "one_hot: class index 3 is out of range for 3 classes"),
        (lambda: F.one_hot([0.5]), TypeError, "one_hot: tensor must hold integer class indices"),
        (
            lambda: F.normalize(mg.ones(3)),
            mg.ShapeError,
            r"normalize: dim 1 is out of range for a tensor of shape \(3,\)",
        ),
        (lambda: F.softmin(mg.ones(3), dim=0, axis=0), TypeError, "softmin: give dim= or axis=, not both"),
        (
            lambda: F.pairwise_distance(mg.ones(3), mg.ones(3), p=-1.0),
            ValueError,
            "pairwise_distance: p must be a positive number",
        ),
        (
            lambda: F.dropout2d(mg.ones((2, 3)), 0.5),
            mg.ShapeError,
            r"dropout2d: input must have 3 dims \(unbatched\) or 4 \(batched\), got shape \(2, 3\)",
        ),
        (lambda: nn.Dropout1d(1.5), ValueError, r"Dropout1d: p must be in \[0, 1\], got 1.5"),
        (lambda: F.alpha_dropout(mg.ones(3), -0.1), ValueError, r"alpha_dropout: p must be in \[0, 1\]"),
    ],
)
def test_errors_are_clear(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ------------------------------------------------------------------ functional extras
def test_one_hot_is_int64_without_grad():
    out = F.one_hot(mg.Tensor([[0.0, 2.0]]), num_classes=4)
    assert out.dtype == np.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.data, np.eye(4, dtype=np.int64)[[[0, 2]]])
    assert F.one_hot(np.array([1, 2])).shape == (2, 3)


@given(st.integers(1, 4), st.integers(2, 5), st.sampled_from([1.0, 2.0, 3.0]))
def test_normalize_cosine_and_distance(n, d, p):
    rng = np.random.default_rng(n * 10 + d)
    x, z = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    norm = (np.abs(x) ** p).sum(1, keepdims=True) ** (1 / p)
    np.testing.assert_allclose(F.normalize(mg.Tensor(x), p=p).data, x / norm, rtol=1e-12)
    np.testing.assert_allclose(F.normalize(mg.Tensor(x), dim=0).data, x / np.sqrt((x * x).sum(0)), rtol=1e-12)
    cos = (x * z).sum(1) / np.sqrt((x * x).sum(1) * (z * z).sum(1))
    np.testing.assert_allclose(F.cosine_similarity(mg.Tensor(x), mg.Tensor(z)).data, cos, rtol=1e-10)
    dist = (np.abs(x - z + 1e-6) ** p).sum(-1) ** (1 / p)
    np.testing.assert_allclose(F.pairwise_distance(mg.Tensor(x), mg.Tensor(z), p=p).data, dist, rtol=1e-10)
    assert F.pairwise_distance(mg.Tensor(x), mg.Tensor(z), keepdim=True).shape == (n, 1)
    for fn in (
        lambda a: F.normalize(a, p=p, dim=-1),
        lambda a: F.cosine_similarity(a, z, dim=1),
        lambda a: F.pairwise_distance(a, z, p=p),
        lambda a: F.softmin(a, dim=0),
    ):
        mg.gradcheck(fn, mg.Tensor(x, requires_grad=True), **TOL)
        mg.gradgradcheck(fn, mg.Tensor(x, requires_grad=True), **TOL)


def test_softmax_family_takes_dim_or_axis():
    x = R.standard_normal((3, 4))
    e = np.exp(x - x.max(0))
    np.testing.assert_allclose(F.softmax(mg.Tensor(x), dim=0).data, e / e.sum(0), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(mg.Tensor(x), axis=0).data, e / e.sum(0), rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(mg.Tensor(x), 0).data, _log_softmax(x, 0), rtol=1e-12)
    np.testing.assert_allclose(F.softmin(mg.Tensor(x), dim=-1).data, np.exp(_log_softmax(-x, 1)), rtol=1e-12)
    assert F.softmax(mg.Tensor(x), dim=1, dtype=np.float32).dtype == np.float32


def test_functional_extras_against_torch():
    torch = pytest.importorskip("torch")
    x, z = R.standard_normal((3, 4)), R.standard_normal((1, 4))
    tx, tz = torch.tensor(x, requires_grad=True), torch.tensor(z)
    for ours, theirs in [
        (lambda a: F.normalize(a, p=3.0, dim=1), lambda a: torch.nn.functional.normalize(a, p=3.0, dim=1)),
        (lambda a: F.cosine_similarity(a, z, dim=1), lambda a: torch.nn.functional.cosine_similarity(a, tz, dim=1)),
        (lambda a: F.pairwise_distance(a, z), lambda a: torch.nn.functional.pairwise_distance(a, tz)),
        (lambda a: F.softmin(a, dim=0), lambda a: torch.nn.functional.softmin(a, dim=0)),
    ]:
        a = mg.Tensor(x, requires_grad=True)
        out = ours(a)
        (out * out).sum().backward()
        tx.grad = None
        tout = theirs(tx)
        (tout * tout).sum().backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(a.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(F.one_hot([2, 0]).data, torch.nn.functional.one_hot(torch.tensor([2, 0])).numpy())


# ------------------------------------------------------------------ dropout variants
@pytest.mark.parametrize(
    "fn, shape", [(F.dropout1d, (4, 6, 5)), (F.dropout2d, (3, 8, 2, 2)), (F.dropout3d, (5, 2, 2, 3))]
)
def test_channel_dropout_zeroes_whole_channels_and_scales(fn, shape):
    x = mg.Tensor(R.standard_normal(shape) + 5)
    out = fn(x, 0.4, rng=np.random.default_rng(3)).data
    spatial = {F.dropout1d: 1, F.dropout2d: 2, F.dropout3d: 3}[fn]
    ratio = (out / x.data).reshape(shape[: len(shape) - spatial] + (-1,))
    # Every channel is all dropped or all kept (scaled by 1 / (1 - p)).
    np.testing.assert_allclose(ratio, np.repeat(ratio[..., :1], ratio.shape[-1], -1))
    assert set(np.round(np.unique(ratio), 12)) <= {0.0, round(1 / 0.6, 12)}
    again = fn(x, 0.4, rng=np.random.default_rng(3)).data
    np.testing.assert_array_equal(out, again)
    assert fn(x, 0.4, training=False) is x and fn(x, 0.0) is x
    assert not fn(x, 1.0).data.any()


def test_dropout_modules_use_their_rng_the_default_generator_and_eval():
    x = mg.ones((2, 16, 3))
    a = nn.Dropout1d(0.5, rng=np.random.default_rng(0))(x).data
    b = nn.Dropout1d(0.5, rng=np.random.default_rng(0))(x).data
    np.testing.assert_array_equal(a, b)
    mg.manual_seed(5)
    c = nn.Dropout1d(0.5)(x).data
    mg.manual_seed(5)
    np.testing.assert_array_equal(c, nn.Dropout1d(0.5)(x).data)
    for module, shape in [
        (nn.Dropout1d(), (2, 3)),
        (nn.Dropout2d(), (2, 3, 4)),
        (nn.Dropout3d(), (1, 2, 3, 4, 5)),
        (nn.AlphaDropout(), (3,)),
        (nn.FeatureAlphaDropout(), (2, 3, 4)),
    ]:
        x = mg.ones(shape)
        assert module.eval()(x) is x
        assert repr(module).endswith("(p=0.5)")
    grad_x = mg.Tensor(R.standard_normal((2, 3, 4)), requires_grad=True)
    nn.Dropout2d(0.5, rng=np.random.default_rng(1))(grad_x).sum().backward()
    assert set(np.unique(grad_x.grad)) <= {0.0, 2.0}


def test_alpha_dropout_keeps_mean_and_variance():
    x = mg.Tensor(np.random.default_rng(0).standard_normal(200_000))
    for p in (0.1, 0.5):
        out = F.alpha_dropout(x, p, training=True, rng=np.random.default_rng(1)).data
        assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False, as PyTorch's function
    y = mg.Tensor(np.random.default_rng(2).standard_normal((500, 40, 6)))
    out = F.feature_alpha_dropout(y, 0.3, training=True, rng=np.random.default_rng(3)).data
    dropped = np.isclose(out, out[..., :1]).all(-1) & ~np.isclose(y.data, y.data[..., :1]).all(-1)
    assert 0.25 < dropped.mean() < 0.35
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    dropped_value = -1.7580993408473766 / math.sqrt((1.7580993408473766**2 * 0.3 + 1) * 0.7) * 0.7
    np.testing.assert_allclose(out[dropped][:, 0], dropped_value)


def test_alpha_dropout_against_torch_statistics():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(100_000)
    ours = F.alpha_dropout(mg.Tensor(x), 0.3, training=True, rng=np.random.default_rng(1)).data
    torch.manual_seed(0)
    theirs = torch.nn.functional.alpha_dropout(torch.tensor(x), 0.3, training=True).numpy()
    # Different random draws: the set of values a dropped unit takes, and the moments, agree.
    assert np.isclose(np.sort(ours)[0], np.sort(theirs)[0], atol=0.05)
    np.testing.assert_allclose([ours.mean(), ours.std()], [theirs.mean(), theirs.std()], atol=0.02)


@given(
    st.integers(1, 3),
    st.integers(2, 4),
    st.lists(st.integers(1, 3), max_size=2),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 0.3]),
    st.integers(0, 2**16),
)
def test_cross_entropy_on_drawn_shapes_and_options(n, c, spatial, probabilities, weighted, smoothing, seed):
    rng = np.random.default_rng(seed)
    shape = (n, c, *spatial)
    x = rng.standard_normal(shape)
    weight = rng.uniform(0.5, 2, c) if weighted else None
    if probabilities:
        target = mg.Tensor(np.exp(_log_softmax(rng.standard_normal(shape), 1)), requires_grad=True)
        inputs = (mg.Tensor(x, requires_grad=True), target)
    else:
        target = rng.integers(0, c, (n, *spatial))
        target[rng.random(target.shape) < 0.2] = -100  # some ignored, as PyTorch's default
        if (target == -100).all():
            target.flat[0] = 0
        inputs = (mg.Tensor(x, requires_grad=True),)

    def loss(a, t=target):
        return F.cross_entropy(a, t, weight=weight, label_smoothing=smoothing)

    mg.gradcheck(loss, inputs, **TOL)
    try:
        import torch
    except ImportError:
        return
    t_target = torch.tensor(target.data) if probabilities else torch.tensor(target, dtype=torch.long)
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(x),
        t_target,
        weight=None if weight is None else torch.tensor(weight),
        label_smoothing=smoothing,
    )
    np.testing.assert_allclose(loss(inputs[0]).item(), expected.item(), rtol=1e-10)
