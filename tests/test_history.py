"""Watching training: history, validation data, early stopping, schedule, callbacks."""

import warnings

import numpy as np
import pytest
import sklearn
from scipy.special import expit
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, label_binarize

from sknn import (
    DivergenceWarning,
    FailedToLearnWarning,
    MLPClassifierBook,
    TrainingInterruptedWarning,
)
from sknn.costs import CrossEntropyCost

ALL_MONITORS = (
    "training_cost",
    "training_accuracy",
    "validation_cost",
    "validation_accuracy",
)


def sigmoid_outputs(clf, X):
    """The network's outputs from its public weights (sigmoid layers)."""
    a = X
    for w, b in zip(clf.coefs_, clf.intercepts_):
        a = expit(a @ w + b)
    return a


def cross_entropy(clf, X, y, sample_weight=None):
    """The mean cross-entropy cost C_0 (eq. 63) of a fitted sigmoid network."""
    Y = label_binarize(y, classes=clf.classes_)
    per_sample = CrossEntropyCost.fn(sigmoid_outputs(clf, X), Y)
    return float(np.average(per_sample, weights=sample_weight))


def l2_penalty(clf, n):
    return 0.5 * clf.lmbda / n * sum((w**2).sum() for w in clf.coefs_)


@pytest.fixture(scope="module")
def digits(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    return X_train[:600], X_test[:300], y_train[:600], y_test[:300]


def test_history_records_every_monitor_and_matches_the_final_model(digits):
    X, X_val, y, y_val = digits
    clf = MLPClassifierBook(
        monitor=ALL_MONITORS, epochs=4, lmbda=2.0, random_state=0
    ).fit(X, y, X_val=X_val, y_val=y_val)
    assert [r["epoch"] for r in clf.history_] == [1, 2, 3, 4]
    last = clf.history_[-1]
    assert last["training_accuracy"] == pytest.approx(clf.score(X, y))
    assert last["validation_accuracy"] == pytest.approx(clf.score(X_val, y_val))
    assert last["validation_correct"] == round(clf.score(X_val, y_val) * len(y_val))
    assert last["validation_size"] == len(y_val)
    assert last["training_cost"] == pytest.approx(
        cross_entropy(clf, X, y) + l2_penalty(clf, len(X))
    )
    # network2's total_cost divides lambda by the size of the set it measures.
    assert last["validation_cost"] == pytest.approx(
        cross_entropy(clf, X_val, y_val) + l2_penalty(clf, len(X_val))
    )
    assert clf.loss_curve_ == [r["training_cost"] for r in clf.history_]
    assert all(r["learning_rate"] == 0.5 and r["time"] > 0 for r in clf.history_)


class _InitialWeights:
    """A callback that keeps a copy of the weights training starts from."""

    def on_train_begin(self, estimator):
        self.coefs_ = [w.copy() for w in estimator.coefs_]
        self.intercepts_ = [b.copy() for b in estimator.intercepts_]

    def on_epoch_end(self, estimator, record):
        pass


def test_initial_cost_is_the_untrained_networks_training_cost(digits):
    X, _, y, _ = digits
    start = _InitialWeights()
    clf = MLPClassifierBook(
        epochs=2, lmbda=3.0, monitor=(), callbacks=[start], random_state=0
    ).fit(X, y)
    start.classes_, start.lmbda = clf.classes_, clf.lmbda
    untrained = cross_entropy(start, X, y) + l2_penalty(start, len(y))
    assert clf.initial_cost_ == pytest.approx(untrained, rel=1e-12)
    assert clf.initial_cost_ > 2 * cross_entropy(clf, X, y)

    again = clone(clf).set_params(callbacks=None, monitor=("training_cost",))
    again.set_params(warm_start=True).fit(X, y)
    end_of_first_fit = again.history_[-1]["training_cost"]
    assert again.initial_cost_ == pytest.approx(untrained, rel=1e-12)
    again.fit(X, y)
    assert again.initial_cost_ == pytest.approx(end_of_first_fit, rel=1e-12)


def test_initial_cost_on_more_than_1024_rows_is_an_even_sample(digits_split):
    X_train, _, y_train, _ = digits_split
    order = np.argsort(y_train, kind="stable")
    X, y = X_train[order], y_train[order]
    start = _InitialWeights()
    clf = MLPClassifierBook(
        epochs=1, lmbda=0.0, monitor=(), callbacks=[start], random_state=0
    ).fit(X, y)
    start.classes_ = clf.classes_
    assert len(y) > 1024
    assert clf.initial_cost_ == pytest.approx(cross_entropy(start, X, y), rel=0.02)


def test_monitoring_off_records_only_epoch_rate_and_time(digits):
    X, _, y, _ = digits
    clf = MLPClassifierBook(monitor=(), epochs=2, random_state=0).fit(X, y)
    assert [set(r) for r in clf.history_] == [{"epoch", "learning_rate", "time"}] * 2


def test_monitoring_does_not_change_training(digits):
    X, X_val, y, y_val = digits
    watched = MLPClassifierBook(monitor=ALL_MONITORS, epochs=3, random_state=0)
    unwatched = clone(watched).set_params(monitor=())
    watched.fit(X, y, X_val=X_val, y_val=y_val)
    unwatched.fit(X, y)
    np.testing.assert_array_equal(watched.coefs_[0], unwatched.coefs_[0])


def test_unknown_monitor_is_named(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="validation_accuracy"):
        MLPClassifierBook(monitor=("test_accuracy",)).fit(X, y)


def test_validation_fraction_holds_out_a_stratified_seeded_split(digits):
    X, _, y, _ = digits
    clf = MLPClassifierBook(
        validation_fraction=0.25, monitor=ALL_MONITORS, epochs=2, random_state=0
    ).fit(X, y)
    assert clf.history_[0]["validation_size"] == 150
    assert clf.history_[0]["training_size"] == 450
    again = clone(clf).fit(X, y)
    assert again.history_ == [
        {**r, "time": a["time"]} for r, a in zip(clf.history_, again.history_)
    ]


def test_validation_labels_must_be_known(digits):
    X, X_val, y, y_val = digits
    with pytest.raises(ValueError, match="y_val holds classes"):
        MLPClassifierBook(epochs=1).fit(X[y < 5], y[y < 5], X_val=X_val, y_val=y_val)
    with pytest.raises(ValueError, match="both X_val and y_val"):
        MLPClassifierBook(epochs=1).fit(X, y, X_val=X_val)


def first_best_epoch(history):
    accuracies = [r["validation_accuracy"] for r in history]
    return history[int(np.argmax(accuracies))]["epoch"]


def test_early_stopping_stops_after_n_flat_epochs_and_restores_the_best(digits):
    X, X_val, y, y_val = digits
    snapshots = {}

    def remember(estimator, record):
        snapshots[record["epoch"]] = [w.copy() for w in estimator.coefs_]

    clf = MLPClassifierBook(
        early_stopping=True,
        n_iter_no_change=3,
        epochs=60,
        random_state=0,
        callbacks=[remember],
    )
    # A small validation set plateaus within a few epochs.
    clf.fit(X, y, X_val=X_val[:20], y_val=y_val[:20])
    assert clf.stop_reason_ == "early_stopping"
    assert clf.best_epoch_ == first_best_epoch(clf.history_)
    assert clf.n_iter_ == clf.best_epoch_ + 3
    np.testing.assert_array_equal(clf.coefs_[0], snapshots[clf.best_epoch_][0])


def test_halving_schedule_halves_at_plateaus_and_stops_at_eta0_over_128(digits):
    X, X_val, y, y_val = digits
    clf = MLPClassifierBook(
        learning_rate_schedule="halving",
        n_iter_no_change=2,
        learning_rate=0.4,
        epochs=200,
        random_state=0,
    ).fit(X, y, X_val=X_val[:20], y_val=y_val[:20])
    expected, rate, best, flat = [], 0.4, -1.0, 0
    for record in clf.history_:
        expected.append(rate)
        if record["validation_accuracy"] > best:
            best, flat = record["validation_accuracy"], 0
        else:
            flat += 1
            if flat == 2:
                rate, flat = rate / 2, 0
    assert [r["learning_rate"] for r in clf.history_] == expected
    assert clf.learning_rate_ == rate < 0.4 / 128
    assert expected[-1] >= 0.4 / 128
    assert clf.stop_reason_ == "learning_rate_floor"
    assert clf.best_epoch_ == first_best_epoch(clf.history_)


def test_early_stopping_without_validation_data_is_refused(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="validation_fraction"):
        MLPClassifierBook(early_stopping=True).fit(X, y)


def test_callback_stopping_at_epoch_3(digits):
    X, _, y, _ = digits
    seen = []

    def stop_at_3(estimator, record):
        seen.append((estimator, record["epoch"]))
        return record["epoch"] == 3

    clf = MLPClassifierBook(epochs=10, callbacks=[stop_at_3], random_state=0).fit(X, y)
    assert clf.n_iter_ == 3
    assert clf.stop_reason_ == "callback"
    assert [epoch for _, epoch in seen] == [1, 2, 3]
    assert all(est is clf for est, _ in seen)


def test_callback_object_with_hooks(digits):
    X, _, y, _ = digits

    class Recorder:
        def __init__(self):
            self.epochs, self.ended = [], False

        def on_epoch_end(self, estimator, record):
            self.epochs.append(record["epoch"])

        def on_train_end(self, estimator):
            self.ended = True

    recorder = Recorder()
    MLPClassifierBook(epochs=2, callbacks=[recorder]).fit(X, y)
    assert recorder.epochs == [1, 2] and recorder.ended


def test_bad_callback_is_named(digits):
    X, _, y, _ = digits
    with pytest.raises(TypeError, match="callback"):
        MLPClassifierBook(epochs=1, callbacks=[42]).fit(X, y)


def test_verbose_prints_one_line_per_epoch_like_network2(digits, capsys):
    X, X_val, y, y_val = digits
    MLPClassifierBook(epochs=2, verbose=True, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("Epoch 2: training cost ")
    assert "validation accuracy " in lines[1] and f" / {len(y_val)}" in lines[1]


def test_ctrl_c_keeps_the_last_completed_epoch_and_reaches_the_caller(digits):
    X, _, y, _ = digits

    def interrupt_in_epoch_3(estimator, record):
        if record["epoch"] == 3:
            estimator.coefs_[0][...] = np.nan
            raise KeyboardInterrupt

    clf = MLPClassifierBook(epochs=10, random_state=0, callbacks=[interrupt_in_epoch_3])
    # warns outside raises: pytest.warns checks nothing when an exception leaves it.
    with (
        pytest.warns(TrainingInterruptedWarning, match="epoch 3.*weights of epoch 2"),
        pytest.raises(KeyboardInterrupt),
    ):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and clf.stop_reason_ == "interrupted"
    assert [r["epoch"] for r in clf.history_] == [1, 2]
    reference = MLPClassifierBook(epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], reference.coefs_[0])
    assert clf.score(X, y) == reference.score(X, y)


def test_divergence_names_the_epoch_and_keeps_a_warm_started_model(digits):
    X, _, y, _ = digits
    clf = MLPClassifierBook(epochs=3, warm_start=True, random_state=0).fit(X, y)
    before = [p.copy() for p in clf.coefs_ + clf.intercepts_]
    score = clf.score(X, y)
    clf.set_params(learning_rate=1e9)
    with pytest.warns(DivergenceWarning, match=r"epoch 4.*smaller learning_rate"):
        clf.fit(X, y)
    assert clf.stop_reason_ == "diverged"
    assert all(np.isfinite(p).all() for p in clf.coefs_ + clf.intercepts_)
    for p, b in zip(clf.coefs_ + clf.intercepts_, before):
        np.testing.assert_array_equal(p, b)
    assert clf.score(X, y) == score
    assert not np.isfinite(clf.history_[-1]["training_cost"])
    assert clf.history_[-1]["diverged"] is True
    assert "diverged" not in clf.history_[-2]


def test_grid_search_with_a_diverging_learning_rate_ranks_it_last(digits):
    X, _, y, _ = digits
    search = GridSearchCV(
        MLPClassifierBook(epochs=5, random_state=0),
        {"learning_rate": [0.5, 1e9, 1.0]},
        cv=3,
    )
    with pytest.warns(DivergenceWarning):
        search.fit(X, y)
    ranks = search.cv_results_["rank_test_score"]
    assert ranks[1] == 3
    assert search.best_params_["learning_rate"] != 1e9


def test_explicit_validation_set_routed_through_pipeline_and_grid_search(digits):
    X, X_val, y, y_val = digits
    X, X_val = X * 16, X_val * 16
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [
                ("scale", MinMaxScaler()),
                (
                    "clf",
                    MLPClassifierBook(
                        epochs=3, monitor=("validation_accuracy",), random_state=0
                    ).set_fit_request(X_val=True, y_val=True),
                ),
            ],
            transform_input=["X_val"],
        )
        search = GridSearchCV(pipe, {"clf__lmbda": [0.0, 0.1]}, cv=2)
        search.fit(X, y, X_val=X_val, y_val=y_val)
    best = search.best_estimator_
    record = best[-1].history_[-1]
    assert record["validation_size"] == len(y_val)
    assert record["validation_accuracy"] == pytest.approx(best.score(X_val, y_val))
    assert record["validation_accuracy"] > 0.8


@pytest.mark.skipif(
    not hasattr(MLPClassifierBook, "set_callbacks"),
    reason="scikit-learn < 1.9 has no sklearn.callback API",
)
def test_sklearn_progress_bar_and_scoring_monitor(digits):
    from sklearn.callback import ProgressBar, ScoringMonitor

    X, _, y, _ = digits
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifierBook(epochs=3, random_state=0)
    clf.set_callbacks(ProgressBar(), monitor)
    clf.fit(X, y)
    epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in epochs] == [0, 1, 2]
    assert epochs[-1]["accuracy"] == pytest.approx(clf.score(X, y))
    assert epochs[0]["accuracy"] < epochs[-1]["accuracy"]


@pytest.mark.skipif(
    not hasattr(MLPClassifierBook, "set_callbacks"),
    reason="scikit-learn < 1.9 has no sklearn.callback API",
)
def test_sklearn_progress_bar_propagates_from_grid_search(digits, capsys):
    from sklearn.callback import ProgressBar

    X, _, y, _ = digits
    search = GridSearchCV(
        MLPClassifierBook(epochs=2, random_state=0), {"lmbda": [0.0, 0.1]}, cv=2
    )
    search.set_callbacks(ProgressBar())
    search.fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV" in out
    assert "MLPClassifierBook - fit" in out


def test_validation_split_keeps_the_sample_weights_of_held_out_rows(digits):
    X, _, y, _ = digits
    # eta so small that the weights stay the seeded initial ones: the
    # validation cost then depends only on which rows and weights are held out.
    clf = MLPClassifierBook(
        validation_fraction=0.25,
        monitor=("validation_cost",),
        epochs=1,
        learning_rate=1e-12,
        lmbda=0.0,
        random_state=0,
    )

    def validation_cost(weights):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FailedToLearnWarning)
            fitted = clone(clf).fit(X, y, sample_weight=weights)
        return fitted.history_[0]["validation_cost"]

    uniform = validation_cost(np.ones(len(y)))
    assert validation_cost(np.full(len(y), 3.0)) == pytest.approx(uniform)
    assert validation_cost(np.where(y == 0, 0.0, 1.0)) != pytest.approx(uniform)


def test_without_sklearn_callback_api_the_estimator_still_trains(monkeypatch, digits):
    """scikit-learn < 1.9 has no sklearn.callback: a stand-in mixin, no set_callbacks."""
    import importlib
    import sys

    import sknn._base as base_module
    import sknn._classifier
    import sknn._classifier as classifier_module
    import sknn._sklearn_callbacks as bridge_module

    X, _, y, _ = digits
    saved = {
        module: dict(vars(module))
        for module in (bridge_module, base_module, classifier_module)
    }
    monkeypatch.setitem(sys.modules, "sklearn.callback", None)
    try:
        importlib.reload(bridge_module)
        importlib.reload(base_module)
        old_sklearn = importlib.reload(classifier_module)
        clf = old_sklearn.MLPClassifierBook(epochs=2, random_state=0)
        assert not hasattr(clf, "set_callbacks")
        clf.fit(X, y)
        assert clf.n_iter_ == 2 and clf.score(X, y) > 0.8
    finally:
        monkeypatch.undo()
        for module, namespace in saved.items():
            vars(module).clear()
            vars(module).update(namespace)
    assert sknn._classifier.MLPClassifierBook is MLPClassifierBook


def test_a_hook_asks_for_a_new_learning_rate_and_the_loop_applies_it(digits):
    from sknn.callbacks import Decision

    X, _, y, _ = digits

    def slow_down_after_epoch_2(estimator, record):
        if record["epoch"] == 2:
            return Decision(learning_rate=record["learning_rate"] / 5)
        return None

    clf = MLPClassifierBook(
        epochs=4, learning_rate=0.5, callbacks=[slow_down_after_epoch_2], random_state=0
    ).fit(X, y)
    assert [r["learning_rate"] for r in clf.history_] == [0.5, 0.5, 0.1, 0.1]
    assert clf.learning_rate_ == 0.1
    assert clf.stop_reason_ == "epochs"


def test_early_stopping_hook_forgets_an_earlier_fit_on_train_begin():
    from sknn.callbacks import EarlyStopping

    class Model:
        coefs_, intercepts_ = [np.zeros(2)], [np.zeros(1)]

    hook = EarlyStopping(patience=1)
    hook.on_train_begin(Model)
    hook.on_epoch_end(Model, {"epoch": 1, "validation_accuracy": 0.9})
    assert hook.on_train_end(Model).restore[0] == 1
    hook.on_train_begin(Model)
    assert hook.on_train_end(Model) is None
    assert not hook.on_epoch_end(Model, {"epoch": 1, "validation_accuracy": 0.1}).stop
