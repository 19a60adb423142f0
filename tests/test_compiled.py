"""The compiled training loops take the numpy loop's steps: same start, same weights.

Each test trains copies of one network for an epoch from the same weights and
the same random generator state (so the same batch order and dropout masks)
with the numpy loop and with each compiled one, and compares the weights,
biases and momentum velocities they end with, and the sampled mini-batch cost
each epoch returns.
"""

import copy
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse

from sknn import MLPClassifierBook
from sknn._network import Network
from sknn.activations import ACTIVATIONS, Sigmoid
from sknn.costs import COSTS, CrossEntropyCost
from sknn.optimizers import SGD
from sknn.regularizers import REGULARIZERS

cepoch = pytest.importorskip(
    "sknn._cepoch", reason="the C extension is not built; only numpy trains"
)

LAYER_SIZES = [12, 7, 5, 4]
N_SAMPLES = 40
BATCH_SIZE = 6  # 40 = 6 x 6 + 4: a smaller last batch too
TOLERANCE = {
    np.float64: {"rtol": 1e-9, "atol": 1e-12},
    np.float32: {"rtol": 2e-4, "atol": 2e-5},
}


def make_problem(
    activation, cost, dtype, seed=0, layer_sizes=LAYER_SIZES, n_samples=N_SAMPLES
):
    """A network (two hidden layers by default) and inputs about 70% zeros, like images."""
    rng = np.random.default_rng(seed)
    weights = [
        (rng.standard_normal((n_in, n_out)) * 0.7).astype(dtype)
        for n_in, n_out in itertools.pairwise(layer_sizes)
    ]
    biases = [(rng.standard_normal(n) * 0.3).astype(dtype) for n in layer_sizes[1:]]
    X = rng.random((n_samples, layer_sizes[0]))
    X[rng.random(X.shape) < 0.7] = 0.0
    Y = np.eye(layer_sizes[-1])[rng.integers(0, layer_sizes[-1], n_samples)]
    network = Network(weights, biases, ACTIVATIONS[activation], COSTS[cost])
    return network, X.astype(dtype), Y.astype(dtype)


def train_copy(network, X, Y, engine, *, regularizer, lmbda, momentum, epochs=1, **kw):
    network = copy.deepcopy(network)
    optimizer = SGD(REGULARIZERS[regularizer], lmbda, N_SAMPLES, momentum)
    rng = np.random.default_rng(42)
    costs = []
    for _ in range(epochs):
        cost = network.train_epoch(
            X,
            Y,
            optimizer,
            batch_size=kw.get("batch_size", BATCH_SIZE),
            learning_rate=kw.get("learning_rate", 0.5),
            rng=rng,
            dropout=kw.get("dropout", 0.0),
            sample_weight=kw.get("sample_weight"),
            engine=engine,
        )
        costs.append(np.asarray(cost))
    state = network.weights + network.biases + costs
    if momentum:
        state += optimizer.weight_velocities + optimizer.bias_velocities
    # what the generator draws next shows that both consumed the same numbers
    return state, rng.random()


def assert_same_state(expected, actual, dtype):
    (expected_arrays, expected_next), (actual_arrays, actual_next) = expected, actual
    assert expected_next == actual_next
    for e, a in zip(expected_arrays, actual_arrays):
        np.testing.assert_allclose(a, e, **TOLERANCE[dtype])
        assert a.dtype == dtype or a.ndim == 0  # the sampled cost is a float


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("regularizer", sorted(REGULARIZERS))
@pytest.mark.parametrize("cost", sorted(COSTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_compiled_loops_take_the_numpy_steps(activation, cost, regularizer, dtype, isa):
    network, X, Y = make_problem(activation, cost, dtype)
    weights = np.random.default_rng(1).uniform(0.0, 3.0, N_SAMPLES)
    for sample_weight, (dropout, momentum) in itertools.product(
        (None, weights), ((0.0, 0.0), (0.5, 0.9))
    ):
        settings = dict(
            regularizer=regularizer,
            lmbda=5.0,
            momentum=momentum,
            dropout=dropout,
            sample_weight=sample_weight,
        )
        expected = train_copy(network, X, Y, "numpy", **settings)
        for engine in ("compiled", "compiled_sparse"):
            actual = train_copy(network, X, Y, engine, **settings)
            assert_same_state(expected, actual, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_first_layer_folds_a_decayed_l2_scale_back_into_the_weights(dtype, isa):
    # eta lambda / n = 0.7 shrinks the lazy scale 0.3x a step, past its floor
    network, X, Y = make_problem("sigmoid", "cross_entropy", dtype)
    settings = dict(regularizer="l2", lmbda=0.7 * N_SAMPLES, momentum=0.0, epochs=3)
    settings["learning_rate"] = 1.0
    expected = train_copy(network, X, Y, "numpy", **settings)
    actual = train_copy(network, X, Y, "compiled_sparse", **settings)
    assert_same_state(expected, actual, dtype)


@pytest.mark.parametrize("batch_size", [1, 7, N_SAMPLES, N_SAMPLES + 5])
def test_any_batch_size_takes_the_numpy_steps(batch_size):
    network, X, Y = make_problem("relu", "log_likelihood", np.float64)
    settings = dict(regularizer="l1", lmbda=2.0, momentum=0.5, dropout=0.3)
    settings.update(batch_size=batch_size, learning_rate=0.1)
    expected = train_copy(network, X, Y, "numpy", **settings)
    for engine in ("compiled", "compiled_sparse"):
        actual = train_copy(network, X, Y, engine, **settings)
        assert_same_state(expected, actual, np.float64)


def test_blocks_and_sampled_costs_line_up_over_a_long_epoch(monkeypatch):
    # 75 mini-batches: every 2nd one's cost is sampled; with dropout's uniforms
    # capped at 200 per compiled call, the epoch runs in blocks of 5 batches
    import sknn._compiled

    monkeypatch.setattr(sknn._compiled, "BLOCK_UNIFORMS", 200)
    network, X, Y = make_problem("tanh", "quadratic", np.float64)
    X, Y = np.tile(X, (8, 1))[:299], np.tile(Y, (8, 1))[:299]
    settings = dict(regularizer="l2", lmbda=1.0, momentum=0.9, dropout=0.5)
    settings.update(batch_size=4, learning_rate=0.05)
    expected = train_copy(network, X, Y, "numpy", **settings)
    for engine in ("compiled", "compiled_sparse"):
        actual = train_copy(network, X, Y, engine, **settings)
        assert_same_state(expected, actual, np.float64)


@pytest.mark.parametrize("regularizer", sorted(REGULARIZERS))
def test_csr_input_trains_like_the_dense_array(regularizer):
    network, X, Y = make_problem("sigmoid", "cross_entropy", np.float32)
    settings = dict(regularizer=regularizer, lmbda=5.0, momentum=0.5, dropout=0.2)
    expected = train_copy(network, X, Y, "numpy", **settings)
    for matrix in (scipy.sparse.csr_matrix(X), scipy.sparse.csc_array(X)):
        actual = train_copy(network, matrix, Y, "compiled_sparse", **settings)
        assert_same_state(expected, actual, np.float32)
    automatic = train_copy(network, scipy.sparse.csr_matrix(X), Y, None, **settings)
    assert_same_state(expected, automatic, np.float32)


def test_estimator_trains_the_same_with_each_engine(digits_split, monkeypatch):
    X_train, _, y_train, _ = digits_split
    fitted = {}
    for engine in ("numpy", "compiled", "compiled_sparse"):
        monkeypatch.setenv("SKNN_ENGINE", engine)
        clf = MLPClassifierBook(
            hidden_layer_sizes=20, epochs=2, lmbda=1.0, momentum=0.5, random_state=0
        )
        fitted[engine] = clf.fit(X_train.astype(np.float32), y_train)
    for engine in ("compiled", "compiled_sparse"):
        for expected, actual in zip(fitted["numpy"].coefs_, fitted[engine].coefs_):
            np.testing.assert_allclose(actual, expected, **TOLERANCE[np.float32])


def test_warm_start_sees_rows_changed_in_place(digits_split, monkeypatch):
    # the sparse loop keeps X's CSR form between fits; it must notice the change
    monkeypatch.setenv("SKNN_ENGINE", "compiled_sparse")
    X_train, _, y_train, _ = digits_split
    X = X_train.astype(np.float32)
    changed = X * 0.9
    in_place = MLPClassifierBook(epochs=1, warm_start=True, random_state=0)
    in_place.fit(X, y_train)
    X[:] = changed
    in_place.fit(X, y_train)
    fresh = MLPClassifierBook(epochs=1, warm_start=True, random_state=0)
    fresh.fit(X_train.astype(np.float32), y_train).fit(changed.copy(), y_train)
    for expected, actual in zip(fresh.coefs_, in_place.coefs_):
        np.testing.assert_array_equal(actual, expected)


def test_large_dense_batches_train_with_numpy_small_ones_compiled(monkeypatch):
    # 600 rows x a [200, 60] first layer: 14 million FLOPs a product, where
    # numpy's BLAS outruns the compiled dense loop; at 10 rows the loop wins
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1200, 200)).astype(np.float32)  # no zeros: dense
    y = np.argmax(X[:, :3], axis=1)

    def coefs(batch_size, epochs, engine):
        if engine is None:
            monkeypatch.delenv("SKNN_ENGINE", raising=False)
        else:
            monkeypatch.setenv("SKNN_ENGINE", engine)
        clf = MLPClassifierBook(
            hidden_layer_sizes=60, batch_size=batch_size, epochs=epochs, random_state=0
        )
        return np.concatenate([w.ravel() for w in clf.fit(X, y).coefs_])

    for batch_size, epochs, chosen, other in (
        (600, 30, "numpy", "compiled"),
        (10, 2, "compiled", "numpy"),
    ):
        automatic = coefs(batch_size, epochs, None)
        np.testing.assert_array_equal(automatic, coefs(batch_size, epochs, chosen))
        # the two loops round differently, so equality names the loop that ran
        assert not np.array_equal(automatic, coefs(batch_size, epochs, other))


def test_unknown_engine_is_refused(digits_split, monkeypatch):
    X_train, _, y_train, _ = digits_split
    monkeypatch.setenv("SKNN_ENGINE", "gpu")
    with pytest.raises(ValueError, match="Unknown training engine 'gpu'"):
        MLPClassifierBook(epochs=1).fit(X_train, y_train)


def test_custom_cost_trains_with_numpy_and_refuses_compiled(digits_split, monkeypatch):
    class HalvedCrossEntropy:
        output_activation = Sigmoid

        @staticmethod
        def fn(a, y):
            return 0.5 * CrossEntropyCost.fn(a, y)

        @staticmethod
        def delta(a, y, out, scratch):
            np.subtract(a, y, out=out)
            np.multiply(out, 0.5, out=out)

    X_train, _, y_train, _ = digits_split
    clf = MLPClassifierBook(cost=HalvedCrossEntropy(), epochs=2, random_state=0)
    automatic = clf.fit(X_train, y_train).coefs_
    monkeypatch.setenv("SKNN_ENGINE", "numpy")
    for expected, actual in zip(clf.fit(X_train, y_train).coefs_, automatic):
        np.testing.assert_array_equal(actual, expected)
    monkeypatch.setenv("SKNN_ENGINE", "compiled")
    with pytest.raises(ValueError, match="built-in activations, costs"):
        clf.fit(X_train, y_train)


def test_regressor_linear_outputs_train_with_numpy(monkeypatch):
    # the kernel computes sigmoid or softmax outputs only
    rng = np.random.default_rng(0)
    X = rng.random((200, 5))
    y = X @ rng.standard_normal(5)
    from sknn import MLPRegressorBook

    automatic = MLPRegressorBook(epochs=20, random_state=0).fit(X, y).coefs_
    monkeypatch.setenv("SKNN_ENGINE", "numpy")
    reference = MLPRegressorBook(epochs=20, random_state=0).fit(X, y).coefs_
    for expected, actual in zip(reference, automatic):
        np.testing.assert_array_equal(actual, expected)
    monkeypatch.setenv("SKNN_ENGINE", "compiled")
    with pytest.raises(ValueError, match="built-in activations, costs"):
        MLPRegressorBook(epochs=20, random_state=0).fit(X, y)


FALLBACK_SCRIPT = """
import sys, warnings
sys.modules["sknn._cepoch"] = None  # as if the extension had failed to build
warnings.simplefilter("error")
import numpy as np
from sklearn.datasets import load_digits
from sknn import MLPClassifierBook
X, y = load_digits(return_X_y=True)
clf = MLPClassifierBook(epochs=2, momentum=0.5, dropout=0.2, random_state=0)
print(clf.fit(X / 16, y).score(X / 16, y))
import os
os.environ["SKNN_ENGINE"] = "compiled"
try:
    clf.fit(X / 16, y)
except ValueError as error:
    print(error)
"""


def test_without_the_extension_numpy_trains_silently():
    env = {k: v for k, v in os.environ.items() if k != "SKNN_ENGINE"}
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    score, refusal = result.stdout.splitlines()
    assert float(score) > 0.8
    assert "sknn._cepoch is not built" in refusal
