"""The state the stages share: the data, the folds, the values chosen so far."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel
from sklearn.utils.validation import _check_method_params

from ._pipeline import _final_step


class _Run:
    """The data, the folds, and the settings chosen so far, shared by the stages.

    ``params`` holds the unprefixed values chosen so far; ``fixed`` holds what
    every fit shares but nobody tunes (the seed of the initial weights, so
    that candidates differ only in the parameter being tried).
    """

    def __init__(self, tuner, X, y, fit_params, splits, prefix, settings, rng):
        self.tuner = tuner
        self.X, self.y, self.fit_params = X, y, fit_params
        self.splits = splits
        self.prefix = prefix
        self.settings = settings
        self.fixed = {}
        if _final_step(tuner.estimator).random_state is None:
            self.fixed["random_state"] = int(rng.randint(np.iinfo(np.int32).max))
        self.subsample_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.halving_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.params = {}
        if "lmbda" in settings["stages"]:
            # "Start with no regularization": lambda = 0 until its own stage.
            self.params["lmbda"] = 0.0
        self.base_params = tuner.estimator.get_params()

    @property
    def n_samples(self):
        return len(self.y)

    def current(self, name):
        """The value of ``name`` for the next fits: chosen so far, or the base's."""
        if name in self.params:
            return self.params[name]
        return self.base_params[self.prefix + name]

    def estimator(self, **overrides):
        """A fresh clone of the base estimator with the settings so far and ``overrides``."""
        params = {**self.fixed, **self.params, **overrides}
        return clone(self.tuner.estimator).set_params(
            **{self.prefix + name: value for name, value in params.items()}
        )

    def rows(self, indices):
        """X, y and the sample-aligned fit parameters restricted to ``indices``."""
        return (
            _safe_indexing(self.X, indices),
            _safe_indexing(self.y, indices),
            _check_method_params(self.X, self.fit_params, indices),
        )

    def parallel(self):
        return Parallel(
            n_jobs=self.tuner.n_jobs, verbose=max(self.tuner.verbose - 1, 0)
        )

    def search(self, name, values, *, kind=None):
        """Cross-validate ``values`` of parameter ``name``; return (cv_results, best, score).

        Every search uses the same folds and the same initial weights, so a
        value's score is the same in every search that tries it. ``monitor``
        is emptied: the scorer measures what matters, and per-epoch
        monitoring would only slow the fits (and blur the timing of the
        batch-size stage).
        """
        tuner = self.tuner
        kind = kind or tuner.search
        grid = {self.prefix + name: list(values)}
        common = {
            "cv": self.splits,
            "scoring": tuner.scoring,
            "n_jobs": tuner.n_jobs,
            "refit": False,
            "verbose": max(tuner.verbose - 1, 0),
        }
        estimator = self.estimator(monitor=())
        if kind == "halving":
            from sklearn.experimental import enable_halving_search_cv  # noqa: F401
            from sklearn.model_selection import HalvingGridSearchCV

            search = HalvingGridSearchCV(
                estimator, grid, random_state=self.halving_seed, **common
            )
        else:
            search = GridSearchCV(estimator, grid, **common)
        search.fit(self.X, self.y, **self.fit_params)
        best = search.best_params_[self.prefix + name]
        return search.cv_results_, best, float(search.best_score_)
