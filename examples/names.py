"""Names: character-level language models in the style of Karpathy's makemore.

Three models learn to continue a name one letter at a time, on 5,163 US first names (the 1990
census lists, bundled in ``examples/data/names.txt``, public domain); "." marks the start and the
end of a name. 90% of the names train, 10% (dev) measure the mean negative log-likelihood per
character, in nats, end marks included:

1. a bigram table: counts of each letter after each letter, smoothed (the baseline);
2. an embedding + MLP (Bengio et al. 2003, makemore part 2): the last 3 letters, embedded,
   concatenated, one tanh hidden layer;
3. a small causal Transformer: token and position embeddings, two pre-norm
   ``TransformerEncoderLayer``\\s with a causal mask, a final LayerNorm and a linear head.

Each model prints a few names sampled from it and its ``dev loss``; each beats the bigram.
Run: ``python examples/names.py`` (``--quick`` trains for a few seconds only).
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.nn import functional as F

try:  # optional (the bench extra): these matrices are small, and one BLAS thread runs them fastest
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - depends on the machine
    threadpool_limits = None

DATA = Path(__file__).resolve().parent / "data" / "names.txt"
CHARS = "." + "abcdefghijklmnopqrstuvwxyz"  # "." (index 0) starts and ends a name
STOI = {c: i for i, c in enumerate(CHARS)}
VOCAB = len(CHARS)
CONTEXT = 3  # the MLP's letters of context


def load_names(seed: int = 0) -> tuple[list[str], list[str]]:
    lines = DATA.read_text().splitlines()
    names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    order = np.random.default_rng(seed).permutation(len(names))
    names = [names[i] for i in order]
    cut = int(0.9 * len(names))
    return names[:cut], names[cut:]


def encode(name: str) -> list[int]:
    return [STOI[c] for c in name]


# ------------------------------------------------------------------ 1. bigram counts
def bigram(train: list[str], dev: list[str]) -> tuple[float, np.ndarray]:
    counts = np.ones((VOCAB, VOCAB))  # add-one smoothing
    for name in train:
        ids = [0] + encode(name) + [0]
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    nll = [-logp[a, b] for name in dev for a, b in zip([0] + encode(name), encode(name) + [0], strict=True)]
    return float(np.mean(nll)), logp


def sample_bigram(logp: np.ndarray, rng: np.random.Generator, count: int) -> list[str]:
    p = np.exp(logp)
    out = []
    for _ in range(count):
        ids, i = [], 0
        while True:
            i = int(rng.choice(VOCAB, p=p[i]))
            if i == 0 or len(ids) > 20:
                break
            ids.append(i)
        out.append("".join(CHARS[j] for j in ids))
    return out


# ------------------------------------------------------------------ 2. embedding + MLP
def windows(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each (last CONTEXT letters, next letter) pair of every name, padded with '.' on the left."""
    xs, ys = [], []
    for name in names:
        ctx = [0] * CONTEXT
        for i in encode(name) + [0]:
            xs.append(ctx)
            ys.append(i)
            ctx = ctx[1:] + [i]
    return np.array(xs), np.array(ys)


class MLP(nn.Module):
    def __init__(self, emb: int, hidden: int, rng: np.random.Generator) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, emb, rng=rng)
        self.hidden = nn.Linear(CONTEXT * emb, hidden, rng=rng)
        self.out = nn.Linear(hidden, VOCAB, rng=rng)

    def forward(self, idx: np.ndarray) -> mg.Tensor:
        e = self.embed(idx)  # (B, CONTEXT, emb)
        return self.out(self.hidden(e.reshape(e.shape[0], -1)).tanh())


# ------------------------------------------------------------------ 3. a causal Transformer
def sequences(names: list[str], block: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs '.' + name and targets name + '.', padded to ``block``; padding targets are -1
    (ignored by the loss). The causal mask keeps the padding out of every real position."""
    x = np.zeros((len(names), block), dtype=np.int64)
    y = np.full((len(names), block), -1, dtype=np.int64)
    for row, name in enumerate(names):
        ids = encode(name)
        x[row, 1 : len(ids) + 1] = ids
        y[row, : len(ids) + 1] = ids + [0]
    return x, y


class Transformer(nn.Module):
    def __init__(
        self, block: int, d_model: int, heads: int, layers: int, rng: np.random.Generator, dtype: type = np.float32
    ) -> None:
        super().__init__()
        self.block = block
        self.tokens = nn.Embedding(VOCAB, d_model, dtype=dtype, rng=rng)
        self.positions = nn.Embedding(block, d_model, dtype=dtype, rng=rng)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True, dtype=dtype, rng=rng
        )
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model, dtype=dtype)
        self.head = nn.Linear(d_model, VOCAB, dtype=dtype, rng=rng)

    def forward(self, idx: np.ndarray) -> mg.Tensor:
        length = idx.shape[1]
        causal = np.triu(np.ones((length, length), bool), 1)  # True: blocked (a later position)
        h = self.tokens(idx) + self.positions(np.arange(length))
        return self.head(self.norm(self.encoder(h, mask=causal)))


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, steps: int, batch: int, lr: float, seed: int) -> None:
    """Adam on random minibatches, the learning rate cut tenfold for the last fifth."""
    rng = np.random.default_rng(seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        if step == int(0.8 * steps):
            for group in opt.param_groups:
                group["lr"] = lr / 10
        rows = rng.integers(0, len(x), batch)
        logits = model(x[rows])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y[rows].reshape(-1), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()


@mg.no_grad()
def dev_loss(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    logits = model(x)
    return float(F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1), ignore_index=-1).item())


@mg.no_grad()
def sample(model: nn.Module, rng: np.random.Generator, count: int, block: int, window: bool) -> list[str]:
    """Draw names letter by letter; ``window``: the model sees the last CONTEXT letters only."""
    out = []
    for _ in range(count):
        ids = [0] * CONTEXT if window else [0]
        while len(ids) < block + (CONTEXT if window else 0):
            context = np.array([ids[-CONTEXT:]]) if window else np.array([ids])
            logits = model(context).data.reshape(-1, VOCAB)[-1]
            p = np.exp(logits - logits.max())
            i = int(rng.choice(VOCAB, p=p / p.sum()))
            if i == 0:
                break
            ids.append(i)
        out.append("".join(CHARS[j] for j in ids if j))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train for a few seconds (for the tests)")
    args = parser.parse_args()
    with threadpool_limits(limits=1, user_api="blas") if threadpool_limits else nullcontext():
        run(quick=args.quick)


def run(quick: bool) -> None:
    start = time.perf_counter()
    mg.manual_seed(0)
    train_names, dev_names = load_names()
    block = max(len(n) for n in train_names + dev_names) + 1
    print(f"{len(train_names)} training names, {len(dev_names)} dev names, {VOCAB} symbols, longest {block - 1}")

    base, logp = bigram(train_names, dev_names)
    print("bigram samples:", ", ".join(sample_bigram(logp, np.random.default_rng(1), 8)))
    print(f"bigram dev loss: {base:.4f}")

    mlp_steps, tf_steps = (300, 150) if quick else (5000, 2000)
    mlp = MLP(emb=10, hidden=200, rng=np.random.default_rng(2))
    train(mlp, *windows(train_names), steps=mlp_steps, batch=64, lr=1e-2, seed=3)
    print("mlp samples:", ", ".join(sample(mlp, np.random.default_rng(4), 8, block, window=True)))
    print(f"mlp dev loss: {dev_loss(mlp, *windows(dev_names)):.4f}")

    tf = Transformer(block, d_model=48, heads=4, layers=2, rng=np.random.default_rng(5))
    train(tf, *sequences(train_names, block), steps=tf_steps, batch=32, lr=3e-3, seed=6)
    print("transformer samples:", ", ".join(sample(tf, np.random.default_rng(7), 8, block, window=False)))
    print(f"transformer dev loss: {dev_loss(tf, *sequences(dev_names, block)):.4f}")
    print(f"time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
