"""Judging training-cost curves: did the cost fall, oscillate or diverge?"""

from __future__ import annotations

import warnings

import numpy as np


def _judge_costs(initial, costs, stop_reason):
    """Return ``(verdict, epoch)``: "fell", or where it "oscillated"/"diverged"."""
    for epoch, cost in enumerate(costs, 1):
        if not np.isfinite(cost) or cost > initial:
            return "diverged", epoch
    if stop_reason == "diverged":
        return "diverged", len(costs)
    previous = initial
    for epoch, cost in enumerate(costs, 1):
        if not cost < previous:
            return "oscillated", epoch
        previous = cost
    return "fell", None


def _combine_verdicts(verdicts):
    """One verdict over the folds: diverged on any, else fell on all, else oscillated."""
    for kind in ("diverged", "oscillated"):
        epochs = [epoch for k, epoch in verdicts if k == kind]
        if epochs:
            return kind, min(epochs)
    return "fell", None


def _verdict_text(verdict):
    kind, epoch = verdict
    if kind == "fell":
        return "fell"
    if kind == "diverged":
        return f"diverged in epoch {epoch}"
    return f"oscillated (rose in epoch {epoch})"


def _threshold(learning_rates, verdicts):
    """Walk up ``learning_rates``; return (last that fell, first that did not)."""
    threshold = None
    for eta in learning_rates:
        if verdicts[eta][0] != "fell":
            return threshold, eta
        threshold = eta
    return threshold, None


def _mean_curve(histories):
    """The mean over folds of each epoch's cost; NaN where any fold's is missing.

    A run that diverged stops early, so its history is shorter: it is padded
    with NaN, as are non-finite costs.
    """
    longest = max(len(costs) for costs in histories)
    costs = np.full((len(histories), longest), np.nan)
    for row, history in zip(costs, histories):
        row[: len(history)] = history
    costs[~np.isfinite(costs)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return costs.mean(axis=0)
