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
from scipy.stats import rankdata


def _tidy(value):
    """Round a float to 6 significant digits, so 0.1 * 2 prints as 0.2."""
    return float(f"{value:.6g}")


def _fmt(value):
    """A number as ``%g`` (0.001, 2.5, 1e-05), anything else as its repr."""
    return f"{value:g}" if isinstance(value, Real) else repr(value)


# --- the learning-rate threshold: judging training-cost curves ------------------


_MIN_FALL = 1e-3
"""The least relative fall of the training cost per epoch that counts as falling."""


def _judge_costs(initial, costs, stop_reason):
    """Return ``(verdict, epoch)``: "fell", or where it "oscillated"/"stalled"/"diverged".

    ``initial`` is the untrained network's cost (the book's epoch 0) and
    ``costs`` the training cost after each epoch. A cost that is not finite or
    rises above the untrained one diverged; one that fails to fall below the
    epoch before oscillated; one that falls by less than a thousandth stalled
    (a step so large that every ReLU died leaves only the output biases to
    learn, and their cost creeps down to that of guessing the class
    frequencies); otherwise it fell.
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
        if cost > previous * (1 - _MIN_FALL):
            return "stalled", epoch
        previous = cost
    return "fell", None


def _combine_verdicts(verdicts):
    """One verdict over the folds: the worst on any (diverged, oscillated, stalled), else fell."""
    for kind in ("diverged", "oscillated", "stalled"):
        epochs = [epoch for k, epoch in verdicts if k == kind]
        if epochs:
            return kind, min(epochs)
    return "fell", None


def _slower_than_smaller(verdicts, final_costs):
    """Mark a learning rate whose cost fell, but ended above a smaller one's, as "slower".

    A step past the threshold need not make the cost rise: it can bounce
    around the valley and still end each epoch a little lower, or kill every
    ReLU so that only the output biases learn. Either way it ends the first
    few epochs with a higher cost than a smaller learning rate reached,
    which a learning rate below the threshold never does (a larger step in
    the right direction goes further). ``final_costs`` maps each learning
    rate to its mean last training cost; returns the updated verdicts.
    """
    verdicts = dict(verdicts)
    best_eta, best_cost = None, math.inf
    for eta in sorted(verdicts):
        if verdicts[eta][0] != "fell":
            continue
        if final_costs[eta] > best_cost:
            verdicts[eta] = ("slower", best_eta)
        else:
            best_eta, best_cost = eta, final_costs[eta]
    return verdicts


def _verdict_text(verdict):
    kind, epoch = verdict
    if kind == "fell":
        return "fell"
    if kind == "slower":
        return f"fell, but ended above eta {_fmt(epoch)}'s cost"
    if kind == "diverged":
        return f"diverged in epoch {epoch}"
    if kind == "stalled":
        return f"stalled (fell by less than {_MIN_FALL:.1%} in epoch {epoch})"
    return f"oscillated (rose in epoch {epoch})"


def _threshold(learning_rates, verdicts):
    """Walk up ``learning_rates``; return (last that fell, first that did not)."""
    threshold = None
    for eta in learning_rates:
        if verdicts[eta][0] != "fell":
            return threshold, eta
        threshold = eta
    return threshold, None


def _window(learning_rates, start):
    """Indices (lo, hi) of the rate nearest ``start`` (on a log scale) and its neighbours."""
    logs = np.log(np.asarray(learning_rates, dtype=float))
    nearest = int(np.argmin(np.abs(logs - math.log(start))))
    return max(nearest - 1, 0), min(nearest + 1, len(learning_rates) - 1)


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


FASTER = 0.9
"""How much of the best-scoring mini-batch size's fit time a lower-scoring size
may take to replace it. On this project's machine the sizes 10 to 100 trained
MNIST's [400] network within 3% of each other's time, and which was fastest
changed between runs; a score is not given up for a difference that small."""


def _fastest_good_enough(cv_results, tolerance):
    """Return (value, index, best score) of the fastest candidate near the best score.

    The reference is the fastest of the sizes with the best score; a size that
    scores lower, within ``tolerance``, replaces it only if its fits take at
    most :data:`FASTER` of the reference's time.
    """
    scores = np.asarray(cv_results["mean_test_score"], dtype=float)
    times = np.asarray(cv_results["mean_fit_time"], dtype=float)
    if np.isnan(scores).all():
        raise ValueError("Every mini-batch size failed to fit; see the warnings.")
    best = float(np.nanmax(scores))
    top = np.flatnonzero(scores == best)
    index = int(top[np.argmin(times[top])])
    good = np.flatnonzero(
        (scores >= best - tolerance) & (times <= FASTER * times[index])
    )
    if len(good):
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


# --- the network's shape, its neurons, its schedule -----------------------------


def _best_candidate(scores, min_improvement):
    """Index of the candidate to keep: the first (the current settings) unless
    another scores more than ``min_improvement`` above it.

    A change must earn its place: on a noisy validation score a candidate
    that is better by a hair is as likely to be worse on new data, and a
    change (a wider network, a new activation) usually costs time.
    Candidates that failed to fit (NaN score) are never chosen.
    """
    scores = np.asarray(scores, dtype=float)
    if np.isnan(scores).all():
        raise ValueError("Every candidate failed to fit; see the warnings.")
    best = int(np.nanargmax(scores))
    if np.isnan(scores[0]) or scores[best] > scores[0] + min_improvement:
        return best
    return 0


def _kept_unless_beaten(cv_results, current, margin):
    """Index in ``cv_results`` of the value to keep: ``current`` unless beaten by ``margin``.

    For a search over one parameter in which ``current``, the value so far,
    is one of the candidates: the best-scoring value replaces it only if it
    scores more than ``margin`` higher (:func:`_best_candidate`); a
    ``current`` that was not searched leaves the best.
    """
    values = [next(iter(params.values())) for params in cv_results["params"]]
    scores = np.asarray(cv_results["mean_test_score"], dtype=float)
    if current not in values:
        return int(np.nanargmax(scores))
    first = values.index(current)
    order = [first] + [index for index in range(len(values)) if index != first]
    return order[_best_candidate(scores[order], margin)]


def _margin(min_improvement, accuracy=None, n_scored=None):
    """How much better a change must score to be kept.

    ``min_improvement``, or, for an accuracy measured on ``n_scored``
    validation rows, its binomial standard error sqrt(p (1 - p) / n) if
    that is larger: on 600 images an accuracy of 0.95 is uncertain by about
    0.009, so a change that wins by 0.005 has won by chance as often as not.
    """
    if accuracy is None or not n_scored or not np.isfinite(accuracy):
        return min_improvement
    accuracy = min(max(accuracy, 0.0), 1.0)
    return max(min_improvement, math.sqrt(accuracy * (1 - accuracy) / n_scored))


def _keeps_growing(previous_score, new_score):
    """Chapter 3's growth rule: grow "while the validation score improves".

    The next larger network is tried while each one scores higher than the
    one before it, by any amount: a doubling may gain less than the margin a
    change needs to be chosen while two gain more, and only trying the next
    shows it. Which network is kept is decided apart, by the margin
    (:func:`_best_candidate`). A NaN score (the fit failed) stops the growth.
    """
    return bool(np.isfinite(new_score) and new_score > previous_score)


def _overfits(train_score, test_score, gap):
    """Whether the network fits its training data ``gap`` better than new data.

    Dropout helps a network large enough to overfit (chapter 3, "Dropout");
    a network that does not yet overfit only loses capacity to it.
    """
    return bool(train_score - test_score > gap)


def _initializer_for(activation, current):
    """The initializer that suits ``activation``: He's for ReLU, 1/sqrt(n_in) else.

    Chapter 3's N(0, 1/n_in) keeps sigmoid and tanh neurons out of
    saturation; ReLU neurons zero half their inputs, so they need twice the
    variance (He et al., 2015) to keep the signal's size through the layers.
    """
    if activation == "relu":
        return "he"
    return "default" if current == "he" else current


def _merged_results(key, values, fresh, remembered):
    """A ``cv_results_`` table of ``values``, some fitted now, some scored earlier.

    A search fits only the values no earlier stage scored with the same
    settings (with the same folds and initial weights they would score the
    same). Its table then gets a row for every value, in the order given:
    the rows of ``fresh`` (scikit-learn's ``cv_results_``, or None) as they
    are, the others from ``remembered`` (each value's ``{"folds": [...]}``
    scores), with NaN times, and ``scored_earlier`` saying which are which.
    Ranks are over all the rows, as scikit-learn ranks them (NaN last).
    """
    fresh = fresh or {"params": []}
    rows = {params[key]: index for index, params in enumerate(fresh["params"])}
    n_folds = len(remembered[0]["folds"]) if remembered else 0
    folds = np.array([entry["folds"] for entry in remembered], dtype=float)
    table = {
        "params": [{key: value} for value in values],
        f"param_{key}": np.ma.MaskedArray(np.array(values, dtype=object), mask=False),
        "scored_earlier": np.array([value not in rows for value in values]),
    }
    for name in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"):
        table[name] = np.array(
            [fresh[name][rows[v]] if v in rows else np.nan for v in values], dtype=float
        )
    for fold in range(n_folds):
        table[f"split{fold}_test_score"] = folds[:, fold]
    table["mean_test_score"] = folds.mean(axis=1)
    table["std_test_score"] = folds.std(axis=1)
    ranked = np.where(
        np.isnan(table["mean_test_score"]), -np.inf, table["mean_test_score"]
    )
    table["rank_test_score"] = rankdata(-ranked, method="min").astype(np.int32)
    return table


# --- the budget -------------------------------------------------------------------


def _batch_work(units, n_workers, gain=1.0):
    """The work a batch of fits puts on its busiest worker.

    The fits are dealt out to the workers, so the batch lasts the larger of
    its longest fit and its total work divided by the workers. A fit that
    has idle workers' threads to itself runs ``gain`` times faster.
    """
    return max(max(units) / gain, sum(units) / n_workers)


_SPREAD = 4.0
"""How many times larger the largest batch's work must be than the smallest's
before a straight line through the batches' times can tell the overhead from
the rate."""


def _fit_speed(batches, training_rate=None):
    """Return ``(overhead, seconds_per_unit)`` from the batches of fits timed so far.

    A batch of fits takes a fixed overhead (dispatching the fits to the
    workers, checking the data, scoring) plus a time proportional to its
    work (:func:`_batch_work`). Small fits, such as the threshold stage's
    few epochs on a subsample, are mostly overhead: dividing their time by
    their work would predict a full-size fit several times too slow, and
    the budget would skip stages it has time for.

    Parameters
    ----------
    batches : list of (work, wall seconds)
        Every batch timed so far, in order. The first also started the
        worker processes, so it is left out once there are others.
    training_rate : float or None
        Seconds per unit of work spent in the training epochs themselves
        (the fits' ``history_`` times), when known: the rate when the
        batches are too alike in size to tell it from the overhead.

    Returns
    -------
    tuple of float, or None
        None before any batch has been timed.
    """
    points = batches[1:] if len(batches) > 1 else batches
    points = [(work, wall) for work, wall in points if work > 0]
    if not points:
        return None
    work, wall = (np.array(column, dtype=float) for column in zip(*points))
    if work.max() >= _SPREAD * work.min():
        rate, overhead = np.polyfit(work, wall, 1)
        if rate > 0 and overhead >= 0:
            return float(overhead), float(rate)
        if rate > 0:
            return 0.0, float(wall.sum() / work.sum())
    if training_rate:
        return float(max(0.0, np.mean(wall - training_rate * work))), training_rate
    return 0.0, float(np.mean(wall / work))


def _predicted_seconds(speed, units, n_workers, gain=1.0):
    """Wall time of fits of ``units`` of work spread over ``n_workers``.

    ``speed`` is :func:`_fit_speed`'s ``(overhead, seconds_per_unit)``.
    Unknown (0) before any fit has been timed.
    """
    if speed is None or not len(units):
        return 0.0
    overhead, rate = speed
    return overhead + rate * _batch_work(units, n_workers, gain)


def _frozen(value):
    """``value`` as something hashable that compares by value (lists as tuples)."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
