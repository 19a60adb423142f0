"""Stage 5, the mini-batch size: chapter 3, "Mini-batch size"."""

from __future__ import annotations

import numpy as np

from ._base import StageResult, _Stage
from ._format import _fmt
from ._plot import _log_axis


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
