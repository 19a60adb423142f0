"""The stages that change the network itself: cost, activation, width and depth,
momentum, the learning-rate schedule and dropout.

Chapter 3 tunes eta, the epochs and lambda for a network it has already
chosen; its "Broad strategy" starts with a small network for quick feedback
and grows it, and the chapter's other sections (the cross-entropy and
softmax outputs, other neuron models, momentum, the learning-rate schedule,
dropout) are the other settings worth trying. Each stage here compares the
current setting with a few others on the cross-validated score, and keeps a
change only if it scores ``min_improvement`` better: a change must earn its
place. "When we increase the complexity of the network, the parameters need
to be tuned again": a candidate that changes how large a step eta makes (a
new cost, activation, width, momentum) gets its own learning rate, by
running the threshold stage again for it.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from ._base import StageResult, _Stage
from ._decisions import (
    _best_candidate,
    _fmt,
    _initializer_for,
    _keeps_growing,
    _overfits,
)
from ._stages import _LearningRateThreshold, _NoLearningRateFell


def _label(candidate, param):
    value = candidate.get(param)
    if isinstance(value, tuple):
        return str(list(value))
    return _fmt(value) if isinstance(value, Real) else str(value)


class _ChoiceStage(_Stage):
    """Choose among a few settings of ``param`` on the CV score.

    Subclasses give :meth:`candidates`, the settings to try besides the
    current one (dicts of parameters), and whether each needs its own
    learning rate (``retune``).
    """

    retune = True

    def uses(self, stages):
        return (self.param, "learning_rate", "monitor")

    def candidates(self, run):
        raise NotImplementedError

    def _retuned(self, run, candidate, notes):
        """``candidate`` with its own learning rate, or None if none made the cost fall."""
        if not self.retune:
            return candidate
        stage = _LearningRateThreshold()
        key = run.threshold_key(candidate)
        known = run.thresholds.get(key)
        # Re-tuning is worth its fits only if scoring the candidate fits too.
        batches = [run.search_units([candidate])]
        if known is None:
            start = stage.start(run)
            batches.insert(0, stage.units(run, candidate, start))
        ok, why = run.affords(batches, run.refit_units(**candidate))
        if not ok:
            notes.append(f"{_label(candidate, self.param)} not tried ({why})")
            return None
        if known is None:
            try:
                known = stage.run(run, candidate, start).chosen
            except _NoLearningRateFell:
                known = np.nan
            run.thresholds[key] = known
        if np.isnan(known):
            notes.append(
                f"{_label(candidate, self.param)}: no learning rate made the "
                "training cost fall"
            )
            return None
        return {**candidate, "learning_rate": known}

    def _score(self, run, candidates, **options):
        ok, why = run.affords(
            [run.search_units(run.unscored(candidates, **options))],
            max(run.refit_units(**c) for c in candidates),
        )
        if not ok:
            return None, why
        return run.score_candidates(candidates, **options), ""

    def run(self, run):
        current = {self.param: run.current(self.param)}
        notes = []
        tried = [current]
        for candidate in self.candidates(run):
            candidate = self._retuned(run, candidate, notes)
            if candidate is not None:
                tried.append(candidate)
        scored, why = self._score(run, tried)
        if scored is None:
            return self.skipped(run, why)
        scores = scored["mean_test_score"]
        for candidate, score in zip(tried, scores):
            run.log(f"{self.name}: {self._describe_candidate(candidate)}: {score:.4f}")
        index = _best_candidate(scores, run.margin(scores[0]))
        return self._result(run, tried, scores, index, notes, scored["searches"])

    def _describe_candidate(self, candidate):
        text = f"{self.param}={_label(candidate, self.param)}"
        if "learning_rate" in candidate:
            text += f" (eta {_fmt(candidate['learning_rate'])})"
        return text

    def _result(self, run, tried, scores, index, notes, cv_results):
        chosen = tried[index]
        words = [f"{_label(c, self.param)} {s:.4f}" for c, s in zip(tried, scores)]
        reason = f"mean CV scores {', '.join(words)}; "
        reason += (
            f"kept {_label(chosen, self.param)}"
            if index == 0
            else f"chose {_label(chosen, self.param)}"
        )
        if notes:
            reason += "; " + "; ".join(notes)
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=[c[self.param] for c in tried],
            chosen=chosen[self.param],
            reason=reason,
            cv_results=cv_results,
            score=float(scores[index]),
            details={
                "rows": [
                    (self._describe_candidate(c), float(s))
                    for c, s in zip(tried, scores)
                ],
                "margin": run.margin(scores[0]),
            },
            also={
                run.prefix + name: value
                for name, value in chosen.items()
                if name != self.param
            },
        )

    def describe(self, result):
        lines = [
            f"  {text}: mean CV score {score:.4f}"
            for text, score in result.details["rows"]
        ]
        if not result.skipped:
            lines.append(
                "The first is the setting so far; another replaces it only if it "
                f"scores more than {result.details['margin']:.4f} better "
                "(min_improvement, or the standard error of the accuracy)."
            )
        return lines

    def plot(self, result, ax):
        rows = result.details["rows"]
        ax.barh(np.arange(len(rows)), [score for _, score in rows])
        ax.set_yticks(
            np.arange(len(rows)), [text for text, _ in rows], fontsize="small"
        )
        ax.set_xlabel("mean CV score")
        if rows:
            scores = [score for _, score in rows]
            ax.set_xlim(min(scores) - 0.01, max(scores) + 0.005)
        ax.set_title(f"{self.name}: chose {_label({'v': result.chosen}, 'v')}")


class _Cost(_ChoiceStage):
    """Chapter 3, "The cross-entropy cost function" and "Softmax".

    Sigmoid outputs with the cross-entropy cost, or a softmax output layer
    with the log-likelihood cost; the book finds them close, with softmax
    giving the outputs a reading as probabilities.
    """

    name = "cost"
    param = "cost"

    def candidates(self, run):
        current = run.current("cost")
        return [{"cost": c} for c in run.settings["costs"] if c != current]


class _Activation(_ChoiceStage):
    """Chapter 3, "Other models of artificial neuron": sigmoid, tanh, ReLU.

    Each comes with the initializer that suits it (He's for ReLU, the
    book's 1/sqrt(n_in) for sigmoid and tanh) and its own learning rate.
    """

    name = "activation"
    param = "activation"

    def uses(self, stages):
        return ("activation", "initializer", "learning_rate", "monitor")

    def candidates(self, run):
        current = run.current("activation")
        initializer = run.current("initializer")
        return [
            {"activation": a, "initializer": _initializer_for(a, initializer)}
            for a in run.settings["activations"]
            if a != current
        ]


class _Momentum(_ChoiceStage):
    """Chapter 3, "Momentum-based gradient descent": a velocity that remembers.

    Momentum lengthens the effective step, so each value gets its own
    learning rate.
    """

    name = "momentum"
    param = "momentum"

    def candidates(self, run):
        current = run.current("momentum")
        return [{"momentum": m} for m in run.settings["momentums"] if m != current]


class _Schedule(_ChoiceStage):
    """Chapter 3, "Variable learning rate": halve eta when validation plateaus.

    The book's schedule halves eta each time no-improvement-in-n is met and
    stops at eta0 / 128; it watches the validation accuracy, so a fit holds
    out ``validation_fraction`` of its rows unless ``X_val`` is given. eta0
    stays the tuned learning rate.
    """

    name = "schedule"
    param = "learning_rate_schedule"
    retune = False

    def uses(self, stages):
        return ("learning_rate_schedule", "validation_fraction", "monitor")

    def candidates(self, run):
        if run.current("learning_rate_schedule") == "halving":
            return []
        candidate = {"learning_rate_schedule": "halving"}
        if not run.has_validation_data and run.current("validation_fraction") is None:
            candidate["validation_fraction"] = run.settings["validation_fraction"]
        return [candidate]


class _Dropout(_ChoiceStage):
    """Chapter 3, "Dropout": once the network is large enough to overfit.

    First the current network's training score is compared with its CV
    score: only if it fits its training rows ``dropout_gap`` better than
    new data are the ``dropouts`` tried.
    """

    name = "dropout"
    param = "dropout"
    retune = False

    def candidates(self, run):
        current = run.current("dropout")
        return [{"dropout": p} for p in run.settings["dropouts"] if p != current]

    def run(self, run):
        current = {self.param: run.current(self.param)}
        first, why = self._score(run, [current], train_score=True)
        if first is None:
            return self.skipped(run, why)
        train = float(first["mean_train_score"][0])
        test = float(first["mean_test_score"][0])
        gap = run.settings["dropout_gap"]
        if not _overfits(train, test, gap):
            result = self._result(run, [current], [test], 0, [], first["searches"])
            result.reason = (
                f"the network does not overfit (training score {train:.4f}, CV "
                f"score {test:.4f}, gap below {_fmt(gap)}); kept "
                f"{_label(current, self.param)}"
            )
            return result
        others = self.candidates(run)
        more, why = self._score(run, others) if others else (None, "nothing to try")
        if more is None:
            result = self._result(run, [current], [test], 0, [why], first["searches"])
            return result
        tried = [current, *others]
        scores = [test, *more["mean_test_score"]]
        index = _best_candidate(scores, run.margin(scores[0]))
        notes = [f"overfits: training score {train:.4f} vs CV {test:.4f}"]
        searches = first["searches"] + more["searches"]
        return self._result(run, tried, scores, index, notes, searches)


class _Architecture(_ChoiceStage):
    """Chapter 3, "Broad strategy": start small, grow while validation improves.

    Every hidden layer is widened by ``width_factor`` while the CV score
    improves on the previous width's, by any amount, and the width stays
    within ``max_width``; then one more layer is added to the chosen shape,
    up to ``max_depth`` layers. A shape is chosen over the current one, as
    in every stage, only if it scores more than the margin better, so a
    trend of small gains is followed without taking one of them for a win.
    Each new shape gets its own learning rate. The shapes are tried one at a
    time, whatever ``n_jobs``: whether the next width is tried depends on the
    last one's score, so trying two at once would choose differently with
    more workers; and a lone fit trains on the idle workers' threads, which
    on a two-core machine makes a width of 200 then one of 400 faster one
    after the other than side by side on one thread each.
    """

    name = "architecture"
    param = "hidden_layer_sizes"

    def uses(self, stages):
        return ("hidden_layer_sizes", "learning_rate", "monitor")

    def _growth(self, run, sizes):
        """The shapes to try after ``sizes``: wider, then deeper."""
        settings = run.settings
        shapes = []
        width = sizes
        while True:
            width = tuple(
                max(w + 1, round(w * settings["width_factor"])) for w in width
            )
            if max(width) > settings["max_width"]:
                break
            shapes.append(width)
        return shapes

    def run(self, run):
        settings = run.settings
        current = {self.param: tuple(run.current(self.param))}
        first, why = self._score(run, [current])
        if first is None:
            return self.skipped(run, why)
        tried, scores, results, notes = (
            [current],
            [first["mean_test_score"][0]],
            list(first["searches"]),
            [],
        )
        best = 0
        wider = self._growth(run, current[self.param])
        deeper_tried = False
        while True:
            shape = tried[best][self.param]
            if wider:
                candidate, wider = {self.param: wider[0]}, wider[1:]
            elif not deeper_tried and len(shape) < settings["max_depth"]:
                deeper_tried = True
                candidate = {self.param: (*shape, shape[-1])}
            else:
                break
            candidate = self._retuned(run, candidate, notes)
            if candidate is None:
                wider = []
                continue
            scored, why = self._score(run, [candidate])
            if scored is None:
                notes.append(f"stopped growing ({why})")
                break
            results.extend(scored["searches"])
            score = scored["mean_test_score"][0]
            if not _keeps_growing(scores[-1], score):
                wider = []
            tried.append(candidate)
            scores.append(score)
            run.log(f"{self.name}: {self._describe_candidate(candidate)}: {score:.4f}")
            if score > scores[best] + run.margin(scores[best]):
                best = len(tried) - 1
        return self._result(run, tried, scores, best, notes, results)
