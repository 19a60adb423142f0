"""One SGD update step, worked by hand for each rule (eq. 20-21, 93, 97, momentum)."""

import numpy as np
import pytest

from sknn.optimizers import SGD
from sknn.regularizers import L1Regularizer, L2Regularizer, NoRegularizer

ETA, LMBDA, N = 0.5, 2.0, 10


def one_step(regularizer, momentum=0.0, steps=1):
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    b = np.array([0.3, -0.1])
    weight_step = np.array([[0.1, 0.2], [-0.3, 0.4]])
    bias_step = np.array([0.05, -0.05])
    optimizer = SGD(regularizer, LMBDA, N, momentum)
    for _ in range(steps):
        optimizer.step([w], [b], [weight_step], [bias_step], ETA)
    return w, b, weight_step, bias_step


def test_plain_sgd_moves_against_the_step():
    w, b, *_ = one_step(NoRegularizer)
    np.testing.assert_allclose(w, [[0.9, -2.2], [0.8, -0.4]])
    np.testing.assert_allclose(b, [0.25, -0.05])


def test_l2_decays_weights_by_one_minus_eta_lambda_over_n():
    w, b, *_ = one_step(L2Regularizer)
    decay = 1 - ETA * LMBDA / N
    assert decay == pytest.approx(0.9)
    np.testing.assert_allclose(
        w, [[0.9 * 1.0 - 0.1, 0.9 * -2.0 - 0.2], [0.9 * 0.5 + 0.3, 0.0 - 0.4]]
    )
    np.testing.assert_allclose(b, [0.25, -0.05])


def test_l1_moves_weights_a_constant_towards_zero():
    w, b, *_ = one_step(L1Regularizer)
    shift = ETA * LMBDA / N
    np.testing.assert_allclose(
        w, [[1.0 - shift - 0.1, -2.0 + shift - 0.2], [0.5 - shift + 0.3, 0.0 - 0.4]]
    )
    np.testing.assert_allclose(b, [0.25, -0.05])


def test_momentum_accumulates_velocity():
    mu = 0.9
    w, b, *_ = one_step(L2Regularizer, momentum=mu, steps=2)
    w0 = np.array([[1.0, -2.0], [0.5, 0.0]])
    g = np.array([[0.1, 0.2], [-0.3, 0.4]])
    rate = ETA * LMBDA / N
    v1 = -rate * w0 - g
    w1 = w0 + v1
    v2 = mu * v1 - rate * w1 - g
    np.testing.assert_allclose(w, w1 + v2)
    bv1 = -np.array([0.05, -0.05])
    bv2 = mu * bv1 - np.array([0.05, -0.05])
    np.testing.assert_allclose(b, np.array([0.3, -0.1]) + bv1 + bv2)


def test_zero_momentum_equals_plain_sgd_with_regularizer():
    w_plain, *_ = one_step(L1Regularizer, steps=3)
    optimizer_w = np.array([[1.0, -2.0], [0.5, 0.0]])
    for _ in range(3):
        optimizer_w = (
            optimizer_w
            - ETA * LMBDA / N * np.sign(optimizer_w)
            - np.array([[0.1, 0.2], [-0.3, 0.4]])
        )
    np.testing.assert_allclose(w_plain, optimizer_w)
