"""The health of a training run: divergence during it, failure to learn after it.

A run that fails says so. After each epoch a health check, independent of
``monitor``, looks at the mean cost of the mini-batches as they were trained
and at the size of the weights; a cost or weights that stopped being finite,
a cost that exploded relative to the cost before training or to the first
epoch's, or weights that grew by orders of magnitude stop training with a
:class:`DivergenceWarning` and the last good epoch's weights
(:func:`_health_problem` says why; the epoch loop in :mod:`sknn._base` rolls
back). After training, :class:`FailedToLearnWarning` says when the model is no
better than a constant or a hidden layer passes no gradient (dead ReLUs,
saturated sigmoids): :func:`failure_after_training`.
"""

import itertools

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_batches

AFTER_TRAINING_ROWS = 5000
"""Training rows the checks after training look at (evenly spaced)."""

COST_GROWTH_LIMIT = 100.0
"""An epoch whose mean mini-batch cost exceeds this multiple of the first epoch's diverged."""

START_COST_GROWTH_LIMIT = 20.0
"""An epoch whose mean mini-batch cost exceeds this multiple of the cost before
training (or of 1, if that was smaller) diverged: training only ever lowers it."""

START_COST_ROWS = 1024
"""Training rows the cost before training is measured on."""

WEIGHT_GROWTH_LIMIT = 1e4
"""Weights whose norm grew this many times over their norm at the start of the fit diverged."""

EPOCH_GROWTH_LIMIT = 10.0
"""Weights whose norm grew this many times in each of two epochs in a row diverged."""


class DivergenceWarning(ConvergenceWarning):
    """Training stopped because the cost or the weights stopped being finite or exploded."""


class FailedToLearnWarning(ConvergenceWarning):
    """Training ran to its end, but the model did not learn: see the message for what to try."""


def _norm(arrays):
    """The Euclidean norm of all the weights together, as one vector."""
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


def _health_problem(batch_cost, reference_costs, norms):
    """Why this epoch diverged, in words, or None if it looks healthy.

    ``reference_costs`` are the cost before training and the first epoch's
    mean mini-batch cost (None during the first epoch); ``norms`` are the
    weight norms at the start of the fit and after each epoch, this one last.
    """
    start_cost, first_cost = reference_costs
    norm, start_norm = norms[-1], norms[0]
    if not np.isfinite(batch_cost):
        return f"the cost of its mini-batches became {batch_cost}"
    if not np.isfinite(norm):
        return "the weights stopped being finite"
    if np.isfinite(start_cost) and batch_cost > START_COST_GROWTH_LIMIT * max(
        start_cost, 1.0
    ):
        return (
            f"the mean cost of its mini-batches rose to {batch_cost:.4g}, over "
            f"{START_COST_GROWTH_LIMIT:g} times the {start_cost:.4g} before training"
        )
    if first_cost is not None and batch_cost > COST_GROWTH_LIMIT * max(
        first_cost, 1e-3
    ):
        return (
            f"the mean cost of its mini-batches rose to {batch_cost:.4g}, over "
            f"{COST_GROWTH_LIMIT:g} times the first epoch's {first_cost:.4g}"
        )
    if norm > WEIGHT_GROWTH_LIMIT * max(start_norm, 1.0):
        return (
            f"the weights grew to a norm of {norm:.3g}, over {WEIGHT_GROWTH_LIMIT:g} "
            f"times their {start_norm:.3g} at the start of the fit"
        )
    if len(norms) >= 3 and all(
        later > EPOCH_GROWTH_LIMIT * max(earlier, 1.0)
        for earlier, later in itertools.pairwise(norms[-3:])
    ):
        return (
            f"the weights grew over {EPOCH_GROWTH_LIMIT:g}-fold in each of the last "
            f"two epochs, to a norm of {norm:.3g}"
        )
    return None


def cost_before_training(network, plan, lmbda):
    """The cost before a fit's first step, and the regularization term to add.

    Measured once per fit on at most ``START_COST_ROWS`` evenly spaced
    training rows (all of them when there are fewer), so that sorted data is
    still represented. It is the "epoch 0" of the book's cost plots: the
    health check compares every epoch's cost with it, and the estimator's
    ``initial_cost_`` adds the regularization term, as the ``training_cost``
    of ``history_`` does.

    Parameters
    ----------
    network : sknn._network.Network
        The network before training.
    plan : object
        The fit's plan: ``train`` as ``(X, Y, sample_weight, y)``,
        ``regularizer``, ``coefs`` and ``n_train``.
    lmbda : float
        The regularization parameter.

    Returns
    -------
    tuple of (float, float)
        The cost without the regularization term, and that term.
    """
    X, Y, sample_weight, _ = plan.train
    step = -(-X.shape[0] // START_COST_ROWS)
    weights = None if sample_weight is None else sample_weight[::step]
    if weights is not None and not weights.sum() > 0:
        weights = None
    cost = network.mean_cost(X[::step], Y[::step], weights)
    penalty = (
        plan.regularizer.penalty(plan.coefs, lmbda, plan.n_train) if lmbda else 0.0
    )
    return cost, penalty


def failure_after_training(network, train, learning_failure):
    """Why a trained model did not learn, or None for a model that learned.

    The verdict is drawn from at most ``AFTER_TRAINING_ROWS`` evenly spaced
    training rows: enough to tell a dead layer or a constant predictor, and
    cheap next to an epoch even when one compiled epoch takes a fraction of a
    second.

    Parameters
    ----------
    network : sknn._network.Network
        The trained network.
    train : tuple
        The training data as the fit held it: ``(X, Y, sample_weight, y)``.
    learning_failure : callable
        ``learning_failure(outputs, Y, sample_weight)``: the estimator's own
        message when its outputs are no better than a constant, else None.

    Returns
    -------
    tuple of (str, str) or None
        ("dead_units" or "failed_to_learn", message): the first becomes
        ``stop_reason_``, the message a :class:`FailedToLearnWarning`.
    """
    X, Y, sample_weight, _ = train
    if X.shape[0] > AFTER_TRAINING_ROWS:
        rows = np.linspace(0, X.shape[0] - 1, AFTER_TRAINING_ROWS).astype(np.intp)
        X, Y = X[rows], Y[rows]
        sample_weight = None if sample_weight is None else sample_weight[rows]
    passing, outputs = forward_with_gradient_flow(network, X)
    for layer, units in enumerate(passing, start=1):
        if not units.any():
            what = (
                "never active (dead ReLUs)"
                if network.activation.name == "relu"
                else "saturated on every sample"
            )
            return "dead_units", (
                f"Every unit of hidden layer {layer} is {what}, so no gradient "
                "reaches the layers below and the network cannot learn. Try a "
                "smaller learning_rate (or learning_rate='auto'), less momentum, "
                "the 'he' initializer for ReLU, or scaled inputs."
            )
    message = learning_failure(outputs, Y, sample_weight)
    if message is not None:
        return "failed_to_learn", message
    return None


def forward_with_gradient_flow(network, X):
    """Return ([per hidden unit: does it pass gradient on some row?], outputs).

    A unit passes gradient on a row when its activation's derivative there
    is not negligible; a ReLU that is never active, or a sigmoid stuck at 0
    or 1, passes none. Rows go in chunks (``gen_batches``), so one pass gives
    both the answer and the outputs the failed-to-learn check compares.
    """
    activations = network._layer_activations()
    n_hidden = len(network.weights) - 1
    passing = [np.zeros(w.shape[1], bool) for w in network.weights[:-1]]
    outputs = np.empty((X.shape[0], network.weights[-1].shape[1]), X.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        for rows in gen_batches(X.shape[0], 4096):
            a = X[rows]
            for layer, (w, b, f) in enumerate(
                zip(network.weights, network.biases, activations)
            ):
                z = a @ w
                z += b
                a = f.fn(z, out=z)
                if layer < n_hidden:
                    passing[layer] |= (f.derivative(a) > 1e-6).any(axis=0)
            outputs[rows] = a
    return passing, outputs
