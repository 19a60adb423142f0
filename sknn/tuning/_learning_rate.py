"""Stage 4, the learning rate revisited once lambda is known."""

from __future__ import annotations

from ._base import StageResult, _Stage
from ._format import _fmt, _tidy
from ._plot import _plot_scores
from ._report import _chose_best, _describe_search


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
        lines.append(_chose_best("eta", result))
        return lines

    def plot(self, result, ax):
        _plot_scores(result, ax, "η")
