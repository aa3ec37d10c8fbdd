"""The two hand-written NumPy tutorials, reproduced with Tensors: same numbers, exactly."""

import numpy as np
import pytest

import microgradnn as mg

NEURON_X = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]])
TRASK_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
Y = np.array([[0, 1, 1, 0]]).T


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def neuron_by_hand(steps):
    np.random.seed(1)
    w = 2 * np.random.random((3, 1)) - 1
    x = NEURON_X.astype(float)
    for _ in range(steps):
        out = sigmoid(x @ w)
        w += x.T @ ((Y - out) * out * (1 - out))
    return w


def test_neuron_weights_match_the_hand_written_loop_after_10000_steps():
    expected = neuron_by_hand(10_000)
    np.random.seed(1)
    w = mg.Tensor(2 * np.random.random((3, 1)) - 1, requires_grad=True)
    x, y = mg.Tensor(NEURON_X), mg.Tensor(Y)
    for _ in range(10_000):
        out = (x @ w).sigmoid()
        loss = 0.5 * ((y - out) ** 2).sum()
        w.grad = None
        loss.backward()
        w.data -= 1.0 * w.grad
    np.testing.assert_allclose(w.data, expected, rtol=0, atol=1e-10)
    prediction = (mg.Tensor([1, 0, 0]) @ w).sigmoid()
    assert str(prediction.data) == "[0.99993704]"


def test_neuron_gradient_equals_the_hand_derived_one_at_each_of_the_first_100_steps():
    np.random.seed(1)
    w_hand = 2 * np.random.random((3, 1)) - 1
    w = mg.Tensor(w_hand.copy(), requires_grad=True)
    x, y = mg.Tensor(NEURON_X), mg.Tensor(Y)
    xf = NEURON_X.astype(float)
    for _ in range(100):
        out_hand = sigmoid(xf @ w_hand)
        hand_grad = -(xf.T @ ((Y - out_hand) * out_hand * (1 - out_hand)))
        out = (x @ w).sigmoid()
        loss = 0.5 * ((y - out) ** 2).sum()
        w.grad = None
        loss.backward()
        np.testing.assert_allclose(w.grad, hand_grad, rtol=0, atol=1e-12)
        with mg.no_grad():
            w -= 1.0 * w.grad  # the in-place idiom, inside no_grad
        w_hand -= hand_grad


def trask_by_hand(hidden, steps, record_every=None):
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, hidden)) - 1
    syn1 = 2 * np.random.random((hidden, 1)) - 1
    x = TRASK_X.astype(float)
    grads = []
    for step in range(steps):
        l1 = sigmoid(x @ syn0)
        l2 = sigmoid(l1 @ syn1)
        l2_delta = (Y - l2) * l2 * (1 - l2)
        l1_delta = l2_delta @ syn1.T * l1 * (1 - l1)
        if record_every and step % record_every == 0:
            grads.append((-(x.T @ l1_delta), -(l1.T @ l2_delta)))
        syn1 += l1.T @ l2_delta
        syn0 += x.T @ l1_delta
    return syn0, syn1, grads


@pytest.mark.parametrize("hidden", [4, 6])
def test_two_layer_network_matches_the_hand_written_loop(hidden):
    hand0, hand1, hand_grads = trask_by_hand(hidden, 10_000, record_every=97)
    np.random.seed(1)
    syn0 = mg.Tensor(2 * np.random.random((3, hidden)) - 1, requires_grad=True)
    syn1 = mg.Tensor(2 * np.random.random((hidden, 1)) - 1, requires_grad=True)
    x, y = mg.Tensor(TRASK_X), mg.Tensor(Y)
    checked = 0
    for step in range(10_000):
        l2 = ((x @ syn0).sigmoid() @ syn1).sigmoid()
        loss = 0.5 * ((y - l2) ** 2).sum()
        syn0.grad = syn1.grad = None
        loss.backward()
        if step % 97 == 0:
            g0, g1 = hand_grads[step // 97]
            np.testing.assert_allclose(syn0.grad, g0, rtol=0, atol=1e-12)
            np.testing.assert_allclose(syn1.grad, g1, rtol=0, atol=1e-12)
            checked += 1
        with mg.no_grad():
            syn0 -= syn0.grad
            syn1 -= syn1.grad
    assert checked == len(hand_grads) > 100
    np.testing.assert_allclose(syn0.data, hand0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(syn1.data, hand1, rtol=0, atol=1e-9)
    if hidden == 4:
        with mg.no_grad():
            prediction = ((x @ syn0).sigmoid() @ syn1).sigmoid()
        assert str(prediction.data.ravel()) == "[0.00702172 0.99101005 0.99215207 0.0104785 ]"


@pytest.mark.parametrize("hidden", [4, 6])
def test_two_layer_network_as_mlp_with_sgd_and_mse_sum_matches_the_tutorial(hidden):
    hand0, hand1, _ = trask_by_hand(hidden, 10_000)
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, hidden)) - 1
    syn1 = 2 * np.random.random((hidden, 1)) - 1
    model = mg.nn.MLP(3, hidden, 1, bias=False, output_activation=mg.nn.Sigmoid)
    model.load_state_dict({"0.weight": syn0, "2.weight": syn1})
    optimizer = mg.optim.SGD(model.parameters(), lr=1.0)
    loss_fn = mg.nn.MSELoss(reduction="sum")
    x, y = mg.Tensor(TRASK_X), mg.Tensor(Y)
    for _ in range(10_000):
        loss = 0.5 * loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(model[0].weight.data, hand0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model[2].weight.data, hand1, rtol=0, atol=1e-9)
