"""sknn.interop: network2.py files, scikit-learn's MLPClassifier and skops."""

import json

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sknn import MLPClassifierBook, MLPRegressorBook
from sknn.interop import (
    SKOPS_TRUSTED_TYPES,
    from_sklearn,
    load_network2,
    save_network2,
    to_sklearn,
)
from sknn.persistence import ModelFileError


class CrossEntropyCost:
    """Stands in for network2.py's cost class: ``save`` writes only its name."""


class QuadraticCost:
    """Stands in for network2.py's cost class: ``save`` writes only its name."""


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network2:
    """network2.py's ``Network``: its initializer, ``feedforward`` and ``save``, verbatim."""

    def __init__(self, sizes, cost=CrossEntropyCost):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.default_weight_initializer()
        self.cost = cost

    def default_weight_initializer(self):
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]  # noqa: NPY002
        self.weights = [
            np.random.randn(y, x) / np.sqrt(x)  # noqa: NPY002
            for x, y in zip(self.sizes[:-1], self.sizes[1:])
        ]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def save(self, filename):
        data = {
            "sizes": self.sizes,
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "cost": str(self.cost.__name__),
        }
        f = open(filename, "w")  # noqa: SIM115
        json.dump(data, f)
        f.close()


def network2_load(filename):
    """network2.py's ``load``, with its cost lookup in this module."""
    with open(filename) as f:
        data = json.load(f)
    cost = globals()[data["cost"]]
    net = Network2(data["sizes"], cost=cost)
    net.weights = [np.array(w) for w in data["weights"]]
    net.biases = [np.array(b) for b in data["biases"]]
    return net


def book_outputs(net, X):
    """Feed each row through network2.py's column-vector feedforward."""
    return np.array([net.feedforward(x.reshape(-1, 1))[:, 0] for x in X])


@pytest.mark.parametrize("cost", [CrossEntropyCost, QuadraticCost])
def test_a_network2_file_loads_and_predicts_as_network2_does(tmp_path, rng, cost):
    np.random.seed(1)  # noqa: NPY002 (network2.py draws from the global RNG)
    net = Network2([6, 5, 4, 3], cost=cost)
    net.save(tmp_path / "net.json")
    X = rng.standard_normal((40, 6))
    model = load_network2(tmp_path / "net.json")
    expected = book_outputs(net, X)
    assert model.cost == {"CrossEntropyCost": "cross_entropy"}.get(
        cost.__name__, "quadratic"
    )
    np.testing.assert_allclose(
        model.predict_proba(X),
        expected / expected.sum(axis=1, keepdims=True),
        rtol=1e-12,
    )
    np.testing.assert_array_equal(model.predict(X), expected.argmax(axis=1))
    labelled = load_network2(tmp_path / "net.json", classes=["a", "b", "c"])
    np.testing.assert_array_equal(
        labelled.predict(X), np.array(["a", "b", "c"])[expected.argmax(axis=1)]
    )


@pytest.mark.parametrize("cost", ["cross_entropy", "quadratic"])
def test_a_saved_network_runs_in_network2(tmp_path, digits_split, cost):
    X_train, X_test, y_train, _ = digits_split
    model = MLPClassifierBook(
        hidden_layer_sizes=(12, 8), cost=cost, epochs=3, random_state=0
    ).fit(X_train, y_train)
    save_network2(model, tmp_path / "ours.json")
    net = network2_load(tmp_path / "ours.json")
    assert net.cost.__name__ == {"cross_entropy": "CrossEntropyCost"}.get(
        cost, "QuadraticCost"
    )
    outputs = book_outputs(net, X_test)
    np.testing.assert_allclose(
        outputs / outputs.sum(axis=1, keepdims=True),
        model.predict_proba(X_test),
        rtol=1e-12,
    )
    reloaded = load_network2(tmp_path / "ours.json")
    np.testing.assert_array_equal(
        reloaded.predict_proba(X_test), model.predict_proba(X_test)
    )


def test_networks_network2_cannot_hold_are_refused(tmp_path, digits_split):
    X_train, _, y_train, _ = digits_split
    for params in ({"activation": "relu"}, {"cost": "log_likelihood"}):
        model = MLPClassifierBook(epochs=1, random_state=0, **params).fit(
            X_train, y_train
        )
        with pytest.raises(ValueError, match=r"network2\.py has only sigmoid neurons"):
            save_network2(model, tmp_path / "x.json")


@pytest.mark.parametrize(
    "document, message",
    [
        ({"sizes": [2, 2]}, "exactly the keys"),
        (
            {
                "sizes": [2, 3],
                "weights": [[[0, 0]] * 3],
                "biases": [[[0]] * 3],
                "cost": "Log",
            },
            "cost 'Log' is not one of",
        ),
        (
            {
                "sizes": [2, 3],
                "weights": [[[0, 0, 0]] * 2],
                "biases": [[[0]] * 3],
                "cost": "QuadraticCost",
            },
            r"weights of shape \(2, 3\).*call for \(3, 2\)",
        ),
        (
            {"sizes": [2, 3], "weights": [], "biases": [], "cost": "QuadraticCost"},
            "1 layers, but the file has 0 weight matrices",
        ),
        (
            {
                "sizes": [2, 1],
                "weights": [[[0, 0]]],
                "biases": [[[0]]],
                "cost": "QuadraticCost",
            },
            "at least 2",
        ),
        (
            {
                "sizes": [2, 3],
                "weights": [[[0, 0], [0], [0, 0]]],
                "biases": [[[0]] * 3],
                "cost": "QuadraticCost",
            },
            "not a rectangular array",
        ),
    ],
)
def test_bad_network2_files_are_refused(tmp_path, document, message):
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match=message):
        load_network2(tmp_path / "bad.json")


# --- scikit-learn ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params, n_classes",
    [
        ({"cost": "log_likelihood"}, 10),
        (
            {
                "cost": "log_likelihood",
                "activation": "relu",
                "hidden_layer_sizes": (9, 7),
            },
            10,
        ),
        ({"cost": "log_likelihood", "activation": "tanh"}, 2),
    ],
)
def test_to_sklearn_gives_the_same_probabilities(digits_split, params, n_classes):
    X_train, X_test, y_train, _ = digits_split
    keep = y_train < n_classes
    model = MLPClassifierBook(epochs=3, random_state=0, learning_rate=0.1, **params)
    model.fit(X_train[keep], y_train[keep])
    mlp = to_sklearn(model)
    assert isinstance(mlp, MLPClassifier)
    np.testing.assert_allclose(
        mlp.predict_proba(X_test), model.predict_proba(X_test), rtol=1e-9, atol=1e-15
    )
    np.testing.assert_array_equal(mlp.predict(X_test), model.predict(X_test))
    back = from_sklearn(mlp)
    np.testing.assert_allclose(
        back.predict_proba(X_test), model.predict_proba(X_test), rtol=1e-9, atol=1e-15
    )


def test_multilabel_sigmoid_outputs_convert_both_ways():
    X, Y = make_multilabel_classification(n_samples=80, n_features=6, random_state=0)
    model = MLPClassifierBook(epochs=3, random_state=0).fit(X, Y)
    mlp = to_sklearn(model)
    np.testing.assert_array_equal(mlp.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(mlp.predict(X), model.predict(X))
    back = from_sklearn(mlp)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu"])
def test_from_sklearn_predicts_as_the_sklearn_model(digits_split, activation):
    X_train, X_test, y_train, _ = digits_split
    labels = np.array(list("abcdefghij"))[y_train]
    for keep in (np.ones_like(y_train, bool), y_train < 2):
        mlp = MLPClassifier(
            hidden_layer_sizes=(11,), activation=activation, max_iter=20, random_state=0
        )
        with pytest.warns(ConvergenceWarning):
            mlp.fit(X_train[keep], labels[keep])
        model = from_sklearn(mlp)
        np.testing.assert_allclose(
            model.predict_proba(X_test),
            mlp.predict_proba(X_test),
            rtol=1e-9,
            atol=1e-15,
        )
        np.testing.assert_array_equal(model.predict(X_test), mlp.predict(X_test))
        assert model.stop_reason_ == "converted"


def test_outputs_without_a_sklearn_counterpart_are_refused(digits_split):
    X_train, _, y_train, _ = digits_split
    model = MLPClassifierBook(epochs=1, random_state=0).fit(X_train, y_train)
    with pytest.raises(ValueError, match="Train with cost='log_likelihood'"):
        to_sklearn(model)
    mlp = MLPClassifier(hidden_layer_sizes=(4,), activation="identity", max_iter=5)
    with pytest.warns(ConvergenceWarning):
        mlp.fit(X_train, y_train)
    with pytest.raises(ValueError, match="no 'identity' hidden neurons"):
        from_sklearn(mlp)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressors_convert_both_ways(digits_split, n_outputs):
    X_train, X_test, y_train, _ = digits_split
    Y = np.column_stack([y_train * (k + 1) + 10 * k for k in range(n_outputs)])
    Y = Y[:, 0] if n_outputs == 1 else Y
    model = MLPRegressorBook(hidden_layer_sizes=(9, 6), epochs=3, random_state=0)
    model.fit(X_train, Y)
    mlp = to_sklearn(model)
    assert isinstance(mlp, MLPRegressor)
    np.testing.assert_allclose(mlp.predict(X_test), model.predict(X_test), rtol=1e-10)
    back = from_sklearn(mlp)
    assert isinstance(back, MLPRegressorBook)
    np.testing.assert_allclose(back.predict(X_test), model.predict(X_test), rtol=1e-10)
    sigmoid_outputs = MLPRegressorBook(output_activation="sigmoid", epochs=1)
    sigmoid_outputs.fit(X_train, y_train / 9)
    with pytest.raises(ValueError, match="MLPRegressor has linear outputs only"):
        to_sklearn(sigmoid_outputs)


# --- skops ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {
            "cost": "log_likelihood",
            "activation": "relu",
            "momentum": 0.5,
            "regularizer": "l1",
        },
        {
            "cost": "quadratic",
            "activation": "tanh",
            "regularizer": "none",
            "dropout": 0.2,
        },
    ],
)
def test_skops_loads_any_fitted_estimator_with_the_listed_types(
    tmp_path, digits_split, params
):
    sio = pytest.importorskip("skops.io")
    X_train, X_test, y_train, _ = digits_split
    model = MLPClassifierBook(epochs=2, random_state=0, **params).fit(X_train, y_train)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted
    assert set(untrusted) <= set(SKOPS_TRUSTED_TYPES)
    loaded = sio.load(path, trusted=SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), model.predict_proba(X_test)
    )
    loaded.set_params(warm_start=True).fit(X_train, y_train)
    assert loaded.n_iter_ == 4
