"""Each failure a new user met, kept as a test: none may come back.

A refit that fails keeps the good model; prediction uses what was fitted;
failed training says so whatever is monitored; Ctrl-C leaves a consistent
model and reaches the caller, also from inside a search; hooks start afresh
in every fit.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split
from sklearn.utils.estimator_checks import check_classifiers_train

from sknn import (
    BookSearchCV,
    DivergenceWarning,
    FailedToLearnWarning,
    MLPClassifierBook,
    TrainingInterruptedWarning,
)
from sknn.activations import Sigmoid
from sknn.callbacks import EarlyStopping


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, random_state=0, stratify=y
    )
    return X_train[:600], X_test[:300], y_train[:600], y_test[:300]


@pytest.fixture(scope="module")
def good_model(digits):
    X, _, y, _ = digits
    return pickle.dumps(MLPClassifierBook(epochs=3, random_state=0).fit(X, y))


def assert_unchanged(model, before, X, reference):
    assert pickle.dumps(model) == before
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


# --- a refit that fails keeps the good model --------------------------------


def test_callback_raising_in_epoch_2_keeps_the_previous_model(digits, good_model):
    X, _, y, _ = digits
    model, reference = pickle.loads(good_model), pickle.loads(good_model)

    def fail_in_epoch_2(estimator, record):
        if record["epoch"] == 2:
            raise RuntimeError("boom")

    model.set_params(callbacks=[fail_in_epoch_2], random_state=1)
    state = dict(vars(model))
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, y)
    assert vars(model).keys() == state.keys()
    assert all(vars(model)[k] is v for k, v in state.items())
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


def test_weights_too_large_for_memory_are_refused_before_allocating(digits, good_model):
    X, _, y, _ = digits
    model, reference = pickle.loads(good_model), pickle.loads(good_model)
    model.set_params(hidden_layer_sizes=(10**5, 10**5))
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(100000, 100000\)"):
        model.fit(X, y)
    assert_unchanged(model, before, X, reference)


def test_initializer_of_wrong_shape_is_refused(digits, good_model):
    X, _, y, _ = digits
    model, reference = pickle.loads(good_model), pickle.loads(good_model)
    model.set_params(
        initializer=lambda n_in, n_out, rng, dtype: (
            np.zeros((n_out, n_in)),
            np.zeros(n_out),
        )
    )
    with pytest.raises(ValueError, match=r"initializer .* shape"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    assert [w.shape for w in model.coefs_] == [w.shape for w in reference.coefs_]


def test_sample_weights_summing_to_zero_are_refused(digits, good_model):
    X, _, y, _ = digits
    model, reference = pickle.loads(good_model), pickle.loads(good_model)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match=r"(?i)sample.weight"):
        model.fit(X, y, sample_weight=np.zeros(len(y)))
    assert_unchanged(model, before, X, reference)
    # Weights that are zero on every row left for training once
    # validation_fraction held out the others: the same seed holds out the
    # same rows, so weight only those.
    model.set_params(validation_fraction=0.5, monitor=("validation_cost",), epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FailedToLearnWarning)
        probe = pickle.loads(pickle.dumps(model)).fit(X, y)
    held_out = probe.history_[0]["validation_cost"]
    assert np.isfinite(held_out)
    before = pickle.dumps(model)
    rows = np.random.default_rng(0).permutation(len(y))
    for row in rows[:20]:
        weights = np.zeros(len(y))
        weights[row] = 1.0
        try:
            model.fit(X, y, sample_weight=weights)
        except ValueError as error:
            assert "validation_fraction" in str(error)
            assert "sample_weight" in str(error)
            break
    else:
        pytest.fail("no single weighted row was held out among 20 tries")
    assert_unchanged(model, before, X, reference)


def test_prediction_uses_the_fitted_cost_not_the_constructor_parameter(
    digits, good_model
):
    X, _, y, _ = digits
    model, reference = pickle.loads(good_model), pickle.loads(good_model)
    model.set_params(cost="nope")
    with pytest.raises(ValueError, match="'cost'"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), reference.predict_proba(X))
    model.set_params(cost="quadratic", activation="relu")
    np.testing.assert_array_equal(model.predict_proba(X), reference.predict_proba(X))


def test_negative_sample_weights_are_refused(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match=r"Negative values.*sample_weight"):
        MLPClassifierBook(epochs=1).fit(X, y, sample_weight=-np.ones(len(y)))


# --- failed training is never reported as a normal finish --------------------


def fit_recording(estimator, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return [w.category for w in caught], " ".join(str(w.message) for w in caught)


@pytest.mark.parametrize("monitor", [(), ("training_cost", "validation_accuracy")])
def test_learning_rate_1e3_is_reported(digits, monitor):
    X, _, y, _ = digits
    clf = MLPClassifierBook(
        learning_rate=1e3, epochs=5, monitor=monitor, random_state=0
    )
    categories, message = fit_recording(clf, X, y)
    assert clf.stop_reason_ in ("diverged", "failed_to_learn", "dead_units")
    assert any(
        issubclass(c, (DivergenceWarning, FailedToLearnWarning)) for c in categories
    )
    assert "learning_rate" in message


@pytest.mark.parametrize("monitor", [(), ("training_cost",)])
def test_l2_decay_factor_beyond_minus_one_diverges(digits, monitor):
    X, _, y, _ = digits
    eta, n = 0.5, len(y)
    clf = MLPClassifierBook(
        learning_rate=eta,
        lmbda=2.05 * n / eta,
        epochs=10,
        monitor=monitor,
        random_state=0,
    )
    with pytest.warns(DivergenceWarning, match="weights"):
        clf.fit(X, y)
    assert clf.stop_reason_ == "diverged"
    assert clf.n_iter_ <= 3
    assert all(np.isfinite(w).all() for w in clf.coefs_)
    assert clf.history_[-1]["diverged"] is True


@pytest.mark.parametrize("monitor", [(), ("training_cost",)])
def test_dead_relus_with_momentum_are_reported(digits, monitor):
    X, _, y, _ = digits
    clf = MLPClassifierBook(
        activation="relu",
        momentum=0.9,
        learning_rate=0.5,
        epochs=5,
        monitor=monitor,
        random_state=0,
    )
    with pytest.warns(FailedToLearnWarning, match="dead ReLUs"):
        clf.fit(X, y)
    assert clf.stop_reason_ == "dead_units"


def test_divergence_is_detected_without_monitoring(digits):
    X, _, y, _ = digits
    clf = MLPClassifierBook(learning_rate=1e9, epochs=5, monitor=(), random_state=0)
    with pytest.warns(DivergenceWarning, match="epoch 1"):
        clf.fit(X, y)
    assert clf.stop_reason_ == "diverged"
    assert all(np.isfinite(p).all() for p in clf.coefs_ + clf.intercepts_)


def test_saturated_sigmoid_layer_is_reported(digits):
    X, _, y, _ = digits

    def saturating(n_in, n_out, rng, dtype):
        return np.zeros((n_in, n_out), dtype), np.full(n_out, 60.0, dtype)

    clf = MLPClassifierBook(
        initializer=saturating, learning_rate=0.01, epochs=1, random_state=0
    )
    with pytest.warns(FailedToLearnWarning, match="saturated"):
        clf.fit(X, y)
    assert clf.stop_reason_ == "dead_units"


def test_a_model_that_learned_ends_with_epochs_and_no_warning(digits):
    X, _, y, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = MLPClassifierBook(epochs=3, monitor=(), random_state=0).fit(X, y)
    assert clf.stop_reason_ == "epochs"


# --- Ctrl-C -------------------------------------------------------------------


class InterruptingCost:
    """The cross-entropy cost, raising KeyboardInterrupt at a chosen place.

    ``where`` is "step" (the output error of a mini-batch) or "evaluation"
    (the cost over the whole training set, as ``monitor`` asks for it).
    """

    output_activation = Sigmoid

    def __init__(self, where, epoch, n_rows, batches_per_epoch):
        self.where, self.epoch = where, epoch
        self.n_rows, self.batches_per_epoch = n_rows, batches_per_epoch
        self.steps = 0

    def fn(self, a, y):
        whole_set = a.shape[0] > 10  # not a mini-batch
        steps_done = self.steps >= self.epoch * self.batches_per_epoch
        if self.where == "evaluation" and whole_set and steps_done:
            raise KeyboardInterrupt
        a = np.clip(a, 1e-12, 1 - 1e-12)
        return -(y * np.log(a) + (1 - y) * np.log1p(-a)).sum(axis=1)

    def delta(self, a, y, out, scratch):
        self.steps += 1
        if self.where == "step" and self.steps == (
            (self.epoch - 1) * self.batches_per_epoch + 3
        ):
            raise KeyboardInterrupt
        np.subtract(a, y, out=out)


def interrupt_at_once(estimator, record):
    raise KeyboardInterrupt


def interrupted_fit(where, X, y, epoch=3):
    cost = InterruptingCost(where, epoch, len(y), -(-len(y) // 10))
    callbacks = []
    if where == "hook":

        def interrupt(estimator, record):
            if record["epoch"] == epoch:
                raise KeyboardInterrupt

        callbacks = [interrupt]
    return MLPClassifierBook(
        cost=cost,
        epochs=10,
        random_state=0,
        callbacks=callbacks,
        monitor=("training_cost",),
    )


@pytest.mark.parametrize("where", ["step", "evaluation", "hook"])
def test_ctrl_c_anywhere_keeps_the_last_completed_epoch(digits, where):
    X, _, y, _ = digits
    clf = interrupted_fit(where, X, y)
    # warns outside raises: pytest.warns checks nothing when an exception leaves it.
    with (
        pytest.warns(TrainingInterruptedWarning, match="epoch 3.*weights of epoch 2"),
        pytest.raises(KeyboardInterrupt),
    ):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and clf.stop_reason_ == "interrupted"
    assert [r["epoch"] for r in clf.history_] == [1, 2]
    reference = MLPClassifierBook(
        cost=InterruptingCost("nowhere", 0, len(y), 1),
        epochs=2,
        random_state=0,
        monitor=("training_cost",),
    ).fit(X, y)
    for got, want in zip(
        clf.coefs_ + clf.intercepts_, reference.coefs_ + reference.intercepts_
    ):
        np.testing.assert_array_equal(got, want)
    assert clf.history_ == [
        {**r, "time": g["time"]} for r, g in zip(reference.history_, clf.history_)
    ]


def test_ctrl_c_in_the_first_epoch_leaves_the_model_as_it_was(digits, good_model):
    X, _, y, _ = digits
    model = pickle.loads(good_model)
    model.set_params(callbacks=[interrupt_at_once])
    before = pickle.dumps(model)
    with (
        pytest.warns(TrainingInterruptedWarning, match="left as it was"),
        pytest.raises(KeyboardInterrupt),
    ):
        model.fit(X, y)
    assert pickle.dumps(model) == before


@pytest.mark.parametrize("where", ["step", "evaluation", "hook"])
def test_ctrl_c_stops_a_grid_search_instead_of_being_scored(digits, where):
    X, _, y, _ = digits
    search = GridSearchCV(
        interrupted_fit(where, X[:400], y[:400], epoch=2),
        {"lmbda": [0.0, 0.1]},
        cv=3,
        n_jobs=1,
    )
    with pytest.warns(TrainingInterruptedWarning), pytest.raises(KeyboardInterrupt):
        search.fit(X[:400], y[:400])
    assert not hasattr(search, "cv_results_")


def test_ctrl_c_stops_cross_validate_and_book_search(digits):
    X, _, y, _ = digits
    calls = {"n": 0}

    def interrupt_on_the_fourth_epoch_overall(estimator, record):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt

    clf = MLPClassifierBook(
        epochs=3, random_state=0, callbacks=[interrupt_on_the_fourth_epoch_overall]
    )
    with pytest.warns(TrainingInterruptedWarning), pytest.raises(KeyboardInterrupt):
        cross_validate(clf, X, y, cv=3)
    assert calls["n"] == 4
    calls["n"] = 0
    search = BookSearchCV(
        clf,
        stages=("learning_rate_threshold",),
        learning_rates=(0.1, 1.0),
        cv=2,
        random_state=0,
    )
    with pytest.warns(TrainingInterruptedWarning), pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    assert calls["n"] == 4


# --- hooks start afresh in every fit -------------------------------------------


def test_a_hook_object_is_reset_between_fits(digits):
    X, X_val, y, y_val = digits
    hook = EarlyStopping(2)
    first = MLPClassifierBook(epochs=8, random_state=0, callbacks=[hook])
    first.fit(X, y, X_val=X_val, y_val=y_val)
    second = MLPClassifierBook(epochs=8, random_state=1, callbacks=[hook])
    second.fit(X, y, X_val=X_val, y_val=y_val)
    fresh = MLPClassifierBook(epochs=8, random_state=1, callbacks=[EarlyStopping(2)])
    fresh.fit(X, y, X_val=X_val, y_val=y_val)
    for got, want in zip(second.coefs_, fresh.coefs_):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(second.coefs_[0], first.coefs_[0])


# --- prediction input beyond the model's dtype --------------------------------


def test_float64_input_beyond_float32_range_is_refused(digits):
    X, _, y, _ = digits
    clf = MLPClassifierBook(epochs=1, random_state=0).fit(X.astype(np.float32), y)
    huge = X.copy()
    huge[0, 5] = 1e39
    with pytest.raises(ValueError, match=r"X holds values up to 1e\+39.*float32"):
        clf.predict_proba(huge)


# --- the defaults learn ---------------------------------------------------------


def test_relu_log_likelihood_momentum_dropout_passes_check_classifiers_train():
    clf = MLPClassifierBook(
        activation="relu",
        cost="log_likelihood",
        momentum=0.9,
        dropout=0.5,
        random_state=0,
    )
    check_classifiers_train("MLPClassifierBook", clf)


def test_a_warm_start_after_divergence_continues_from_the_last_good_epoch(digits):
    X, _, y, _ = digits
    clf = MLPClassifierBook(
        momentum=0.5, epochs=2, warm_start=True, random_state=0, monitor=()
    ).fit(X, y)
    kept = [w.copy() for w in clf.coefs_]
    clf.set_params(learning_rate=1e9, epochs=1)
    with pytest.warns(DivergenceWarning):
        clf.fit(X, y)
    for got, want in zip(clf.coefs_, kept):
        np.testing.assert_array_equal(got, want)
    clf.set_params(learning_rate="auto", epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y)  # velocities of the diverged epoch would blow it up
    assert clf.stop_reason_ == "epochs"
    assert clf.score(X, y) > 0.8
