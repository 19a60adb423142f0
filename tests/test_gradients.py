"""Backpropagation against finite differences, and against a per-sample loop."""

import numpy as np
import pytest

from sknn._network import Network
from sknn.activations import ACTIVATIONS
from sknn.costs import COSTS
from sknn.regularizers import REGULARIZERS

LMBDA = 0.7


def total_cost(network, X, Y, regularizer, sample_weight=None):
    """C = C_0 + the regularization term, the function whose gradient is checked."""
    return network.mean_cost(X, Y, sample_weight) + regularizer.penalty(
        network.weights, LMBDA, len(X)
    )


@pytest.mark.parametrize("regularizer_name", sorted(REGULARIZERS))
@pytest.mark.parametrize("cost_name", sorted(COSTS))
@pytest.mark.parametrize("activation_name", sorted(ACTIVATIONS))
def test_backprop_matches_central_differences(
    activation_name,
    cost_name,
    regularizer_name,
    make_network_problem,
    numerical_gradient,
):
    network, X, Y = make_network_problem(activation_name, cost_name)
    regularizer = REGULARIZERS[regularizer_name]
    weight_grads, bias_grads = network.gradients(X, Y)

    def cost():
        return total_cost(network, X, Y, regularizer)

    for w, grad in zip(network.weights, weight_grads):
        analytic = grad + LMBDA / len(X) * regularizer.gradient(w)
        np.testing.assert_allclose(
            analytic, numerical_gradient(cost, w), rtol=1e-5, atol=1e-8
        )
    for b, grad in zip(network.biases, bias_grads):
        np.testing.assert_allclose(
            grad, numerical_gradient(cost, b), rtol=1e-5, atol=1e-8
        )


@pytest.mark.parametrize("cost_name", sorted(COSTS))
def test_weighted_gradient_matches_finite_differences_of_weighted_cost(
    cost_name, make_network_problem, numerical_gradient
):
    network, X, Y = make_network_problem("sigmoid", cost_name, seed=1)
    sample_weight = np.array([0.5, 2.0, 0.0, 1.0, 3.0, 1.5])
    weight_grads, _ = network.gradients(X, Y, sample_weight)
    numeric = numerical_gradient(
        lambda: network.mean_cost(X, Y, sample_weight), network.weights[0]
    )
    np.testing.assert_allclose(weight_grads[0], numeric, rtol=1e-5, atol=1e-8)


def per_sample_gradients(network, x, y):
    """Textbook backpropagation for one sample, column vectors as in the book."""
    activations = [x]
    layer_functions = [network.activation] * (len(network.weights) - 1)
    layer_functions.append(network.cost.output_activation)
    for w, b, f in zip(network.weights, network.biases, layer_functions):
        z = activations[-1] @ w + b
        activations.append(f.fn(z[None, :], out=z[None, :].copy())[0])
    delta = np.empty((1, y.size))
    network.cost.delta(
        activations[-1][None, :], y[None, :], delta, np.empty_like(delta)
    )
    delta = delta[0]
    weight_grads, bias_grads = [], []
    for layer in range(len(network.weights) - 1, -1, -1):
        weight_grads.insert(0, np.outer(activations[layer], delta))
        bias_grads.insert(0, delta.copy())
        if layer > 0:
            delta = (network.weights[layer] @ delta) * network.activation.derivative(
                activations[layer]
            )
    return weight_grads, bias_grads


@pytest.mark.parametrize("cost_name", sorted(COSTS))
@pytest.mark.parametrize("activation_name", sorted(ACTIVATIONS))
def test_vectorised_gradient_is_mean_of_per_sample_gradients(
    activation_name, cost_name, make_network_problem
):
    network, X, Y = make_network_problem(activation_name, cost_name, seed=2)
    weight_grads, bias_grads = network.gradients(X, Y)
    per_sample = [per_sample_gradients(network, x, y) for x, y in zip(X, Y)]
    for layer in range(len(network.weights)):
        np.testing.assert_allclose(
            weight_grads[layer], np.mean([g[0][layer] for g in per_sample], axis=0)
        )
        np.testing.assert_allclose(
            bias_grads[layer], np.mean([g[1][layer] for g in per_sample], axis=0)
        )


def test_float32_network_computes_in_float32(make_network_problem):
    network, X, Y = make_network_problem("sigmoid", "cross_entropy")
    network32 = Network(
        [w.astype(np.float32) for w in network.weights],
        [b.astype(np.float32) for b in network.biases],
        network.activation,
        network.cost,
    )
    grads32, _ = network32.gradients(X.astype(np.float32), Y.astype(np.float32))
    grads64, _ = network.gradients(X, Y)
    assert network32.feedforward(X.astype(np.float32)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads32)
    for g32, g64 in zip(grads32, grads64):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)


def test_feedforward_in_chunks_equals_in_one_go(make_network_problem):
    network, X, _ = make_network_problem("tanh", "log_likelihood")
    X = np.random.default_rng(3).standard_normal((23, network.weights[0].shape[0]))
    np.testing.assert_allclose(
        network.feedforward(X, chunk_rows=4), network.feedforward(X, chunk_rows=100)
    )
