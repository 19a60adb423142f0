"""A search's run: its checked settings, its data and folds, and its fits.

:func:`_check_settings` reads every setting of a :class:`BookSearchCV` once,
before anything is fitted, into one dict; from then on the stages read the
settings only from :attr:`_Run.settings`, never from the search itself.
"""

from __future__ import annotations

import itertools
import time
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.parallel import Parallel

from .._sklearn_private import _check_method_params, _safe_indexing
from ..activations import ACTIVATIONS
from ..costs import COSTS
from ._decisions import (
    _checked_factors,
    _checked_values,
    _fmt,
    _margin,
    _predicted_seconds,
)
from ._network_stages import (
    _Activation,
    _Architecture,
    _Cost,
    _Dropout,
    _Momentum,
    _Schedule,
)
from ._scored_stages import _BatchSize, _Lambda, _LearningRate
from ._stages import STAGES, _Epochs, _find_network, _LearningRateThreshold

_STAGE_CLASSES = {
    stage.name: stage
    for stage in (
        _LearningRateThreshold,
        _Epochs,
        _Activation,
        _Architecture,
        _Lambda,
        _LearningRate,
        _Cost,
        _Momentum,
        _Schedule,
        _Dropout,
        _BatchSize,
    )
}
"""The stage classes by name, in the order of :data:`STAGES`."""


def _checked_names(name, values, table):
    """A list of names from ``table`` (costs, activations), in the order given."""
    if isinstance(values, str) or not np.iterable(values):
        raise TypeError(f"{name} must be a list of names; got {values!r}.")
    values = list(dict.fromkeys(values))
    unknown = [v for v in values if v not in table]
    if unknown:
        raise ValueError(
            f"{name} has unknown entries {unknown}; choose among {sorted(table)}."
        )
    return values


def _checked_stages(stages):
    if isinstance(stages, str):
        stages = (stages,)
    stages = tuple(stages)
    if not stages:
        raise ValueError(f"stages is empty: choose among {list(STAGES)}.")
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(
            f"stages has unknown entries {unknown}; the stages are {list(STAGES)}."
        )
    if len(set(stages)) != len(stages):
        raise ValueError(f"stages lists a stage twice: {list(stages)}.")
    if list(stages) != sorted(stages, key=STAGES.index):
        raise ValueError(
            f"stages must follow the book's order {list(STAGES)}: each stage builds "
            f"on the ones before it. Got {list(stages)}."
        )
    return stages


def _check_settings(tuner):
    """Check everything that can be checked without fitting; return the settings.

    Parameters
    ----------
    tuner : BookSearchCV
        The unfitted search, whose parameters are checked.

    Returns
    -------
    settings : dict
        Every setting the stages read: the checked ranges (sorted, distinct),
        the stage settings, and how to fit (``n_jobs``, ``scoring``, ...).
    prefix : str
        The parameter prefix of the network, ending in ``"__"`` unless empty.

    Raises
    ------
    TypeError, ValueError
        Naming the setting at fault, before the first fit.
    """
    _, found_prefix = _find_network(tuner.estimator)
    stages = _checked_stages(tuner.stages)
    prefix = found_prefix if tuner.prefix is None else tuner.prefix
    if prefix and not prefix.endswith("__"):
        prefix += "__"
    settings = {
        "stages": stages,
        "learning_rates": _checked_values(
            "learning_rates", tuner.learning_rates, kind="positive"
        ),
        "threshold_refine_factors": _checked_factors(
            "threshold_refine_factors",
            tuner.threshold_refine_factors,
            above_one=True,
        ),
        "lmbdas": _checked_values("lmbdas", tuner.lmbdas, kind="non-negative"),
        "lmbda_refine_factors": _checked_factors(
            "lmbda_refine_factors", tuner.lmbda_refine_factors
        ),
        "learning_rate_factors": _checked_values(
            "learning_rate_factors", tuner.learning_rate_factors, kind="positive"
        ),
        "batch_sizes": _checked_values(
            "batch_sizes", tuner.batch_sizes, kind="positive integer"
        ),
        "costs": _checked_names("costs", tuner.costs, COSTS),
        "activations": _checked_names("activations", tuner.activations, ACTIVATIONS),
        "momentums": _checked_factors("momentums", tuner.momentums),
        "dropouts": _checked_factors("dropouts", tuner.dropouts),
    }
    for name in ("momentums", "dropouts"):
        if any(value >= 1 for value in settings[name]):
            raise ValueError(f"{name} must lie in (0, 1); got {settings[name]}.")
    for name in (
        "threshold_epochs",
        "threshold_fraction",
        "subsample",
        "max_epochs",
        "epochs_from",
        "n_iter_no_change",
        "validation_fraction",
        "batch_size_tolerance",
        "search",
        "width_factor",
        "max_width",
        "max_depth",
        "min_improvement",
        "dropout_gap",
        "max_time",
        "max_fits",
        "scoring",
        "n_jobs",
        "verbose",
    ):
        settings[name] = getattr(tuner, name)
    _check_parameters_exist(tuner, stages, prefix, found_prefix)
    return settings, prefix


def _check_validation_data(estimator, fit_params, prefix):
    """Early stopping or the halving schedule in every fit need validation data.

    ``X_val`` may come with the Pipeline step's prefix or, through metadata
    routing, without it.
    """
    network, _ = _find_network(estimator)
    watches = network.early_stopping or network.learning_rate_schedule == "halving"
    has_validation_data = prefix + "X_val" in fit_params or "X_val" in fit_params
    if watches and network.validation_fraction is None and not has_validation_data:
        raise ValueError(
            "The estimator uses early_stopping or learning_rate_schedule="
            "'halving', so each of its fits needs validation data: set its "
            "validation_fraction (e.g. 0.1), or turn them off and let the "
            "'epochs' stage choose the number of epochs."
        )


def _check_parameters_exist(tuner, stages, prefix, found_prefix):
    """Raise a ValueError naming every parameter the stages set that is missing."""
    available = tuner.estimator.get_params()
    needed = {"random_state": "the seed"}
    for name in stages:
        for param in _STAGE_CLASSES[name]().uses(stages):
            needed.setdefault(param, f"stage {name!r}")
    missing = {
        prefix + param: why
        for param, why in needed.items()
        if prefix + param not in available
    }
    if not missing:
        return
    listed = ", ".join(f"{name!r} (for {why})" for name, why in missing.items())
    hint = (
        f" Its network's parameters start with {found_prefix!r}; prefix="
        f"{tuner.prefix!r} does not match."
        if tuner.prefix is not None and prefix != found_prefix
        else ""
    )
    raise ValueError(
        f"{type(tuner.estimator).__name__} has no parameter {listed}.{hint}"
    )


class _Run:
    """The data, the folds, and the settings chosen so far, shared by the stages.

    ``params`` holds the unprefixed values chosen so far; ``fixed`` holds what
    every fit shares but nobody tunes (the seed of the initial weights, so
    that candidates differ only in the parameter being tried).
    """

    def __init__(self, base, X, y, fit_params, splits, prefix, settings, rng):
        self.started = time.perf_counter()
        self.n_fits = 0
        self.seconds_per_unit = None
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
        if "lmbda" in settings["stages"]:
            # "Start with no regularization": lambda = 0 until its own stage.
            self.params["lmbda"] = 0.0
        self.base_params = base.get_params()
        self.n_features = X.shape[1] if hasattr(X, "shape") else len(X[0])
        self.n_classes = len(np.unique(y))
        self.has_validation_data = (
            prefix + "X_val" in fit_params or "X_val" in fit_params
        )

    # --- the budget -----------------------------------------------------------

    def elapsed(self):
        return time.perf_counter() - self.started

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

    def n_workers(self):
        return max(1, effective_n_jobs(self.settings["n_jobs"]))

    def predict_seconds(self, units):
        """Predicted wall time of fits of ``units``, run in parallel."""
        return _predicted_seconds(self.seconds_per_unit, units, self.n_workers())

    def refit_units(self, **candidate):
        return self.work(candidate, self.n_samples)

    def affords(self, units, refit_units):
        """Whether fits of ``units``, then the refit, fit the budget; else why not."""
        settings = self.settings
        if settings["max_fits"] is not None and (
            self.n_fits + len(units) > settings["max_fits"]
        ):
            return False, (
                f"{len(units)} more fits would exceed max_fits="
                f"{settings['max_fits']} ({self.n_fits} done)"
            )
        if settings["max_time"] is None or self.seconds_per_unit is None:
            return True, ""
        needed = self.predict_seconds(units) + self.predict_seconds([refit_units])
        left = settings["max_time"] - self.elapsed()
        if needed > left:
            return False, (
                f"needed about {needed:.0f} s with the refit, {max(left, 0):.0f} s "
                f"of max_time={_fmt(settings['max_time'])} left"
            )
        return True, ""

    def _record(self, wall, units):
        """Learn the seconds per unit of work from a batch of fits just run."""
        self.n_fits += len(units)
        if sum(units) > 0:
            workers = min(self.n_workers(), len(units))
            self.seconds_per_unit = wall * workers / sum(units)

    def map(self, jobs, units=None, measure=None):
        """Run ``jobs`` in parallel and learn their speed; return their results.

        ``units`` is the work of each job; ``measure(results)`` gives it
        after the fact for fits whose length is known only then (early
        stopping).
        """
        started = time.perf_counter()
        results = self.parallel()(jobs)
        self._record(
            time.perf_counter() - started, measure(results) if measure else units
        )
        return results

    def margin(self, score):
        """How much better than ``score`` a change must score to be kept."""
        accuracy = score if self.settings["scoring"] in (None, "accuracy") else None
        n_scored = sum(len(test) for _, test in self.splits)
        return _margin(self.settings["min_improvement"], accuracy, n_scored)

    def log(self, message):
        """A progress line (verbose >= 1), with the time used and left."""
        if not self.settings["verbose"]:
            return
        clock = f"{self.elapsed():.0f} s"
        if self.settings["max_time"] is not None:
            left = max(self.settings["max_time"] - self.elapsed(), 0)
            clock += f", {left:.0f} s left"
        print(f"[BookSearchCV {clock}] {message}", flush=True)

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
        return clone(self.base).set_params(
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
            n_jobs=self.settings["n_jobs"],
            verbose=max(self.settings["verbose"] - 1, 0),
        )

    def search(self, name, values, *, kind=None):
        """Cross-validate ``values`` of parameter ``name``; return (cv_results, best, score).

        Every search uses the same folds and the same initial weights, so a
        value's score is the same in every search that tries it. ``monitor``
        is emptied: the scorer measures what matters, and per-epoch
        monitoring would only slow the fits (and blur the timing of the
        batch-size stage).
        """
        settings = self.settings
        kind = kind or settings["search"]
        grid = {self.prefix + name: list(values)}
        common = {
            "cv": self.splits,
            "scoring": settings["scoring"],
            "n_jobs": settings["n_jobs"],
            "refit": False,
            "verbose": max(settings["verbose"] - 1, 0),
        }
        estimator = self.estimator(monitor=())
        started = time.perf_counter()
        if kind == "halving":
            from sklearn.experimental import enable_halving_search_cv  # noqa: F401
            from sklearn.model_selection import HalvingGridSearchCV

            search = HalvingGridSearchCV(
                estimator, grid, random_state=self.halving_seed, **common
            )
        else:
            search = GridSearchCV(estimator, grid, **common)
        search.fit(self.X, self.y, **self.fit_params)
        self._record_search(started, search.cv_results_)
        best = search.best_params_[self.prefix + name]
        return search.cv_results_, best, float(search.best_score_)

    def _record_search(self, started, cv_results):
        units = [
            self.work(self._unprefixed(params), len(train))
            for params in cv_results["params"]
            for train, _ in self.splits
        ]
        self._record(time.perf_counter() - started, units)

    def _unprefixed(self, params):
        return {name[len(self.prefix) :]: value for name, value in params.items()}

    def search_units(self, candidates):
        """The work of cross-validating each of ``candidates`` on every fold."""
        return [
            self.work({**self.params, **candidate}, len(train))
            for candidate in candidates
            for train, _ in self.splits
        ]

    def score_candidates(self, candidates, *, train_score=False):
        """Cross-validate each dict of parameters in ``candidates``; return cv_results_.

        One ``GridSearchCV`` over a list of one-point grids: the candidates
        differ in several parameters at once (an activation, its
        initializer and its re-tuned learning rate), and their fits run in
        parallel.
        """
        settings = self.settings
        grid = [
            {self.prefix + name: [value] for name, value in candidate.items()}
            for candidate in candidates
        ]
        search = GridSearchCV(
            self.estimator(monitor=()),
            grid,
            cv=self.splits,
            scoring=settings["scoring"],
            n_jobs=settings["n_jobs"],
            refit=False,
            return_train_score=train_score,
            verbose=max(settings["verbose"] - 1, 0),
        )
        started = time.perf_counter()
        search.fit(self.X, self.y, **self.fit_params)
        self._record_search(started, search.cv_results_)
        return search.cv_results_
