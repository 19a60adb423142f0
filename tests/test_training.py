"""The training loop of the core: one step by hand, dropout, sample weights."""

import numpy as np
import pytest

from sknn._network import _TrainingStep
from sknn.activations import Sigmoid
from sknn.costs import CrossEntropyCost
from sknn.optimizers import SGD
from sknn.regularizers import L2Regularizer, NoRegularizer


def test_one_full_batch_epoch_is_one_regularized_gradient_step(make_network_problem):
    network, X, Y = make_network_problem("sigmoid", "cross_entropy")
    eta, lmbda, n = 0.3, 1.5, X.shape[0]
    weight_grads, bias_grads = network.gradients(X, Y)
    expected_w = [
        (1 - eta * lmbda / n) * w - eta * g
        for w, g in zip(network.weights, weight_grads)
    ]
    expected_b = [b - eta * g for b, g in zip(network.biases, bias_grads)]
    network.train_epoch(
        X,
        Y,
        SGD(L2Regularizer, lmbda, n),
        batch_size=n,
        learning_rate=eta,
        rng=np.random.default_rng(0),
        shuffle=False,
    )
    for got, want in zip(network.weights + network.biases, expected_w + expected_b):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 4, 6])
def test_epoch_without_dropout_equals_steps_on_reference_gradients(
    batch_size, make_network_problem
):
    network, X, Y = make_network_problem("tanh", "log_likelihood")
    reference, _, _ = make_network_problem("tanh", "log_likelihood")
    eta = 0.2
    network.train_epoch(
        X,
        Y,
        SGD(NoRegularizer, 0.0, len(X)),
        batch_size=batch_size,
        learning_rate=eta,
        rng=np.random.default_rng(5),
        dropout=0.0,
    )
    order = np.random.default_rng(5).permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start : start + batch_size]
        weight_grads, bias_grads = reference.gradients(X[rows], Y[rows])
        for param, grad in zip(
            reference.weights + reference.biases, weight_grads + bias_grads
        ):
            param -= eta * grad
    for got, want in zip(
        network.weights + network.biases, reference.weights + reference.biases
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_sample_weights_of_ones_change_nothing(make_network_problem):
    network, X, Y = make_network_problem("relu", "quadratic")
    weighted, _, _ = make_network_problem("relu", "quadratic")
    for net, sw in [(network, None), (weighted, np.ones(len(X)))]:
        net.train_epoch(
            X,
            Y,
            SGD(L2Regularizer, 1.0, len(X)),
            batch_size=4,
            learning_rate=0.1,
            rng=np.random.default_rng(1),
            sample_weight=sw,
        )
    for a, b in zip(network.weights, weighted.weights):
        np.testing.assert_array_equal(a, b)


class FixedUniforms:
    """Stands in for a numpy Generator, handing out the same uniforms each call."""

    def __init__(self, values):
        self.values = values

    def random(self, out, dtype):
        out[...] = self.values[: out.shape[0], : out.shape[1]]
        return out


def test_dropout_masks_hidden_units_and_scales_the_kept_ones(make_network_problem):
    network, X, _ = make_network_problem("sigmoid", "cross_entropy")
    p = 0.4
    uniforms = np.random.default_rng(7).random((X.shape[0], 5))
    step = _TrainingStep(network, X.shape[0], dropout=p)
    np.copyto(step.inputs, X)
    step.forward(FixedUniforms(uniforms))
    expected_mask = (uniforms >= p) / (1 - p)
    np.testing.assert_allclose(step.masks[0], expected_mask)
    np.testing.assert_allclose(step.dropped[0], step.activations[0] * expected_mask)


def test_dropout_gradient_matches_finite_differences_of_the_thinned_network(
    make_network_problem, numerical_gradient
):
    network, X, Y = make_network_problem("sigmoid", "cross_entropy")
    p = 0.5
    rng = np.random.default_rng(11)
    uniforms = [rng.random((X.shape[0], n)) for n in network.layer_sizes[1:-1]]
    masks = [(u >= p) / (1 - p) for u in uniforms]

    class PerLayer:
        calls = 0

        def random(self, out, dtype):
            out[...] = uniforms[self.calls % len(uniforms)]
            self.calls += 1

    step = _TrainingStep(network, X.shape[0], dropout=p)
    np.copyto(step.inputs, X)
    step.forward(PerLayer())
    step.backward(Y, 1.0 / X.shape[0])

    def thinned_cost():
        a = X
        for layer, (w, b) in enumerate(zip(network.weights, network.biases)):
            z = a @ w + b
            if layer < len(masks):
                a = Sigmoid.fn(z, out=z) * masks[layer]
            else:
                a = Sigmoid.fn(z, out=z)
        return CrossEntropyCost.fn(a, Y).mean()

    for w, weight_step in zip(network.weights, step.weight_steps):
        np.testing.assert_allclose(
            weight_step, numerical_gradient(thinned_cost, w), rtol=1e-5, atol=1e-8
        )


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_observed_drop_rate_matches_the_setting(p, make_network_problem):
    network, _, _ = make_network_problem("relu", "cross_entropy")
    X = np.random.default_rng(0).standard_normal((2000, 4))
    step = _TrainingStep(network, X.shape[0], dropout=p)
    np.copyto(step.inputs, X)
    step.forward(np.random.default_rng(3))
    dropped_fraction = np.mean([np.mean(mask == 0) for mask in step.masks])
    assert dropped_fraction == pytest.approx(p, abs=0.02)


def test_network_round_trips_its_layer_sizes(make_network_problem):
    network, _, _ = make_network_problem("sigmoid", "quadratic")
    assert network.layer_sizes == [4, 5, 3, 3]
