"""Stage 2, the number of epochs: chapter 3's early stopping."""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.parallel import delayed

from ._base import StageResult, _Stage
from ._format import _fmt
from ._pipeline import _final_step


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
