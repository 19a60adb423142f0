"""sknn.training_threads: a fit's first layer split over threads, bit for bit.

The compiled loop gives each thread a range of the first hidden layer's units
and runs the later layers on one of them, so any number of threads must end
with exactly the weights one thread ends with.
"""

import copy
import os
import sys
import threading
import time

import numpy as np
import pytest

from sknn import MLPClassifierBook, training_threads
from sknn.optimizers import SGD
from sknn.regularizers import REGULARIZERS

from . import test_compiled

cepoch = pytest.importorskip(
    "sknn._cepoch", reason="the C extension is not built; only numpy trains"
)

# 70 units: three register tiles of 32 float32 columns (five of 16 in
# float64), the last one partly padding, so threads get unequal shares
LAYER_SIZES = [30, 70, 40, 6]
N_SAMPLES = 64


def make_problem(activation, cost, dtype, layer_sizes=LAYER_SIZES):
    return test_compiled.make_problem(
        activation, cost, dtype, layer_sizes=layer_sizes, n_samples=N_SAMPLES
    )


def train(network, X, Y, engine, n_threads, *, regularizer, lmbda, momentum, **kw):
    network = copy.deepcopy(network)
    optimizer = SGD(REGULARIZERS[regularizer], lmbda, N_SAMPLES, momentum)
    rng = np.random.default_rng(42)
    with training_threads(n_threads, min_work=0):  # split however small the epoch
        for _ in range(kw.get("epochs", 2)):
            network.train_epoch(
                X,
                Y,
                optimizer,
                batch_size=kw.get("batch_size", 5),
                learning_rate=kw.get("learning_rate", 0.5),
                rng=rng,
                dropout=kw.get("dropout", 0.0),
                engine=engine,
            )
    state = network.weights + network.biases
    if momentum:
        state += optimizer.weight_velocities + optimizer.bias_velocities
    return state


def assert_bit_identical(expected, actual):
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual):
        assert e.dtype == a.dtype
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("engine", ["compiled", "compiled_sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("regularizer", sorted(REGULARIZERS))
@pytest.mark.parametrize("dropout, momentum", [(0.0, 0.0), (0.3, 0.0), (0.0, 0.9)])
def test_any_number_of_threads_ends_with_one_threads_weights(
    engine, dtype, regularizer, dropout, momentum, isa
):
    network, X, Y = make_problem("relu", "log_likelihood", dtype)
    settings = dict(regularizer=regularizer, lmbda=5.0, momentum=momentum)
    settings.update(dropout=dropout, learning_rate=0.1)
    expected = train(network, X, Y, engine, 1, **settings)
    for n_threads in (2, 3, 8):
        assert_bit_identical(
            expected, train(network, X, Y, engine, n_threads, **settings)
        )


@pytest.mark.parametrize(
    "activation, cost",
    [
        ("sigmoid", "cross_entropy"),
        ("tanh", "quadratic"),
        ("sigmoid", "log_likelihood"),
    ],
)
def test_every_activation_and_cost_splits_bit_for_bit(activation, cost):
    network, X, Y = make_problem(activation, cost, np.float32)
    settings = dict(regularizer="l2", lmbda=1.0, momentum=0.0)
    expected = train(network, X, Y, "compiled_sparse", 1, **settings)
    assert_bit_identical(
        expected, train(network, X, Y, "compiled_sparse", 2, **settings)
    )


def test_a_decaying_l2_scale_folds_back_the_same_in_every_thread():
    # eta lambda / n = 0.7: the sparse loop's lazy L2 scale passes its floor
    network, X, Y = make_problem("sigmoid", "cross_entropy", np.float32)
    settings = dict(regularizer="l2", lmbda=0.7 * N_SAMPLES, momentum=0.0)
    settings.update(learning_rate=1.0, epochs=3)
    expected = train(network, X, Y, "compiled_sparse", 1, **settings)
    assert_bit_identical(
        expected, train(network, X, Y, "compiled_sparse", 2, **settings)
    )


@pytest.mark.parametrize("layer_sizes", [[30, 6], [30, 20, 6]])
def test_networks_too_narrow_to_split_train_on_as_before(layer_sizes):
    # no hidden layer, or one narrower than two tiles: one thread does it all
    network, X, Y = make_problem("sigmoid", "cross_entropy", np.float32, layer_sizes)
    settings = dict(regularizer="l2", lmbda=1.0, momentum=0.5)
    expected = train(network, X, Y, "compiled_sparse", 1, **settings)
    assert_bit_identical(
        expected, train(network, X, Y, "compiled_sparse", 4, **settings)
    )


def max_threads_during(fit, lasting=0.0):
    """The most threads this process had while ``fit`` ran, and before it.

    With ``lasting``, a thread counts only once it has lived that many
    seconds: a search's worker threads come and go with each batch, and
    one pool's exiting threads can overlap the next pool's for a moment.
    """
    tasks = f"/proc/{os.getpid()}/task"
    before = len(os.listdir(tasks)) + 1  # with the sampling thread
    seen, done = [before], threading.Event()

    def sample():
        born = {}
        while not done.is_set():
            now = time.perf_counter()
            born = {tid: born.get(tid, now) for tid in os.listdir(tasks)}
            seen.append(sum(now - start >= lasting for start in born.values()))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        fit()
    finally:
        done.set()
        sampler.join()
    return max(seen), before


def extra_threads_of_a_fit(n_rows=20_000, epochs=5):
    """How many threads the compiled loop added while a [100, 200, 3] fit ran.

    20,000 rows x 100 inputs x 200 units: 400 million multiply-adds an epoch,
    some 50 ms, long enough for the sampling thread to see the fit's thread
    even while other processes share the cores.
    """
    rng = np.random.default_rng(0)
    X = rng.random((n_rows, 100), dtype=np.float32)
    y = (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0.5)  # three classes to learn
    model = MLPClassifierBook((200,), epochs=epochs, monitor=(), random_state=0)
    most, before = max_threads_during(lambda: model.fit(X, y))
    return most - before


linux_with_two_cores = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
    reason="counts /proc tasks, and needs two cores to start a second thread",
)


@linux_with_two_cores
def test_a_fit_starts_a_thread_only_inside_the_context():
    assert extra_threads_of_a_fit() == 0
    with training_threads(2):
        with training_threads(1):
            assert extra_threads_of_a_fit() == 0
        assert extra_threads_of_a_fit() == 1
    assert extra_threads_of_a_fit() == 0


@linux_with_two_cores
def test_an_epoch_with_less_work_than_min_work_keeps_one_thread():
    with training_threads(2):  # the default min_work, 250 million
        assert extra_threads_of_a_fit() == 1  # 400 million
        assert extra_threads_of_a_fit(n_rows=2_000, epochs=30) == 0  # 40 million
    with training_threads(2, min_work=400_000_001):
        assert extra_threads_of_a_fit() == 0
        with training_threads(2):  # min_work=None keeps the enclosing one
            assert extra_threads_of_a_fit() == 0
    with training_threads(2, min_work=400_000_000):
        assert extra_threads_of_a_fit() == 1


@linux_with_two_cores
def test_no_fit_starts_more_threads_than_it_has_cores():
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})  # this thread, and those it starts
    try:
        with training_threads(4):
            assert extra_threads_of_a_fit() == 0
    finally:
        os.sched_setaffinity(0, cores)


@pytest.mark.parametrize("bad", [0, -1])
def test_fewer_than_one_thread_is_refused(bad):
    with pytest.raises(ValueError, match="n_threads must be at least 1"):
        training_threads(bad).__enter__()


@pytest.mark.parametrize("bad", [1.5, "2", True, None])
def test_a_thread_count_that_is_not_an_int_is_refused(bad):
    with pytest.raises(TypeError, match="n_threads must be an int"):
        training_threads(bad).__enter__()


@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), (1.5, TypeError)])
def test_a_min_work_that_is_not_a_count_is_refused(bad, error):
    with pytest.raises(error, match="min_work must be"):
        training_threads(2, min_work=bad).__enter__()
