"""What is measured after each epoch: cost and accuracy (R^2 for regression).

network2.py's ``SGD`` takes four flags, ``monitor_training_cost``,
``monitor_training_accuracy``, ``monitor_evaluation_cost`` and
``monitor_evaluation_accuracy``. Each costs a full forward pass over its data
set, so each is opt-in here too, through the ``monitor`` hyperparameter.
"""

import numpy as np
from sklearn.metrics import r2_score

MONITORS = (
    "training_cost",
    "training_accuracy",
    "validation_cost",
    "validation_accuracy",
)
"""The classifier's monitors: network2.py's four."""

REGRESSION_MONITORS = (
    "training_cost",
    "training_r2",
    "validation_cost",
    "validation_r2",
)
"""The regressor's monitors: accuracy makes no sense there, R^2 takes its place."""


def count_correct(outputs, Y, multilabel=False):
    """Samples whose prediction from ``outputs`` matches the one-hot or indicator ``Y``."""
    if multilabel:
        return int(np.all((outputs > 0.5) == (Y > 0.5), axis=1).sum())
    return int((outputs.argmax(axis=1) == Y.argmax(axis=1)).sum())


def measure(network, data, wanted, *, prefix, penalty, count_correct):
    """Return the monitored quantities for one data set as record entries.

    Parameters
    ----------
    network : sknn._network.Network
    data : tuple (X, Y, sample_weight)
    wanted : set of str
        Monitors among :data:`MONITORS`; those not starting with ``prefix``
        are ignored.
    prefix : {"training", "validation"}
    penalty : float
        The regularization term, added to the cost as network2.py's
        ``total_cost`` does. Like the book, the caller divides lambda by the
        size of the data set measured: the training set for the training
        cost, the validation set for the validation cost.
    count_correct : callable
        ``count_correct(outputs, Y)``: how many rows the outputs get right, or
        None where accuracy has no meaning (then no accuracy is recorded).
    """
    want_cost = f"{prefix}_cost" in wanted
    want_accuracy = f"{prefix}_accuracy" in wanted
    want_r2 = f"{prefix}_r2" in wanted
    if not (want_cost or want_accuracy or want_r2):
        return {}
    X, Y, sample_weight = data
    outputs = network.feedforward(X)
    record = {}
    if want_cost:
        per_sample = network.cost.fn(outputs, Y)
        record[f"{prefix}_cost"] = (
            float(np.average(per_sample, weights=sample_weight)) + penalty
        )
    correct = count_correct(outputs, Y) if want_accuracy else None
    if correct is not None:
        record[f"{prefix}_accuracy"] = correct / X.shape[0]
        record[f"{prefix}_correct"] = correct
        record[f"{prefix}_size"] = X.shape[0]
    if want_r2:
        # R^2 is unchanged when targets and outputs are scaled alike, so the
        # standardized targets the network trains on give the R^2 of score().
        record[f"{prefix}_r2"] = float(
            r2_score(Y, outputs, sample_weight=sample_weight)
        )
    return record
