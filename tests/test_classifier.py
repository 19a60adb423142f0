"""MLPClassifierBook's public behaviour."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import NotFittedError

from sknn import DivergenceWarning, MLPClassifierBook


@pytest.fixture(scope="module")
def small_problem():
    X, y = make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


def assert_same_weights(a, b):
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(wa, wb)


# --- learning ---------------------------------------------------------------


def test_default_estimator_learns_digits(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    assert (
        MLPClassifierBook(random_state=0).fit(X_train, y_train).score(X_test, y_test)
        >= 0.95
    )


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy", "log_likelihood"])
def test_each_cost_learns_digits(digits_split, cost):
    X_train, X_test, y_train, y_test = digits_split
    clf = MLPClassifierBook(cost=cost, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.93


def test_training_cost_falls(digits_split):
    X_train, _, y_train, _ = digits_split
    clf = MLPClassifierBook(epochs=5, random_state=0).fit(X_train, y_train)
    assert len(clf.loss_curve_) == clf.n_iter_ == 5
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


# --- fitted attributes and outputs -------------------------------------------


def test_fitted_attributes_follow_sklearn_orientation(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(hidden_layer_sizes=(7, 5), epochs=2, random_state=0)
    clf.fit(X, y)
    assert [w.shape for w in clf.coefs_] == [(6, 7), (7, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (3,)]
    assert clf.n_features_in_ == 6
    assert clf.n_layers_ == 4
    assert clf.n_outputs_ == 3
    assert clf.out_activation_ == "sigmoid"
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    a = X
    for w, b in zip(clf.coefs_, clf.intercepts_):
        a = 1 / (1 + np.exp(-(a @ w + b)))
    np.testing.assert_allclose(clf.predict_proba(X), a / a.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy", "log_likelihood"])
def test_predict_proba_rows_sum_to_one_and_agree_with_predict(small_problem, cost):
    X, y = small_problem
    clf = MLPClassifierBook(cost=cost, epochs=3, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-6)


def test_string_labels_and_binary_targets():
    X, y = make_classification(n_samples=80, n_features=4, random_state=1)
    labels = np.array(["cat", "dog"])[y]
    clf = MLPClassifierBook(epochs=20, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog"])
    assert clf.n_outputs_ == 2
    assert set(clf.predict(X)) <= {"cat", "dog"}
    assert clf.score(X, labels) > 0.8


def test_multilabel_targets_use_independent_sigmoid_outputs():
    X, Y = make_multilabel_classification(n_samples=100, n_classes=4, random_state=0)
    clf = MLPClassifierBook(epochs=10, random_state=0).fit(X / X.max(), Y)
    assert clf.predict(X / X.max()).shape == Y.shape
    proba = clf.predict_proba(X / X.max())
    assert proba.shape == Y.shape
    np.testing.assert_array_equal(clf.predict(X / X.max()), (proba > 0.5).astype(int))


def test_multilabel_with_softmax_cost_is_refused():
    X, Y = make_multilabel_classification(n_samples=30, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match="softmax"):
        MLPClassifierBook(cost="log_likelihood").fit(X, Y)


def test_float32_input_trains_in_float32(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(epochs=2, random_state=0).fit(X.astype(np.float32), y)
    assert all(w.dtype == np.float32 for w in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    clf64 = MLPClassifierBook(epochs=2, random_state=0).fit(X, y)
    assert clf64.coefs_[0].dtype == np.float64


def test_custom_cost_object_is_used(small_problem):
    from sknn.costs import CrossEntropyCost

    calls = []

    class CountingCost(CrossEntropyCost):
        @staticmethod
        def delta(a, y, out, scratch):
            calls.append(a.shape)
            np.subtract(a, y, out=out)

    X, y = small_problem
    MLPClassifierBook(cost=CountingCost(), epochs=1, batch_size=40).fit(X, y)
    assert calls == [(40, 3)] * 3


# --- determinism, clone, pickle ------------------------------------------------


def test_same_random_state_gives_identical_model(small_problem):
    X, y = small_problem
    params = dict(dropout=0.3, momentum=0.5, epochs=3, random_state=42)
    assert_same_weights(
        MLPClassifierBook(**params).fit(X, y), MLPClassifierBook(**params).fit(X, y)
    )
    different = MLPClassifierBook(**{**params, "random_state": 43}).fit(X, y)
    assert not np.array_equal(
        different.coefs_[0], MLPClassifierBook(**params).fit(X, y).coefs_[0]
    )


def test_clone_and_pickle_round_trips_predict_identically(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(dropout=0.2, epochs=3, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    refit = clone(clf).fit(X, y)
    np.testing.assert_array_equal(refit.predict_proba(X), clf.predict_proba(X))


def test_dropout_predictions_repeat_exactly(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(dropout=0.5, epochs=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


# --- warm start and partial_fit ------------------------------------------------


def test_warm_start_continues_where_fit_stopped(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(epochs=2, warm_start=True, random_state=0).fit(X, y)
    first = [w.copy() for w in clf.coefs_]
    clf.fit(X, y)
    assert clf.n_iter_ == 4
    assert len(clf.loss_curve_) == 4
    assert not np.array_equal(first[0], clf.coefs_[0])
    cold = MLPClassifierBook(epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(cold.coefs_[0], first[0])


def test_partial_fit_runs_one_epoch_per_call(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(random_state=0)
    clf.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    clf.partial_fit(X[60:], y[60:])
    assert clf.n_iter_ == 2
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_partial_fit_needs_classes_on_the_first_call(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "coefs_")


def test_partial_fit_needs_classes_that_cover_y(small_problem):
    X, y = small_problem
    with pytest.raises(ValueError, match="not in classes"):
        MLPClassifierBook().partial_fit(X, y, classes=[0, 1])


def test_warm_start_refuses_new_classes(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(epochs=1, warm_start=True).fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="not fitted with"):
        clf.fit(X, y)


# --- sample weights --------------------------------------------------------------


def test_zero_weight_samples_do_not_train(small_problem):
    X, y = small_problem
    noise = np.random.default_rng(0).standard_normal(X.shape)
    X_both = np.vstack([X, noise])
    y_both = np.concatenate([y, np.zeros(len(y), dtype=int)])
    weights = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
    clf = MLPClassifierBook(epochs=30, random_state=0, shuffle=False, batch_size=240)
    weighted = clf.fit(X_both, y_both, sample_weight=weights)
    plain = clone(clf).set_params(batch_size=120).fit(X, y)
    np.testing.assert_allclose(
        weighted.predict_proba(X), plain.predict_proba(X), rtol=1e-6
    )


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"cost": "hinge"}, "cross_entropy"),
        ({"regularizer": "l3"}, "l1"),
        ({"initializer": "xavier"}, "large"),
        ({"activation": "softsign"}, "relu"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"momentum": 1.0}, "momentum"),
        ({"batch_size": 0}, "batch_size"),
        ({"hidden_layer_sizes": (30, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (2.5,)}, "hidden_layer_sizes"),
        ({"monitor": ("test_cost",)}, "training_cost"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
        ({"learning_rate_schedule": "cosine"}, "halving"),
    ],
)
def test_bad_hyperparameters_are_named(small_problem, params, match):
    X, y = small_problem
    with pytest.raises(ValueError, match=match):
        MLPClassifierBook(**params).fit(X, y)


@pytest.fixture
def fitted(small_problem):
    X, y = small_problem
    return MLPClassifierBook(epochs=2, random_state=0).fit(X, y)


def bad_inputs(X, y):
    nan_X = X.copy()
    nan_X[3, 2] = np.nan
    inf_X = X.copy()
    inf_X[0, 0] = np.inf
    return [
        (nan_X, y, "NaN"),
        (inf_X, y, "infinity"),
        (X[:0], y[:0], "0 sample"),
        (X, np.zeros_like(y), "one class"),
        (X, y + 0.5, "Unknown label type"),
    ]


def test_bad_training_data_gets_a_clear_error_and_keeps_the_fitted_model(
    small_problem, fitted
):
    X, y = small_problem
    before = pickle.dumps(fitted)
    proba = fitted.predict_proba(X)
    for bad_X, bad_y, match in bad_inputs(X, y):
        with pytest.raises(ValueError, match=match):
            fitted.fit(bad_X, bad_y)
        np.testing.assert_array_equal(fitted.predict_proba(X), proba)
    assert pickle.dumps(fitted) == before


def test_wrong_feature_count_at_predict(small_problem, fitted):
    X, _ = small_problem
    with pytest.raises(
        ValueError, match="X has 5 features, but MLPClassifierBook is expecting 6"
    ):
        fitted.predict(X[:, :5])


def test_nan_at_predict_is_refused(small_problem, fitted):
    X, _ = small_problem
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict_proba(X)


def test_predict_before_fit_raises_not_fitted(small_problem):
    X, _ = small_problem
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(NotFittedError):
            getattr(MLPClassifierBook(), method)(X)


def test_divergence_keeps_finite_weights_and_says_so(small_problem):
    X, y = small_problem
    with pytest.warns(
        DivergenceWarning, match=r"diverged in epoch \d+.*smaller learning_rate"
    ):
        clf = MLPClassifierBook(learning_rate=1e3, activation="relu", random_state=0)
        clf.fit(X, y)
    assert 0 < clf.n_iter_ < clf.epochs
    assert len(clf.loss_curve_) == clf.n_iter_
    assert all(np.isfinite(w).all() for w in clf.coefs_ + clf.intercepts_)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_bad_callback_keeps_the_fitted_model(small_problem, fitted):
    X, y = small_problem
    proba = fitted.predict_proba(X)
    fitted.set_params(callbacks=[42])
    with pytest.raises(TypeError, match="callback"):
        fitted.fit(X, y)
    np.testing.assert_array_equal(fitted.predict_proba(X), proba)


def test_predict_proba_is_uniform_where_every_sigmoid_output_underflows(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(epochs=1, random_state=0).fit(X.astype(np.float32), y)
    clf.intercepts_[-1][...] = -200.0
    proba = clf.predict_proba(X.astype(np.float32))
    np.testing.assert_allclose(proba, 1 / 3)


def test_float64_input_to_a_float32_model_predicts_the_same(small_problem):
    X, y = small_problem
    clf = MLPClassifierBook(epochs=2, random_state=0).fit(X.astype(np.float32), y)
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.predict_proba(X.astype(np.float32)), rtol=1e-6
    )
