"""BookSearchCV: chapter 3's recipe for choosing hyper-parameters, as one estimator.

Chapter 3 of *Neural Networks and Deep Learning*, in "How to choose a neural
network's hyper-parameters?", does not search every combination at once. It
tunes one hyper-parameter at a time, in an order where each choice barely
depends on the ones that come after it, and carries each choice forward:

1. **Learning rate threshold** ("Learning rate"): train for a few epochs with
   eta = 0.01, 0.1, 1, ... and find the threshold, the largest eta at which
   the *training cost* still falls in the first few epochs; refine it within
   its factor of ten, then use about half of it. The training cost, not a
   validation score, decides: eta's job is the step size of gradient
   descent, and the training cost is what shows a step that is too big.
2. **Epochs** ("Use early stopping to determine the number of training
   epochs"): let no-improvement-in-n early stopping find when validation
   accuracy stops improving, and train that long from then on.
3. **Lambda** ("The regularization parameter"): having started with no
   regularization (lambda = 0) so far, try lambda by factors of ten on
   validation accuracy, then refine around the best.
4. **Learning rate, again**: with lambda chosen, "you should return and
   re-optimize eta again."
5. **Mini-batch size** ("Mini-batch size"): it is "relatively independent"
   of the rest, so choose it for speed: the fastest whose accuracy is about
   as good as the best.

Each stage is a small class below. The cross-validated stages are
scikit-learn searches (``GridSearchCV`` or ``HalvingGridSearchCV``); the
threshold and early-stopping stages fit in parallel with scikit-learn's
``Parallel``. Both go through joblib, so ``with
joblib.parallel_backend("dask"):`` runs every fit on a Dask cluster.
"""

from __future__ import annotations

import math
import time
import warnings
from copy import deepcopy
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import (
    GridSearchCV,
    check_cv,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, indexable
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
)
from sklearn.utils._tags import get_tags
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params, check_is_fitted

from ._classifier import DivergenceWarning, MLPClassifierBook

__all__ = ["STAGES", "BookSearchCV", "StageResult"]

STAGES = ("learning_rate_threshold", "epochs", "lmbda", "learning_rate", "batch_size")
"""The stages of chapter 3's recipe, in the order the book takes them."""

_MISSING_MATPLOTLIB = "plotting needs matplotlib: pip install 'sknn[plot]'"

# A learning rate so small that an epoch leaves the weights as they were: one
# epoch at this rate measures the untrained network's cost, the "epoch 0" of
# the book's cost plots, which ``history_`` does not record.
_FROZEN_LEARNING_RATE = 1e-12


@dataclass
class StageResult:
    """What one stage of :class:`BookSearchCV` tried, chose and why.

    Attributes
    ----------
    name : str
        The stage, one of :data:`STAGES`.
    param : str
        The estimator parameter it sets, with its pipeline prefix, e.g.
        ``"mlpclassifierbook__lmbda"``.
    tried : list
        Every value tried, in increasing order.
    chosen : object
        The value carried into the later stages and the final model.
    reason : str
        One line saying why, e.g. ``"learning rate 10 diverged in epoch 1;
        threshold 1; chose 0.5"``.
    cv_results : list of dict
        The ``cv_results_`` of each scikit-learn search the stage ran, in
        order (the lambda stage runs two: by factors of ten, then refined).
        Empty for the stages that are decided without cross-validation.
    score : float or None
        The mean cross-validated score of the chosen value; None for the
        stages that are not scored.
    details : dict
        What the report and the plots are drawn from: training costs per
        learning rate, best epochs per fold, fit times per batch size, ...
    """

    name: str
    param: str
    tried: list
    chosen: Any
    reason: str
    cv_results: list = field(default_factory=list)
    score: float | None = None
    details: dict = field(default_factory=dict)


def _tidy(value):
    """Round a float to 6 significant digits, so 0.1 * 2 prints as 0.2."""
    return float(f"{value:.6g}")


def _fmt(value):
    return f"{value:g}" if isinstance(value, Real) else repr(value)


def _find_network(estimator):
    """Return the MLPClassifierBook that ``estimator`` is or ends in, and its prefix.

    Raises
    ------
    TypeError
        If ``estimator`` is neither an MLPClassifierBook nor a Pipeline whose
        last step is one (pipelines may nest).
    """
    network, prefix, where = estimator, "", "estimator"
    while isinstance(network, Pipeline):
        if not network.steps:
            raise TypeError(f"BookSearchCV got an empty Pipeline as {where}.")
        name, network = network.steps[-1]
        prefix += f"{name}__"
        where = f"the Pipeline's last step {name!r}"
    if not isinstance(network, MLPClassifierBook):
        raise TypeError(
            "BookSearchCV tunes sknn.MLPClassifierBook, on its own or as the last "
            f"step of a Pipeline; {where} is a {type(network).__name__}."
        )
    return network, prefix


def _final_step(estimator):
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


# --- what runs on the workers -------------------------------------------------


def _training_costs(estimator, X, y, fit_params):
    """Fit and return the training cost of each epoch and why training stopped.

    Runs on a joblib worker; it returns a few floats, not the fitted model.
    A learning rate that is too large is what this is looking for, so the
    DivergenceWarning it may raise is expected and silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        estimator.fit(X, y, **fit_params)
    network = _final_step(estimator)
    costs = [record.get("training_cost", np.nan) for record in network.history_]
    return [float(cost) for cost in costs], network.stop_reason_


def _early_stopping_fit(estimator, X, y, fit_params):
    """Fit with early stopping; return the best epoch and the validation curve."""
    estimator.fit(X, y, **fit_params)
    network = _final_step(estimator)
    return {
        "best_epoch": network.best_epoch_,
        "n_iter": network.n_iter_,
        "stop_reason": network.stop_reason_,
        "validation_accuracy": [
            float(record.get("validation_accuracy", np.nan))
            for record in network.history_
        ],
    }


# --- the state shared by the stages ---------------------------------------------


class _Run:
    """The data, the folds, and the settings chosen so far, shared by the stages.

    ``params`` holds the unprefixed values chosen so far; ``fixed`` holds what
    every fit shares but nobody tunes (the seed of the initial weights, so
    that candidates differ only in the parameter being tried).
    """

    def __init__(self, tuner, X, y, fit_params, splits, prefix, settings, rng):
        self.tuner = tuner
        self.X, self.y, self.fit_params = X, y, fit_params
        self.splits = splits
        self.prefix = prefix
        self.settings = settings
        self.fixed = {}
        if _final_step(tuner.estimator).random_state is None:
            self.fixed["random_state"] = int(rng.randint(np.iinfo(np.int32).max))
        self.subsample_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.halving_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.params = {}
        if "lmbda" in settings["stages"]:
            # "Start with no regularization": lambda = 0 until its own stage.
            self.params["lmbda"] = 0.0
        self.base_params = tuner.estimator.get_params()

    @property
    def n_samples(self):
        return len(self.y)

    def current(self, name):
        """The value of ``name`` for the next fits: chosen so far, or the base's."""
        if name in self.params:
            return self.params[name]
        return self.base_params[self.prefix + name]

    def estimator(self, **overrides):
        """A fresh clone of the base estimator with the settings so far and ``overrides``."""
        params = {**self.fixed, **self.params, **overrides}
        return clone(self.tuner.estimator).set_params(
            **{self.prefix + name: value for name, value in params.items()}
        )

    def rows(self, indices):
        """X, y and the sample-aligned fit parameters restricted to ``indices``."""
        return (
            _safe_indexing(self.X, indices),
            _safe_indexing(self.y, indices),
            _check_method_params(self.X, self.fit_params, indices),
        )

    def parallel(self):
        return Parallel(
            n_jobs=self.tuner.n_jobs, verbose=max(self.tuner.verbose - 1, 0)
        )

    def search(self, name, values, *, kind=None):
        """Cross-validate ``values`` of parameter ``name``; return (cv_results, best, score).

        Every search uses the same folds and the same initial weights, so a
        value's score is the same in every search that tries it. ``monitor``
        is emptied: the scorer measures what matters, and per-epoch
        monitoring would only slow the fits (and blur the timing of the
        batch-size stage).
        """
        tuner = self.tuner
        kind = kind or tuner.search
        grid = {self.prefix + name: list(values)}
        common = {
            "cv": self.splits,
            "scoring": tuner.scoring,
            "n_jobs": tuner.n_jobs,
            "refit": False,
            "verbose": max(tuner.verbose - 1, 0),
        }
        estimator = self.estimator(monitor=())
        if kind == "halving":
            from sklearn.experimental import enable_halving_search_cv  # noqa: F401
            from sklearn.model_selection import HalvingGridSearchCV

            search = HalvingGridSearchCV(
                estimator, grid, random_state=self.halving_seed, **common
            )
        else:
            search = GridSearchCV(estimator, grid, **common)
        search.fit(self.X, self.y, **self.fit_params)
        best = search.best_params_[self.prefix + name]
        return search.cv_results_, best, float(search.best_score_)


# --- the stages ------------------------------------------------------------------


class _Stage:
    """One step of the recipe: which parameter it sets, and which others it touches."""

    name = ""
    param = ""

    def uses(self, stages):
        """Every estimator parameter the stage sets, to check before fitting."""
        return (self.param, "monitor")

    def run(self, run):
        raise NotImplementedError

    def describe(self, result):
        """The report's lines for ``result`` (besides its one-line reason)."""
        return []

    def plot(self, result, ax):
        raise NotImplementedError


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


class _LearningRateThreshold(_Stage):
    """Chapter 3, "Learning rate": find the threshold from the training cost.

    The book: "we estimate the threshold value for eta at which the cost on the
    training data immediately begins decreasing, instead of oscillating or
    increasing", trying eta = 0.01, 0.1, 1, ... "until you find a value for
    eta where the cost oscillates or increases during the first few epochs",
    optionally refining ("say, eta = 0.5 or eta = 0.2"), and then using "a
    value for eta that is smaller, say, a factor of two below the threshold"
    so that it stays usable over many epochs.

    So each eta is trained for ``threshold_epochs`` epochs, with lambda = 0
    when lambda is tuned later, on an optional subsample ("get quick
    feedback"). Its cost *falls* if every epoch ends below the one before,
    starting from the untrained network's cost; it *diverged* if the cost
    became non-finite (``stop_reason_ == "diverged"``) or rose above the
    untrained network's; otherwise it *oscillated*. The threshold is the
    largest eta whose cost falls, walking up from the smallest and stopping at
    the first that does not.

    The book judges one run on 50,000 images, whose cost curve is smooth. On
    smaller data one mini-batch order can make a cost tick up by chance, so
    each eta is run on every cross-validation training fold and its cost
    falls only if it falls on all of them. No score is involved: this is a
    judgement on training histories, all fits run in parallel.
    """

    name = "learning_rate_threshold"
    param = "learning_rate"

    def uses(self, stages):
        used = ("learning_rate", "epochs", "early_stopping", "monitor")
        used += ("learning_rate_schedule",)
        return used + (("lmbda",) if "lmbda" in stages else ())

    def run(self, run):
        settings = run.settings
        folds = [self._subsample(run, train) for train, _ in run.splits]
        data = [run.rows(rows) for rows in folds]
        quick = {
            "epochs": settings["threshold_epochs"],
            "early_stopping": False,
            "learning_rate_schedule": "constant",
            "monitor": ("training_cost",),
        }

        def fit(learning_rates, **overrides):
            """Training costs and stop reasons of each eta, one per fold."""
            jobs = [
                delayed(_training_costs)(
                    run.estimator(**{**quick, "learning_rate": eta, **overrides}),
                    *fold,
                )
                for eta in learning_rates
                for fold in data
            ]
            fitted = iter(run.parallel()(jobs))
            return {eta: [next(fitted) for _ in data] for eta in learning_rates}

        # One epoch at a rate too small to move the weights measures the
        # untrained network's cost: "epoch 0", where the book's curves start.
        (frozen,) = fit([_FROZEN_LEARNING_RATE], epochs=1).values()
        initial = [costs[0] for costs, _ in frozen]
        histories, verdicts = {}, {}

        def judge(fitted):
            for eta, runs in fitted.items():
                histories[eta] = [
                    [start, *costs] for start, (costs, _) in zip(initial, runs)
                ]
                verdicts[eta] = _combine_verdicts(
                    [
                        _judge_costs(start, costs, stop_reason)
                        for start, (costs, stop_reason) in zip(initial, runs)
                    ]
                )

        coarse = settings["learning_rates"]
        judge(fit(coarse))
        threshold, failure = _threshold(coarse, verdicts)
        if threshold is None:
            raise ValueError(
                "No learning rate in learning_rates made the training cost fall: "
                f"with {_fmt(coarse[0])}, the smallest, it "
                f"{_verdict_text(verdicts[coarse[0]])}. Chapter 3: try smaller "
                "values, by factors of ten, until the cost decreases during the "
                "first few epochs."
            )
        ceiling = math.inf if failure is None else failure
        refined = [
            _tidy(threshold * factor)
            for factor in settings["threshold_refine_factors"]
            if threshold * factor < ceiling
            and _tidy(threshold * factor) not in verdicts
        ]
        if refined:
            judge(fit(refined))
            threshold, refined_failure = _threshold(
                sorted({threshold, *refined}), verdicts
            )
            failure = refined_failure or failure
        chosen = _tidy(threshold * settings["threshold_fraction"])
        tried = sorted(verdicts)
        words = [
            f"learning rate {_fmt(eta)} diverged in epoch {verdicts[eta][1]}"
            for eta in tried
            if verdicts[eta][0] == "diverged"
        ]
        words += [f"threshold {_fmt(threshold)}", f"chose {_fmt(chosen)}"]
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=tried,
            chosen=chosen,
            reason="; ".join(words),
            details={
                "histories": histories,
                "verdicts": verdicts,
                "coarse": list(coarse),
                "refined": refined,
                "threshold": threshold,
                "first_failure": failure,
                "fraction": settings["threshold_fraction"],
                "n_rows": [len(rows) for rows in folds],
                "n_fold_rows": [len(train) for train, _ in run.splits],
                "epochs": settings["threshold_epochs"],
                "lmbda": run.current("lmbda"),
            },
        )

    def _subsample(self, run, train):
        """The training fold's rows, or a stratified subsample of them."""
        subsample = run.tuner.subsample
        n = len(train)
        if subsample is None:
            return train
        size = subsample if isinstance(subsample, Integral) else round(subsample * n)
        if size >= n:
            return train
        size = max(1, size)
        try:
            rows, _ = train_test_split(
                train,
                train_size=size,
                stratify=_safe_indexing(run.y, train),
                random_state=run.subsample_seed,
            )
        except ValueError:  # too few rows per class to stratify
            rows, _ = train_test_split(
                train, train_size=size, random_state=run.subsample_seed
            )
        return np.sort(rows)

    def describe(self, result):
        d = result.details
        n_folds = len(d["n_rows"])
        rows = (
            f"{d['n_rows'][0]} of the {d['n_fold_rows'][0]} rows"
            if d["n_rows"] != d["n_fold_rows"]
            else f"all {d['n_fold_rows'][0]} rows"
        )
        lines = [
            f"Quick feedback: {d['epochs']} epochs per learning rate on {rows} of "
            f"each of the {n_folds} training folds, lambda = {_fmt(d['lmbda'])}. "
            "Judged on the training cost, not on a score: the cost must fall in "
            "every epoch on every fold.",
            "  mean training cost by epoch, from the untrained network (epoch 0):",
        ]
        width = max(len(_fmt(eta)) for eta in result.tried)
        for eta in result.tried:
            costs = " ".join(f"{c:7.4g}" for c in _mean_curve(d["histories"][eta]))
            refined = " (refined)" if eta in d["refined"] else ""
            lines.append(
                f"  eta {_fmt(eta):>{width}}: {costs}  "
                f"{_verdict_text(d['verdicts'][eta])}{refined}"
            )
        ignored = [
            eta
            for eta in result.tried
            if d["first_failure"] is not None
            and eta > d["first_failure"]
            and d["verdicts"][eta][0] == "fell"
        ]
        if ignored:
            lines.append(
                f"  ({', '.join(map(_fmt, ignored))} fell too, but above "
                f"{_fmt(d['first_failure'])}, where the cost first failed to fall.)"
            )
        lines.append(
            f"Threshold {_fmt(d['threshold'])}: the largest eta whose cost falls; "
            f"chose {_fmt(result.chosen)} = {_fmt(d['fraction'])} x threshold "
            "(the book: 'a factor of two below the threshold', to stay usable "
            "over many epochs)."
        )
        return lines

    def plot(self, result, ax):
        d = result.details
        styles = {"fell": "-", "oscillated": "--", "diverged": ":"}
        for eta in result.tried:
            curve = _mean_curve(d["histories"][eta])
            verdict = d["verdicts"][eta][0]
            ax.plot(
                np.arange(len(curve)),
                curve,
                styles[verdict],
                marker="o",
                label=f"η={_fmt(eta)} ({verdict})",
            )
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training cost (mean over folds)")
        ax.set_title(f"η threshold {_fmt(d['threshold'])}: chose {_fmt(result.chosen)}")
        ax.legend(fontsize="x-small")


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


class _Epochs(_Stage):
    """Chapter 3, "Use early stopping to determine the number of training epochs".

    The book: "at the end of each epoch we should compute the classification
    accuracy on the validation data. When that stops improving, terminate",
    with the no-improvement-in-ten rule at first and more lenient ones
    (twenty, fifty) later. Each training fold is fitted with
    no-improvement-in-n early stopping (``n_iter_no_change``,
    ``validation_fraction`` of the fold held out, at most ``max_epochs``),
    in parallel. With ``epochs_from="stop"`` the number of epochs is where
    the rule terminated training, the length of a run under the book's rule;
    with ``"best"`` it is the
    epoch of the best validation accuracy, whose weights sknn's early
    stopping restores. The median over the folds becomes ``epochs``.

    ``early_stopping`` then goes back to the base estimator's value: with a
    fixed number of epochs every later candidate trains on its whole fold
    for the same time, so their scores compare the value being tried and not
    how early stopping happened to go, and the final model trains on all the
    data. "stop" is the default because a small validation set (sklearn's
    digits leaves 180 images per fold) reaches its best accuracy by chance
    early, while the network keeps improving for a while after.
    """

    name = "epochs"
    param = "epochs"

    def uses(self, stages):
        return (
            "epochs",
            "early_stopping",
            "n_iter_no_change",
            "validation_fraction",
            "monitor",
        )

    def run(self, run):
        settings = run.settings
        watch = {
            "early_stopping": True,
            "n_iter_no_change": settings["n_iter_no_change"],
            "validation_fraction": settings["validation_fraction"],
            "epochs": settings["max_epochs"],
            "monitor": (),
        }
        fits = run.parallel()(
            delayed(_early_stopping_fit)(run.estimator(**watch), *run.rows(train))
            for train, _ in run.splits
        )
        best = [fit["best_epoch"] or 1 for fit in fits]
        stops = [fit["n_iter"] for fit in fits]
        by = stops if settings["epochs_from"] == "stop" else best
        chosen = math.ceil(np.median(by))
        stopped = sum(fit["stop_reason"] != "epochs" for fit in fits)
        what = "stopped training" if settings["epochs_from"] == "stop" else "was best"
        reason = (
            f"no-improvement-in-{settings['n_iter_no_change']} {what} at epochs "
            f"{', '.join(map(str, by))} on {len(fits)} folds; chose {chosen}, "
            "the median"
        )
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=sorted(set(by)),
            chosen=chosen,
            reason=reason,
            details={
                "best_epochs": best,
                "stop_epochs": stops,
                "epochs_from": settings["epochs_from"],
                "stopped_early": stopped,
                "curves": [fit["validation_accuracy"] for fit in fits],
                "n_iter_no_change": settings["n_iter_no_change"],
                "validation_fraction": settings["validation_fraction"],
                "max_epochs": settings["max_epochs"],
                "early_stopping_after": bool(run.current("early_stopping")),
            },
        )

    def describe(self, result):
        d = result.details
        lines = [
            f"Early stopping on each training fold: {_fmt(d['validation_fraction'])} "
            f"of the fold held out, stop after {d['n_iter_no_change']} epochs without "
            f"a better validation accuracy, at most {d['max_epochs']} epochs.",
            f"  best validation accuracy at epochs {', '.join(map(str, d['best_epochs']))}; "
            f"training stopped at epochs {', '.join(map(str, d['stop_epochs']))}",
            f"Chose epochs = {result.chosen}, the median of where training "
            + ("stopped" if d["epochs_from"] == "stop" else "was best")
            + f" (epochs_from={d['epochs_from']!r}). Later stages train for a fixed "
            f"{result.chosen} epochs (early_stopping={d['early_stopping_after']}, as "
            "in the base estimator), so every candidate trains as long.",
        ]
        if d["stopped_early"] < len(d["best_epochs"]):
            lines.append(
                f"  Some folds were still improving after {d['max_epochs']} epochs; "
                "a larger max_epochs may help."
            )
        return lines

    def plot(self, result, ax):
        for fold, curve in enumerate(result.details["curves"], 1):
            ax.plot(np.arange(1, len(curve) + 1), curve, label=f"fold {fold}")
        ax.axvline(result.chosen, color="k", linestyle="--", label="chosen")
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy")
        ax.set_title(f"epochs (early stopping): chose {result.chosen}")
        ax.legend(fontsize="small")


def _describe_search(cv_results, param_label):
    """A table of each candidate's mean score, its spread over folds, and rank."""
    values = [next(iter(params.values())) for params in cv_results["params"]]
    best = int(np.argmin(cv_results["rank_test_score"]))
    width = max(len(_fmt(value)) for value in values)
    lines = []
    for index, value in enumerate(values):
        iteration = (
            f" (halving iteration {cv_results['iter'][index]}, "
            f"{cv_results['n_resources'][index]} samples)"
            if "iter" in cv_results
            else ""
        )
        lines.append(
            f"  {param_label} {_fmt(value):>{width}}: mean score "
            f"{cv_results['mean_test_score'][index]:.4f} "
            f"(± {cv_results['std_test_score'][index]:.4f}), rank "
            f"{cv_results['rank_test_score'][index]}{iteration}"
            + ("  <- best" if index == best else "")
        )
    return lines


def _plot_scores(result, ax, label):
    """Mean CV score (± its spread over folds) against the value, on a log axis."""
    values, means, stds = [], [], []
    for cv_results in result.cv_results:
        for index, candidate in enumerate(cv_results["params"]):
            values.append(float(next(iter(candidate.values()))))
            means.append(cv_results["mean_test_score"][index])
            stds.append(cv_results["std_test_score"][index])
    order = np.argsort(values)
    values = np.asarray(values)[order]
    ax.errorbar(values, np.asarray(means)[order], np.asarray(stds)[order], marker="o")
    ax.axvline(result.chosen, color="k", linestyle="--")
    _log_axis(ax, values)
    ax.set_xlabel(label)
    ax.set_ylabel("mean CV score")
    ax.set_title(f"{label}: chose {_fmt(result.chosen)}")


def _log_axis(ax, values):
    """A log x axis ticked at the values tried; symmetric-log when 0 is among them."""
    values = np.unique(values)
    positive = values[values > 0]
    if not len(positive):
        return
    if values[0] <= 0:
        ax.set_xscale("symlog", linthresh=positive.min())
        ax.set_xlim(left=0)
    else:
        ax.set_xscale("log")
    ax.set_xticks(values, [_fmt(value) for value in values])
    ax.minorticks_off()


class _Lambda(_Stage):
    """Chapter 3, "The regularization parameter, lambda".

    "I suggest starting initially with no regularization (lambda = 0.0), and
    determining a value for eta ... Using that choice of eta, we can then use
    the validation data to select a good value for lambda. Start by trialling
    lambda = 1.0, and then increase or decrease by factors of 10, as needed
    ... Once you've found a good order of magnitude, you can fine tune your
    value of lambda." So: a search over ``lmbdas`` (factors of ten), then a
    second one around the winner (``lmbda_refine_factors``), both on the
    cross-validated score. The regularizer is the base estimator's (the
    book's is L2). Lambda is divided by the training-set size n, as in the
    book.
    """

    name = "lmbda"
    param = "lmbda"

    def run(self, run):
        settings = run.settings
        cv_results, best, score = run.search("lmbda", settings["lmbdas"])
        searches = [cv_results]
        tried = set(settings["lmbdas"])
        coarse_best = best
        refined = []
        if best > 0 and settings["lmbda_refine_factors"]:
            refined = sorted(
                {_tidy(best * f) for f in settings["lmbda_refine_factors"]} | {best}
            )
            cv_results, best, score = run.search("lmbda", refined)
            searches.append(cv_results)
            tried |= set(refined)
        reason = f"best of factors of ten: {_fmt(coarse_best)}"
        if refined:
            reason += f"; refined over {', '.join(map(_fmt, refined))}"
        elif coarse_best == 0:
            reason += " (no regularization; nothing to refine around 0)"
        reason += f"; chose {_fmt(best)} (mean CV score {score:.4f})"
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=sorted(tried),
            chosen=best,
            reason=reason,
            cv_results=searches,
            score=score,
            details={
                "coarse_best": coarse_best,
                "refined": refined,
                "regularizer": run.current("regularizer"),
            },
        )

    def uses(self, stages):
        return ("lmbda", "regularizer", "monitor")

    def describe(self, result):
        d = result.details
        lines = [f"Regularizer {d['regularizer']!r}; lambda by factors of ten:"]
        lines += _describe_search(result.cv_results[0], "lambda")
        if d["refined"]:
            lines.append(f"refined around {_fmt(d['coarse_best'])}:")
            lines += _describe_search(result.cv_results[1], "lambda")
        lines.append(
            f"Chose lambda = {_fmt(result.chosen)}: the best mean CV score "
            f"({result.score:.4f})."
        )
        return lines

    def plot(self, result, ax):
        _plot_scores(result, ax, "λ")


class _LearningRate(_Stage):
    """Chapter 3, "Learning rate", revisited once lambda is known.

    Once lambda is set: "That done, you should return and re-optimize eta
    again." The current eta times each of ``learning_rate_factors`` (and the current
    eta itself) are cross-validated; unlike the threshold, this uses the
    validation score, since eta is now being tuned for the final accuracy.
    """

    name = "learning_rate"
    param = "learning_rate"

    def run(self, run):
        current = run.current("learning_rate")
        values = sorted(
            {_tidy(current * f) for f in run.settings["learning_rate_factors"]}
            | {current}
        )
        cv_results, best, score = run.search("learning_rate", values)
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=values,
            chosen=best,
            reason=(
                f"revisited eta {_fmt(current)} with the chosen lambda over "
                f"{', '.join(map(_fmt, values))}; chose {_fmt(best)} "
                f"(mean CV score {score:.4f})"
            ),
            cv_results=[cv_results],
            score=score,
            details={"previous": current},
        )

    def describe(self, result):
        lines = [f"Around eta = {_fmt(result.details['previous'])}:"]
        lines += _describe_search(result.cv_results[0], "eta")
        lines.append(
            f"Chose eta = {_fmt(result.chosen)}: the best mean CV score "
            f"({result.score:.4f})."
        )
        return lines

    def plot(self, result, ax):
        _plot_scores(result, ax, "η")


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


class _BatchSize(_Stage):
    """Chapter 3, "Mini-batch size": choose it for speed.

    The mini-batch size is "relatively independent of the other
    hyper-parameters", and its job is speed: "choose whichever mini-batch
    size gives you the most rapid improvement in performance". Every size in
    ``batch_sizes`` is cross-validated with the settings chosen so far; of
    those whose mean score is within ``batch_size_tolerance`` of the best,
    the one with the shortest mean fit time wins. Fit times are only
    comparable on the same data, so this stage always runs a full grid, even
    with ``search="halving"``. Times are measured, so unlike the other
    choices this one can differ between runs when two sizes are about as fast.
    """

    name = "batch_size"
    param = "batch_size"

    def run(self, run):
        settings = run.settings
        cv_results, _, _ = run.search(
            "batch_size", settings["batch_sizes"], kind="grid"
        )
        chosen, index, best_score = _fastest_good_enough(
            cv_results, settings["batch_size_tolerance"]
        )
        chosen = int(chosen)
        epochs = run.current("epochs")
        per_epoch = not run.current("early_stopping")
        seconds = cv_results["mean_fit_time"][index]
        speed = (
            f"{seconds / epochs * 1000:.1f} ms per epoch"
            if per_epoch
            else f"{seconds:.2f} s per fit"
        )
        score = float(cv_results["mean_test_score"][index])
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=list(settings["batch_sizes"]),
            chosen=chosen,
            reason=(
                f"chose {chosen}, the fastest ({speed}) with a mean CV score "
                f"({score:.4f}) within {_fmt(settings['batch_size_tolerance'])} "
                f"of the best ({best_score:.4f})"
            ),
            cv_results=[cv_results],
            score=score,
            details={
                "tolerance": settings["batch_size_tolerance"],
                "best_score": best_score,
                "epochs": epochs if per_epoch else None,
            },
        )

    def describe(self, result):
        d = result.details
        cv_results = result.cv_results[0]
        lines = []
        for index, candidate in enumerate(cv_results["params"]):
            size = next(iter(candidate.values()))
            seconds = cv_results["mean_fit_time"][index]
            speed = (
                f"{seconds / d['epochs'] * 1000:7.1f} ms/epoch"
                if d["epochs"]
                else f"{seconds:6.2f} s/fit"
            )
            mark = "  <- chosen" if size == result.chosen else ""
            lines.append(
                f"  batch {size:>4}: mean score "
                f"{cv_results['mean_test_score'][index]:.4f}, {speed}{mark}"
            )
        lines.append(
            f"Chose {result.chosen}: the fastest whose score is within "
            f"{_fmt(d['tolerance'])} of the best ({d['best_score']:.4f}); the book "
            "picks the mini-batch size for speed. Timings are measured, so near "
            "ties may go either way between runs."
        )
        return lines

    def plot(self, result, ax):
        cv_results = result.cv_results[0]
        sizes = [next(iter(c.values())) for c in cv_results["params"]]
        ax.plot(sizes, cv_results["mean_test_score"], "o-", label="mean CV score")
        ax.axvline(result.chosen, color="k", linestyle="--")
        _log_axis(ax, sizes)
        ax.set_xlabel("mini-batch size")
        ax.set_ylabel("mean CV score")
        twin = ax.twinx()
        twin.plot(sizes, cv_results["mean_fit_time"], "s:", color="tab:orange")
        twin.set_ylabel("mean fit time (s)", color="tab:orange")
        ax.set_title(f"mini-batch size (speed): chose {result.chosen}")


_STAGE_CLASSES = {
    stage.name: stage
    for stage in (
        _LearningRateThreshold(),
        _Epochs(),
        _Lambda(),
        _LearningRate(),
        _BatchSize(),
    )
}


# --- checking the settings before anything is fitted ------------------------------


def _checked_values(name, values, *, kind):
    """Return the sorted distinct values of a range, or raise naming ``name``."""
    if isinstance(values, str) or not np.iterable(values):
        raise TypeError(f"{name} must be a list of numbers; got {values!r}.")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty: give at least one value to try.")
    checks = {
        "positive": (lambda v: isinstance(v, Real) and np.isfinite(v) and v > 0),
        "non-negative": (lambda v: isinstance(v, Real) and np.isfinite(v) and v >= 0),
        "positive integer": (
            lambda v: isinstance(v, Integral) and not isinstance(v, bool) and v > 0
        ),
    }
    bad = [v for v in values if isinstance(v, bool) or not checks[kind](v)]
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


def _checked_stages(stages):
    if isinstance(stages, str):
        stages = (stages,)
    stages = tuple(stages)
    if not stages:
        raise ValueError(f"stages is empty: choose among {list(STAGES)}.")
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(
            f"stages has unknown entries {unknown}; the stages are {list(STAGES)}."
        )
    if len(set(stages)) != len(stages):
        raise ValueError(f"stages lists a stage twice: {list(stages)}.")
    if list(stages) != sorted(stages, key=STAGES.index):
        raise ValueError(
            f"stages must follow the book's order {list(STAGES)}: each stage builds "
            f"on the ones before it. Got {list(stages)}."
        )
    return stages


def _estimator_has(attribute):
    def check(self):
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, attribute)
        return hasattr(self.estimator, attribute)

    return check


class BookSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Tune an MLPClassifierBook the way chapter 3 of the book does, stage by stage.

    Chapter 3, "How to choose a neural network's hyper-parameters?", tunes
    one hyper-parameter at a time instead of searching a grid of every
    combination, which grows multiplicatively and mostly trains hopeless
    networks. Each stage below finds one value and carries it into the next;
    each uses the settings the previous stages chose:

    1. ``"learning_rate_threshold"`` ("Learning rate"): the largest eta whose
       training cost falls during the first ``threshold_epochs`` epochs,
       tried by factors of ten (``learning_rates``), refined within its
       factor of ten (``threshold_refine_factors``); eta becomes
       ``threshold_fraction`` (a half) of it. Decided from ``history_``, not
       from a score: one short fit per eta on each training fold, on a
       ``subsample`` for quick feedback if asked ("Broad strategy"), with
       lambda = 0 when lambda is tuned later. Learning rates whose cost
       diverges or oscillates are excluded, and the report says so.
    2. ``"epochs"`` ("Use early stopping to determine the number of training
       epochs"): no-improvement-in-n early stopping on each training fold;
       ``epochs`` becomes the median epoch at which it stopped training (or
       was best, see ``epochs_from``), and ``early_stopping`` goes back to the
       base estimator's value, so that later candidates all train as long.
    3. ``"lmbda"`` ("The regularization parameter"): lambda over ``lmbdas``
       (zero, then factors of ten) on the cross-validated score, then refined
       around the winner (``lmbda_refine_factors``).
    4. ``"learning_rate"``: eta revisited with the chosen lambda, over the
       current eta times ``learning_rate_factors``, on the CV score.
    5. ``"batch_size"`` ("Mini-batch size"): among ``batch_sizes``, the
       fastest to fit whose CV score is within ``batch_size_tolerance`` of
       the best; the book chooses the mini-batch size for speed.

    Then ``best_estimator_`` is refit on all the data with every chosen
    value. Everything runs through joblib: ``n_jobs`` parallelises the fits,
    and ``with joblib.parallel_backend("dask"):`` sends them to a Dask
    cluster (see ``docs/tuning.md``).

    Parameters
    ----------
    estimator : MLPClassifierBook or Pipeline
        The network to tune, or a Pipeline whose last step is one; its other
        parameters (architecture, cost, regularizer, ...) stay as they are.
        In a Pipeline the parameters are addressed with the step's prefix
        (``"mlpclassifierbook__learning_rate"``), found automatically.
    stages : sequence of str, default=STAGES
        Which stages to run, a subset of :data:`STAGES` in the book's order.
        A stage left out keeps the base estimator's value of its parameter.
    learning_rates : sequence of float, default=(0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
        The coarse learning rates of the threshold stage, by factors of ten.
    threshold_epochs : int, default=3
        Epochs per learning rate in the threshold stage: the book's "first
        few epochs".
    threshold_refine_factors : sequence of float, default=(2.0, 5.0)
        The threshold is refined by trying it times these factors that lie
        below the first learning rate that failed (the book's "eta = 0.2 or
        eta = 0.5"). Empty: no refinement.
    threshold_fraction : float, default=0.5
        The chosen eta as a fraction of the threshold: "a factor of two
        below the threshold".
    subsample : float, int or None, default=None
        Rows for the threshold stage: a fraction of the training data (in
        (0, 1]), a number of rows, or None for all. Stratified by class.
    max_epochs : int, default=100
        The most epochs early stopping may run in the epochs stage.
    epochs_from : {"stop", "best"}, default="stop"
        Which epoch of an early-stopping run gives ``epochs``: where the
        no-improvement-in-n rule stopped training (the book's rule: "when
        that stops improving, terminate"), or the epoch of the best
        validation accuracy. "best" suits large validation sets; on small
        ones the best accuracy comes by chance early.
    n_iter_no_change : int, default=10
        The n of "no-improvement-in-n" in the epochs stage; the book
        suggests ten.
    validation_fraction : float, default=0.2
        The part of each training fold held out for early stopping.
    lmbdas : sequence of float, default=(0.0, 0.01, 0.1, 1.0, 10.0)
        The lambdas of the lambda stage, starting with no regularization.
        Lambda is divided by the training-set size n, as in the book.
    lmbda_refine_factors : sequence of float, default=(0.5, 2.0)
        The best non-zero lambda times these is cross-validated next to it.
        Empty: no refinement.
    learning_rate_factors : sequence of float, default=(0.5, 2.0)
        The revisited eta times these is cross-validated next to it.
    batch_sizes : sequence of int, default=(10, 20, 50, 100)
        The mini-batch sizes of the batch-size stage.
    batch_size_tolerance : float, default=0.002
        How far below the best mean CV score a faster mini-batch size may be,
        in the units of ``scoring`` (0.002 is a fifth of a point of accuracy).
    search : {"grid", "halving"}, default="grid"
        The scikit-learn search of the lambda and learning-rate stages:
        ``GridSearchCV`` or ``HalvingGridSearchCV`` (successive halving,
        cheaper for long ranges).
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV`` (None: 5-fold, stratified). The folds are
        drawn once, so every stage and every candidate sees the same ones.
        Pass ``groups`` to ``fit`` for group splitters.
    scoring : str, callable or None, default=None
        The CV score of the lambda, learning-rate and batch-size stages;
        None uses the estimator's ``score`` (accuracy).
    n_jobs : int or None, default=None
        Fits run in parallel, through joblib (and its active backend).
    random_state : int, RandomState instance or None, default=None
        Seeds the subsample, successive halving and, when the base
        estimator's ``random_state`` is None, the network: every candidate
        then starts from the same initial weights, so they differ only in the
        value being tried. The same seed gives the same choices, with any
        ``n_jobs`` and on a cluster (the batch-size stage excepted when two
        sizes are about equally fast, since it measures time).
    verbose : int, default=0
        1 prints one line per stage; higher values make the searches and
        joblib print too.
    prefix : str or None, default=None
        The parameter prefix of the network inside a Pipeline, e.g.
        ``"mlpclassifierbook__"``; None finds it from the last step's name.

    Attributes
    ----------
    best_estimator_ : estimator
        A clone of ``estimator`` with the chosen values, refit on all of X.
    best_params_ : dict
        The chosen value of each tuned parameter, by its (prefixed) name.
    best_score_ : float
        The mean cross-validated score of the chosen settings.
    stages_ : list of StageResult
        What each stage tried, chose and why, with its searches' ``cv_results_``.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Features seen in ``fit``.
    refit_time_ : float
        Seconds spent refitting ``best_estimator_``.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : one search over all combinations.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPClassifierBook
    >>> from sknn.tuning import BookSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = BookSearchCV(
    ...     MLPClassifierBook(),
    ...     stages=("learning_rate_threshold", "epochs"),
    ...     max_epochs=20,
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X / 16, y)
    >>> sorted(search.best_params_)
    ['epochs', 'learning_rate']
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "stages": [list, tuple, str],
        "learning_rates": ["array-like"],
        "threshold_epochs": [Interval(Integral, 1, None, closed="left")],
        "threshold_refine_factors": ["array-like"],
        "threshold_fraction": [Interval(Real, 0, 1, closed="right")],
        "subsample": [
            Interval(RealNotInt, 0, 1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "epochs_from": [StrOptions({"stop", "best"})],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "lmbdas": ["array-like"],
        "lmbda_refine_factors": ["array-like"],
        "learning_rate_factors": ["array-like"],
        "batch_sizes": ["array-like"],
        "batch_size_tolerance": [Interval(Real, 0, None, closed="left")],
        "search": [StrOptions({"grid", "halving"})],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "prefix": [str, None],
    }

    def __init__(
        self,
        estimator,
        *,
        stages=STAGES,
        learning_rates=(0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
        threshold_epochs=3,
        threshold_refine_factors=(2.0, 5.0),
        threshold_fraction=0.5,
        subsample=None,
        max_epochs=100,
        epochs_from="stop",
        n_iter_no_change=10,
        validation_fraction=0.2,
        lmbdas=(0.0, 0.01, 0.1, 1.0, 10.0),
        lmbda_refine_factors=(0.5, 2.0),
        learning_rate_factors=(0.5, 2.0),
        batch_sizes=(10, 20, 50, 100),
        batch_size_tolerance=0.002,
        search="grid",
        cv=None,
        scoring=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        prefix=None,
    ):
        self.estimator = estimator
        self.stages = stages
        self.learning_rates = learning_rates
        self.threshold_epochs = threshold_epochs
        self.threshold_refine_factors = threshold_refine_factors
        self.threshold_fraction = threshold_fraction
        self.subsample = subsample
        self.max_epochs = max_epochs
        self.epochs_from = epochs_from
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction
        self.lmbdas = lmbdas
        self.lmbda_refine_factors = lmbda_refine_factors
        self.learning_rate_factors = learning_rate_factors
        self.batch_sizes = batch_sizes
        self.batch_size_tolerance = batch_size_tolerance
        self.search = search
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.prefix = prefix

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Run the stages in order, then refit the best settings on all of X.

        Every setting is checked before the first fit, so a typo fails at
        once rather than after minutes of training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Passed to every fit of the estimator (with the Pipeline prefix
            when it is one); sample-aligned arrays are split with the rows.
            ``groups`` is passed to the ``cv`` splitter instead.

        Returns
        -------
        self : BookSearchCV
        """
        settings, prefix = self._check_settings()
        if y is None:
            raise ValueError("BookSearchCV needs the class labels y.")
        X, y = indexable(X, y)
        fit_params = dict(fit_params)
        self._check_validation_data(fit_params, prefix)
        groups = fit_params.pop("groups", None)
        cv = check_cv(self.cv, y, classifier=True)
        splits = list(cv.split(X, y, groups))
        rng = check_random_state(self.random_state)
        run = _Run(self, X, y, fit_params, splits, prefix, settings, rng)
        self.stages_ = []
        for number, name in enumerate(settings["stages"], 1):
            stage = _STAGE_CLASSES[name]
            result = stage.run(run)
            run.params[stage.param] = result.chosen
            self.stages_.append(result)
            if self.verbose:
                print(
                    f"[BookSearchCV] {number}/{len(settings['stages'])} {name}: "
                    f"{result.reason}",
                    flush=True,
                )
        self.best_params_ = {result.param: result.chosen for result in self.stages_}
        self.best_score_ = self._final_score(run)
        self.n_samples_ = run.n_samples
        self.n_splits_ = len(splits)
        self._scoring_name = self.scoring if isinstance(self.scoring, str) else None
        started = time.perf_counter()
        self.best_estimator_ = run.estimator().fit(X, y, **fit_params)
        self.refit_time_ = time.perf_counter() - started
        return self

    def _final_score(self, run):
        """The CV score of the final settings: from the last stage, or measured."""
        if self.stages_[-1].score is not None:
            return self.stages_[-1].score
        scores = cross_val_score(
            run.estimator(monitor=()),
            run.X,
            run.y,
            cv=run.splits,
            scoring=self.scoring,
            n_jobs=self.n_jobs,
            params=run.fit_params or None,
        )
        return float(np.mean(scores))

    def _check_settings(self):
        """Check everything that can be checked without fitting; return the settings."""
        _, found_prefix = _find_network(self.estimator)
        stages = _checked_stages(self.stages)
        prefix = found_prefix if self.prefix is None else self.prefix
        if prefix and not prefix.endswith("__"):
            prefix += "__"
        settings = {
            "stages": stages,
            "learning_rates": _checked_values(
                "learning_rates", self.learning_rates, kind="positive"
            ),
            "threshold_refine_factors": _checked_factors(
                "threshold_refine_factors",
                self.threshold_refine_factors,
                above_one=True,
            ),
            "lmbdas": _checked_values("lmbdas", self.lmbdas, kind="non-negative"),
            "lmbda_refine_factors": _checked_factors(
                "lmbda_refine_factors", self.lmbda_refine_factors
            ),
            "learning_rate_factors": _checked_values(
                "learning_rate_factors", self.learning_rate_factors, kind="positive"
            ),
            "batch_sizes": _checked_values(
                "batch_sizes", self.batch_sizes, kind="positive integer"
            ),
            "threshold_epochs": self.threshold_epochs,
            "threshold_fraction": self.threshold_fraction,
            "max_epochs": self.max_epochs,
            "epochs_from": self.epochs_from,
            "n_iter_no_change": self.n_iter_no_change,
            "validation_fraction": self.validation_fraction,
            "batch_size_tolerance": self.batch_size_tolerance,
        }
        self._check_parameters_exist(stages, prefix, found_prefix)
        return settings, prefix

    def _check_validation_data(self, fit_params, prefix):
        """Early stopping or the halving schedule in every fit need validation data."""
        network = _final_step(self.estimator)
        watches = getattr(network, "early_stopping", False) or (
            getattr(network, "learning_rate_schedule", None) == "halving"
        )
        if (
            watches
            and getattr(network, "validation_fraction", None) is None
            and prefix + "X_val" not in fit_params
        ):
            raise ValueError(
                "The estimator uses early_stopping or learning_rate_schedule="
                "'halving', so each of its fits needs validation data: set its "
                "validation_fraction (e.g. 0.1), or turn them off and let the "
                "'epochs' stage choose the number of epochs."
            )

    def _check_parameters_exist(self, stages, prefix, found_prefix):
        available = self.estimator.get_params()
        needed = {"random_state": "the seed"}
        for name in stages:
            for param in _STAGE_CLASSES[name].uses(stages):
                needed.setdefault(param, f"stage {name!r}")
        missing = {
            prefix + param: why
            for param, why in needed.items()
            if prefix + param not in available
        }
        if not missing:
            return
        listed = ", ".join(f"{name!r} (for {why})" for name, why in missing.items())
        hint = (
            f" Its network's parameters start with {found_prefix!r}; prefix="
            f"{self.prefix!r} does not match."
            if self.prefix is not None and prefix != found_prefix
            else ""
        )
        raise ValueError(
            f"{type(self.estimator).__name__} has no parameter {listed}.{hint}"
        )

    # --- using the tuned model ----------------------------------------------

    def predict(self, X):
        """Predict with ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    def score(self, X, y, sample_weight=None):
        """Score ``best_estimator_`` on X, y with ``scoring`` (default: accuracy)."""
        check_is_fitted(self)
        params = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self.scoring is None:
            return self.best_estimator_.score(X, y, **params)
        return get_scorer(self.scoring)(self.best_estimator_, X, y, **params)

    @property
    def classes_(self):
        check_is_fitted(self)
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        check_is_fitted(self)
        return self.best_estimator_.n_features_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_estimator_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = deepcopy(sub.classifier_tags)
        tags.input_tags.sparse = sub.input_tags.sparse
        return tags

    # --- reading the results --------------------------------------------------

    def report(self):
        """Say, stage by stage, what was tried, what was chosen and why.

        Returns
        -------
        str
            A few lines per stage, then the final settings and their CV score.
        """
        check_is_fitted(self)
        scoring = self._scoring_name or (
            "the estimator's score (accuracy)" if self.scoring is None else "scoring"
        )
        lines = [
            "BookSearchCV: chapter 3's recipe, 'How to choose a neural network's "
            "hyper-parameters?'",
            f"{self.n_samples_} training samples, {self.n_splits_}-fold CV, scored "
            f"by {scoring}.",
        ]
        for number, result in enumerate(self.stages_, 1):
            lines.append("")
            lines.append(f"{number}. {result.name} ({result.param})")
            lines.append(f"   -> {result.reason}")
            lines.extend(
                "   " + line for line in _STAGE_CLASSES[result.name].describe(result)
            )
        lines.append("")
        chosen = ", ".join(f"{k}={_fmt(v)}" for k, v in self.best_params_.items())
        lines.append(f"Final: {chosen}")
        lines.append(
            f"Mean CV score {self.best_score_:.4f}; refit on all "
            f"{self.n_samples_} samples in {self.refit_time_:.2f} s."
        )
        return "\n".join(lines)

    def plot_report(self, figsize=None):
        """Draw one panel per stage: what was tried and what was chosen.

        The threshold stage shows the training cost per epoch for each eta
        (the book's figure in "Learning rate"); the epochs stage the
        validation accuracy per fold; the CV stages the mean score against
        the value (log axes); the batch-size stage also the fit time.

        Parameters
        ----------
        figsize : tuple of float, optional
            The figure size; by default 4.5 inches wide per stage.

        Returns
        -------
        matplotlib.figure.Figure
        """
        check_is_fitted(self)
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError(_MISSING_MATPLOTLIB) from error
        n = len(self.stages_)
        figure, axes = plt.subplots(
            1, n, figsize=figsize or (4.5 * n, 4), squeeze=False, layout="constrained"
        )
        for result, ax in zip(self.stages_, axes[0]):
            _STAGE_CLASSES[result.name].plot(result, ax)
        return figure
