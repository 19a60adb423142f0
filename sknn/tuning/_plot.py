"""The plotting shared by the cross-validated stages."""

from __future__ import annotations

import numpy as np

from ._format import _fmt

_MISSING_MATPLOTLIB = "plotting needs matplotlib: pip install 'sknn[plot]'"


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
