"""Diagnostics monitors: recomputed here from the fitted weights of the last epoch."""

import numpy as np
import pytest
from scipy.special import expit

import sknn._network
from sknn import MLPClassifierBook, MLPRegressorBook
from sknn._network import Network
from sknn.activations import ACTIVATIONS
from sknn.costs import COSTS, LinearQuadraticCost
from sknn.diagnostics import DIAGNOSTICS, SATURATION_LEVEL, sample_rows

ALL = ("gradient_norms", "unit_saturation", "weight_norms")


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_gradient_norms_are_those_of_the_cores_gradients(digits_split, activation):
    X_train, _, y_train, _ = digits_split
    model = MLPClassifierBook(
        hidden_layer_sizes=(16, 12),
        activation=activation,
        cost="log_likelihood",
        epochs=2,
        monitor=ALL,
        random_state=0,
    ).fit(X_train, y_train)
    rows = sample_rows(len(X_train))
    Y = np.eye(10)[y_train[rows]]
    network = Network(
        model.coefs_,
        model.intercepts_,
        ACTIVATIONS[activation],
        COSTS["log_likelihood"],
    )
    weight_gradients, bias_gradients = network.gradients(X_train[rows], Y)
    last = model.history_[-1]
    for layer in (1, 2, 3):
        assert last[f"gradient_norm_{layer}"] == pytest.approx(
            np.linalg.norm(bias_gradients[layer - 1]), rel=1e-12
        )
        assert last[f"weight_gradient_norm_{layer}"] == pytest.approx(
            np.linalg.norm(weight_gradients[layer - 1]), rel=1e-12
        )
        assert last[f"weight_norm_{layer}"] == pytest.approx(
            np.linalg.norm(model.coefs_[layer - 1]), rel=1e-12
        )
    assert all(
        f"gradient_norm_{layer}" in r for r in model.history_ for layer in (1, 2, 3)
    )


def test_saturated_fractions_from_a_manual_forward_pass(digits_split):
    X_train, _, y_train, _ = digits_split
    model = MLPClassifierBook(
        hidden_layer_sizes=(10, 10),
        initializer="large",
        epochs=1,
        monitor=("unit_saturation",),
        random_state=0,
    ).fit(X_train * 4, y_train)
    a = X_train[sample_rows(len(X_train))] * 4
    last = model.history_[-1]
    for layer in (1, 2):
        z = a @ model.coefs_[layer - 1] + model.intercepts_[layer - 1]
        a = expit(z)
        expected = np.mean(4 * a * (1 - a) < SATURATION_LEVEL)
        assert last[f"saturated_fraction_{layer}"] == pytest.approx(expected)
        assert (np.abs(z) > 5.99).mean() == pytest.approx(expected, abs=0.01)
    assert last["saturated_fraction_1"] > 0.05  # large weights saturate units


def test_dead_relu_fractions(digits_split):
    X_train, _, y_train, _ = digits_split
    model = MLPRegressorBook(
        hidden_layer_sizes=(20,),
        activation="relu",
        epochs=1,
        monitor=("unit_saturation", "gradient_norms"),
        random_state=0,
    )
    model.fit(X_train, y_train)
    rows = sample_rows(len(X_train))
    a = np.maximum(X_train[rows] @ model.coefs_[0] + model.intercepts_[0], 0)
    last = model.history_[-1]
    assert last["dead_fraction_1"] == np.mean(~(a > 0).any(axis=0))
    Y = ((y_train[rows] - model.target_mean_) / model.target_scale_)[:, None]
    network = Network(
        model.coefs_, model.intercepts_, ACTIVATIONS["relu"], LinearQuadraticCost
    )
    _, bias_gradients = network.gradients(X_train[rows], Y)
    assert last["gradient_norm_2"] == pytest.approx(
        np.linalg.norm(bias_gradients[1]), rel=1e-12
    )


def test_sample_rows_are_at_most_a_thousand_evenly_spaced():
    assert sample_rows(10).tolist() == list(range(10))
    assert len(sample_rows(1000)) == 1000
    rows = sample_rows(50_000)
    assert len(rows) == 1000 and rows[1] == 50 and rows[-1] == 49_950


def test_off_by_default_and_then_never_computed(digits_split, monkeypatch):
    X_train, _, y_train, _ = digits_split

    def forbidden(*args, **kwargs):
        raise AssertionError("gradients computed with the diagnostics off")

    monkeypatch.setattr(sknn._network.Network, "gradients", forbidden)
    model = MLPClassifierBook(epochs=2, random_state=0).fit(X_train, y_train)
    assert not any(
        key.startswith(("gradient_norm", "saturated", "dead", "weight_norm"))
        for record in model.history_
        for key in record
    )
    assert set(DIAGNOSTICS).isdisjoint(MLPClassifierBook().monitor)


def test_unknown_monitor_names_list_the_diagnostics(digits_split):
    X_train, _, y_train, _ = digits_split
    with pytest.raises(
        ValueError, match="'gradient_norms', 'unit_saturation', 'weight_norms'"
    ):
        MLPClassifierBook(monitor=("gradient_norm",)).fit(X_train, y_train)


def test_plot_diagnostics_draws_each_layer(digits_split):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sknn.plotting import plot_diagnostics

    X_train, _, y_train, _ = digits_split
    model = MLPClassifierBook(
        hidden_layer_sizes=(8, 8), epochs=3, monitor=ALL, random_state=0
    ).fit(X_train, y_train)
    try:
        gradients, saturation, weights = plot_diagnostics(model)
        assert [line.get_label() for line in gradients.lines] == [
            "layer 1",
            "layer 2",
            "layer 3",
        ]
        np.testing.assert_array_equal(
            gradients.lines[0].get_ydata(),
            [r["gradient_norm_1"] for r in model.history_],
        )
        assert gradients.get_yscale() == "log"
        assert [line.get_label() for line in saturation.lines] == ["layer 1", "layer 2"]
        np.testing.assert_array_equal(
            weights.lines[2].get_ydata(), [r["weight_norm_3"] for r in model.history_]
        )
        only_weights = MLPClassifierBook(epochs=1, monitor=("weight_norms",)).fit(
            X_train, y_train
        )
        assert len(plot_diagnostics(only_weights.history_).lines) == 2
        with pytest.raises(ValueError, match="holds no diagnostics"):
            plot_diagnostics(MLPClassifierBook(epochs=1).fit(X_train, y_train))
    finally:
        plt.close("all")
