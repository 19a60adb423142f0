"""sknn.losses: one-hot and label targets agree, and agree with the training costs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sknn.activations import Softmax
from sknn.costs import LogLikelihoodCost, QuadraticCost
from sknn.losses import cross_entropy_error, mean_squared_error


def softmax_outputs(z):
    return Softmax.fn(
        np.atleast_2d(z).astype(float), out=np.empty((len(z), z.shape[1]))
    )


@st.composite
def outputs_and_labels(draw):
    """Softmax outputs of any batch and width, none so small that the cost clips it."""
    batch = draw(st.integers(1, 12))
    n_outputs = draw(st.integers(2, 12))
    z = draw(arrays(float, (batch, n_outputs), elements=st.floats(-15, 15, width=64)))
    labels = draw(arrays(np.int64, (batch,), elements=st.integers(0, n_outputs - 1)))
    return softmax_outputs(z), labels


@settings(max_examples=60, deadline=None)
@given(outputs_and_labels())
def test_one_hot_and_label_targets_give_the_same_errors(data):
    y, labels = data
    one_hot = np.eye(y.shape[1])[labels]
    assert cross_entropy_error(y, labels) == pytest.approx(
        cross_entropy_error(y, one_hot), rel=1e-12, abs=1e-12
    )
    assert mean_squared_error(y, labels) == pytest.approx(
        mean_squared_error(y, one_hot), rel=1e-12, abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(outputs_and_labels())
def test_errors_agree_with_the_costs_the_network_trains_on(data):
    y, labels = data
    one_hot = np.eye(y.shape[1])[labels]
    assert mean_squared_error(y, one_hot) == pytest.approx(
        QuadraticCost.fn(y, one_hot).mean(), rel=1e-12, abs=1e-15
    )
    trained_on = LogLikelihoodCost.fn(y, one_hot).mean()
    assert cross_entropy_error(y, labels, eps=0.0) == pytest.approx(
        trained_on, rel=1e-9, abs=1e-12
    )


def test_a_single_sample_equals_a_batch_of_one_and_batches_average():
    rng = np.random.default_rng(0)
    y = softmax_outputs(rng.standard_normal((5, 10)))
    labels = np.array([5, 7, 6, 6, 1])
    for loss in (cross_entropy_error, mean_squared_error):
        singles = [loss(y[i], labels[i]) for i in range(5)]
        assert singles[0] == loss(y[:1], labels[:1])
        assert singles[0] == loss(y[0], np.eye(10)[labels[0]])
        assert loss(y, labels) == pytest.approx(np.mean(singles), rel=1e-12)


def test_the_guard_keeps_a_zero_output_finite():
    """A probability of 0 for the right class costs -ln(1e-7), about 16.118."""
    y = np.zeros(10)
    y[3] = 1.0
    assert cross_entropy_error(y, 0) == pytest.approx(-np.log(1e-7))
    assert cross_entropy_error(y, np.eye(10)[0]) == pytest.approx(-np.log(1e-7))
    assert cross_entropy_error(y, 3) == pytest.approx(-np.log(1.0 + 1e-7))


def test_hand_computed_values():
    y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
    assert cross_entropy_error(y, 2) == pytest.approx(-np.log(0.6 + 1e-7))
    squares = 0.1**2 + 0.05**2 + 0.4**2 + 0.05**2 + 0.1**2 + 0.1**2
    assert mean_squared_error(y, 2) == pytest.approx(0.5 * squares)
    moved = squares - 0.4**2 + 0.6**2 - 0.1**2 + 0.9**2  # the 1 moves from 2 to 7
    assert mean_squared_error(y, 7) == pytest.approx(0.5 * moved)


@pytest.mark.parametrize(
    "y, t, message",
    [
        (np.full((2, 3), 1 / 3), np.zeros((2, 4)), "one-hot targets of y's shape"),
        (np.full((2, 3), 1 / 3), np.array([0.0, 1.0]), "must be integers"),
        (np.full((2, 3), 1 / 3), np.array([0, 3]), r"must lie in \[0, 2\]"),
        (np.full((2, 3, 1), 1 / 3), np.array([0, 1]), "one sample"),
    ],
)
def test_bad_targets_are_refused_with_the_reason(y, t, message):
    for loss in (cross_entropy_error, mean_squared_error):
        with pytest.raises(ValueError, match=message):
            loss(y, t)
