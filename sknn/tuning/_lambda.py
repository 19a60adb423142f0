"""Stage 3, lambda: chapter 3, "The regularization parameter"."""

from __future__ import annotations

from ._base import StageResult, _Stage
from ._format import _fmt, _tidy
from ._plot import _plot_scores
from ._report import _chose_best, _describe_search


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
        lines.append(_chose_best("lambda", result))
        return lines

    def plot(self, result, ax):
        _plot_scores(result, ax, "λ")
