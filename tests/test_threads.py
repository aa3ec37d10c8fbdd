"""Threads: grad mode and anomaly mode are per thread (as PyTorch's grad mode is), and separate
models trained in separate threads give exactly the numbers they give alone.

Each test forces real interleaving: a tiny switch interval (the interpreter hands the GIL to
another thread every microsecond instead of every 5 ms), barriers that make the threads start
together, and enough iterations that every thread runs while the others are mid-step.
"""

import sys
import threading
import time

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn, optim


@pytest.fixture(autouse=True)
def fast_switching():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_threads(*targets, timeout=120):
    """Run each target in its own thread, started together; return their results in order.

    A target gets the shared barrier as its argument. An exception in a thread is re-raised
    here, so a failing thread fails the test.
    """
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)
    errors = []

    def runner(i, target):
        try:
            results[i] = target(barrier)
        except BaseException as err:  # handed to the main thread
            errors.append(err)
            barrier.abort()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


# ------------------------------------------------------------------ training in parallel
DATA = np.random.default_rng(7).standard_normal((16, 3))
TARGETS = (DATA[:, :1] * DATA[:, 1:2] > 0).astype(np.float64)


def train(seed, optimizer, steps=300, barrier=None, log=None):
    """Train an MLP of its own; every 25 steps evaluate it under no_grad, as a real loop does.

    Returns the losses, the evaluations and the final weights, to compare bit for bit. Each
    step appends the seed to ``log``, to see how the threads' steps interleaved.
    """
    model = nn.MLP(3, 8, 1, activation=nn.Tanh, output_activation=nn.Sigmoid, rng=np.random.default_rng(seed))
    opt = optim.Adam(model.parameters(), lr=0.05) if optimizer == "adam" else optim.SGD(model.parameters(), lr=0.5)
    x, y = mg.Tensor(DATA), mg.Tensor(TARGETS)
    loss_fn = nn.MSELoss()
    if barrier is not None:
        barrier.wait()
    losses, evaluations = [], []
    for step in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if log is not None:
            log.append(seed)
            time.sleep(0)  # offer the other threads a turn between steps too, not only within them
        if step % 25 == 0:
            with mg.no_grad():
                prediction = model(x)
            assert not prediction.requires_grad
            evaluations.append(prediction.data.copy())
    return losses, evaluations, [p.data.copy() for p in model.parameters()]


def assert_same_run(got, expected):
    losses, evaluations, weights = got
    assert losses == expected[0]
    for a, b in zip(evaluations + weights, expected[1] + expected[2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_separate_models_in_separate_threads_train_exactly_as_alone():
    jobs = [(0, "sgd"), (1, "adam"), (2, "sgd"), (3, "adam")]
    alone = [train(seed, name) for seed, name in jobs]
    log = []
    together = run_threads(*[lambda b, s=seed, n=name: train(s, n, barrier=b, log=log) for seed, name in jobs])
    for got, expected in zip(together, alone, strict=True):
        assert_same_run(got, expected)
    switches = sum(a != b for a, b in zip(log, log[1:], strict=False))
    assert switches > 50, f"the threads hardly interleaved ({switches} switches in {len(log)} steps)"


def second_derivatives(rounds=300, barrier=None):
    """Repeatedly mg.grad (with and without create_graph) and no_grad inference on its own
    tensors; returns every value, to compare with a run alone."""
    w = mg.Tensor(np.linspace(-1.0, 1.0, 6).reshape(3, 2), requires_grad=True)
    x = mg.Tensor(DATA[:4])
    if barrier is not None:
        barrier.wait()
    values = []
    for _ in range(rounds):
        (g,) = mg.grad(((x @ w).tanh() ** 2).sum(), w, create_graph=True)
        (h,) = mg.grad((g * g).sum(), w)
        (plain,) = mg.grad((x @ w).sigmoid().sum(), w)
        with mg.no_grad():
            inference = (x @ w).tanh()
        assert g.requires_grad and not h.requires_grad and not inference.requires_grad
        values.append((g.data.copy(), h.data.copy(), plain.data.copy(), inference.data.copy()))
    return values


def test_training_beside_a_thread_running_grad_and_no_grad_gives_solo_results():
    solo_training = train(5, "adam")
    solo_grads = second_derivatives()
    training, grads = run_threads(lambda b: train(5, "adam", barrier=b), lambda b: second_derivatives(barrier=b))
    assert_same_run(training, solo_training)
    for got, expected in zip(grads, solo_grads, strict=True):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ grad mode per thread
def test_no_grad_in_one_thread_does_not_reach_another():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    inside, outside = threading.Event(), threading.Event()

    def quiet_thread(barrier):
        with mg.no_grad():
            inside.set()
            outside.wait(10)
            return mg.is_grad_enabled(), (w * 2).requires_grad

    def recording_thread(barrier):
        inside.wait(10)
        try:
            return mg.is_grad_enabled(), (w * 2).requires_grad
        finally:
            outside.set()

    assert run_threads(quiet_thread, recording_thread) == [(False, False), (True, True)]
    assert mg.is_grad_enabled()


def test_threads_entering_no_grad_leave_grad_mode_on_everywhere():
    # Two threads that enter no_grad() and leave it in overlapping order: with one
    # process-wide flag the second one to leave restores "off" for everybody.
    def enter_and_leave(barrier):
        for _ in range(200):
            barrier.wait()
            with mg.no_grad():
                barrier.wait()
            barrier.wait()
            assert mg.is_grad_enabled()
        return mg.is_grad_enabled()

    assert run_threads(enter_and_leave, enter_and_leave, enter_and_leave) == [True, True, True]
    assert mg.is_grad_enabled()
    w = mg.Tensor([1.0], requires_grad=True)
    assert (w * 2).requires_grad


def test_one_no_grad_object_shared_by_threads_restores_each_threads_mode():
    shared = mg.no_grad()

    def use_shared(enabled):
        def target(barrier):
            with mg.enable_grad() if enabled else mg.no_grad():
                for _ in range(100):
                    barrier.wait()
                    with shared:
                        barrier.wait()
                        assert not mg.is_grad_enabled()
                    barrier.wait()
                    assert mg.is_grad_enabled() is enabled
            return mg.is_grad_enabled()

        return target

    assert run_threads(use_shared(True), use_shared(False)) == [True, True]


def test_grad_in_one_thread_does_not_switch_recording_off_in_another():
    # mg.grad() turns recording off in its thread while it runs (on with create_graph);
    # another thread's forward must still record every parameter.
    w = mg.Tensor(np.ones((3, 3)), requires_grad=True)
    stop = threading.Event()

    def grads(barrier):
        v = mg.Tensor(np.ones((3, 3)), requires_grad=True)
        barrier.wait()
        count = 0
        while not stop.is_set():
            mg.grad((v @ v @ v @ v).tanh().sum(), v)
            count += 1
        return count

    def forwards(barrier):
        barrier.wait()
        try:
            for _ in range(2000):
                out = (w @ w).tanh().sum()
                assert out.requires_grad, "a forward pass recorded nothing"
                w.grad = None
                out.backward()
                assert w.grad is not None
        finally:
            stop.set()
        return True

    count, ok = run_threads(grads, forwards)
    assert ok and count > 0


def test_new_threads_start_with_grad_mode_on_and_anomaly_mode_off():
    def report(barrier):
        return mg.is_grad_enabled(), mg.anomaly.is_anomaly_enabled()

    with mg.no_grad(), mg.detect_anomaly():
        assert not mg.is_grad_enabled() and mg.anomaly.is_anomaly_enabled()
        assert run_threads(report) == [(True, False)]
    assert mg.is_grad_enabled() and not mg.anomaly.is_anomaly_enabled()


# ------------------------------------------------------------------ anomaly mode per thread
def test_detect_anomaly_in_one_thread_does_not_turn_it_on_in_another():
    inside, outside = threading.Event(), threading.Event()

    def checking(barrier):
        x = mg.Tensor([1.0], requires_grad=True)
        with mg.detect_anomaly():
            inside.set()
            outside.wait(10)
            with pytest.raises(mg.AnomalyError, match="mul produced inf"):
                x * float("inf")
        return True

    def unchecked(barrier):
        inside.wait(10)
        try:
            x = mg.Tensor([1.0], requires_grad=True)
            y = x * float("inf")  # no error: anomaly mode is off in this thread
            assert "anomaly_site" not in y.grad_fn.__dict__
            return mg.anomaly.is_anomaly_enabled()
        finally:
            outside.set()

    assert run_threads(checking, unchecked) == [True, False]


# ------------------------------------------------------------------ the in-place change count
def test_a_change_made_in_another_thread_is_still_caught_by_backward():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()  # mul saved w

    def change(barrier):
        w.data = w.data + 1

    run_threads(change)
    with pytest.raises(RuntimeError, match="mul: its input 0 .* was modified in place"):
        loss.backward()


def test_changes_in_other_threads_never_fail_a_backward_that_is_fine():
    # Threads changing their own tensors all the time: a node of this thread that saved
    # nothing that changed must never be refused (no false "modified in place").
    stop = threading.Event()

    def churn(barrier):
        t = mg.Tensor(np.zeros(4))
        barrier.wait()
        while not stop.is_set():
            t.data = t.data + 1
            with mg.no_grad():
                t += 1
        return True

    def work(barrier):
        w = mg.Tensor(np.ones(4), requires_grad=True)
        barrier.wait()
        try:
            for _ in range(3000):
                loss = (w * w).sum()
                w.grad = None
                loss.backward()
                np.testing.assert_array_equal(w.grad, 2 * w.data)
                w.data = w.data * 1.0
        finally:
            stop.set()
        return True

    assert run_threads(churn, churn, work) == [True, True, True]
