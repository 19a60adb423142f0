"""transform(): hidden activations as features, their names and set_output."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_global_output_transform_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out_pandas,
)

from sknn import MLPClassifierBook, MLPRegressorBook

ESTIMATORS = [MLPClassifierBook, MLPRegressorBook]


def manual_forward(X, coefs, intercepts, hidden):
    """Each hidden layer a = f(a W + b), written out with the named activation."""
    functions = {"sigmoid": expit, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
    layers, a = [], X
    for w, b in zip(coefs[:-1], intercepts[:-1]):
        a = functions[hidden](a @ w + b)
        layers.append(a)
    return layers


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_transform_is_the_last_hidden_layer_of_a_manual_forward_pass(
    digits_split, Estimator, activation
):
    X_train, X_test, y_train, _ = digits_split
    model = Estimator(
        hidden_layer_sizes=(13, 7),
        activation=activation,
        epochs=2,
        learning_rate=0.1,
        random_state=0,
    ).fit(X_train, y_train)
    first, second = manual_forward(X_test, model.coefs_, model.intercepts_, activation)
    features = model.transform(X_test)
    assert features.shape == (len(X_test), 7)
    np.testing.assert_allclose(features, second, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.hidden_activations(X_test, 1), first, rtol=1e-12)
    np.testing.assert_allclose(model.hidden_activations(X_test, -2), first, rtol=1e-12)
    np.testing.assert_array_equal(model.hidden_activations(X_test, 2), features)
    assert model.get_feature_names_out().tolist() == [f"hidden2_{j}" for j in range(7)]


def test_float32_models_give_float32_features(digits_split):
    X_train, X_test, y_train, _ = digits_split
    model = MLPClassifierBook(epochs=1, random_state=0)
    model.fit(X_train.astype(np.float32), y_train)
    assert model.transform(X_test.astype(np.float32)).dtype == np.float32


def test_feature_names_and_pandas_output(digits_split):
    pd = pytest.importorskip("pandas")
    X_train, X_test, y_train, _ = digits_split
    columns = [f"pixel{i}" for i in range(64)]
    frame = pd.DataFrame(X_test, columns=columns, index=np.arange(len(X_test)) + 1000)
    model = MLPClassifierBook(epochs=2, random_state=0).set_output(transform="pandas")
    model.fit(pd.DataFrame(X_train, columns=columns), y_train)
    names = [f"hidden1_{j}" for j in range(30)]
    assert model.get_feature_names_out().tolist() == names
    assert model.get_feature_names_out(columns).tolist() == names
    features = model.transform(frame)
    assert isinstance(features, pd.DataFrame)
    assert features.columns.tolist() == names
    assert features.index.equals(frame.index)
    np.testing.assert_array_equal(features.to_numpy(), model.hidden_activations(frame))
    with pytest.raises(
        ValueError, match="input_features is not equal to feature_names_in_"
    ):
        model.get_feature_names_out(columns[::-1])
    with pytest.raises(
        ValueError, match="has 3 names, but the model was fitted with 64"
    ):
        model.get_feature_names_out(["a", "b", "c"])


def test_a_fitted_network_is_a_feature_extractor_in_a_pipeline(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    pipeline = make_pipeline(
        MLPClassifierBook(epochs=5, random_state=0), LogisticRegression(max_iter=500)
    ).fit(X_train, y_train)
    network = pipeline[0]
    np.testing.assert_array_equal(
        pipeline[1].predict(network.transform(X_test)), pipeline.predict(X_test)
    )
    assert pipeline.score(X_test, y_test) > 0.8
    assert pipeline[:-1].get_feature_names_out().tolist()[0] == "hidden1_0"


@pytest.mark.parametrize("layer", [0, 3, -3, 1.0, True])
def test_a_layer_that_is_not_hidden_is_refused(digits_split, layer):
    X_train, X_test, y_train, _ = digits_split
    model = MLPClassifierBook(hidden_layer_sizes=(5, 4), epochs=1, random_state=0)
    model.fit(X_train, y_train)
    with pytest.raises(
        ValueError, match="layer must be a hidden layer's number, 1 to 2"
    ):
        model.hidden_activations(X_test, layer)


@pytest.mark.filterwarnings("ignore:X (does not )?ha(s|ve) (valid )?feature names")
@pytest.mark.filterwarnings("ignore::sknn.FailedToLearnWarning")
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "check",
    [
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_global_output_transform_pandas,
        check_transformer_get_feature_names_out_pandas,
    ],
)
def test_scikit_learn_set_output_checks(Estimator, check):
    pytest.importorskip("pandas")
    estimator = Estimator(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    check(Estimator.__name__, estimator)
