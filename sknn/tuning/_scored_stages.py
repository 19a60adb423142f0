"""The stages decided by cross-validated scores: lambda, eta again, mini-batch size.

Each runs one or two scikit-learn searches (``GridSearchCV`` or
``HalvingGridSearchCV``) through :meth:`_Run.search`, on the folds every
stage shares, and chooses from their ``cv_results_``.
"""

from __future__ import annotations

import numpy as np

from ._base import StageResult, _Stage
from ._decisions import (
    FASTER,
    _fastest_good_enough,
    _fmt,
    _kept_unless_beaten,
    _tidy,
)
from ._report import _chose_best, _describe_search, _log_axis, _plot_scores


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

    def planned_units(self, run):
        lmbdas = self._lmbdas(run)
        return run.search_units(run.unsearched({"lmbda": v} for v in lmbdas))

    def _lmbdas(self, run):
        """``lmbdas``, and in a later pass the lambda so far, which may be a refined one."""
        lmbdas = set(run.settings["lmbdas"])
        if run.pass_number > 1:
            lmbdas.add(run.current("lmbda"))
        return sorted(lmbdas)

    def run(self, run):
        settings = run.settings
        lmbdas = self._lmbdas(run)
        cv_results, best, score = run.search("lmbda", lmbdas)
        searches = [cv_results]
        tried = set(lmbdas)
        coarse_best = best
        refined, unaffordable = [], ""
        if best > 0 and settings["lmbda_refine_factors"]:
            around = sorted(
                {_tidy(best * f) for f in settings["lmbda_refine_factors"]} | {best}
            )
            ok, unaffordable = run.affords(
                [run.search_units(run.unsearched({"lmbda": v} for v in around))],
                run.refit_units(),
            )
            if ok:
                refined = around
                cv_results, best, score = run.search("lmbda", refined)
                searches.append(cv_results)
                tried |= set(refined)
        reason = f"best of factors of ten: {_fmt(coarse_best)}"
        if refined:
            reason += f"; refined over {', '.join(map(_fmt, refined))}"
        elif unaffordable:
            reason += f"; not refined ({unaffordable})"
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


class _LearningRate(_Stage):
    """Chapter 3, "Learning rate", revisited once lambda is known.

    Once lambda is set: "That done, you should return and re-optimize eta
    again." The current eta times each of ``learning_rate_factors`` (and the current
    eta itself) are cross-validated; unlike the threshold, this uses the
    validation score, since eta is now being tuned for the final accuracy.
    As in the network stages, another eta replaces the current one only if
    it scores more than the margin better: the values are a factor of two
    apart and their scores usually within the noise of the validation
    accuracy, and a "better" eta chosen by chance was the tuned model's most
    common loss to the book's defaults on sklearn's digits (see
    ``docs/tuning.md``). With ``search="halving"`` the best value is taken,
    since most values are scored on fewer rows.
    """

    name = "learning_rate"
    param = "learning_rate"

    def planned_units(self, run):
        values = self._values(run)
        return run.search_units(run.unsearched({"learning_rate": v} for v in values))

    def _values(self, run):
        current = run.current("learning_rate")
        factors = run.settings["learning_rate_factors"]
        return sorted({_tidy(current * f) for f in factors} | {current})

    def run(self, run):
        current = run.current("learning_rate")
        values = self._values(run)
        cv_results, _, _ = run.search("learning_rate", values)
        if run.settings["search"] == "halving":  # most values scored on fewer rows
            index = int(np.argmin(cv_results["rank_test_score"]))
            margin = None
        else:
            scores = cv_results["mean_test_score"]
            previous = [next(iter(p.values())) for p in cv_results["params"]]
            margin = run.margin(scores[previous.index(current)])
            index = _kept_unless_beaten(cv_results, current, margin)
        best = next(iter(cv_results["params"][index].values()))
        score = float(cv_results["mean_test_score"][index])
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=values,
            chosen=best,
            reason=(
                f"revisited eta {_fmt(current)} with the chosen lambda over "
                f"{', '.join(map(_fmt, values))}; "
                + ("kept" if best == current else "chose")
                + f" {_fmt(best)} (mean CV score {score:.4f})"
            ),
            cv_results=[cv_results],
            score=score,
            details={"previous": current, "margin": margin},
        )

    def describe(self, result):
        d = result.details
        lines = [f"Around eta = {_fmt(d['previous'])}:"]
        lines += _describe_search(result.cv_results[0], "eta")
        if d.get("margin") is None:
            lines.append(_chose_best("eta", result))
        else:
            lines.append(
                f"{'Kept' if result.chosen == d['previous'] else 'Chose'} eta = "
                f"{_fmt(result.chosen)} (mean CV score {result.score:.4f}): the eta "
                f"so far stays unless another scores more than {d['margin']:.4f} "
                "better (min_improvement, or the standard error of the accuracy)."
            )
        return lines

    def plot(self, result, ax):
        _plot_scores(result, ax, "η")


class _BatchSize(_Stage):
    """Chapter 3, "Mini-batch size": choose it for speed.

    The mini-batch size is "relatively independent of the other
    hyper-parameters", and its job is speed: "choose whichever mini-batch
    size gives you the most rapid improvement in performance". Every size in
    ``batch_sizes`` is cross-validated with the settings chosen so far; of
    those whose mean score is within ``batch_size_tolerance`` of the best,
    the one with the shortest mean fit time wins, but a size that scores
    below the best must train in ``FASTER`` (90%) of the best-scoring one's
    time: a speed-up smaller than that is within the timing noise of a
    shared machine, and the compiled loop trains every size about as fast
    (MNIST: within 3%), so a score would be given up for nothing. Fit times
    are only comparable on the same data, so this stage always runs a full
    grid, even with ``search="halving"``. Times are measured, so unlike the
    other choices this one can differ between runs when two sizes are about
    as fast.
    """

    name = "batch_size"
    param = "batch_size"
    repeated = False  # chosen for speed, measured anew each time

    def planned_units(self, run):
        return run.search_units([{}] * len(run.settings["batch_sizes"]))

    def run(self, run):
        settings = run.settings
        cv_results, _, _ = run.search(
            "batch_size", settings["batch_sizes"], kind="grid", reuse=False
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
        tolerance = _fmt(settings["batch_size_tolerance"])
        if score == best_score:
            reason = (
                f"chose {chosen}, the best mean CV score ({score:.4f}), {speed}; "
                f"no size within {tolerance} of it trained in "
                f"{FASTER:.0%} of its time"
            )
        else:
            reason = (
                f"chose {chosen}, the fastest ({speed}) with a mean CV score "
                f"({score:.4f}) within {tolerance} of the best ({best_score:.4f}), "
                f"in at most {FASTER:.0%} of the best-scoring size's time"
            )
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=list(settings["batch_sizes"]),
            chosen=chosen,
            reason=reason,
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
            f"{_fmt(d['tolerance'])} of the best ({d['best_score']:.4f}), if it "
            f"trains in {FASTER:.0%} of the best-scoring size's time; the book "
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
