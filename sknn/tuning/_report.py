"""The report's lines shared by the cross-validated stages."""

from __future__ import annotations

import numpy as np

from ._format import _fmt


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


def _chose_best(label, result):
    """The report's closing line for a stage decided by the best mean CV score."""
    return (
        f"Chose {label} = {_fmt(result.chosen)}: the best mean CV score "
        f"({result.score:.4f})."
    )
