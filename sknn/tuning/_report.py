"""The report and the plots: what a search tried, chose and why, in words and panels.

``report`` and ``plot_report`` are :class:`BookSearchCV`'s methods, written
here beside what they draw; they read ``self._stage_classes``, each stage's
class by name, whose ``describe`` and ``plot`` draw that stage's part.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..plotting import _matplotlib
from ._decisions import _fmt

PASS_HEADER = (
    "Pass {number}: the stages decided on the score again, from the choices so far "
    "(chapter 3: "
    "'it helps to bounce backward and forward, gradually closing in on good values')."
)


def report(self):
    """Say, stage by stage, what was tried, what was chosen and why.

    Returns
    -------
    str
        A few lines per stage, then the final settings and their CV score.
    """
    check_is_fitted(self)
    return _report_text(
        self, lambda result: self._stage_classes[result.name]().describe(result)
    )


def plot_report(self, figsize=None):
    """Draw one panel per stage: what was tried and what was chosen.

    The threshold stage shows the training cost per epoch for each eta
    (the book's figure in "Learning rate"); the epochs stage the
    validation accuracy per fold; the CV stages the mean score against
    the value (log axes); the batch-size stage also the fit time. A
    stage of a later pass gets a panel of its own.

    Parameters
    ----------
    figsize : tuple of float, optional
        The figure size; by default 4.5 inches wide per stage.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_is_fitted(self)
    return _report_figure(
        self.stages_,
        lambda result, ax: self._stage_classes[result.name]().plot(result, ax),
        figsize,
    )


def _stage_label(result):
    return (
        result.name
        if result.pass_number == 1
        else (f"{result.name} (pass {result.pass_number})")
    )


def _report_text(search, describe):
    """The text of :meth:`BookSearchCV.report`; ``describe(result)`` gives a stage's lines."""
    scoring = search._scoring_name or (
        "the estimator's score (accuracy)" if search.scoring is None else "scoring"
    )
    lines = [
        "BookSearchCV: chapter 3's recipe, 'How to choose a neural network's "
        "hyper-parameters?'",
        f"{search.n_samples_} training samples, {search.n_splits_}-fold CV, scored "
        f"by {scoring}.",
    ]
    for number, result in enumerate(search.stages_, 1):
        lines.append("")
        if number > 1 and result.pass_number != search.stages_[number - 2].pass_number:
            lines += [PASS_HEADER.format(number=result.pass_number), ""]
        lines.append(f"{number}. {result.name} ({result.param})")
        lines.append(f"   -> {result.reason}")
        if not result.skipped:
            lines.extend("   " + line for line in describe(result))
    lines.append("")
    skipped = [_stage_label(result) for result in search.stages_ if result.skipped]
    if skipped:
        lines.append(
            f"Skipped for lack of budget: {', '.join(skipped)} (their parameters "
            "kept their values so far)."
        )
    if search._passes_ended:
        lines.append(f"{search._passes_ended[0].upper()}{search._passes_ended[1:]}.")
    if search.interrupted_ is not None:
        lines.append(
            f"Interrupted (Ctrl-C) during {search.interrupted_!r}: the stages from "
            "there on did not run; the model uses the values chosen before."
        )
    chosen = ", ".join(f"{k}={_fmt(v)}" for k, v in search.best_params_.items())
    lines.append(f"Final: {chosen}")
    score = f"Mean CV score {search.best_score_:.4f}"
    if math.isnan(search.best_score_) and search._unmeasured:
        score = f"Mean CV score not measured ({search._unmeasured})"
    lines.append(
        f"{score}; {search.n_fits_} fits in "
        f"{search.search_time_:.1f} s, then refit on all {search.n_samples_} "
        f"samples in {search.refit_time_:.2f} s."
    )
    return "\n".join(lines)


def _report_figure(stages, plot, figsize):
    """One panel per stage that ran, drawn by ``plot(result, ax)``."""
    plt, _ = _matplotlib()
    stages = [result for result in stages if not result.skipped]
    n = len(stages)
    figure, axes = plt.subplots(
        1, n, figsize=figsize or (4.5 * n, 4), squeeze=False, layout="constrained"
    )
    for result, ax in zip(stages, axes[0]):
        plot(result, ax)
    return figure


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
        if "scored_earlier" in cv_results and cv_results["scored_earlier"][index]:
            iteration = " (scored earlier, not fitted again)"
        lines.append(
            f"  {param_label} {_fmt(value):>{width}}: mean score "
            f"{cv_results['mean_test_score'][index]:.4f} "
            f"(± {cv_results['std_test_score'][index]:.4f}), rank "
            f"{cv_results['rank_test_score'][index]}{iteration}"
            + ("  <- best" if index == best else "")
        )
    return lines


def _chose_best(label, result):
    """The report's closing line for a stage decided by the best mean CV score."""
    return (
        f"Chose {label} = {_fmt(result.chosen)}: the best mean CV score "
        f"({result.score:.4f})."
    )


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
