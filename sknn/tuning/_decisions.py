"""What the stages decide from what they measured: pure functions, no fitting.

Each stage of :class:`BookSearchCV` fits networks and then hands the numbers
it measured (training costs, validation accuracies, CV scores, fit times) to
one of these functions, which decides. Keeping the decisions apart from the
fitting lets each rule be checked on constructed numbers.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np


def _tidy(value):
    """Round a float to 6 significant digits, so 0.1 * 2 prints as 0.2."""
    return float(f"{value:.6g}")


def _fmt(value):
    """A number as ``%g`` (0.001, 2.5, 1e-05), anything else as its repr."""
    return f"{value:g}" if isinstance(value, Real) else repr(value)


# --- the learning-rate threshold: judging training-cost curves ------------------


def _judge_costs(initial, costs, stop_reason):
    """Return ``(verdict, epoch)``: "fell", or where it "oscillated"/"diverged".

    ``initial`` is the untrained network's cost (the book's epoch 0) and
    ``costs`` the training cost after each epoch. A cost that is not finite or
    rises above the untrained one diverged; one that fails to fall below the
    epoch before oscillated; otherwise it fell.
    """
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


# --- the number of epochs --------------------------------------------------------


def _median_epoch(epochs):
    """The median of the folds' epochs, rounded up: a whole number of epochs."""
    return math.ceil(np.median(epochs))


# --- the scored stages -----------------------------------------------------------


def _fastest_good_enough(cv_results, tolerance):
    """Return (value, index, best score) of the fastest candidate near the best score."""
    scores = np.asarray(cv_results["mean_test_score"], dtype=float)
    times = np.asarray(cv_results["mean_fit_time"], dtype=float)
    if np.isnan(scores).all():
        raise ValueError("Every mini-batch size failed to fit; see the warnings.")
    best = float(np.nanmax(scores))
    good = np.flatnonzero(scores >= best - tolerance)
    index = int(good[np.argmin(times[good])])
    value = next(iter(cv_results["params"][index].values()))
    return value, index, best


# --- checking the ranges a user gives ------------------------------------------


_RANGE_CHECKS = {
    "positive": lambda v: isinstance(v, Real) and np.isfinite(v) and v > 0,
    "non-negative": lambda v: isinstance(v, Real) and np.isfinite(v) and v >= 0,
    "positive integer": lambda v: isinstance(v, Integral) and v > 0,
}


def _checked_values(name, values, *, kind):
    """Return the sorted distinct values of a range, or raise naming ``name``."""
    if isinstance(values, str) or not np.iterable(values):
        raise TypeError(f"{name} must be a list of numbers; got {values!r}.")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty: give at least one value to try.")
    bad = [v for v in values if isinstance(v, bool) or not _RANGE_CHECKS[kind](v)]
    if bad:
        raise ValueError(f"{name} must hold {kind} numbers; these are not: {bad}.")
    if kind == "positive integer":
        return sorted({int(v) for v in values})
    return sorted({float(v) for v in values})


def _checked_factors(name, factors, *, above_one=False):
    """Refinement factors: may be empty (no refinement), else positive numbers."""
    if not isinstance(factors, str) and np.iterable(factors) and len(factors) == 0:
        return []
    factors = _checked_values(name, factors, kind="positive")
    if above_one and min(factors) <= 1:
        raise ValueError(
            f"{name} must be > 1: the refinement tries values above the "
            f"threshold, below the first learning rate that failed; got {factors}."
        )
    return factors
