import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits_split():
    """sklearn's bundled digits scaled to [0, 1], split 75/25 stratified."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, random_state=0, stratify=y)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
