"""Properties of fit over random small data sets and hyperparameters (hypothesis).

Whatever the data (float32 or float64, magnitudes from 1e-6 to 1e6) and the
hyperparameters (from their valid ranges), ``fit`` either trains or raises a
ValueError or TypeError; a trained model's probabilities are finite and sum
to one; the same seed gives the same model; and a failed refit leaves the
model as it was.
"""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sknn import MLPClassifierBook

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def data_sets(draw):
    n_samples = draw(st.integers(6, 40))
    n_features = draw(st.integers(1, 5))
    n_classes = draw(st.integers(2, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    magnitude = 10.0 ** draw(st.floats(-6, 6))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n_samples, n_features)) * magnitude).astype(dtype)
    y = rng.permutation(np.arange(n_samples) % n_classes)
    return X, y


@st.composite
def hyperparameters(draw):
    return {
        "hidden_layer_sizes": tuple(
            draw(st.lists(st.integers(1, 8), min_size=1, max_size=2))
        ),
        "activation": draw(st.sampled_from(["sigmoid", "tanh", "relu"])),
        "cost": draw(st.sampled_from(["quadratic", "cross_entropy", "log_likelihood"])),
        "regularizer": draw(st.sampled_from(["l2", "l1", "none"])),
        "lmbda": draw(st.floats(0, 10)),
        "learning_rate": draw(
            st.one_of(st.just("auto"), st.floats(1e-3, 10.0).map(float))
        ),
        "batch_size": draw(st.integers(1, 20)),
        "epochs": draw(st.integers(1, 3)),
        "dropout": draw(st.floats(0, 0.9)),
        "momentum": draw(st.floats(0, 0.95)),
        "initializer": draw(st.sampled_from(["default", "large", "he"])),
        "monitor": draw(
            st.sampled_from([(), ("training_cost",), ("training_accuracy",)])
        ),
        "random_state": draw(st.integers(0, 2**16)),
    }


def fit_quietly(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y, **kwargs)


@SETTINGS
@given(data=data_sets(), params=hyperparameters())
def test_fit_trains_or_raises_value_or_type_error(data, params):
    X, y = data
    try:
        clf = fit_quietly(MLPClassifierBook(**params), X, y)
    except (ValueError, TypeError):
        return
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), len(clf.classes_))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.n_iter_ == len(clf.history_) >= 1
    assert clf.stop_reason_ in {
        "epochs",
        "diverged",
        "dead_units",
        "failed_to_learn",
    }


@SETTINGS
@given(data=data_sets(), params=hyperparameters())
def test_the_same_seed_gives_the_same_model(data, params):
    X, y = data
    first = fit_quietly(MLPClassifierBook(**params), X, y)
    second = fit_quietly(MLPClassifierBook(**params), X, y)
    for a, b in zip(
        first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    assert first.stop_reason_ == second.stop_reason_


@SETTINGS
@given(
    data=data_sets(),
    params=hyperparameters(),
    bad=st.sampled_from(["negative weight", "zero weights", "nan", "new class"]),
)
def test_a_failed_warm_refit_keeps_the_model_byte_for_byte(data, params, bad):
    X, y = data
    clf = fit_quietly(MLPClassifierBook(**params, warm_start=True), X, y)
    before = pickle.dumps(clf)
    kwargs = {}
    if bad == "negative weight":
        kwargs["sample_weight"] = np.r_[-1.0, np.ones(len(y) - 1)]
    elif bad == "zero weights":
        kwargs["sample_weight"] = np.zeros(len(y))
    elif bad == "nan":
        X = X.copy()
        X[0, 0] = np.nan
    else:
        y = np.where(y == 0, 99, y)
    with pytest.raises(ValueError):
        clf.fit(X, y, **kwargs)
    assert pickle.dumps(clf) == before
