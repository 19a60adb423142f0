"""The small math pieces: each derivative against finite differences."""

import numpy as np
import pytest

from sknn.activations import ACTIVATIONS, Softmax
from sknn.costs import COSTS


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_central_differences(name):
    activation = ACTIVATIONS[name]
    z = np.array([[-2.5, -0.7, 0.3, 1.9]])
    eps = 1e-6
    numeric = (
        activation.fn(z + eps, out=np.empty_like(z))
        - activation.fn(z - eps, out=np.empty_like(z))
    ) / (2 * eps)
    a = activation.fn(z, out=np.empty_like(z))
    np.testing.assert_allclose(activation.derivative(a), numeric, rtol=1e-6)
    delta = np.full_like(z, 3.0)
    activation.multiply_derivative(a, delta, np.empty_like(z))
    np.testing.assert_allclose(delta, 3.0 * numeric, rtol=1e-6)


def test_softmax_rows_are_probabilities_even_for_large_inputs():
    z = np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]])
    a = Softmax.fn(z, out=np.empty_like(z))
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    np.testing.assert_allclose(a[0], np.exp([0, 1, -1]) / np.exp([0, 1, -1]).sum())


@pytest.mark.parametrize("name", sorted(COSTS))
def test_cost_delta_is_derivative_of_cost_with_respect_to_z(name):
    """BP1: delta = dC/dz for the cost composed with its output activation."""
    cost = COSTS[name]
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3, 4))
    y = np.eye(4)[[0, 2, 3]]

    def c(zz):
        return cost.fn(cost.output_activation.fn(zz, out=np.empty_like(zz)), y).sum()

    eps = 1e-6
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = eps
        numeric[index] = (c(z + step) - c(z - step)) / (2 * eps)
    a = cost.output_activation.fn(z, out=np.empty_like(z))
    delta = np.empty_like(z)
    cost.delta(a, y, delta, np.empty_like(z))
    np.testing.assert_allclose(delta, numeric, rtol=1e-5, atol=1e-9)


def test_cost_values_match_the_book_formulas():
    a = np.array([[0.8, 0.1, 0.1]])
    y = np.array([[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(
        COSTS["quadratic"].fn(a, y), [0.5 * (0.04 + 0.01 + 0.01)]
    )
    np.testing.assert_allclose(
        COSTS["cross_entropy"].fn(a, y), [-np.log(0.8) - 2 * np.log(0.9)]
    )
    np.testing.assert_allclose(COSTS["log_likelihood"].fn(a, y), [-np.log(0.8)])


def test_cross_entropy_stays_finite_when_outputs_saturate():
    a = np.array([[1.0, 0.0]], dtype=np.float32)
    y = np.array([[0.0, 1.0]], dtype=np.float32)
    assert np.isfinite(COSTS["cross_entropy"].fn(a, y)).all()
