"""MLPRegressorBook: learns real targets, with the classifier's training machinery."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import DivergenceWarning, MLPRegressorBook, TrainingInterruptedWarning


@pytest.fixture(scope="module")
def regression_split():
    X, y = make_regression(n_samples=400, n_features=8, noise=10, random_state=0)
    return train_test_split(X, y, random_state=0)


def _datasets():
    return {
        "make_regression": make_regression(
            n_samples=500, n_features=10, noise=10, random_state=0
        ),
        "diabetes": load_diabetes(return_X_y=True),
    }


@pytest.mark.parametrize("name", ["make_regression", "diabetes"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_held_out_r2_at_least_scikit_learns_mlp_regressor(name, activation):
    """Same architecture (30,), same 30 epochs, both behind a StandardScaler."""
    X, y = _datasets()[name]
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    ours = make_pipeline(
        StandardScaler(),
        MLPRegressorBook(activation=activation, epochs=30, random_state=0),
    ).fit(X_train, y_train)
    theirs = make_pipeline(
        StandardScaler(),
        MLPRegressor(
            hidden_layer_sizes=(30,),
            activation={"sigmoid": "logistic"}.get(activation, activation),
            max_iter=30,
            random_state=0,
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X_train, y_train)
    our_r2, their_r2 = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    assert our_r2 >= their_r2
    assert our_r2 > {"make_regression": 0.9, "diabetes": 0.25}[name]


def test_multi_output_targets(regression_split):
    X_train, X_test, y_train, y_test = regression_split
    Y_train = np.column_stack([y_train, -2 * y_train + 50])
    Y_test = np.column_stack([y_test, -2 * y_test + 50])
    model = MLPRegressorBook(epochs=20, random_state=0).fit(X_train, Y_train)
    assert model.n_outputs_ == 2
    assert model.predict(X_test).shape == (len(X_test), 2)
    assert model.score(X_test, Y_test) > 0.8
    np.testing.assert_allclose(model.target_mean_, Y_train.mean(axis=0))
    np.testing.assert_allclose(model.target_scale_, Y_train.std(axis=0))


def test_a_column_target_warns_and_predicts_one_dimension(regression_split):
    X_train, X_test, y_train, _ = regression_split
    with pytest.warns(DataConversionWarning):
        model = MLPRegressorBook(epochs=2, random_state=0).fit(
            X_train, y_train[:, None]
        )
    assert model.predict(X_test).shape == (len(X_test),)


def test_standardized_targets_make_the_model_scale_free(regression_split):
    """Targets times 1000 plus 7 train the same weights; predictions follow y's scale."""
    X_train, X_test, y_train, _ = regression_split
    small = MLPRegressorBook(epochs=3, random_state=0).fit(X_train, y_train)
    large = MLPRegressorBook(epochs=3, random_state=0).fit(X_train, 1000 * y_train + 7)
    for w_small, w_large in zip(small.coefs_, large.coefs_):
        np.testing.assert_allclose(w_small, w_large, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(
        large.predict(X_test), 1000 * small.predict(X_test) + 7, rtol=1e-6
    )


def test_sigmoid_outputs_for_targets_in_the_unit_interval(regression_split):
    X_train, X_test, y_train, y_test = regression_split
    low, high = y_train.min(), y_train.max()
    unit_train = (y_train - low) / (high - low)
    unit_test = np.clip((y_test - low) / (high - low), 0, 1)
    for cost in ("quadratic", "cross_entropy"):
        model = MLPRegressorBook(
            output_activation="sigmoid", cost=cost, epochs=30, random_state=0
        )
        model.fit(StandardScaler().fit_transform(X_train), unit_train)
        assert model.out_activation_ == "sigmoid"
        np.testing.assert_array_equal(model.target_mean_, 0.0)
        predictions = model.predict(StandardScaler().fit(X_train).transform(X_test))
        assert ((predictions > 0) & (predictions < 1)).all()
        assert r2_score(unit_test, predictions) > 0.5
    with pytest.raises(ValueError, match=r"sigmoid outputs lie in \(0, 1\)"):
        MLPRegressorBook(output_activation="sigmoid").fit(X_train, y_train)
    with pytest.raises(ValueError, match="cost='cross_entropy' needs sigmoid outputs"):
        MLPRegressorBook(cost="cross_entropy").fit(X_train, unit_train)


@pytest.mark.parametrize(
    "metric, watched", [("r2", "validation_r2"), ("cost", "validation_cost")]
)
def test_early_stopping_watches_the_validation_r2_or_cost(
    regression_split, metric, watched
):
    X_train, X_test, y_train, y_test = regression_split
    model = MLPRegressorBook(
        epochs=200,
        early_stopping=True,
        n_iter_no_change=3,
        validation_metric=metric,
        learning_rate=0.2,
        monitor=(),
        random_state=0,
    ).fit(X_train, y_train, X_val=X_test, y_val=y_test)
    assert model.stop_reason_ == "early_stopping"
    values = [record[watched] for record in model.history_]
    best = int(np.argmax(values) if metric == "r2" else np.argmin(values))
    assert model.best_epoch_ == model.history_[best]["epoch"]
    assert model.n_iter_ == model.best_epoch_ + 3
    if metric == "r2":
        restored = model.history_[best]["validation_r2"]
        assert model.score(X_test, y_test) == pytest.approx(restored, rel=1e-9)


def test_monitored_r2_is_the_score_of_the_epoch(regression_split):
    X_train, X_test, y_train, y_test = regression_split
    model = MLPRegressorBook(
        epochs=3,
        monitor=("training_r2", "validation_r2", "validation_cost"),
        random_state=0,
    ).fit(X_train, y_train, X_val=X_test, y_val=y_test)
    last = model.history_[-1]
    assert last["training_r2"] == pytest.approx(model.score(X_train, y_train), rel=1e-9)
    assert last["validation_r2"] == pytest.approx(model.score(X_test, y_test), rel=1e-9)
    with pytest.raises(ValueError, match="monitor has unknown entries"):
        MLPRegressorBook(monitor=("validation_accuracy",)).fit(X_train, y_train)


def test_warm_start_and_partial_fit_continue_training(regression_split):
    X_train, X_test, y_train, y_test = regression_split
    model = MLPRegressorBook(epochs=2, random_state=0).fit(X_train, y_train)
    first = model.score(X_test, y_test)
    model.set_params(warm_start=True, epochs=8).fit(X_train, y_train)
    assert model.n_iter_ == 10
    assert model.score(X_test, y_test) > first
    online = MLPRegressorBook(random_state=0)
    for _ in range(3):
        online.partial_fit(X_train, y_train)
    assert online.n_iter_ == 3
    np.testing.assert_allclose(online.target_mean_, y_train.mean())


def test_initial_cost_is_the_untrained_networks_cost_on_scaled_targets(
    regression_split,
):
    X_train, _, y_train, _ = regression_split

    class InitialWeights:
        def on_train_begin(self, estimator):
            self.weights = [
                (w.copy(), b.copy())
                for w, b in zip(estimator.coefs_, estimator.intercepts_)
            ]

        def on_epoch_end(self, estimator, record):
            pass

    start = InitialWeights()
    model = MLPRegressorBook(
        epochs=2, lmbda=1.0, monitor=(), callbacks=[start], random_state=0
    ).fit(X_train, y_train)
    a = X_train
    for w, b in start.weights[:-1]:
        a = 1.0 / (1.0 + np.exp(-(a @ w + b)))
    w, b = start.weights[-1]
    outputs = (a @ w + b).ravel()
    scaled = (y_train - model.target_mean_[0]) / model.target_scale_[0]
    penalty = 0.5 * 1.0 / len(y_train) * sum((w**2).sum() for w, _ in start.weights)
    expected = 0.5 * np.mean((outputs - scaled) ** 2) + penalty
    assert model.initial_cost_ == pytest.approx(expected, rel=1e-10)


def test_a_failed_fit_leaves_the_model_as_it_was(regression_split):
    X_train, X_test, y_train, _ = regression_split
    model = MLPRegressorBook(epochs=2, random_state=0).fit(X_train, y_train)
    before = model.predict(X_test)
    state = {k: v for k, v in vars(model).items()}
    model.set_params(warm_start=True)
    with pytest.raises(
        ValueError, match="has 2 outputs, but the model was fitted with 1"
    ):
        model.fit(X_train, np.column_stack([y_train, y_train]))
    assert set(vars(model)) == set(state)
    np.testing.assert_array_equal(model.predict(X_test), before)


def test_divergence_is_reported_and_the_last_good_epoch_kept(regression_split):
    X_train, _, y_train, _ = regression_split
    with pytest.warns(DivergenceWarning, match="diverged"):
        model = MLPRegressorBook(
            epochs=5, learning_rate=50.0, activation="relu", random_state=0
        ).fit(X_train, y_train)
    assert model.stop_reason_ == "diverged"
    assert all(np.isfinite(w).all() for w in model.coefs_)


def test_ctrl_c_keeps_the_last_completed_epoch(regression_split):
    X_train, X_test, y_train, _ = regression_split

    def interrupt_in_epoch_3(estimator, record):
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    model = MLPRegressorBook(
        epochs=10, random_state=0, callbacks=[interrupt_in_epoch_3]
    )
    with (
        pytest.warns(TrainingInterruptedWarning, match="weights of epoch 2"),
        pytest.raises(KeyboardInterrupt),
    ):
        model.fit(X_train, y_train)
    assert model.n_iter_ == 2 and model.stop_reason_ == "interrupted"
    reference = MLPRegressorBook(epochs=2, random_state=0).fit(X_train, y_train)
    np.testing.assert_array_equal(model.predict(X_test), reference.predict(X_test))


def test_the_halving_schedule_watches_the_validation_cost(regression_split):
    X_train, X_test, y_train, y_test = regression_split
    model = MLPRegressorBook(
        epochs=300,
        learning_rate=0.2,
        learning_rate_schedule="halving",
        n_iter_no_change=2,
        min_learning_rate_ratio=1 / 8,
        validation_metric="cost",
        monitor=(),
        random_state=0,
    ).fit(X_train, y_train, X_val=X_test, y_val=y_test)
    rates = [record["learning_rate"] for record in model.history_]
    assert model.stop_reason_ == "learning_rate_floor"
    assert sorted(set(rates), reverse=True) == [0.2, 0.1, 0.05, 0.025]
    assert all("validation_cost" in record for record in model.history_)
