"""The catalogue of built-in differentiable ops, each on smooth random inputs (away from kinks,
ties and domain edges): ``microgradnn gradcheck`` checks every entry against finite
differences, and the test suite checks every entry's second derivatives too. A new public op
belongs here; ``tests/test_autograd.py`` fails on one that is neither here nor listed as not
differentiable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .tensor import Tensor

__all__ = ["builtin_checks", "DIFFERENTIABLE_ONCE"]

Check = tuple[str, Callable[..., Tensor], tuple[Tensor, ...]]

#: Entries whose backward holds part of the computation fixed (the singular vectors), so they
#: are differentiable once: finite differences check them, second derivatives do not.
DIFFERENTIABLE_ONCE = {
    "linalg.svdvals",
    "linalg.matrix_norm (2)",
    "linalg.matrix_norm (nuc)",
    "F.scaled_dot_product_attention",  # one fused op with its backward on ndarrays, for speed
}

# Unary elementwise ops and the interval their inputs are drawn from (inside the domain, away
# from the points where the op or its derivative is singular). The rounding ops are drawn
# between integers: their gradient is 0 there, as PyTorch's.
UNARY_DOMAINS: dict[str, tuple[float, float]] = {
    "sin": (-2, 2), "cos": (-2, 2), "tan": (-1.2, 1.2),
    "arcsin": (-0.9, 0.9), "asin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "acos": (-0.9, 0.9),
    "arctan": (-2, 2), "atan": (-2, 2), "sinh": (-2, 2), "cosh": (-2, 2),
    "arcsinh": (-2, 2), "asinh": (-2, 2), "arccosh": (1.2, 3), "acosh": (1.2, 3),
    "arctanh": (-0.9, 0.9), "atanh": (-0.9, 0.9), "sinc": (0.2, 2), "deg2rad": (-2, 2), "rad2deg": (-2, 2),
    "log1p": (-0.5, 2), "expm1": (-2, 2), "log2": (0.5, 3), "log10": (0.5, 3), "exp2": (-2, 2),
    "square": (-2, 2), "reciprocal": (0.5, 2), "rsqrt": (0.5, 2),
    "erf": (-2, 2), "erfc": (-2, 2), "erfinv": (-0.8, 0.8),
    "sign": (0.1, 2), "sgn": (-2, -0.1), "floor": (0.1, 0.9), "ceil": (0.1, 0.9), "trunc": (0.1, 0.9),
    "frac": (0.1, 0.9), "round": (0.1, 0.4), "nan_to_num": (-2, 2),
}  # fmt: skip

# Binary elementwise ops and the intervals of their two inputs.
BINARY_DOMAINS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "logaddexp": ((-2, 2), (-2, 2)), "logaddexp2": ((-2, 2), (-2, 2)),
    "fmod": ((0.2, 0.9), (1.1, 2)), "remainder": ((0.2, 0.9), (1.1, 2)), "floor_divide": ((0.2, 0.9), (1.1, 2)),
    "copysign": ((0.5, 2), (0.5, 2)), "hypot": ((0.5, 2), (0.5, 2)),
    "atan2": ((0.5, 2), (0.5, 2)), "arctan2": ((0.5, 2), (0.5, 2)), "xlogy": ((-2, 2), (0.5, 2)),
}  # fmt: skip


def builtin_checks(rng: np.random.Generator) -> list[Check]:
    """(name, function, inputs) for every built-in op and loss, on smooth random inputs.

    >>> import numpy as np
    >>> name, fn, inputs = builtin_checks(np.random.default_rng(0))[0]
    >>> name, fn(*inputs).shape
    ('add', (3, 4))
    """
    import microgradnn as mg  # the whole public namespace: this module is imported by the CLI only

    from .nn import functional as F
    from .ops import linalg as la
    from .ops.elementwise import maximum, minimum, where
    from .ops.shape import concatenate, stack

    def t(*shape: int, low: float = -2.0, high: float = 2.0) -> Tensor:
        return Tensor(rng.uniform(low, high, shape), requires_grad=True)

    def apart(*shape: int) -> tuple[Tensor, Tensor]:
        a = rng.uniform(-2, 2, shape)
        return Tensor(a, requires_grad=True), Tensor(
            a + rng.choice([-1, 1], shape) * rng.uniform(0.1, 1, shape), requires_grad=True
        )

    def distinct(*shape: int, scale: float = 0.5) -> Tensor:
        """Values with no ties (so orderings are unambiguous), ``scale`` apart."""
        return Tensor(rng.permutation(int(np.prod(shape))).reshape(shape) * scale, requires_grad=True)

    def pd(n: int) -> Tensor:
        """A well-conditioned matrix: the identity doubled, slightly perturbed."""
        return Tensor(rng.uniform(-0.3, 0.3, (n, n)) + 2 * np.eye(n), requires_grad=True)

    def mixed(out: Tensor) -> Tensor:
        # Weight each output element differently, so a wrong gradient cannot hide behind a
        # symmetric sum (a gradient that is right only for sum() would pass without it).
        return out * Tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape))

    weights = rng.uniform(0.5, 1.5, (3, 4))
    labels = rng.integers(0, 4, 3)
    probs = rng.dirichlet(np.ones(4), 3)
    signs = rng.choice([-1.0, 1.0], 3)
    index = rng.integers(0, 3, (2, 4))
    target, half = Tensor(weights), Tensor(weights - 0.5)

    def q() -> Tensor:
        """Class probabilities (a differentiable target)."""
        return Tensor(probs, requires_grad=True)

    checks: list[Check] = [  # name: the op's public name (F. and linalg. as prefixes), then a note
        ("add", lambda a, b: a + b, (t(3, 4), t(4))),
        ("sub", lambda a, b: a - b, (t(3, 1), t(3, 4))),
        ("mul", lambda a, b: a * b, (t(3, 4), t(1, 4))),
        ("div", lambda a, b: a / b, (t(3, 4), t(3, 4, low=0.5, high=2))),
        ("pow", lambda a: a**3, (t(3, 4),)),
        ("pow (tensor exponent)", lambda a, b: a**b, (t(3, 4, low=0.5, high=2), t(3, 4))),
        ("neg", lambda a: -a, (t(3, 4),)),
        ("matmul", lambda a, b: a @ b, (t(3, 4), t(4, 2))),
        ("matmul (batched)", lambda a, b: a @ b, (t(2, 3, 4), t(4))),
        ("exp", lambda a: a.exp(), (t(3, 4),)),
        ("log", lambda a: a.log(), (t(3, 4, low=0.5, high=3),)),
        ("sqrt", lambda a: a.sqrt(), (t(3, 4, low=0.5, high=3),)),
        ("abs", lambda a: a.abs(), (t(3, 4, low=0.5, high=2),)),
        ("tanh", lambda a: a.tanh(), (t(3, 4),)),
        ("sigmoid", lambda a: a.sigmoid(), (t(3, 4),)),
        ("relu", lambda a: a.relu(), (t(3, 4, low=0.1, high=2),)),
        ("leaky_relu", lambda a: F.leaky_relu(a, 0.1), (t(3, 4, low=-2, high=-0.1),)),
        ("clip", lambda a: a.clip(-5, 5), (t(3, 4),)),
        ("clamp", lambda a: mg.clamp(a, -1.5, 1.5), (t(3, 4, low=-1, high=1),)),
        ("clamp_min", lambda a: mg.clamp_min(a, -1.5), (t(3, 4, low=-1, high=1),)),
        ("clamp_max", lambda a: mg.clamp_max(a, 1.5), (t(3, 4, low=-1, high=1),)),
        ("maximum", maximum, apart(3, 4)),
        ("minimum", minimum, apart(3, 4)),
        ("where", lambda a, b: where(a.data > 0, a, b), (t(3, 4), t(3, 4))),
        ("lerp", lambda a, b, w: mg.lerp(a, b, w), (t(3, 4), t(4), t(3, 1))),
        ("sum", lambda a: a.sum(axis=1), (t(3, 4),)),
        ("nansum", lambda a: mg.nansum(a, dim=0), (t(3, 4),)),
        ("mean", lambda a: a.mean(axis=0, keepdims=True), (t(3, 4),)),
        ("nanmean", lambda a: mg.nanmean(a, dim=1), (t(3, 4),)),
        ("prod", lambda a: mg.prod(a, dim=1), (t(3, 4, low=0.5, high=1.5),)),
        ("max", lambda a: a.max(dim=1).values, (distinct(3, 4),)),
        ("min", lambda a: a.min(), (distinct(3, 4),)),
        ("amax", lambda a: mg.amax(a, dim=(0, 1)), (distinct(2, 3, 2),)),
        ("amin", lambda a: mg.amin(a, dim=-1), (distinct(3, 4),)),
        ("median", lambda a: mg.median(a, dim=1).values, (distinct(3, 5),)),
        ("quantile", lambda a: mg.quantile(a, 0.3, dim=0), (distinct(5, 2),)),
        ("kthvalue", lambda a: mg.kthvalue(a, 2, dim=0).values, (distinct(4, 3),)),
        ("sort", lambda a: mixed(mg.sort(a, dim=1, descending=True).values), (distinct(3, 4),)),
        ("topk", lambda a: mixed(mg.topk(a, 2).values), (distinct(3, 4),)),
        ("var", lambda a: a.var(axis=1), (t(3, 4),)),
        ("std", lambda a: mg.std(a, dim=0, correction=0), (t(3, 4),)),
        ("norm", lambda a: mg.norm(a, p=3, dim=1), (t(3, 4, low=0.2, high=2),)),
        ("logsumexp", lambda a: a.logsumexp(axis=1), (t(3, 4),)),
        ("cumsum", lambda a: mixed(mg.cumsum(a, dim=1)), (t(3, 4),)),
        ("cumprod", lambda a: mixed(mg.cumprod(a, dim=0)), (t(3, 4, low=0.5, high=1.5),)),
        ("logcumsumexp", lambda a: mixed(mg.logcumsumexp(a, dim=1)), (t(3, 4),)),
        ("cummax", lambda a: mixed(mg.cummax(a, dim=1).values), (distinct(3, 4),)),
        ("cummin", lambda a: mixed(mg.cummin(a, dim=0).values), (distinct(3, 4),)),
        ("diff", lambda a: mixed(mg.diff(a, n=2, dim=1)), (t(3, 5),)),
        ("softmax", lambda a: a.softmax(axis=1) * Tensor(weights), (t(3, 4),)),
        ("log_softmax", lambda a: a.log_softmax(axis=1) * Tensor(weights), (t(3, 4),)),
        ("reshape", lambda a: a.reshape(2, 6) * Tensor(weights.reshape(2, 6)), (t(3, 4),)),
        ("view", lambda a: mixed(mg.view(a, 4, 3)), (t(3, 4),)),
        ("flatten", lambda a: mixed(mg.flatten(a, 1)), (t(2, 3, 2),)),
        ("unflatten", lambda a: mixed(mg.unflatten(a, 1, (2, 2))), (t(3, 4),)),
        ("squeeze", lambda a: mixed(mg.squeeze(a, 1)), (t(3, 1, 4),)),
        ("unsqueeze", lambda a: mixed(mg.unsqueeze(a, -1)), (t(3, 4),)),
        ("expand_dims", lambda a: mixed(mg.expand_dims(a, 0)), (t(3, 4),)),
        ("transpose", lambda a: a.T * Tensor(weights.T), (t(3, 4),)),
        ("swapaxes", lambda a: mixed(mg.swapaxes(a, 0, 2)), (t(2, 3, 4),)),
        ("permute", lambda a: mixed(mg.permute(a, 2, 0, 1)), (t(2, 3, 4),)),
        ("movedim", lambda a: mixed(mg.movedim(a, 0, -1)), (t(2, 3, 4),)),
        ("moveaxis", lambda a: mixed(mg.moveaxis(a, (0, 1), (2, 0))), (t(2, 3, 4),)),
        ("t", lambda a: mixed(mg.t(a)), (t(3, 4),)),
        ("expand", lambda a: mixed(mg.expand(a, 2, 3, 4)), (t(3, 1),)),
        ("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), (t(3, 1),)),
        ("tile", lambda a: mixed(mg.tile(a, (2, 1))), (t(3, 4),)),
        ("repeat", lambda a: mixed(a.repeat(2, 1, 2)), (t(3, 4),)),
        ("repeat_interleave", lambda a: mixed(mg.repeat_interleave(a, [1, 2, 3], dim=0)), (t(3, 4),)),
        ("flip", lambda a: mixed(mg.flip(a, (0, 1))), (t(3, 4),)),
        ("roll", lambda a: mixed(mg.roll(a, 1, 1)), (t(3, 4),)),
        ("rot90", lambda a: mixed(mg.rot90(a, 1, (0, 1))), (t(3, 4),)),
        ("clone", lambda a: mixed(mg.clone(a)), (t(3, 4),)),
        ("getitem", lambda a: a[[0, 0, 2], 1:], (t(3, 4),)),
        ("concatenate", lambda a, b: concatenate([a, b], axis=1), (t(3, 4), t(3, 2))),
        ("cat", lambda a, b: mixed(mg.cat([a, b], dim=0)), (t(3, 4), t(2, 4))),
        ("stack", lambda a, b: stack([a, b], axis=0), (t(3, 4), t(3, 4))),
        ("hstack", lambda a, b: mixed(mg.hstack([a, b])), (t(3, 4), t(3, 1))),
        ("vstack", lambda a, b: mixed(mg.vstack([a, b])), (t(4), t(2, 4))),
        ("dstack", lambda a, b: mixed(mg.dstack([a, b])), (t(3, 4), t(3, 4))),
        ("column_stack", lambda a, b: mixed(mg.column_stack([a, b])), (t(3), t(3, 2))),
        ("split", lambda a: mixed(mg.split(a, [1, 3], dim=1)[1]), (t(3, 4),)),
        ("array_split", lambda a: mixed(mg.array_split(a, 2, axis=0)[0]), (t(3, 4),)),
        ("chunk", lambda a: mixed(mg.chunk(a, 2, dim=1)[1]), (t(3, 4),)),
        ("unbind", lambda a: mixed(mg.unbind(a, 1)[2]), (t(3, 4),)),
        ("pad", lambda a: mixed(mg.pad(a, ((1, 0), (2, 1)), mode="reflect")), (t(3, 4),)),
        ("F.pad", lambda a: mixed(F.pad(a, (1, 2, 0, 1), mode="replicate")), (t(3, 4),)),
        ("gather", lambda a: mixed(mg.gather(a, 0, index)), (t(3, 4),)),
        ("scatter", lambda a, s: mixed(mg.scatter(a, 1, np.array([[2], [0], [1]]), s)), (t(3, 4), t(3, 1))),
        ("scatter_add", lambda a, s: mixed(mg.scatter_add(a, 0, index, s)), (t(3, 4), t(2, 4))),
        ("index_select", lambda a: mixed(mg.index_select(a, 1, [3, 0, 3])), (t(3, 4),)),
        ("take_along_axis", lambda a: mixed(mg.take_along_axis(a, index.T[:3], axis=1)), (t(3, 4),)),
        ("take_along_dim", lambda a: mixed(mg.take_along_dim(a, index.ravel())), (t(3, 4),)),
        ("masked_select", lambda a: mixed(mg.masked_select(a, weights > 1)), (t(3, 4),)),
        ("masked_fill", lambda a: mixed(mg.masked_fill(a, weights > 1, 0.5)), (t(3, 4),)),
        ("einsum", lambda a, b: la.einsum("bij,jk->bki", a, b), (t(2, 3, 4), t(4, 2))),
        ("einsum (diagonal)", lambda a: la.einsum("ii->i", a) * 2, (t(3, 3),)),
        ("tensordot", lambda a, b: mg.tensordot(a, b, dims=([1, 2], [0, 1])), (t(2, 3, 4), t(3, 4, 2))),
        ("outer", mg.outer, (t(3), t(4))),
        ("inner", mg.inner, (t(3, 4), t(2, 4))),
        ("dot", mg.dot, (t(4), t(4))),
        ("kron", mg.kron, (t(2, 3), t(2, 2))),
        ("cross", lambda a, b: la.cross(a, b, dim=-1), (t(4, 3), t(3))),
        ("tril", lambda a: la.tril(a, -1) * a, (t(3, 4),)),
        ("triu", lambda a: mg.triu(a, 1) * a, (t(3, 4),)),
        ("diag", lambda a: mixed(mg.diag(a, 1)), (t(3),)),
        ("diagonal", lambda a: la.diagonal(a, 1) ** 2, (t(3, 4),)),
        ("diag_embed", lambda a: la.diag_embed(a) ** 2, (t(2, 3),)),
        ("trace", lambda a: mg.trace(a) ** 2, (t(3, 4),)),
        ("linalg.inv", la.inv, (pd(3),)),
        ("linalg.det", la.det, (pd(3),)),
        ("linalg.slogdet", lambda a: mg.linalg.slogdet(a).logabsdet, (pd(3),)),
        ("logdet", mg.logdet, (pd(3),)),
        ("linalg.svdvals", lambda a: mixed(mg.linalg.svdvals(a)), (t(4, 3),)),
        ("linalg.matrix_norm (2)", lambda a: mg.linalg.matrix_norm(a, ord=2), (t(2, 3, 4),)),
        ("linalg.matrix_norm (nuc)", lambda a: mg.linalg.matrix_norm(a, ord="nuc", dim=(0, 2)), (t(2, 3, 4),)),
        ("linalg.cross", mg.linalg.cross, (t(4, 3), t(3))),
        ("linalg.qr (wide)", lambda a: la.qr(a).Q * la.qr(a).R.sum(), (t(3, 5),)),
        ("linalg.solve", la.solve, (pd(3), t(3))),
        ("linalg.cholesky", lambda a: la.cholesky(a @ a.mT + 3 * Tensor(np.eye(3))), (t(3, 3),)),
        ("linalg.qr", lambda a: la.qr(a).Q * la.qr(a).R.sum(), (t(4, 3),)),
        ("linalg.norm", lambda a: mg.linalg.norm(a, dim=1), (t(3, 4),)),
        ("linalg.vector_norm", lambda a: mg.linalg.vector_norm(a, ord=3, dim=0), (t(3, 4, low=0.2, high=2),)),
        ("linalg.matrix_norm", lambda a: mg.linalg.matrix_norm(a), (t(2, 3, 4),)),
        ("F.linear", F.linear, (t(2, 3), t(4, 3), t(4))),
        ("F.layer_norm", lambda a, w, b: mixed(F.layer_norm(a, (4,), w, b)), (t(3, 4), t(4), t(4))),
        ("F.normalize", lambda a: mixed(F.normalize(a, dim=1)), (t(3, 4),)),
        ("F.cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=1), (t(3, 4), t(3, 4))),
        ("F.pairwise_distance", F.pairwise_distance, apart(3, 4)),
        ("F.pairwise_distance (p=inf)", lambda a, b: F.pairwise_distance(a, b, p=np.inf), apart(3, 4)),
        ("F.normalize (p=3)", lambda a: mixed(F.normalize(a, p=3, dim=0)), (t(3, 4),)),
        ("F.softmin", lambda a: F.softmin(a, dim=1) * Tensor(weights), (t(3, 4),)),
        ("mse_loss", lambda a: F.mse_loss(a, target), (t(3, 4),)),
        ("binary_cross_entropy", lambda a: F.binary_cross_entropy(a, half), (t(3, 4, low=0.1, high=0.9),)),
        ("binary_cross_entropy_with_logits", lambda a: F.binary_cross_entropy_with_logits(a, half), (t(3, 4),)),
        ("cross_entropy", lambda a: F.cross_entropy(a, labels), (t(3, 4),)),
        ("cross_entropy (probabilities)", lambda a, p: F.cross_entropy(a, p, label_smoothing=0.1), (t(3, 4), q())),
        ("nll_loss", lambda a: F.nll_loss(a, labels), (t(3, 4),)),
        ("F.l1_loss", lambda a: F.l1_loss(a, Tensor(weights)), (t(3, 4, low=-1, high=0),)),
        ("F.smooth_l1_loss", lambda a: F.smooth_l1_loss(a, target, beta=5.0), (t(3, 4),)),
        ("F.huber_loss", lambda a: F.huber_loss(a, target, delta=5.0), (t(3, 4),)),
        ("F.kl_div", lambda a, p: F.kl_div(a, p, reduction="batchmean"), (t(3, 4, low=-3, high=-0.5), q())),
        ("F.poisson_nll_loss", lambda a: F.poisson_nll_loss(a, target), (t(3, 4),)),
        ("F.gaussian_nll_loss", lambda a, v: F.gaussian_nll_loss(a, target, v), (t(3, 4), t(3, 4, low=0.5, high=2))),
        ("F.cosine_embedding_loss", lambda a, b: F.cosine_embedding_loss(a, b, np.ones(3)), (t(3, 4), t(3, 4))),
        ("F.margin_ranking_loss", lambda a, b: F.margin_ranking_loss(a, b, signs, margin=10.0), (t(3), t(3))),
        ("F.hinge_embedding_loss", lambda a: F.hinge_embedding_loss(a, -np.ones((3, 4)), margin=5.0), (t(3, 4),)),
        ("F.multi_margin_loss", lambda a: F.multi_margin_loss(a, labels, p=2, margin=10.0), (t(3, 4),)),
        ("F.soft_margin_loss", lambda a: F.soft_margin_loss(a, np.sign(weights - 1)), (t(3, 4),)),
        ("F.triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, 10.0), (t(3, 4), t(3, 4), t(3, 4))),
    ]  # fmt: skip
    for name, (low, high) in UNARY_DOMAINS.items():
        checks.append((name, getattr(mg, name), (t(3, 4, low=low, high=high),)))
    for name, ((low_a, high_a), (low_b, high_b)) in BINARY_DOMAINS.items():
        checks.append((name, getattr(mg, name), (t(3, 4, low=low_a, high=high_a), t(4, low=low_b, high=high_b))))
    checks += _activation_checks(t)
    checks += _layer_checks(t, distinct, mixed)
    return checks


def _activation_checks(t: Callable[..., Tensor]) -> list[Check]:
    """The activations of nn.functional, each on inputs away from its kinks."""
    from .nn import functional as F

    return [
        ("F.gelu", F.gelu, (t(3, 4),)),
        ("F.gelu (tanh)", lambda a: F.gelu(a, approximate="tanh"), (t(3, 4),)),
        ("F.silu", F.silu, (t(3, 4),)),
        ("F.mish", F.mish, (t(3, 4),)),
        ("F.softplus", lambda a: F.softplus(a, beta=2.0), (t(3, 4),)),
        ("F.elu", F.elu, (t(3, 4, low=-2, high=-0.1),)),
        ("F.celu", lambda a: F.celu(a, 0.5), (t(3, 4, low=-2, high=-0.1),)),
        ("F.selu", F.selu, (t(3, 4, low=-2, high=-0.1),)),
        ("F.hardtanh", F.hardtanh, (t(3, 4, low=-0.9, high=0.9),)),
        ("F.relu6", F.relu6, (t(3, 4, low=0.2, high=5.8),)),
        ("F.hardsigmoid", F.hardsigmoid, (t(3, 4, low=-2.9, high=2.9),)),
        ("F.hardswish", F.hardswish, (t(3, 4, low=-2.9, high=2.9),)),
        ("F.logsigmoid", F.logsigmoid, (t(3, 4),)),
        ("F.softsign", F.softsign, (t(3, 4, low=0.3, high=2.0),)),
        ("F.tanhshrink", F.tanhshrink, (t(3, 4),)),
        ("F.softshrink", F.softshrink, (t(3, 4, low=0.6, high=2),)),
        ("F.hardshrink", F.hardshrink, (t(3, 4, low=0.6, high=2),)),
        ("F.threshold", lambda a: F.threshold(a, 0.1, -1.0), (t(3, 4, low=0.3, high=2.0),)),
        ("F.glu", lambda a: F.glu(a, dim=1), (t(3, 4),)),
        ("F.prelu", F.prelu, (t(3, 4, low=-2, high=-0.1), t(4, low=0.1, high=0.5))),
    ]  # fmt: skip


def _layer_checks(
    t: Callable[..., Tensor], distinct: Callable[..., Tensor], mixed: Callable[[Tensor], Tensor]
) -> list[Check]:
    """The functional forms of the layers: embedding, normalization, convolution, pooling,
    resizing and attention."""
    from .nn import functional as F

    zeros4, twos4 = np.zeros(4), np.full(4, 2.0)  # running statistics

    def image(channels: int) -> Tensor:
        """A batch of one image of ``channels`` channels, 4x4."""
        return t(1, channels, 4, 4)

    def affine(*shape: int) -> tuple[Tensor, Tensor, Tensor]:
        """An input of ``shape``, and a weight and a bias for its dim 1."""
        return t(*shape), t(shape[1]), t(shape[1])

    return [
        ("F.embedding", lambda w: mixed(F.embedding(np.array([[0, 2], [2, 1]]), w) ** 2), (t(3, 4),)),
        ("F.batch_norm", lambda a, w, b: mixed(F.batch_norm(a, None, None, w, b, training=True)), affine(3, 4)),
        ("F.batch_norm (eval)", lambda a, w, b: mixed(F.batch_norm(a, zeros4, twos4, w, b)) ** 2, affine(3, 4)),
        ("F.group_norm", lambda a, w, b: mixed(F.group_norm(a, 2, w, b)), (t(3, 4), t(4), t(4))),
        ("F.instance_norm", lambda a, w, b: mixed(F.instance_norm(a, weight=w, bias=b)), (t(2, 3, 4), t(3), t(3))),
        ("F.rms_norm", lambda a, w: mixed(F.rms_norm(a, (4,), w)), (t(3, 4), t(4))),
        ("F.conv1d", lambda a, w, b: mixed(F.conv1d(a, w, b, stride=2, padding=1)), (t(2, 2, 5), t(3, 2, 2), t(3))),
        ("F.conv2d", lambda a, w: mixed(F.conv2d(a, w, None, 1, "same", 2, 2)), (image(2), t(4, 1, 2, 2))),
        (
            "F.conv2d (reflect)",
            lambda a, w: mixed(F.conv2d(F.pad(a, (1, 1, 1, 1), "reflect"), w)),
            (image(1), t(2, 1, 2, 2)),
        ),
        ("F.conv_transpose1d", lambda a, w: mixed(F.conv_transpose1d(a, w, None, 2, 0, 1)), (t(1, 2, 3), t(2, 1, 3))),
        (
            "F.conv_transpose2d",
            lambda a, w, b: mixed(F.conv_transpose2d(a, w, b, 2, 1)),
            (image(2), t(2, 3, 3, 3), t(3)),
        ),
        ("F.unfold", lambda a: mixed(F.unfold(a, 2, stride=1, padding=1)), (t(1, 2, 3, 3),)),
        ("F.fold", lambda a: mixed(F.fold(a, (3, 3), 2)), (t(1, 8, 4),)),
        ("F.max_pool1d", lambda a: mixed(F.max_pool1d(a, 2)), (distinct(1, 2, 6),)),
        ("F.max_pool2d", lambda a: mixed(F.max_pool2d(a, 2, stride=1, padding=1)), (distinct(1, 1, 3, 4),)),
        ("F.avg_pool1d", lambda a: mixed(F.avg_pool1d(a, 3, stride=2, padding=1, ceil_mode=True)), (t(1, 2, 6),)),
        ("F.avg_pool2d", lambda a: mixed(F.avg_pool2d(a, 2, count_include_pad=False, padding=1)), (t(1, 1, 3, 4),)),
        ("F.adaptive_avg_pool1d", lambda a: mixed(F.adaptive_avg_pool1d(a, 3)), (t(1, 2, 5),)),
        ("F.adaptive_avg_pool2d", lambda a: mixed(F.adaptive_avg_pool2d(a, (2, 3))), (t(1, 1, 5, 4),)),
        ("F.adaptive_max_pool2d", lambda a: mixed(F.adaptive_max_pool2d(a, 2)), (distinct(1, 1, 5, 4),)),
        ("F.interpolate", lambda a: mixed(F.interpolate(a, scale_factor=2, mode="bilinear")), (t(1, 1, 2, 3),)),
        ("F.interpolate (nearest)", lambda a: mixed(F.interpolate(a, size=(3, 5))), (t(1, 1, 2, 3),)),
        (
            "F.scaled_dot_product_attention",
            lambda q, k, v: mixed(F.scaled_dot_product_attention(q, k, v, None, 0.0, True)),
            (t(2, 3, 4), t(2, 3, 4), t(2, 3, 2)),
        ),
    ]
