"""BookSearchCV: chapter 3's hyper-parameter recipe as one scikit-learn estimator."""

import math
import re
import signal
import subprocess
import sys
import threading
import time

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    ShuffleSplit,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sknn import MLPClassifierBook, training_threads
from sknn.tuning import STAGES, BookSearchCV

from .conftest import default_sigint
from .test_training_threads import linux_with_two_cores, max_threads_during

# Small ranges keep each search to a second or two on two cores.
QUICK = {
    "learning_rates": (0.1, 1.0, 10.0),
    "threshold_refine_factors": (2.0, 5.0),
    "max_epochs": 30,
    "lmbdas": (0.0, 0.1, 1.0),
    "learning_rate_factors": (0.5, 2.0),
    "batch_sizes": (10, 50),
    "cv": 3,
    "random_state": 0,
}
DETERMINISTIC_STAGES = STAGES[:-1]  # the batch-size stage measures time
BOOK_STAGES = ("learning_rate_threshold", "epochs", "lmbda", "learning_rate")
NETWORK_STAGES = {
    "cost",
    "activation",
    "architecture",
    "momentum",
    "schedule",
    "dropout",
}


@pytest.fixture(scope="module")
def small_digits(digits_split):
    """600 training images (stratified) of the shared 75/25 split, and its test part."""
    X_train, X_test, y_train, y_test = digits_split
    X_small, _, y_small, _ = train_test_split(
        X_train, y_train, train_size=600, random_state=0, stratify=y_train
    )
    return X_small, X_test, y_small, y_test


def assert_each_choice_is_its_stages_best(search):
    """Check every stage's choice against what the stage itself recorded."""
    for result in search.stages_:
        d = result.details
        if result.name == "learning_rate_threshold":
            for eta, histories in d["histories"].items():
                falls = all(
                    np.isfinite(costs).all()
                    and np.all(np.asarray(costs[1:]) < 0.999 * np.asarray(costs[:-1]))
                    for costs in histories
                )
                verdict = d["verdicts"][eta][0]
                assert falls == (verdict in ("fell", "slower")), eta
            ordered = sorted(d["verdicts"])
            below = [eta for eta in ordered if eta <= d["threshold"]]
            assert all(d["verdicts"][eta][0] == "fell" for eta in below)
            failures = [eta for eta in ordered if d["verdicts"][eta][0] != "fell"]
            assert d["first_failure"] == (failures[0] if failures else None)
            assert not failures or d["threshold"] < failures[0]
            assert result.chosen == pytest.approx(d["threshold"] * d["fraction"])
            assert not result.cv_results
        elif result.name == "epochs":
            assert result.chosen == math.ceil(np.median(d["stop_epochs"]))
            assert all(
                best <= stop for best, stop in zip(d["best_epochs"], d["stop_epochs"])
            )
        elif result.name == "batch_size":
            (cv_results,) = result.cv_results
            scores = cv_results["mean_test_score"]
            good = scores >= scores.max() - d["tolerance"]
            fastest = np.flatnonzero(good)[np.argmin(cv_results["mean_fit_time"][good])]
            assert cv_results["params"][fastest] == {result.param: result.chosen}
            assert result.score == scores[fastest]
        elif result.name in NETWORK_STAGES:
            scores = [score for _, score in d["rows"]]
            assert result.score in scores
            if result.chosen == result.tried[0]:
                assert result.score == scores[0]
            else:
                assert result.score > scores[0] + d["margin"]
        else:
            for cv_results in result.cv_results:
                best = cv_results["params"][np.argmin(cv_results["rank_test_score"])]
                assert result.param in best
            last = result.cv_results[-1]
            best = last["params"][np.argmin(last["rank_test_score"])]
            if result.name == "learning_rate" and d["margin"] is not None:
                kept = result.chosen == d["previous"]
                beaten_by = last["mean_test_score"].max() - result.score
                assert best == {result.param: result.chosen} or (
                    kept and beaten_by <= d["margin"]
                )
            else:
                assert best == {result.param: result.chosen}
                assert result.score == pytest.approx(last["mean_test_score"].max())
    expected = {}
    for result in search.stages_:
        expected.update({result.param: result.chosen, **result.also})
    assert search.best_params_ == expected
    if search.stages_[-1].score is not None:
        assert search.best_score_ == search.stages_[-1].score
    fitted = search.best_estimator_.get_params()
    for name, value in search.best_params_.items():
        assert fitted[name] == value


def test_digits_search_runs_every_stage_and_beats_the_book_defaults(small_digits):
    X_train, X_test, y_train, y_test = small_digits
    # Same initial weights as the default model, so only the settings differ.
    # A small validation set is noisy, so a more lenient no-improvement-in-20
    # (the book's next step after ten) decides the number of epochs.
    search = BookSearchCV(
        MLPClassifierBook(random_state=0),
        cv=3,
        n_iter_no_change=20,
        n_jobs=2,
        random_state=0,
    ).fit(X_train, y_train)

    assert [result.name for result in search.stages_] == list(STAGES)
    assert_each_choice_is_its_stages_best(search)
    default = MLPClassifierBook(random_state=0).fit(X_train, y_train)
    assert search.score(X_test, y_test) >= default.score(X_test, y_test)
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    assert search.n_features_in_ == 64
    np.testing.assert_allclose(search.predict_proba(X_test).sum(axis=1), 1.0)
    report = search.report()
    for result in search.stages_:
        assert result.name in report
        assert result.reason in report


@pytest.mark.parametrize(
    ("diverging", "how"),
    [(1000.0, "rises above the untrained cost"), (1e300, "becomes non-finite")],
)
def test_diverging_learning_rate_is_excluded_and_reported(small_digits, diverging, how):
    X_train, _, y_train, _ = small_digits
    search = BookSearchCV(
        MLPClassifierBook(),
        **{**QUICK, "learning_rates": (0.1, 1.0, diverging)},
    ).fit(X_train, y_train)

    threshold = search.stages_[0]
    verdict, epoch = threshold.details["verdicts"][diverging]
    assert verdict == "diverged", how
    assert threshold.details["threshold"] < diverging
    assert all(
        value < diverging
        for name, value in search.best_params_.items()
        if name.endswith("learning_rate")
    )
    assert f"learning rate {diverging:g} diverged in epoch {epoch}" in search.report()
    assert [result.name for result in search.stages_] == list(STAGES)
    assert_each_choice_is_its_stages_best(search)


@pytest.mark.parametrize(
    ("subsample", "rows"), [("auto", 10_000), (None, 12_000), (0.5, 6_000)]
)
def test_threshold_stage_trains_on_at_most_10000_rows_by_default(subsample, rows):
    X, y = make_classification(n_samples=24_000, n_features=8, random_state=0)
    search = BookSearchCV(
        MLPClassifierBook((5,), monitor=(), random_state=0),
        stages=("learning_rate_threshold",),
        learning_rates=(0.001, 0.01, 0.1),
        threshold_refine_factors=(),
        subsample=subsample,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert search.stages_[0].details["n_rows"] == [rows, rows]
    shown = "all 12000 rows" if rows == 12_000 else f"{rows} of the 12000 rows"
    assert shown in search.report()


def test_threshold_starts_each_curve_at_the_untrained_cost_without_an_extra_fit(
    small_digits,
):
    X_train, _, y_train, _ = small_digits
    search = BookSearchCV(
        MLPClassifierBook(random_state=0),
        **{**QUICK, "stages": ("learning_rate_threshold",), "cv": 2},
    ).fit(X_train, y_train)
    details = search.stages_[0].details
    # One fit per eta and fold, and the 2-fold CV that scores the final eta.
    assert search.n_fits_ == 2 * len(details["verdicts"]) + 2
    (first_train, _), _ = StratifiedKFold(2).split(X_train, y_train)
    untrained = MLPClassifierBook(random_state=0, epochs=1, monitor=())
    untrained.fit(X_train[first_train], y_train[first_train])
    for histories in details["histories"].values():
        assert histories[0][0] == pytest.approx(untrained.initial_cost_, rel=1e-12)
        assert len(histories[0]) == 1 + search.threshold_epochs


def test_pipeline_parameters_take_the_last_steps_prefix(small_digits):
    X_train, X_test, y_train, y_test = small_digits
    pipe = make_pipeline(MinMaxScaler(), MLPClassifierBook())
    search = BookSearchCV(pipe, **{**QUICK, "stages": BOOK_STAGES}, search="halving")
    search.fit(X_train * 16, y_train)  # raw 0..16 pixels; the scaler scales

    assert set(search.best_params_) == {
        "mlpclassifierbook__learning_rate",
        "mlpclassifierbook__epochs",
        "mlpclassifierbook__lmbda",
    }
    assert all(r.param.startswith("mlpclassifierbook__") for r in search.stages_)
    assert isinstance(search.best_estimator_, Pipeline)
    lmbda = search.stages_[2]
    assert "iter" in lmbda.cv_results[0]  # successive halving ran
    assert_each_choice_is_its_stages_best(search)
    assert search.score(X_test * 16, y_test) > 0.8

    explicit = BookSearchCV(
        pipe,
        **{**QUICK, "stages": BOOK_STAGES},
        search="halving",
        prefix="mlpclassifierbook",
    ).fit(X_train * 16, y_train)
    assert explicit.best_params_ == search.best_params_


def _choices(search):
    return [
        (
            result.chosen,
            [list(cv["mean_test_score"]) for cv in result.cv_results],
            result.details.get("verdicts"),
            result.details.get("stop_epochs"),
        )
        for result in search.stages_
    ]


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_same_random_state_same_choices_with_one_or_two_jobs(small_digits, backend):
    X_train, _, y_train, _ = small_digits
    settings = {**QUICK, "stages": DETERMINISTIC_STAGES, "random_state": 3}
    one = BookSearchCV(MLPClassifierBook(), **settings, n_jobs=1).fit(X_train, y_train)
    with joblib.parallel_config(backend=backend):
        two = BookSearchCV(MLPClassifierBook(), **settings, n_jobs=2)
        two.fit(X_train, y_train)

    assert one.best_params_ == two.best_params_
    assert _choices(one) == _choices(two)
    np.testing.assert_array_equal(
        one.best_estimator_.coefs_[0], two.best_estimator_.coefs_[0]
    )


def test_lone_fits_on_the_idle_workers_threads_choose_as_one_job_does():
    # 1,500 rows x 300 features x [100]: fits large enough to run in threads;
    # with one split the epochs stage's run and the refit are lone fits, which
    # with two jobs split their first layer over two threads (min_work=0:
    # however short their epochs)
    pytest.importorskip("sknn._cepoch", reason="threads only for the compiled loop")
    X, y = make_classification(
        n_samples=1_500, n_features=300, n_informative=20, random_state=0
    )
    settings = dict(
        stages=("learning_rate_threshold", "epochs", "activation"),
        learning_rates=(0.001, 0.01, 0.1),
        threshold_refine_factors=(),
        max_epochs=6,
        n_iter_no_change=2,
        cv=ShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
        random_state=0,
    )
    base = MLPClassifierBook((100,), monitor=(), random_state=0)
    one = BookSearchCV(base, **settings, n_jobs=1).fit(X, y)
    with training_threads(1, min_work=0):
        two = BookSearchCV(base, **settings, n_jobs=2).fit(X, y)
    assert one.best_params_ == two.best_params_
    assert _choices(one) == _choices(two)
    for a, b in zip(one.best_estimator_.coefs_, two.best_estimator_.coefs_):
        np.testing.assert_array_equal(a, b)


@linux_with_two_cores
def test_a_stage_whose_fits_leave_workers_idle_lends_them_to_its_fits():
    # The cost stage scores its two candidates on one split: 2 fits on 4
    # workers, each splitting its first layer over 2 threads (min_work=0),
    # so 2 kernel threads at once; the refit alone adds 1. With a min_work
    # no fit reaches, nothing else differs between the two searches.
    pytest.importorskip("sknn._cepoch", reason="threads only for the compiled loop")
    X, y = make_classification(
        n_samples=1_500, n_features=300, n_informative=20, random_state=0
    )
    search = BookSearchCV(
        MLPClassifierBook((100,), epochs=20, monitor=(), random_state=0),
        stages=("cost",),
        learning_rates=(0.01, 0.1, 1.0),
        threshold_refine_factors=(),
        cv=ShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
        n_jobs=4,
        random_state=0,
    )

    def most_threads():
        return max_threads_during(lambda: clone(search).fit(X, y), lasting=0.02)

    with training_threads(1, min_work=0):
        split, before_split = most_threads()
    with training_threads(1, min_work=10**18):
        whole, before_whole = most_threads()
    assert (split - before_split) - (whole - before_whole) == 2


def test_dask_cluster_gives_the_same_choices_as_a_local_run(small_digits):
    distributed = pytest.importorskip(
        "distributed",
        reason="the Dask test needs the 'dask' extra: pip install 'sknn[dask]'",
    )
    X_train, _, y_train, _ = small_digits
    X_train, y_train = X_train[:300], y_train[:300]
    settings = {**QUICK, "stages": DETERMINISTIC_STAGES, "random_state": 1}
    local = BookSearchCV(MLPClassifierBook(), **settings).fit(X_train, y_train)

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_backend("dask"),
    ):
        remote = BookSearchCV(MLPClassifierBook(), **settings).fit(X_train, y_train)

    assert tasks.data, "no fit ran on the cluster"
    assert remote.best_params_ == local.best_params_
    assert _choices(remote) == _choices(local)


# --- bad input fails before any fitting -----------------------------------------


class CountingMLP(MLPClassifierBook):
    """An MLPClassifierBook that counts its fits."""

    fits = 0

    def fit(self, X, y, **kwargs):
        type(self).fits += 1
        return super().fit(X, y, **kwargs)


class CountingLogisticRegression(LogisticRegression):
    fits = 0

    def fit(self, X, y, **kwargs):
        type(self).fits += 1
        return super().fit(X, y, **kwargs)


class NoBatchSizeMLP(CountingMLP):
    """A network whose mini-batch size is fixed: it has no batch_size parameter."""

    def __init__(
        self,
        *,
        learning_rate=0.5,
        lmbda=0.1,
        regularizer="l2",
        epochs=30,
        early_stopping=False,
        n_iter_no_change=10,
        validation_fraction=None,
        learning_rate_schedule="constant",
        monitor=("training_cost",),
        random_state=None,
    ):
        super().__init__(
            learning_rate=learning_rate,
            lmbda=lmbda,
            regularizer=regularizer,
            epochs=epochs,
            early_stopping=early_stopping,
            n_iter_no_change=n_iter_no_change,
            validation_fraction=validation_fraction,
            learning_rate_schedule=learning_rate_schedule,
            monitor=monitor,
            random_state=random_state,
        )


@pytest.fixture
def no_fits_allowed():
    CountingMLP.fits = CountingLogisticRegression.fits = NoBatchSizeMLP.fits = 0
    yield
    assert CountingMLP.fits == 0
    assert CountingLogisticRegression.fits == 0
    assert NoBatchSizeMLP.fits == 0


@pytest.mark.parametrize(
    ("make_search", "error", "words"),
    [
        (
            lambda: BookSearchCV(CountingLogisticRegression()),
            TypeError,
            ["MLPClassifierBook", "CountingLogisticRegression"],
        ),
        (
            lambda: BookSearchCV(
                make_pipeline(MinMaxScaler(), CountingLogisticRegression())
            ),
            TypeError,
            ["last step", "countinglogisticregression", "CountingLogisticRegression"],
        ),
        (
            lambda: BookSearchCV(make_pipeline(CountingMLP()), prefix="mlp"),
            ValueError,
            ["'mlp__learning_rate'", "'countingmlp__'"],
        ),
        (
            lambda: BookSearchCV(NoBatchSizeMLP()),
            ValueError,
            ["'batch_size'", "stage 'batch_size'"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), learning_rates=()),
            ValueError,
            ["learning_rates is empty"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), lmbdas=[]),
            ValueError,
            ["lmbdas is empty"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), batch_sizes=()),
            ValueError,
            ["batch_sizes is empty"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), learning_rate_factors=()),
            ValueError,
            ["learning_rate_factors is empty"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), learning_rates=(0.1, -1.0)),
            ValueError,
            ["learning_rates", "positive", "-1.0"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), batch_sizes=(10, 2.5)),
            ValueError,
            ["batch_sizes", "2.5"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), threshold_refine_factors=(0.5,)),
            ValueError,
            ["threshold_refine_factors", "> 1"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), stages=("lmbda", "warm_up")),
            ValueError,
            ["'warm_up'", "learning_rate_threshold"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), stages=("lmbda", "epochs")),
            ValueError,
            ["book's order"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(early_stopping=True)),
            ValueError,
            ["early_stopping", "validation_fraction"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), subsample=1.5),
            ValueError,
            ["subsample"],
        ),
        (
            lambda: BookSearchCV(CountingMLP(), search="random"),
            ValueError,
            ["search"],
        ),
    ],
)
def test_bad_settings_fail_clearly_before_any_fit(
    small_digits, no_fits_allowed, make_search, error, words
):
    X_train, _, y_train, _ = small_digits
    with pytest.raises(error) as raised:
        make_search().fit(X_train, y_train)
    for word in words:
        assert word in str(raised.value)


def test_a_subclass_without_the_stages_parameter_is_fine_without_the_stage(
    small_digits,
):
    X_train, _, y_train, _ = small_digits
    search = BookSearchCV(
        NoBatchSizeMLP(), **{**QUICK, "stages": ("learning_rate_threshold",)}
    ).fit(X_train[:200], y_train[:200])
    assert set(search.best_params_) == {"learning_rate"}
    assert np.isfinite(search.best_score_)  # measured by cross-validation


def test_a_subset_of_stages_keeps_the_other_settings(small_digits):
    X_train, _, y_train, _ = small_digits
    base = MLPClassifierBook(learning_rate=0.3, epochs=15, batch_size=20)
    search = BookSearchCV(base, **{**QUICK, "stages": ("lmbda",)}).fit(X_train, y_train)
    assert list(search.best_params_) == ["lmbda"]
    fitted = search.best_estimator_
    assert (fitted.learning_rate, fitted.epochs, fitted.batch_size) == (0.3, 15, 20)
    assert search.best_score_ == search.stages_[0].score
    assert_each_choice_is_its_stages_best(search)


def test_fit_params_are_split_with_the_rows(small_digits):
    X_train, _, y_train, _ = small_digits
    settings = {**QUICK, "stages": ("learning_rate_threshold", "lmbda")}
    plain = BookSearchCV(MLPClassifierBook(), **settings).fit(X_train, y_train)
    weighted = BookSearchCV(MLPClassifierBook(), **settings).fit(
        X_train, y_train, sample_weight=np.ones(len(y_train))
    )
    # Unit weights train exactly as no weights, in every fold and subsample.
    assert _choices(weighted) == _choices(plain)


def test_unfitted_search_refuses_to_predict_and_clones():
    search = BookSearchCV(MLPClassifierBook(), lmbdas=(0.0, 1.0))
    with pytest.raises(NotFittedError):
        search.predict(np.zeros((1, 64)))
    assert clone(search).get_params()["lmbdas"] == (0.0, 1.0)


def test_plot_report_draws_one_panel_per_stage(small_digits, monkeypatch):
    pytest.importorskip("matplotlib", reason="plotting needs matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X_train, _, y_train, _ = small_digits
    search = BookSearchCV(MLPClassifierBook(), **QUICK).fit(
        X_train[:300], y_train[:300]
    )
    figure = search.plot_report()
    titled = [ax for ax in figure.axes if ax.get_title()]
    assert len(titled) == len(STAGES)
    for ax, result in zip(titled, search.stages_):
        chosen = result.chosen
        shown = str(list(chosen)) if isinstance(chosen, tuple) else str(chosen)
        if isinstance(chosen, float):
            shown = f"{chosen:g}"
        assert shown in ax.get_title()

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'sknn\[plot\]'"):
        search.plot_report()


# --- the budget, Ctrl-C, and bad data ---------------------------------------------


def test_max_fits_is_honoured_and_the_report_names_what_was_skipped(small_digits):
    X_train, _, y_train, _ = small_digits
    settings = {**QUICK, "stages": BOOK_STAGES}
    full = BookSearchCV(MLPClassifierBook(), **settings).fit(X_train, y_train)
    # Room for the threshold and epochs stages, not for the lambda stage.
    threshold_fits = 3 * len(full.stages_[0].tried)
    limit = threshold_fits + 3 + 2
    search = BookSearchCV(MLPClassifierBook(), **settings, max_fits=limit).fit(
        X_train, y_train
    )
    assert search.n_fits_ <= limit < full.n_fits_
    assert [r.skipped for r in search.stages_] == [False, False, True, True]
    assert search.best_params_ == {r.param: r.chosen for r in full.stages_[:2]}
    report = search.report()
    assert "Skipped for lack of budget: lmbda, learning_rate" in report
    assert "max_fits" in report
    # No scored stage ran, and cross-validating the final settings would take
    # three more fits than max_fits allows: the score is not measured.
    assert math.isnan(search.best_score_)
    assert "Mean CV score not measured (3 more fits would exceed max_fits" in report


def test_max_time_skips_the_stages_it_has_no_time_for(small_digits):
    X_train, _, y_train, _ = small_digits
    search = BookSearchCV(
        MLPClassifierBook(), **{**QUICK, "stages": BOOK_STAGES}, max_time=1e-3
    ).fit(X_train, y_train)
    # The first stage is timed to predict the rest; nothing else fits, not
    # even the cross-validation that would measure the final settings' score.
    assert [r.skipped for r in search.stages_] == [False, True, True, True]
    assert "max_time" in search.stages_[1].reason
    assert search.best_params_ == {search.stages_[0].param: search.stages_[0].chosen}
    assert search.n_fits_ == 3 * len(search.stages_[0].tried)
    assert math.isnan(search.best_score_)
    assert "Mean CV score not measured (needed about" in search.report()


def test_the_final_score_is_measured_when_only_unscored_stages_ran(small_digits):
    X_train, _, y_train, _ = small_digits
    search = BookSearchCV(
        MLPClassifierBook(), **{**QUICK, "stages": ("learning_rate_threshold",)}
    ).fit(X_train, y_train)
    threshold_fits = 3 * len(search.stages_[0].tried)
    assert search.n_fits_ == threshold_fits + 3  # and one 3-fold cross-validation
    assert 0.5 < search.best_score_ <= 1.0


def one_split_score(data, split, threshold, epochs, **params):
    """A fresh cross-validation of the network with the stages' eta and epochs."""
    X_train, X_test, y_train, y_test = data
    network = MLPClassifierBook(
        random_state=0,
        monitor=(),
        learning_rate=threshold.chosen,
        epochs=epochs.chosen,
        **params,
    )
    (score,) = cross_val_score(
        network, X_train, y_train, cv=split, params={"X_val": X_test, "y_val": y_test}
    )
    return score


def test_the_epochs_stage_scores_the_setting_it_chose_without_another_fit(
    small_digits,
):
    # With one split and epochs taken from the best epoch, early stopping
    # kept exactly the weights a fit of that many epochs ends with, so the
    # activation stage reuses their score for the current activation.
    X_train, X_test, y_train, y_test = small_digits
    split = ShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
    search = BookSearchCV(
        MLPClassifierBook(random_state=0),
        **{
            **QUICK,
            "cv": split,
            "stages": ("learning_rate_threshold", "epochs", "activation"),
            "activations": ("sigmoid", "relu"),
            "epochs_from": "best",
        },
    ).fit(X_train, y_train, X_val=X_test, y_val=y_test)
    threshold, epochs, activation = search.stages_
    (_, sigmoid_score), _ = activation.details["rows"]
    fresh = one_split_score(small_digits, split, threshold, epochs)
    assert sigmoid_score == fresh
    # The threshold fits, the early-stopping fit, ReLU's own threshold fits
    # and its CV fit; the sigmoid network is not fitted again.
    relu_threshold = len(threshold.tried)  # the same learning rates, one fold
    assert search.n_fits_ == len(threshold.tried) + 1 + relu_threshold + 1


def test_a_grid_stage_does_not_fit_a_value_scored_before_again(small_digits):
    # The epochs stage scored lambda = 0 (one split, epochs from the best
    # epoch); the lambda stage's refinement repeats the coarse winner, and the
    # eta stage the eta so far with the chosen lambda: none is fitted again.
    X_train, X_test, y_train, y_test = small_digits
    split = ShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
    settings = {**QUICK, "cv": split, "stages": BOOK_STAGES, "epochs_from": "best"}
    search = BookSearchCV(MLPClassifierBook(random_state=0), **settings).fit(
        X_train, y_train, X_val=X_test, y_val=y_test
    )
    threshold, epochs, lmbda, eta = search.stages_
    coarse = lmbda.cv_results[0]
    assert list(coarse["scored_earlier"]) == [True, False, False]  # 0, 0.1, 1
    assert np.isnan(coarse["mean_fit_time"][0])
    no_penalty = one_split_score(small_digits, split, threshold, epochs, lmbda=0.0)
    assert coarse["mean_test_score"][0] == no_penalty
    (table,) = eta.cv_results
    current = [p["learning_rate"] for p in table["params"]].index(
        eta.details["previous"]
    )
    assert table["scored_earlier"][current]
    tables = [*lmbda.cv_results, table]
    fitted = sum(int(np.sum(~t["scored_earlier"])) for t in tables)
    assert search.n_fits_ == len(threshold.tried) + 1 + fitted
    assert "(scored earlier, not fitted again)" in search.report()


def test_lambda_is_not_refined_when_the_budget_has_no_room(small_digits):
    X_train, _, y_train, _ = small_digits
    # without 0 among the lambdas, the coarse winner is refined
    settings = {**QUICK, "stages": BOOK_STAGES[:3], "lmbdas": (0.1, 1.0)}
    full = BookSearchCV(MLPClassifierBook(), **settings).fit(X_train, y_train)
    lmbda = full.stages_[2]
    assert lmbda.details["refined"]
    limit = full.n_fits_ - 1  # one fit short of the refinement
    search = BookSearchCV(MLPClassifierBook(), **settings, max_fits=limit).fit(
        X_train, y_train
    )
    assert search.n_fits_ <= limit
    cut = search.stages_[2]
    assert not cut.skipped and not cut.details["refined"]
    assert len(cut.cv_results) == 1
    assert cut.chosen == cut.details["coarse_best"] == lmbda.details["coarse_best"]
    assert "not refined (" in cut.reason and "max_fits" in cut.reason


QUIET_SCRIPT = """
import joblib
from sklearn.datasets import load_digits
from sknn import MLPClassifierBook
from sknn.tuning import BookSearchCV

X, y = load_digits(return_X_y=True)
with joblib.parallel_config(backend="{backend}"):
    BookSearchCV(
        MLPClassifierBook(random_state=0),
        stages=("learning_rate_threshold",),
        learning_rates=(0.1, 1.0, 100.0),
        cv=2,
        n_jobs=2,
        random_state=0,
    ).fit(X / 16, y)
"""


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_the_threshold_stage_keeps_its_expected_warnings_quiet(tmp_path, backend):
    # eta = 100 fails, as the stage expects; its DivergenceWarning or
    # FailedToLearnWarning must not reach the user from a worker thread or a worker process (whose stderr
    # is the parent's), on any supported scikit-learn.
    script = tmp_path / "search.py"
    script.write_text(QUIET_SCRIPT.format(backend=backend))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "DivergenceWarning" not in result.stderr
    assert "FailedToLearnWarning" not in result.stderr


class ThreadRecordingMLP(MLPClassifierBook):
    """Records the thread each fit runs in (in this process only)."""

    threads = []

    def fit(self, X, y, **kwargs):
        type(self).threads.append(threading.get_ident())
        return super().fit(X, y, **kwargs)


@pytest.mark.parametrize(
    ("n_features", "in_threads"), [(20, False), (200, True)], ids=["small", "large"]
)
def test_large_fits_run_in_threads_and_small_ones_in_processes(n_features, in_threads):
    # 1,500 rows x (n_features x 100 + 100 x 2) weights: 3.3 million for the
    # small network, whose fits are mostly Python and run faster in worker
    # processes; 30 million for the large one, mostly the compiled loop, which
    # releases the GIL. A fit in a worker process records nothing here.
    pytest.importorskip("sknn._cepoch", reason="threads only for the compiled loop")
    X, y = make_classification(
        n_samples=1_500, n_features=n_features, n_informative=10, random_state=0
    )
    ThreadRecordingMLP.threads = []
    BookSearchCV(
        ThreadRecordingMLP((100,), epochs=2, monitor=(), random_state=0),
        stages=("learning_rate_threshold",),
        learning_rates=(0.01, 0.1),
        threshold_refine_factors=(),
        cv=2,
        n_jobs=2,
        random_state=0,
    ).fit(X, y)
    workers = set(ThreadRecordingMLP.threads) - {threading.get_ident()}
    assert bool(workers) == in_threads


CTRL_C_SCRIPT = """
import time

import joblib
from sklearn.datasets import load_digits
from sknn import MLPClassifierBook
from sknn.tuning import BookSearchCV

X, y = load_digits(return_X_y=True)
with joblib.parallel_config(backend="threading"):  # digits alone would take processes
    search = BookSearchCV(
        MLPClassifierBook(epochs=2, random_state=0),
        stages=("learning_rate_threshold", "epochs"),
        learning_rates=(0.1, 1.0),
        threshold_refine_factors=(),
        max_epochs=10**6,
        n_iter_no_change=10**6,
        cv=2,
        n_jobs=2,
        verbose=1,
    ).fit(X / 16, y)

print("interrupted", search.interrupted_, "epochs", search.best_estimator_.n_iter_)
started = time.process_time()
time.sleep(2.0)
print("CPU seconds in the 2 s after fit", time.process_time() - started)
"""


def test_ctrl_c_ends_the_fits_running_in_threads(tmp_path):
    # The epochs stage's two fits would run a million epochs each, in two
    # threads, which nothing outside a thread can stop. A real SIGINT must
    # end them too, not only the search, which then refits with the
    # threshold's choice: once fit returns, nothing trains on.
    script = tmp_path / "search.py"
    script.write_text(CTRL_C_SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        for line in process.stdout:
            if "2/2 epochs ..." in line:
                break
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "interrupted epochs epochs 2" in stdout
    assert "SearchInterruptedWarning" in stderr
    idle = re.search(r"CPU seconds in the 2 s after fit (\S+)", stdout)
    assert float(idle.group(1)) < 0.5, stdout + stderr


class InterruptedMLP(MLPClassifierBook):
    """Raises KeyboardInterrupt (Ctrl-C) in its fit number ``interrupt_at``."""

    fits = 0
    interrupt_at = None

    def fit(self, X, y, **kwargs):
        type(self).fits += 1
        if type(self).fits == type(self).interrupt_at:
            raise KeyboardInterrupt
        return super().fit(X, y, **kwargs)


def test_ctrl_c_keeps_the_choices_so_far_and_a_usable_model(small_digits):
    X_train, X_test, y_train, _ = small_digits
    settings = {**QUICK, "stages": BOOK_STAGES}
    InterruptedMLP.fits, InterruptedMLP.interrupt_at = 0, None
    full = BookSearchCV(InterruptedMLP(), **settings).fit(X_train, y_train)
    threshold_and_epochs = 3 * (1 + len(full.stages_[0].tried)) + 3
    InterruptedMLP.fits, InterruptedMLP.interrupt_at = 0, threshold_and_epochs + 2

    with pytest.warns(UserWarning, match="interrupted during stage 'lmbda'"):
        search = BookSearchCV(InterruptedMLP(), **settings).fit(X_train, y_train)

    assert search.interrupted_ == "lmbda"
    assert [r.name for r in search.stages_] == ["learning_rate_threshold", "epochs"]
    assert search.best_params_ == {r.param: r.chosen for r in full.stages_[:2]}
    assert search.best_estimator_.epochs == full.stages_[1].chosen
    assert search.predict(X_test).shape == (len(X_test),)
    assert "Interrupted (Ctrl-C) during 'lmbda'" in search.report()


@pytest.mark.parametrize(
    ("X", "y", "words"),
    [
        (np.full((30, 4), np.nan), np.arange(30) % 3, ["NaN"]),
        (np.zeros((30, 4)), np.arange(29) % 3, ["inconsistent", "30", "29"]),
        (np.zeros((30, 4)), np.zeros(30), ["single class"]),
        (np.zeros((30, 4)), np.linspace(0, 1, 30), ["continuous"]),
        (np.zeros((30, 4)), np.zeros((30, 2)), ["1-d"]),
        (np.zeros((30, 4)), None, ["needs the class labels y"]),
    ],
)
def test_bad_data_fails_clearly_before_any_fit(no_fits_allowed, X, y, words):
    with pytest.raises(ValueError) as raised:
        BookSearchCV(CountingMLP()).fit(X, y)
    for word in words:
        assert word in str(raised.value)


def test_ctrl_c_in_the_first_stage_stops_the_search(small_digits):
    X_train, _, y_train, _ = small_digits
    InterruptedMLP.fits, InterruptedMLP.interrupt_at = 0, 2
    with pytest.raises(KeyboardInterrupt):
        BookSearchCV(InterruptedMLP(), **{**QUICK, "stages": BOOK_STAGES}).fit(
            X_train, y_train
        )


# --- scikit-learn's callbacks (scikit-learn >= 1.9) ------------------------------

needs_sklearn_callbacks = pytest.mark.skipif(
    not hasattr(BookSearchCV, "set_callbacks"),
    reason="scikit-learn < 1.9 has no sklearn.callback API",
)


class TaskRecorder:
    """An auto-propagated scikit-learn callback that keeps the tree of tasks."""

    max_propagation_depth = None

    def setup(self, estimator, context):
        self.root = context

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def children(self, context):
        return [task for task in self.root if task.parent is context]


@needs_sklearn_callbacks
def test_callbacks_see_each_stage_its_candidates_and_the_refits_epochs(
    small_digits,
):
    X_train, _, y_train, _ = small_digits
    recorder = TaskRecorder()
    search = BookSearchCV(
        MLPClassifierBook(), **{**QUICK, "stages": BOOK_STAGES[:3]}
    ).set_callbacks(recorder)
    search.fit(X_train, y_train)

    stages = recorder.children(recorder.root)
    assert [task.task_name for task in stages[:-1]] == list(BOOK_STAGES[:3])
    for task, result in zip(stages, search.stages_):
        candidates = recorder.children(task)
        assert len(candidates) == len(result.tried) > 0
        assert {child.task_name for child in candidates} == {"candidate"}
    refit = stages[-1]
    # the refit network's own fit task, merged into the search's "refit" task
    assert refit.source_task_name == "refit"
    assert refit.estimator_name == "MLPClassifierBook"
    epochs = recorder.children(refit)
    assert len(epochs) == search.best_estimator_.n_iter_
    assert {task.task_name for task in epochs} == {"epoch"}


@needs_sklearn_callbacks
@pytest.mark.parametrize(
    ("stages", "max_passes"), [(BOOK_STAGES[:2], 1), (BOOK_STAGES[:3], 2)]
)
def test_sklearn_progress_bar_shows_the_search(
    small_digits, capsys, stages, max_passes
):
    # with more than one pass, the search's number of stages is not known
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X_train, _, y_train, _ = small_digits
    settings = {**QUICK, "stages": stages, "lmbdas": (0.1, 1.0)}  # lambda changes
    search = BookSearchCV(
        MLPClassifierBook(), **settings, max_passes=max_passes
    ).set_callbacks(ProgressBar())
    search.fit(X_train, y_train)
    out = capsys.readouterr().out
    assert "BookSearchCV" in out
    assert "learning_rate_threshold" in out
    assert "MLPClassifierBook - fit" in out
    assert f"{stages[-1]} #" in out
    assert max(r.pass_number for r in search.stages_) == max_passes


def test_a_setting_scored_by_one_stage_is_not_fitted_again(small_digits):
    """The setting every stage compares against keeps the score it was given.

    The architecture stage starts from the activation stage's choice; that
    network is not cross-validated a second time, and the score it reuses is
    the one a fresh cross-validation of the same settings gives.
    """
    from sklearn.model_selection import cross_val_score

    X, _, y, _ = small_digits
    folds = list(StratifiedKFold(3).split(X, y))
    search = BookSearchCV(
        MLPClassifierBook((10,), epochs=5, random_state=0),
        stages=("activation", "architecture"),
        activations=("sigmoid", "relu"),
        max_width=20,
        max_depth=1,
        learning_rates=(0.1, 1.0, 10.0),
        cv=folds,
    ).fit(X, y)
    activation, architecture = search.stages_
    searched = [
        params
        for cv_results in architecture.cv_results
        for params in cv_results["params"]
    ]
    assert {architecture.param: (10,)} not in searched
    (current_text, reused), *_ = architecture.details["rows"]
    assert current_text.startswith("hidden_layer_sizes=[10]")
    assert reused == activation.score
    chosen = MLPClassifierBook((10,), epochs=5, random_state=0).set_params(
        **activation.also, activation=activation.chosen, monitor=()
    )
    fresh = cross_val_score(chosen, X, y, cv=folds).mean()
    assert reused == pytest.approx(fresh, abs=1e-12)
