"""A search's run: its checked settings, its data and folds, its fits and its budget."""

from __future__ import annotations

import itertools
import threading
import time
import warnings
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.parallel import Parallel

from .._learning_rate import learning_rate_for
from .._sklearn_private import _check_method_params, _safe_indexing
from . import _decisions, _workers
from ._base import _find_network
from ._budget import _Budget


class _Run:
    """The data, the folds, and the settings chosen so far, shared by the stages.

    ``params`` holds the unprefixed values chosen so far; ``fixed`` holds what
    every fit shares but nobody tunes (the seed of the initial weights, so
    that candidates differ only in the parameter being tried). ``scores``
    holds the mean CV score of every setting cross-validated so far, so that
    a later stage comparing against it does not fit it again.
    """

    def __init__(self, base, X, y, fit_params, splits, prefix, settings, rng):
        self.budget = _Budget(
            settings["max_time"],
            settings["max_fits"],
            max(1, effective_n_jobs(settings["n_jobs"])),
            self.gain,
        )
        self.base = base
        self.X, self.y, self.fit_params = X, y, fit_params
        self.splits = splits
        self.prefix = prefix
        self.settings = settings
        self.fixed = {}
        self.network, _ = _find_network(base)
        if self.network.random_state is None:
            self.fixed["random_state"] = int(rng.randint(np.iinfo(np.int32).max))
        self.subsample_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.halving_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.params = {}
        self.scores = {}
        self.cancelled = threading.Event()
        self.unmeasured = ""
        self.pass_number, self.passes_ended = 1, ""
        self.thresholds = {}  # the eta re-tuned for a candidate, by threshold_key
        if "lmbda" in settings["stages"]:
            # "Start with no regularization": lambda = 0 until its own stage.
            self.params["lmbda"] = 0.0
        self.base_params = base.get_params()
        self.network_params = self.network.get_params(deep=False)
        self.n_features = X.shape[1] if hasattr(X, "shape") else len(X[0])
        self.n_classes = len(np.unique(y))
        self.has_validation_data = (
            prefix + "X_val" in fit_params or "X_val" in fit_params
        )
        X_val = fit_params.get(prefix + "X_val", fit_params.get("X_val"))
        self.n_validation = None if X_val is None else len(X_val)
        # parallel_config arguments for the search's fits; with threads, the
        # fits run in this process, and lone ones can borrow idle workers
        self.hint = _workers.worker_hint(self.work({}, self.n_samples, epochs=1))
        self.in_threads = bool(self.hint)
        self.input_work = _workers.input_work(X) if self.in_threads else 0

    # --- the budget -----------------------------------------------------------

    def elapsed(self):
        return self.budget.elapsed()

    @property
    def n_fits(self):
        return self.budget.n_fits

    def work(self, params, n_rows, epochs=None):
        """The work of one fit in units of (epochs x rows x weights).

        A fit's time grows with each of those, so the seconds per unit
        measured on the fits so far predict the time of the next ones.
        """
        hidden = params.get("hidden_layer_sizes") or self.params.get(
            "hidden_layer_sizes", self.network.hidden_layer_sizes
        )
        hidden = (hidden,) if isinstance(hidden, Integral) else tuple(hidden)
        sizes = [self.n_features, *hidden, self.n_classes]
        weights = sum(a * b for a, b in itertools.pairwise(sizes))
        epochs = (
            epochs
            or params.get("epochs")
            or self.params.get("epochs", self.network.epochs)
        )
        return epochs * n_rows * weights

    def gain(self, n_fits):
        """How much faster each of ``n_fits`` fits runs on the idle workers' threads."""
        threads = _workers.lone_fit_threads(n_fits, self.n_workers(), self.in_threads)
        hidden = self.current("hidden_layer_sizes")
        return _workers.fit_gain(threads, hidden, self.input_work)

    def lend_idle_workers(self, n_fits):
        """Within this block, fits may use the workers ``n_fits`` fits leave idle."""
        return _workers.lend_idle_workers(n_fits, self.n_workers(), self.in_threads)

    def n_workers(self):
        return self.budget.n_workers

    def refit_units(self, **candidate):
        """The refit's work: training on every row, and what it monitors.

        The candidates train with ``monitor=()``, but the refit keeps the
        base estimator's monitors, and each epoch they run a forward pass
        over the training rows, the validation rows or both (as do early
        stopping and the halving schedule over the validation rows). A
        forward pass is counted like a training step over those rows: on
        MNIST it costs about 0.7 of one, and a budget should rather err
        long than let the refit overrun ``max_time``.
        """
        return self.work(candidate, self.n_samples + self._monitored_rows(candidate))

    def _monitored_rows(self, candidate):
        def current(name):
            return candidate[name] if name in candidate else self.current(name)

        monitor = tuple(current("monitor") or ())
        rows = 0
        if any(name.startswith("training_") for name in monitor):
            rows += self.n_samples
        if (
            current("early_stopping")
            or current("learning_rate_schedule") == "halving"
            or any(name.startswith("validation_") for name in monitor)
        ):
            fraction = current("validation_fraction") or 0.0
            rows += (
                self.n_validation
                if self.n_validation is not None
                else round(fraction * self.n_samples)
            )
        return rows

    def affords(self, batches, refit_units):
        """Whether ``batches`` of fits, then the refit, fit the budget (see ``_Budget``)."""
        return self.budget.affords(batches, refit_units)

    def map(self, jobs, units=None, measure=None, expected=()):
        """Run ``jobs`` in parallel and learn their speed; return their results.

        ``units`` is the work of each job; ``measure(results)`` gives it
        after the fact for fits whose length is known only then (early
        stopping). Each result is a dict whose ``"training_seconds"`` is the
        time the fit spent in its epochs. Warnings of the ``expected``
        categories are silenced in the calling thread (scikit-learn's
        ``Parallel`` hands the filters to the jobs): ``catch_warnings`` is not
        thread-safe, and in a worker thread it could leave one job's filters.
        """
        started = time.perf_counter()
        with warnings.catch_warnings():
            for category in expected:
                warnings.simplefilter("ignore", category)
            with self.lend_idle_workers(len(jobs)):
                results = self.parallel()(jobs)
        self.budget.record(
            time.perf_counter() - started,
            measure(results) if measure else units,
            [result["training_seconds"] for result in results],
        )
        return results

    def margin(self, score):
        """How much better than ``score`` a change must score to be kept."""
        accuracy = score if self.settings["scoring"] in (None, "accuracy") else None
        n_scored = sum(len(test) for _, test in self.splits)
        return _decisions._margin(self.settings["min_improvement"], accuracy, n_scored)

    def log(self, message):
        """A progress line (verbose >= 1), with the time used and left."""
        if not self.settings["verbose"]:
            return
        clock = f"{self.elapsed():.0f} s"
        if self.settings["max_time"] is not None:
            left = max(self.budget.left(), 0)
            clock += f", {left:.0f} s left"
        print(f"[BookSearchCV {clock}] {message}", flush=True)

    @property
    def n_samples(self):
        return len(self.y)

    def current(self, name):
        """The value of ``name`` for the next fits: chosen so far, or the base's.

        ``learning_rate="auto"`` is resolved to the number it stands for with
        the current activation, cost and momentum, so that stages can scale it.
        """
        value = self.params.get(name, self.base_params.get(self.prefix + name))
        if name == "learning_rate" and isinstance(value, str):
            return learning_rate_for(
                {
                    param: self.params.get(
                        param, self.base_params.get(self.prefix + param)
                    )
                    for param in ("learning_rate", "activation", "cost", "momentum")
                    if self.prefix + param in self.base_params
                }
            )
        return value

    def estimator(self, **overrides):
        """A fresh clone of the base estimator with the settings so far and ``overrides``."""
        params = {**self.fixed, **self.params, **overrides}
        return clone(self.base).set_params(
            **{self.prefix + name: value for name, value in params.items()}
        )

    def candidate(self, **overrides):
        """:meth:`estimator` for one of the search's own fits, which Ctrl-C ends.

        Its hooks are the base's and one that stops training at the end of
        the epoch once the search is interrupted (see :func:`cancel_on_ctrl_c`).
        """
        if self.prefix + "callbacks" not in self.base_params:
            return self.estimator(**overrides)
        stop = _workers._StopWhenCancelled(self.cancelled)
        hooks = (*(self.current("callbacks") or ()), stop)
        return self.estimator(**overrides, callbacks=hooks)

    def cancellable(self):
        """Within this block Ctrl-C also ends the candidates (:func:`cancel_on_ctrl_c`)."""
        return _workers.cancel_on_ctrl_c(self.cancelled)

    def rows(self, indices):
        """X, y and the sample-aligned fit parameters restricted to ``indices``."""
        return (
            _safe_indexing(self.X, indices),
            _safe_indexing(self.y, indices),
            _check_method_params(self.X, self.fit_params, indices),
        )

    def parallel(self):
        return Parallel(
            n_jobs=self.settings["n_jobs"],
            verbose=max(self.settings["verbose"] - 1, 0),
        )

    def search(self, name, values, *, kind=None, reuse=True):
        """Cross-validate ``values`` of parameter ``name``; return (cv_results, best, score).

        Every search uses the same folds and the same initial weights, so a
        value's score is the same in every search that tries it: a grid
        search does not fit the values an earlier stage scored (``reuse``,
        see :meth:`unsearched`), and its ``cv_results`` gives them the
        earlier scores (see ``_decisions._merged_results``). ``monitor``
        is emptied: the scorer measures what matters, and per-epoch
        monitoring would only slow the fits (and blur the timing of the
        batch-size stage, which measures every value: ``reuse=False``).
        """
        settings = self.settings
        kind = kind or settings["search"]
        key = self.prefix + name
        candidates = [{name: value} for value in values]
        fresh = self.unsearched(candidates, kind) if reuse else candidates
        cv_results = None
        if fresh:
            grid = {key: [candidate[name] for candidate in fresh]}
            common = {
                "cv": self.splits,
                "scoring": settings["scoring"],
                "n_jobs": settings["n_jobs"],
                "refit": False,
                "verbose": max(settings["verbose"] - 1, 0),
            }
            estimator = self.candidate(monitor=())
            started = time.perf_counter()
            if kind == "halving":
                from sklearn.experimental import enable_halving_search_cv  # noqa: F401
                from sklearn.model_selection import HalvingGridSearchCV

                search = HalvingGridSearchCV(
                    estimator, grid, random_state=self.halving_seed, **common
                )
            else:
                search = GridSearchCV(estimator, grid, **common)
            with self.lend_idle_workers(len(fresh) * len(self.splits)):
                search.fit(self.X, self.y, **self.fit_params)
            self._record_search(started, search.cv_results_)
            cv_results = search.cv_results_
            if kind == "halving":  # most candidates scored on fewer rows
                best = search.best_params_[key]
                return cv_results, best, float(search.best_score_)
            self._remember(cv_results)
        remembered = [self.scores[self._key(candidate)] for candidate in candidates]
        cv_results = _decisions._merged_results(key, values, cv_results, remembered)
        index = int(np.argmin(cv_results["rank_test_score"]))
        return cv_results, values[index], float(cv_results["mean_test_score"][index])

    def unsearched(self, candidates, kind=None):
        """The ``candidates`` a search must fit: all for halving, else the unscored."""
        candidates = list(candidates)
        if (kind or self.settings["search"]) == "halving":
            return candidates
        return self.unscored(candidates)

    def _record_search(self, started, cv_results):
        units = [
            self.work(self._unprefixed(params), len(train))
            for params in cv_results["params"]
            for train, _ in self.splits
        ]
        self.budget.record(time.perf_counter() - started, units)

    def _unprefixed(self, params):
        return {name[len(self.prefix) :]: value for name, value in params.items()}

    def search_units(self, candidates):
        """The work of cross-validating each of ``candidates`` on every fold."""
        return [
            self.work({**self.params, **candidate}, len(train))
            for candidate in candidates
            for train, _ in self.splits
        ]

    def _key(self, candidate):
        """What identifies a fit: every parameter set on the base estimator.

        The folds, the data, the seed of the initial weights and the scorer
        are the run's own, so two fits with the same key score the same.
        """
        params = {**self.network_params, **self.fixed, **self.params, **candidate}
        return tuple(
            sorted((name, _decisions._frozen(value)) for name, value in params.items())
        )

    def threshold_key(self, candidate):
        """What identifies a candidate's re-tuned eta: its key, whatever the eta so far."""
        return self._key({**candidate, "learning_rate": None})

    def remember_score(self, candidate, fold_scores):
        """Record the CV scores, fold by fold, of the setting so far changed by ``candidate``."""
        entry = self.scores.setdefault(self._key(candidate), {})
        entry["folds"] = [float(score) for score in fold_scores]
        entry["test"] = float(np.mean(entry["folds"]))

    def _remember(self, cv_results):
        """Keep the scores of a search's candidates, to reuse them later."""
        for index, params in enumerate(cv_results["params"]):
            entry = self.scores.setdefault(self._key(self._unprefixed(params)), {})
            entry["test"] = float(cv_results["mean_test_score"][index])
            entry["folds"] = [
                float(cv_results[f"split{fold}_test_score"][index])
                for fold in range(len(self.splits))
            ]
            if "mean_train_score" in cv_results:
                entry["train"] = float(cv_results["mean_train_score"][index])

    def unscored(self, candidates, *, train_score=False):
        """The ``candidates`` whose CV score (and training score) is not known yet."""
        needed = ("test", "train") if train_score else ("test",)
        return [
            candidate
            for candidate in candidates
            if not all(k in self.scores.get(self._key(candidate), {}) for k in needed)
        ]

    def score_candidates(self, candidates, *, train_score=False):
        """Cross-validate each dict of parameters in ``candidates``; return their scores.

        One ``GridSearchCV`` over a list of one-point grids: the candidates
        differ in several parameters at once (an activation, its
        initializer and its re-tuned learning rate), and their fits run in
        parallel. A candidate already scored by an earlier stage (the
        setting so far, which every stage compares against) is not fitted
        again: with the same folds and initial weights it would score the
        same.

        Returns
        -------
        dict
            ``"mean_test_score"`` (and ``"mean_train_score"`` when asked
            for), one per candidate in order, and ``"searches"``: the
            ``cv_results_`` of the search run for the candidates not scored
            before (empty if there were none).
        """
        settings = self.settings
        fresh = self.unscored(candidates, train_score=train_score)
        searches = []
        if fresh:
            grid = [
                {self.prefix + name: [value] for name, value in candidate.items()}
                for candidate in fresh
            ]
            search = GridSearchCV(
                self.candidate(monitor=()),
                grid,
                cv=self.splits,
                scoring=settings["scoring"],
                n_jobs=settings["n_jobs"],
                refit=False,
                return_train_score=train_score,
                verbose=max(settings["verbose"] - 1, 0),
            )
            started = time.perf_counter()
            with self.lend_idle_workers(len(fresh) * len(self.splits)):
                search.fit(self.X, self.y, **self.fit_params)
            self._record_search(started, search.cv_results_)
            self._remember(search.cv_results_)
            searches.append(search.cv_results_)
        known = [self.scores[self._key(candidate)] for candidate in candidates]
        scored = {
            "mean_test_score": np.array([entry["test"] for entry in known]),
            "searches": searches,
        }
        if train_score:
            scored["mean_train_score"] = np.array([entry["train"] for entry in known])
        return scored

    def choose(self, param, result):
        """Carry a stage's choice of ``param`` into the later fits; return whether it changed one."""
        before = self._key({})
        self.params[param] = result.chosen
        self.params.update(self._unprefixed(result.also))
        return self._key({}) != before

    def final_score(self, stages):
        """The CV score of the final settings: from the last scored stage, or measured.

        Every stage after the threshold and epochs stages is scored, so the
        last score is that of the final settings unless only those two ran.
        Measuring it then takes one more cross-validation, which counts
        against the budget like any other: NaN when the budget has no room
        for it (``unmeasured`` says why).
        """
        scored = [result.score for result in stages if result.score is not None]
        if scored:
            return scored[-1]
        if not stages:
            return float("nan")
        known = self.scores.get(self._key({}), {}).get("test")
        if known is not None:
            return known
        units = self.search_units([{}])
        ok, self.unmeasured = self.affords([units], self.refit_units())
        if not ok:
            return float("nan")
        started = time.perf_counter()
        with self.lend_idle_workers(len(units)):
            scores = cross_val_score(
                self.candidate(monitor=()), self.X, self.y, cv=self.splits,
                scoring=self.settings["scoring"], n_jobs=self.settings["n_jobs"],
                params=self.fit_params or None,
            )  # fmt: skip
        self.budget.record(time.perf_counter() - started, units)
        return float(np.mean(scores))
