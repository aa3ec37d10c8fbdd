"""Module's buffers, containers and submodule paths, and Linear / Flatten / Unflatten."""

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.errors import ShapeError


class WithStats(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2, rng=np.random.default_rng(0))
        self.register_buffer("running", np.zeros(2))
        self.register_buffer("count", np.array(0, dtype=np.int64))
        self.register_buffer("scratch", np.ones(2), persistent=False)


def test_buffers_are_state_but_not_parameters():
    m = nn.Sequential(WithStats())
    assert [n for n, _ in m.named_parameters()] == ["0.lin.weight", "0.lin.bias"]
    assert [n for n, _ in m.named_buffers()] == ["0.running", "0.count", "0.scratch"]
    # PyTorch's order: a module's parameters, then its persistent buffers, then its children.
    assert list(m.state_dict()) == ["0.running", "0.count", "0.lin.weight", "0.lin.bias"]
    m[0].running = m[0].running + 1.0  # assigning replaces the buffer
    assert m.state_dict()["0.running"].tolist() == [1.0, 1.0]
    assert m.state_dict()["0.running"] is not m[0].running  # a copy


def test_buffers_load_convert_and_refuse():
    m = WithStats()
    state = m.state_dict()
    state["running"] = np.array([3.0, 4.0])
    state["count"] = np.array(7)
    m.load_state_dict(state)
    assert m.running.tolist() == [3.0, 4.0] and int(m.count) == 7
    m.float()
    assert m.running.dtype == np.float32 and m.count.dtype == np.int64 and m.lin.weight.dtype == np.float32
    assert m.scratch.dtype == np.float32
    with pytest.raises(RuntimeError, match="running: shape"):
        m.load_state_dict({**m.state_dict(), "running": np.zeros(3)})
    with pytest.raises(RuntimeError, match="missing key: count"):
        m.load_state_dict({k: v for k, v in m.state_dict().items() if k != "count"})
    with pytest.raises(TypeError, match="buffer 'x' must hold numbers"):
        m.register_buffer("x", np.array(["a"]))
    with pytest.raises(KeyError, match="already a parameter"):
        m.lin.register_buffer("weight", np.zeros(1))


def test_buffer_none_and_replacement_by_a_parameter():
    m = nn.Module()
    m.register_buffer("stat", None)
    assert list(m.named_buffers()) == [] and m.stat is None and dict(m.state_dict()) == {}
    m.stat = nn.Parameter(np.ones(1))  # a Parameter takes the name over
    assert [n for n, _ in m.named_parameters()] == ["stat"] and list(m.named_buffers()) == []


def test_get_submodule_and_register_module():
    model = nn.Sequential(nn.Sequential(nn.Tanh(), nn.ReLU()))
    assert isinstance(model.get_submodule("0.1"), nn.ReLU)
    assert model.get_submodule("") is model
    with pytest.raises(AttributeError, match="0 has no submodule '5'"):
        model.get_submodule("0.5")
    model.register_module("head", nn.Linear(2, 1))
    assert "head.weight" in model.state_dict()
    with pytest.raises(KeyError, match="without '.'"):
        model.add_module("a.b", nn.Tanh())


def test_module_dict():
    d = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Tanh()})
    d["c"] = nn.Linear(2, 1)
    assert list(d) == ["a", "b", "c"] and "b" in d and len(d) == 3
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias", "c.weight", "c.bias"]
    assert isinstance(d.pop("b"), nn.Tanh) and d.keys() == ["a", "c"]
    assert [k for k, _ in d.items()] == ["a", "c"] and len(d.values()) == 2
    with pytest.raises(TypeError, match="'x' is int, not a Module"):
        d.update({"x": 3})
    with pytest.raises(NotImplementedError):
        d(1)


def test_parameter_list_and_dict():
    pl = nn.ParameterList([np.ones(2), nn.Parameter(np.zeros(1))])
    pl.append([5.0])
    pl[0] = np.full(3, 2.0)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"] and pl[0].shape == (3,) and len(pl) == 3
    assert all(p.requires_grad for p in pl)
    with pytest.raises(TypeError, match="wrap it in nn.Parameter"):
        pl.append(mg.ones(2))
    pd = nn.ParameterDict({"w": np.ones((2, 2))})
    pd["b"] = np.zeros(2)
    assert list(pd) == ["w", "b"] and pd["b"].shape == (2,) and "w" in pd
    del pd["w"]
    assert pd.keys() == ["b"] and len(pd.values()) == 1 and pd.items()[0][0] == "b"
    with pytest.raises(KeyError):
        pd["a.b"] = np.ones(1)


def test_linear_is_pytorchs_layout_and_init(rng):
    layer = nn.Linear(5, 3, rng=np.random.default_rng(0))
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert np.abs(layer.weight.data).max() <= 1 / np.sqrt(5)
    x = rng.normal(size=(4, 2, 5))
    np.testing.assert_allclose(layer(mg.Tensor(x)).data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-12)
    report = mg.gradcheck(lambda t, w, b: nn.functional.linear(t, w, b), (mg.Tensor(x), layer.weight, layer.bias))
    assert report
    assert nn.Linear(2, 2, bias=False).bias is None
    assert nn.Linear(2, 2, dtype=np.float32)(mg.ones((1, 2), dtype=np.float32)).dtype == np.float32
    with pytest.raises(ShapeError, match=r"linear: input of shape \(4, 2\) does not match weight of shape \(3, 5\)"):
        layer(mg.ones((4, 2)))
    with pytest.raises(TypeError, match="device"):
        nn.Linear(2, 2, device="cpu")  # type: ignore[call-arg]


def test_linear_loads_a_pytorch_state_dict():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Linear(4, 3).double()
    ours = nn.Linear(4, 3)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 4))
    np.testing.assert_allclose(ours(mg.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_flatten_and_unflatten():
    x = mg.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 12) and nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Unflatten(1, (3, 4))(y).shape == (2, 3, 4)
    nn.Unflatten(1, (3, 4))(y).sum().backward()
    assert x.grad is not None and x.grad.shape == (2, 3, 4)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
