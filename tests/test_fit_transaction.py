"""A fit is a transaction: bad input and failures leave a fitted model byte for byte as it was.

Each row of ``CASES`` is one bad input or injected failure, applied to a
fitted model: the error must have the right type and a message naming the
problem, and the model's pickle must be the same bytes afterwards.
"""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sknn import MLPClassifierBook
from sknn.activations import Sigmoid

N_FEATURES = 6


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=120,
        n_features=N_FEATURES,
        n_informative=4,
        n_classes=3,
        random_state=0,
    )
    return X, y


@pytest.fixture(scope="module")
def fitted_bytes(data):
    X, y = data
    return pickle.dumps(MLPClassifierBook(epochs=3, random_state=0).fit(X, y))


# Failure injections are module-level so that a model holding them pickles.


def wrong_shape_initializer(n_in, n_out, rng, dtype):
    return np.zeros((n_out, n_in), dtype), np.zeros(n_out, dtype)


def flat_bias_initializer(n_in, n_out, rng, dtype):
    return np.zeros((n_in, n_out), dtype), np.zeros((1, n_out), dtype)


def nan_initializer(n_in, n_out, rng, dtype):
    return np.full((n_in, n_out), np.nan, dtype), np.zeros(n_out, dtype)


def none_initializer(n_in, n_out, rng, dtype):
    return None


def raise_in_epoch_2(estimator, record):
    if record["epoch"] == 2:
        raise RuntimeError("callback failed in epoch 2")


def raise_in_epoch_5(estimator, record):
    if record["epoch"] == 5:
        raise RuntimeError("callback failed in epoch 5, the second of a warm start")


def out_of_memory_in_epoch_1(estimator, record):
    raise MemoryError("injected: no memory for the epoch's evaluation")


def overwrite_weights_then_fail(estimator, record):
    for w in estimator.coefs_:
        w[...] = 7.0
    raise RuntimeError("callback broke the weights")


class ExplodingCost:
    """A cost object whose output error raises in the middle of an epoch."""

    name = "exploding"
    output_activation = Sigmoid
    calls = 0  # on the class, so that counting does not change the model's pickle

    def fn(self, a, y):
        return ((a - y) ** 2).sum(axis=1)

    def delta(self, a, y, out, scratch):
        ExplodingCost.calls += 1
        if ExplodingCost.calls >= 5:
            raise ArithmeticError("injected failure in a training step")
        np.subtract(a, y, out=out)


def rows(X, y, n):
    return X[:n], y[:n]


def with_nan(X, y):
    X = X.copy()
    X[3, 2] = np.nan
    return X, y


def with_inf(X, y):
    X = X.copy()
    X[0, 0] = np.inf
    return X, y


def strings_in_X(X, y):
    return np.full(X.shape, "a"), y


def weights(values):
    def make(X, y):
        return {"sample_weight": values(len(y), y)}

    return make


def validation(X_val_y_val):
    def make(X, y):
        X_val, y_val = X_val_y_val(X, y)
        return {"X_val": X_val, "y_val": y_val}

    return make


HUGE = (10**5, 10**5)

# (id, params, data transform, fit keyword arguments, method, error, match)
# fmt: off
CASES = [
    # hyperparameters
    ("unknown cost", {"cost": "nope"}, None, None, "fit", ValueError, "'cost'"),
    ("unknown regularizer", {"regularizer": "l3"}, None, None, "fit", ValueError, "'regularizer'"),
    ("unknown initializer", {"initializer": "xavier"}, None, None, "fit", ValueError, "'initializer'"),
    ("unknown activation", {"activation": "softsign"}, None, None, "fit", ValueError, "'activation'"),
    ("zero learning rate", {"learning_rate": 0.0}, None, None, "fit", ValueError, "'learning_rate'"),
    ("negative learning rate", {"learning_rate": -1.0}, None, None, "fit", ValueError, "'learning_rate'"),
    ("learning rate word", {"learning_rate": "fast"}, None, None, "fit", ValueError, "'learning_rate'"),
    ("dropout 1", {"dropout": 1.0}, None, None, "fit", ValueError, "'dropout'"),
    ("negative dropout", {"dropout": -0.1}, None, None, "fit", ValueError, "'dropout'"),
    ("momentum 1", {"momentum": 1.0}, None, None, "fit", ValueError, "'momentum'"),
    ("batch size 0", {"batch_size": 0}, None, None, "fit", ValueError, "'batch_size'"),
    ("epochs 0", {"epochs": 0}, None, None, "fit", ValueError, "'epochs'"),
    ("negative lambda", {"lmbda": -1.0}, None, None, "fit", ValueError, "'lmbda'"),
    ("hidden size 0", {"hidden_layer_sizes": (30, 0)}, None, None, "fit", ValueError, "hidden_layer_sizes"),
    ("fractional hidden size", {"hidden_layer_sizes": (2.5,)}, None, None, "fit", ValueError, "hidden_layer_sizes"),
    ("weights beyond memory", {"hidden_layer_sizes": HUGE}, None, None, "fit", ValueError, r"hidden_layer_sizes.*GiB.*memory"),
    ("unknown monitor", {"monitor": ("test_cost",)}, None, None, "fit", ValueError, "monitor has unknown"),
    ("validation fraction 1.5", {"validation_fraction": 1.5}, None, None, "fit", ValueError, "'validation_fraction'"),
    ("unknown schedule", {"learning_rate_schedule": "cosine"}, None, None, "fit", ValueError, "'learning_rate_schedule'"),
    ("min ratio 0", {"min_learning_rate_ratio": 0.0}, None, None, "fit", ValueError, "'min_learning_rate_ratio'"),
    ("patience 0", {"n_iter_no_change": 0}, None, None, "fit", ValueError, "'n_iter_no_change'"),
    ("callback not callable", {"callbacks": [42]}, None, None, "fit", TypeError, "callback"),
    ("early stopping without validation", {"early_stopping": True}, None, None, "fit", ValueError, "validation_fraction"),
    ("validation fraction too small for every class", {"validation_fraction": 0.01}, None, None, "fit", ValueError, "validation_fraction=0.01"),
    # data
    ("NaN in X", {}, with_nan, None, "fit", ValueError, "NaN"),
    ("infinity in X", {}, with_inf, None, "fit", ValueError, "infinity"),
    ("no rows", {}, lambda X, y: rows(X, y, 0), None, "fit", ValueError, "0 sample"),
    ("one class", {}, lambda X, y: (X, np.zeros_like(y)), None, "fit", ValueError, "only one class"),
    ("continuous y", {}, lambda X, y: (X, y + 0.5), None, "fit", ValueError, "Unknown label type"),
    ("X and y lengths differ", {}, lambda X, y: (X, y[:-1]), None, "fit", ValueError, "inconsistent numbers of samples"),
    ("1-D X", {}, lambda X, y: (X[:, 0], y), None, "fit", ValueError, "2D array"),
    ("strings in X", {}, strings_in_X, None, "fit", ValueError, "could not convert"),
    ("multilabel with softmax", {"cost": "log_likelihood"}, lambda X, y: (X, np.eye(3, dtype=int)[y] | np.eye(3, dtype=int)[(y + 1) % 3]), None, "fit", ValueError, "softmax output layer"),
    ("negative sample weights", {}, None, weights(lambda n, y: -np.ones(n)), "fit", ValueError, "Negative values in data passed to `sample_weight`"),
    ("one negative sample weight", {}, None, weights(lambda n, y: np.r_[-1.0, np.ones(n - 1)]), "fit", ValueError, "sample_weight"),
    ("sample weights summing to zero", {}, None, weights(lambda n, y: np.zeros(n)), "fit", ValueError, "sample_weight|Sample weights"),
    ("sample weights of wrong length", {}, None, weights(lambda n, y: np.ones(n - 1)), "fit", ValueError, "sample_weight"),
    ("NaN sample weight", {}, None, weights(lambda n, y: np.r_[np.nan, np.ones(n - 1)]), "fit", ValueError, "NaN"),
    ("weights of the training rows sum to zero", {"validation_fraction": 0.5}, None, weights(lambda n, y: np.r_[np.ones(3), np.zeros(n - 3)]), "fit", ValueError, r"sample_weight of the rows left for training.*validation_fraction"),
    ("X_val without y_val", {}, None, lambda X, y: {"X_val": X}, "fit", ValueError, "both X_val and y_val"),
    ("unknown validation class", {}, None, validation(lambda X, y: (X, y + 10)), "fit", ValueError, "y_val holds classes"),
    ("validation features differ", {}, None, validation(lambda X, y: (X[:, :4], y)), "fit", ValueError, "X has 4 features"),
    # failure injections
    ("initializer of wrong shape", {"initializer": wrong_shape_initializer}, None, None, "fit", ValueError, r"initializer .*shape \(30, 6\).*expected \(6, 30\)"),
    ("initializer with 2-D biases", {"initializer": flat_bias_initializer}, None, None, "fit", ValueError, r"initializer .*biases of shape \(1, 30\)"),
    ("initializer returning NaN", {"initializer": nan_initializer}, None, None, "fit", ValueError, "initializer .*non-finite"),
    ("initializer returning None", {"initializer": none_initializer}, None, None, "fit", ValueError, r"initializer .*must return \(weights, biases\)"),
    ("callback raising in epoch 2", {"callbacks": [raise_in_epoch_2]}, None, None, "fit", RuntimeError, "callback failed in epoch 2"),
    ("MemoryError during training", {"callbacks": [out_of_memory_in_epoch_1]}, None, None, "fit", MemoryError, "injected"),
    ("callback writing the weights, then failing", {"callbacks": [overwrite_weights_then_fail], "warm_start": True}, None, None, "fit", RuntimeError, "broke the weights"),
    ("cost failing in a training step", {"cost": ExplodingCost()}, None, None, "fit", ArithmeticError, "training step"),
    ("warm start with a new class", {"warm_start": True}, lambda X, y: (X, np.where(y == 0, 7, y)), None, "fit", ValueError, "not fitted with"),
    ("warm start with other layers", {"warm_start": True, "hidden_layer_sizes": (5,)}, None, None, "fit", ValueError, "warm_start continues the fitted layers"),
    ("warm start with other neurons", {"warm_start": True, "activation": "relu"}, None, None, "fit", ValueError, "warm_start continues a model of sigmoid neurons"),
    ("warm start with a softmax cost", {"warm_start": True, "cost": "log_likelihood"}, None, None, "fit", ValueError, "needs softmax outputs"),
    ("warm start failing in epoch 2", {"warm_start": True, "callbacks": [raise_in_epoch_5]}, None, None, "fit", RuntimeError, "second of a warm start"),
    ("partial_fit with a new class", {}, lambda X, y: (X, y + 1), None, "partial_fit", ValueError, "not fitted with"),
    ("partial_fit with other features", {}, lambda X, y: (X[:, :5], y), None, "partial_fit", ValueError, "X has 5 features"),
]
# fmt: on


def test_the_table_is_long_enough():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(
    "params, transform, fit_kwargs, method, error, match",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_failed_fit_leaves_the_fitted_model_byte_for_byte(
    data, fitted_bytes, params, transform, fit_kwargs, method, error, match
):
    X, y = data
    model = pickle.loads(fitted_bytes)
    reference = pickle.loads(fitted_bytes)
    model.set_params(**params)
    before = pickle.dumps(model)
    bad_X, bad_y = transform(X, y) if transform else (X, y)
    kwargs = fit_kwargs(X, y) if fit_kwargs else {}
    with pytest.raises(error, match=match):
        getattr(model, method)(bad_X, bad_y, **kwargs)
    assert pickle.dumps(model) == before
    np.testing.assert_array_equal(model.predict_proba(X), reference.predict_proba(X))
