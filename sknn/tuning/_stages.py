"""The stages judged on training curves: the learning-rate threshold and the epochs.

They read training histories (costs, validation accuracies) from short fits
run in parallel, not scores; the stages scored by cross-validation are in
``_scored_stages`` and ``_network_stages``.
"""

from __future__ import annotations

import math
import threading
import warnings
from numbers import Integral

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils.parallel import delayed

from .._health import DivergenceWarning, FailedToLearnWarning
from .._sklearn_private import _safe_indexing
from ._base import StageResult, _find_network, _Stage
from ._decisions import (
    _combine_verdicts,
    _fmt,
    _judge_costs,
    _mean_curve,
    _median_epoch,
    _slower_than_smaller,
    _threshold,
    _tidy,
    _verdict_text,
    _window,
)

QUICK_FEEDBACK_ROWS = 10_000
"""The most rows of a training fold the threshold stage trains on by default."""


class _NoLearningRateFell(ValueError):
    """No learning rate tried made the training cost fall."""


def _training_costs(estimator, X, y, fit_params):
    """Fit; return the cost before training, the cost of each epoch, and the stop.

    Also the seconds spent in the training epochs, which teach the budget
    how fast fits run. The cost before training is the network's ``initial_cost_``, the "epoch
    0" of the book's cost plots, which ``history_`` does not record. Runs on
    a joblib worker; it returns a few floats, not the fitted model. A
    learning rate that is too large is what this is looking for, so the
    DivergenceWarning or FailedToLearnWarning it may raise is silenced: the
    stage's verdict reports it. The caller silences them for worker threads
    (see ``_Run.map``); a worker process's main thread silences them here,
    since scikit-learn 1.6 does not hand the caller's filters on to it.
    """
    if threading.current_thread() is threading.main_thread():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            warnings.simplefilter("ignore", FailedToLearnWarning)
            estimator.fit(X, y, **fit_params)
    else:  # catch_warnings is not thread-safe; the caller's filters apply
        estimator.fit(X, y, **fit_params)
    network, _ = _find_network(estimator)
    costs = [record.get("training_cost", np.nan) for record in network.history_]
    return {
        "initial_cost": float(network.initial_cost_),
        "costs": [float(cost) for cost in costs],
        "stop_reason": network.stop_reason_,
        "training_seconds": sum(record["time"] for record in network.history_),
    }


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
    starting from the untrained network's cost (each fit's ``initial_cost_``,
    so no extra fit measures it); it *diverged* if the cost became non-finite (``stop_reason_ == "diverged"``) or rose above the
    untrained network's; otherwise it *oscillated*. The threshold is the
    largest eta whose cost falls, walking up from the smallest and stopping at
    the first that does not.

    A candidate's re-tune (:meth:`run` with ``candidate``) starts from what
    is known: the current network's threshold, ``learning_rate`` over
    ``threshold_fraction``. It tries the coarse rate nearest to it and one on
    either side, and walks further down (while the smallest tried does not
    fall) or up (while the largest does) only as far as it must. A change of
    width or activation moves the threshold by a step at most, so the walk
    usually takes three coarse rates instead of all of them.

    The book judges one run on 50,000 images, whose cost curve is smooth. On
    smaller data one mini-batch order can make a cost tick up by chance, so
    each eta is run on every cross-validation training fold and its cost
    falls only if it falls on all of them. No score is involved: this is a
    judgement on training histories, all fits run in parallel.
    """

    name = "learning_rate_threshold"
    param = "learning_rate"
    repeated = False

    def uses(self, stages):
        used = ("learning_rate", "epochs", "early_stopping", "monitor")
        used += ("learning_rate_schedule",)
        return used + (("lmbda",) if "lmbda" in stages else ())

    def planned_units(self, run):
        return self.units(run, {})

    def start(self, run):
        """Where a re-tune starts: the current network's threshold."""
        return run.current("learning_rate") / run.settings["threshold_fraction"]

    def units(self, run, candidate, start=None):
        """The work of running this stage for ``candidate``, per fit.

        From a ``start`` (a re-tune), the coarse rates its walk tries first.
        """
        settings = run.settings
        n_rates = len(settings["learning_rates"])
        if start is not None:
            lo, hi = _window(settings["learning_rates"], start)
            n_rates = hi - lo + 1
        n_rates += len(settings["threshold_refine_factors"])
        quick = {**candidate, "epochs": settings["threshold_epochs"]}
        return [
            run.work(quick, len(self._subsample(run, train)))
            for _ in range(n_rates)
            for train, _ in run.splits
        ]

    def run(self, run, candidate=None, start=None):
        """Find the threshold of the network so far, changed by ``candidate``.

        The later stages call this again for each network they try
        ("when we increase the complexity of the network, the parameters
        need to be tuned again"), with ``candidate`` the parameters that
        differ, e.g. ``{"hidden_layer_sizes": (60,)}``, and ``start`` the
        threshold the walk over the coarse rates starts from (see
        :meth:`start`; None: all of them at once).
        """
        settings = run.settings
        candidate = candidate or {}
        folds = [self._subsample(run, train) for train, _ in run.splits]
        data = [run.rows(rows) for rows in folds]
        quick = {
            "epochs": settings["threshold_epochs"],
            "early_stopping": False,
            "learning_rate_schedule": "constant",
            "monitor": ("training_cost",),
            **candidate,
        }

        def fit(learning_rates):
            """The cost before training, the epochs' costs and the stop of each eta.

            One dict per fold; every eta starts a fold from the same weights.
            """
            jobs = [
                delayed(_training_costs)(
                    run.candidate(**{**quick, "learning_rate": eta}), *fold
                )
                for eta in learning_rates
                for fold in data
            ]
            rows = [len(fold) for _ in learning_rates for fold in folds]
            fitted = iter(
                run.map(
                    jobs,
                    expected=(DivergenceWarning, FailedToLearnWarning),
                    measure=lambda results: [
                        run.work(quick, n_rows, epochs=max(1, len(result["costs"])))
                        for result, n_rows in zip(results, rows)
                    ],
                )
            )
            return {eta: [next(fitted) for _ in data] for eta in learning_rates}

        histories, verdicts = {}, {}

        def judge(fitted):
            for eta, runs in fitted.items():
                histories[eta] = [[r["initial_cost"], *r["costs"]] for r in runs]
                verdicts[eta] = _combine_verdicts(
                    [
                        _judge_costs(r["initial_cost"], r["costs"], r["stop_reason"])
                        for r in runs
                    ]
                )
            final_costs = {
                eta: float(np.mean([h[-1] for h in runs]))
                for eta, runs in histories.items()
            }
            verdicts.update(_slower_than_smaller(verdicts, final_costs))

        coarse = list(settings["learning_rates"])
        if start is None:
            judge(fit(coarse))
        else:
            coarse = self._walk(coarse, start, lambda etas: judge(fit(etas)), verdicts)
        threshold, failure = _threshold(coarse, verdicts)
        if threshold is None:
            raise _NoLearningRateFell(
                "No learning rate in learning_rates made the training cost fall: "
                f"with {_fmt(coarse[0])}, the smallest tried, it "
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

    @staticmethod
    def _walk(coarse, start, try_rates, verdicts):
        """Try the coarse rates around ``start``, widening while the walk needs it.

        ``try_rates(etas)`` fits and judges them into ``verdicts``. Returns the
        coarse rates tried, in order: a window in which the smallest falls
        and one does not, unless the grid ended first.
        """
        lo, hi = _window(coarse, start)
        try_rates(coarse[lo : hi + 1])
        while True:
            threshold, failure = _threshold(coarse[lo : hi + 1], verdicts)
            if threshold is None and lo > 0:
                lo -= 1
                try_rates([coarse[lo]])
            elif failure is None and hi < len(coarse) - 1:
                hi += 1
                try_rates([coarse[hi]])
            else:
                return coarse[lo : hi + 1]

    def _subsample(self, run, train):
        """The training fold's rows, or a stratified subsample of them."""
        subsample = run.settings["subsample"]
        n = len(train)
        if subsample is None:
            return train
        if subsample == "auto":
            subsample = QUICK_FEEDBACK_ROWS
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
        styles = {
            "fell": "-",
            "slower": "-",
            "oscillated": "--",
            "stalled": "-.",
            "diverged": ":",
        }
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


def _early_stopping_fit(estimator, X, y, fit_params, X_test, y_test, scoring):
    """Fit with early stopping; return the best epoch, the validation curve, the time.

    Also the score on the fold's test rows of the model early stopping kept
    (the best epoch's weights), which is the score of the same network
    trained for exactly that many epochs.
    """
    estimator.fit(X, y, **fit_params)
    network, _ = _find_network(estimator)
    return {
        "test_score": float(
            check_scoring(estimator, scoring)(estimator, X_test, y_test)
        ),
        "best_epoch": network.best_epoch_,
        "n_iter": network.n_iter_,
        "stop_reason": network.stop_reason_,
        "validation_accuracy": [
            float(record.get("validation_accuracy", np.nan))
            for record in network.history_
        ],
        "training_seconds": sum(record["time"] for record in network.history_),
    }


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
    repeated = False

    def uses(self, stages):
        return (
            "epochs",
            "early_stopping",
            "n_iter_no_change",
            "validation_fraction",
            "monitor",
        )

    def planned_units(self, run):
        epochs = run.settings["max_epochs"]
        return [run.work({"epochs": epochs}, len(train)) for train, _ in run.splits]

    def run(self, run):
        settings = run.settings
        watch = {
            "early_stopping": True,
            "n_iter_no_change": settings["n_iter_no_change"],
            "validation_fraction": None
            if run.has_validation_data
            else settings["validation_fraction"],
            "epochs": settings["max_epochs"],
            "monitor": (),
        }
        fits = run.map(
            [
                delayed(_early_stopping_fit)(
                    run.candidate(**watch),
                    *run.rows(train),
                    *run.rows(test)[:2],
                    settings["scoring"],
                )
                for train, test in run.splits
            ],
            measure=lambda fits: [
                run.work({**watch, "epochs": fit["n_iter"]}, len(train))
                for fit, (train, _) in zip(fits, run.splits)
            ],
        )
        best = [fit["best_epoch"] or 1 for fit in fits]
        stops = [fit["n_iter"] for fit in fits]
        by = stops if settings["epochs_from"] == "stop" else best
        chosen = _median_epoch(by)
        if all(epoch == chosen for epoch in best) and (
            run.current("learning_rate_schedule") == "constant"
        ):
            # Every fold kept the weights of epoch `chosen`: the later
            # stages need not fit the setting so far again to score it.
            run.remember_score({"epochs": chosen}, [fit["test_score"] for fit in fits])
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
                "validation_fraction": watch["validation_fraction"],
                "max_epochs": settings["max_epochs"],
                "early_stopping_after": bool(run.current("early_stopping")),
            },
        )

    def describe(self, result):
        d = result.details
        lines = [
            "Early stopping on each training fold: "
            + (
                "on the validation data given (X_val)"
                if d["validation_fraction"] is None
                else f"{_fmt(d['validation_fraction'])} of the fold held out"
            )
            + f", stop after {d['n_iter_no_change']} epochs without "
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
