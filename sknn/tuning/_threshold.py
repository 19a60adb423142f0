"""Stage 1, the learning-rate threshold: chapter 3, "Learning rate"."""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import delayed

from .._classifier import DivergenceWarning
from ._base import StageResult, _Stage
from ._cost_curves import (
    _combine_verdicts,
    _judge_costs,
    _mean_curve,
    _threshold,
    _verdict_text,
)
from ._format import _fmt, _tidy
from ._pipeline import _final_step

# A learning rate so small that an epoch leaves the weights as they were: one
# epoch at this rate measures the untrained network's cost, the "epoch 0" of
# the book's cost plots, which ``history_`` does not record.
_FROZEN_LEARNING_RATE = 1e-12


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
