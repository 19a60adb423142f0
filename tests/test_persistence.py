"""sknn.persistence: JSON model files round-trip exactly; bad files are refused."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import NotFittedError

from sknn import MLPClassifierBook, MLPRegressorBook
from sknn.costs import QuadraticCost
from sknn.persistence import (
    FORMAT_VERSION,
    ModelFileError,
    from_json,
    load,
    save,
    to_json,
)


def assert_same_model(loaded, original, X):
    assert type(loaded) is type(original)
    assert loaded.get_params() == original.get_params()
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    if hasattr(original, "predict_proba"):
        np.testing.assert_array_equal(
            loaded.predict_proba(X), original.predict_proba(X)
        )
    for w_loaded, w in zip(
        loaded.coefs_ + loaded.intercepts_, original.coefs_ + original.intercepts_
    ):
        assert w_loaded.dtype == w.dtype
        np.testing.assert_array_equal(w_loaded, w)
    for name in (
        "n_iter_",
        "n_features_in_",
        "n_layers_",
        "n_outputs_",
        "out_activation_",
        "stop_reason_",
        "best_epoch_",
        "learning_rate_",
    ):
        assert getattr(loaded, name) == getattr(original, name), name
    np.testing.assert_array_equal(loaded.loss_curve_, original.loss_curve_)


@pytest.mark.parametrize(
    "params, dtype, labels",
    [
        ({}, np.float64, None),
        (
            {
                "cost": "log_likelihood",
                "activation": "relu",
                "hidden_layer_sizes": (12, 7),
                "initializer": "he",
                "learning_rate": 0.1,
            },
            np.float32,
            None,
        ),
        (
            {"cost": "quadratic", "regularizer": "l1", "momentum": 0.5},
            np.float64,
            np.array(
                [
                    "cat",
                    "dog",
                    "eel",
                    "fox",
                    "gnu",
                    "hen",
                    "ibis",
                    "jay",
                    "kiwi",
                    "lynx",
                ]
            ),
        ),
        (
            {
                "validation_fraction": 0.2,
                "early_stopping": True,
                "n_iter_no_change": 2,
                "monitor": ("training_cost", "validation_cost"),
            },
            np.float64,
            None,
        ),
    ],
)
def test_round_trip_through_a_file_predicts_identically(
    tmp_path, digits_split, params, dtype, labels
):
    X_train, X_test, y_train, _ = digits_split
    y = y_train if labels is None else labels[y_train]
    model = MLPClassifierBook(epochs=4, random_state=0, **params).fit(
        X_train.astype(dtype), y
    )
    path = tmp_path / "model.json"
    model.save(path)
    assert_same_model(MLPClassifierBook.load(path), model, X_test.astype(dtype))
    assert_same_model(load(path), model, X_test.astype(dtype))


def test_binary_boolean_and_multilabel_targets_round_trip(tmp_path, rng):
    X = rng.standard_normal((60, 5))
    binary = MLPClassifierBook(epochs=3, random_state=0).fit(X, X[:, 0] > 0)
    assert_same_model(from_json(to_json(binary)), binary, X)
    X, Y = make_multilabel_classification(
        n_samples=60, n_features=5, n_classes=3, random_state=0
    )
    multilabel = MLPClassifierBook(epochs=3, random_state=0).fit(X, Y)
    loaded = from_json(to_json(multilabel))
    assert_same_model(loaded, multilabel, X)
    assert loaded.predict(X).shape == (60, 3)


def test_feature_names_are_kept(digits_split):
    pd = pytest.importorskip("pandas")
    X_train, X_test, y_train, _ = digits_split
    columns = [f"pixel{i}" for i in range(X_train.shape[1])]
    model = MLPClassifierBook(epochs=2, random_state=0).fit(
        pd.DataFrame(X_train, columns=columns), y_train
    )
    loaded = from_json(model.to_json())
    assert loaded.feature_names_in_.tolist() == columns
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(pd.DataFrame(X_test, columns=columns[::-1]))


def test_a_diverged_history_is_written_as_strict_json(tmp_path, digits_split):
    X_train, _, y_train, _ = digits_split
    with pytest.warns(UserWarning, match="diverged"):
        model = MLPClassifierBook(
            epochs=3, learning_rate=1e6, initializer="large", random_state=0
        ).fit(X_train * 1e3, y_train)
    text = model.to_json()
    json.loads(
        text, parse_constant=lambda token: pytest.fail(f"non-strict JSON {token}")
    )
    loaded = from_json(text)
    assert loaded.history_[-1]["diverged"] is True
    assert loaded.stop_reason_ == "diverged"


def test_a_loaded_model_keeps_training_with_warm_start(tmp_path, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    model = MLPClassifierBook(epochs=2, random_state=0).fit(X_train, y_train)
    loaded = from_json(model.to_json())
    loaded.set_params(warm_start=True, epochs=5).fit(X_train, y_train)
    assert loaded.n_iter_ == 7
    assert loaded.score(X_test, y_test) > model.score(X_test, y_test)


def test_the_file_is_plain_json_in_the_documented_layout(tmp_path, digits_split):
    X_train, _, y_train, _ = digits_split
    model = MLPClassifierBook(hidden_layer_sizes=(9,), epochs=1, random_state=0).fit(
        X_train, y_train
    )
    save(model, tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    assert document["format"] == "sknn-model"
    assert document["format_version"] == FORMAT_VERSION
    assert document["estimator"] == "MLPClassifierBook"
    assert document["hyperparameters"]["hidden_layer_sizes"] == [9]
    assert document["fitted"]["layer_sizes"] == [64, 9, 10]
    assert document["fitted"]["classes"] == list(range(10))
    assert np.array(document["weights"][0]).shape == (64, 9)
    assert np.array(document["biases"][1]).shape == (10,)


@pytest.fixture(scope="module")
def saved_document(digits_split):
    X_train, _, y_train, _ = digits_split
    model = MLPClassifierBook(hidden_layer_sizes=(5,), epochs=1, random_state=0).fit(
        X_train, y_train
    )
    return json.loads(model.to_json())


def _corrupted(document, edit):
    document = json.loads(json.dumps(document))
    edit(document)
    return json.dumps(document)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda d: d.update(format_version=FORMAT_VERSION + 1),
            "format version 2; this sknn .* reads version 1",
        ),
        (lambda d: d.pop("format_version"), "format version None"),
        (lambda d: d.update(format="something-else"), "not an sknn model file"),
        (
            lambda d: d.update(estimator="MLPBookOfSecrets"),
            "holds a 'MLPBookOfSecrets'",
        ),
        (lambda d: d.pop("weights"), "lacks the field 'weights'"),
        (
            lambda d: d["weights"][0].pop(),
            r"weights\[0\] has shape \(63, 5\), but the layer sizes call for \(64, 5\)",
        ),
        (lambda d: d["biases"].pop(), "need as many weight matrices and bias vectors"),
        (
            lambda d: d["biases"][1].__setitem__(0, "x"),
            r"biases\[1\] is not an array of numbers",
        ),
        (
            lambda d: d["biases"][1].__setitem__(0, None),
            r"biases\[1\] (is not an array|holds non-finite)",
        ),
        (lambda d: d["fitted"].update(layer_sizes=[64, 6, 10]), "layer sizes call for"),
        (lambda d: d["fitted"].update(dtype="int8"), "not float32 or float64"),
        (lambda d: d["fitted"].update(classes=[0, 1, 2]), "3 classes .* 10 outputs"),
        (
            lambda d: d["hyperparameters"].update(hidden_layer_sizes=[6]),
            "disagree with the layer sizes",
        ),
        (lambda d: d["hyperparameters"].update(colour="blue"), "bad hyperparameters"),
        (
            lambda d: d["hyperparameters"].update(cost="log_likelihood"),
            "activations .* disagree",
        ),
    ],
)
def test_corrupt_or_wrong_version_files_are_refused_clearly(
    saved_document, edit, message
):
    with pytest.raises(ModelFileError, match=message):
        from_json(_corrupted(saved_document, edit))


def test_files_that_are_not_model_json_are_refused(tmp_path, saved_document):
    truncated = json.dumps(saved_document)[:-40]
    (tmp_path / "truncated.json").write_text(truncated)
    with pytest.raises(ModelFileError, match=r"truncated.json is not valid JSON"):
        load(tmp_path / "truncated.json")
    (tmp_path / "binary.json").write_bytes(b"\x80\x04\x95 pickle bytes \xff")
    with pytest.raises(ModelFileError, match="not a text"):
        load(tmp_path / "binary.json")
    with pytest.raises(ModelFileError, match="not an sknn model file"):
        from_json("[1, 2, 3]")


def test_what_json_cannot_hold_is_refused_when_saving(digits_split):
    X_train, _, y_train, _ = digits_split
    with pytest.raises(NotFittedError):
        MLPClassifierBook().to_json()
    model = MLPClassifierBook(epochs=1, cost=QuadraticCost(), random_state=0).fit(
        X_train, y_train
    )
    with pytest.raises(
        TypeError, match=r"hyperparameter cost=.*cannot be saved as JSON"
    ):
        model.to_json()
    model = MLPClassifierBook(epochs=1, callbacks=[lambda est, record: None]).fit(
        X_train, y_train
    )
    with pytest.raises(TypeError, match="callbacks cannot be saved"):
        model.to_json()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_regressors_round_trip_with_their_target_scaling(tmp_path, digits_split, dtype):
    X_train, X_test, y_train, _ = digits_split
    Y = np.column_stack([y_train * 3.0 + 1, np.sqrt(y_train)])
    model = MLPRegressorBook(epochs=3, random_state=0).fit(X_train.astype(dtype), Y)
    model.save(tmp_path / "regressor.json")
    loaded = MLPRegressorBook.load(tmp_path / "regressor.json")
    assert_same_model(loaded, model, X_test.astype(dtype))
    np.testing.assert_array_equal(loaded.target_scale_, model.target_scale_)
    with pytest.raises(
        ModelFileError, match="holds a MLPRegressorBook, not a MLPClassifierBook"
    ):
        MLPClassifierBook.load(tmp_path / "regressor.json")
    document = json.loads(model.to_json())
    document["fitted"]["target_scale"] = [1.0]
    with pytest.raises(ModelFileError, match=r"target_scale has shape \(1,\)"):
        from_json(json.dumps(document))


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
    cost=st.sampled_from(["cross_entropy", "quadratic", "log_likelihood"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    n_classes=st.integers(2, 4),
    labels=st.sampled_from(["int", "str", "float"]),
    seed=st.integers(0, 2**16),
)
def test_any_fitted_classifier_round_trips_exactly(
    hidden, activation, cost, dtype, n_classes, labels, seed
):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((30, 4)) * 10.0 ** rng.uniform(-3, 3)).astype(dtype)
    y = np.arange(30) % n_classes
    y = {"int": y * 7 - 3, "str": np.array(["a", "bb", "c", "d"])[y], "float": y * 2.0}[
        labels
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifierBook(
            hidden_layer_sizes=tuple(hidden),
            activation=activation,
            cost=cost,
            epochs=1,
            random_state=seed,
        ).fit(X, y)
    assert_same_model(from_json(model.to_json()), model, X)
