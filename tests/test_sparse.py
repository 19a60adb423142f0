"""Sparse input: the same model as dense input, without densifying X."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sknn import MLPClassifierBook, MLPRegressorBook

SPARSE_FORMATS = [
    sp.csr_matrix,
    sp.csc_matrix,
    sp.coo_matrix,
    sp.csr_array,
    sp.csc_array,
]


@pytest.fixture(scope="module")
def mostly_zeros(digits_split):
    """The digits with the faint pixels set to 0: about 60% zeros, like MNIST."""
    X_train, X_test, y_train, y_test = digits_split
    return (
        np.where(X_train > 0.4, X_train, 0.0),
        np.where(X_test > 0.4, X_test, 0.0),
        y_train,
        y_test,
    )


def assert_same_weights(sparse_model, dense_model):
    """Equal up to rounding: a compiled training loop may sum in another order."""
    for ours, theirs in zip(
        sparse_model.coefs_ + sparse_model.intercepts_,
        dense_model.coefs_ + dense_model.intercepts_,
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore::sknn.FailedToLearnWarning")
@pytest.mark.parametrize("to_sparse", SPARSE_FORMATS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("Estimator", [MLPClassifierBook, MLPRegressorBook])
def test_sparse_and_dense_fits_give_the_same_model(mostly_zeros, to_sparse, Estimator):
    X_train, X_test, y_train, _ = mostly_zeros
    params = dict(
        hidden_layer_sizes=(12, 8),
        epochs=2,
        momentum=0.5,
        dropout=0.1,
        validation_fraction=0.2,
        monitor=("training_cost", "validation_cost"),
        random_state=0,
    )
    dense = Estimator(**params).fit(X_train, y_train)
    sparse = Estimator(**params).fit(to_sparse(X_train), y_train)
    assert_same_weights(sparse, dense)
    for a, b in zip(sparse.history_, dense.history_):
        assert a["training_cost"] == pytest.approx(b["training_cost"], rel=1e-12)
    sparse_test = to_sparse(X_test)
    np.testing.assert_allclose(
        sparse.predict(sparse_test), dense.predict(X_test), rtol=1e-12
    )
    np.testing.assert_allclose(
        sparse.transform(sparse_test), dense.transform(X_test), rtol=1e-12, atol=1e-15
    )
    if hasattr(dense, "predict_proba"):
        np.testing.assert_allclose(
            sparse.predict_proba(sparse_test),
            dense.predict_proba(X_test),
            rtol=1e-12,
            atol=1e-15,
        )


def test_partial_fit_and_validation_data_take_sparse_input(mostly_zeros):
    X_train, X_test, y_train, y_test = mostly_zeros
    dense = MLPClassifierBook(random_state=0, monitor=("validation_accuracy",))
    sparse = MLPClassifierBook(random_state=0, monitor=("validation_accuracy",))
    for _ in range(2):
        dense.partial_fit(X_train, y_train, classes=np.arange(10))
        sparse.partial_fit(sp.csr_array(X_train), y_train, classes=np.arange(10))
    assert_same_weights(sparse, dense)
    fitted = MLPClassifierBook(epochs=2, random_state=0).fit(
        sp.csr_matrix(X_train), y_train, X_val=sp.csc_matrix(X_test), y_val=y_test
    )
    assert fitted.history_[-1]["validation_accuracy"] == fitted.score(X_test, y_test)


@pytest.mark.filterwarnings("ignore::sknn.FailedToLearnWarning")  # random labels
def test_training_never_densifies_the_whole_matrix():
    """A 1,000 x 20,000 matrix would take 160 MB dense; the fit stays far below that."""
    rng = np.random.default_rng(0)
    X = sp.random(1000, 20000, density=0.001, format="csr", random_state=0)
    y = rng.integers(0, 2, 1000)
    tracemalloc.start()
    try:
        MLPClassifierBook(
            hidden_layer_sizes=(4,), epochs=1, monitor=(), random_state=0
        ).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"


def test_one_hot_encoded_columns_in_front_of_the_network():
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    y = (colour == "red") ^ (size > 0)
    X = np.empty((n, 2), dtype=object)
    X[:, 0], X[:, 1] = colour, size

    def pipeline(sparse_output):
        encode = ColumnTransformer(
            [
                ("colour", OneHotEncoder(sparse_output=sparse_output), [0]),
                ("size", StandardScaler(), [1]),
            ],
            sparse_threshold=1.0 if sparse_output else 0.0,
        )
        return make_pipeline(encode, MLPClassifierBook(epochs=30, random_state=0))

    sparse_pipeline = pipeline(True).fit(X, y)
    assert sp.issparse(sparse_pipeline[0].transform(X))
    dense_pipeline = pipeline(False).fit(X, y)
    np.testing.assert_allclose(
        sparse_pipeline.predict_proba(X), dense_pipeline.predict_proba(X), rtol=1e-12
    )
    assert sparse_pipeline.score(X, y) > 0.9
