"""A search's run: its checked settings, its data and folds, and its fits.

:func:`_check_settings` reads every setting of a :class:`BookSearchCV` once,
before anything is fitted, into one dict; from then on the stages read the
settings only from :attr:`_Run.settings`, never from the search itself.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.parallel import Parallel

from .._sklearn_private import _check_method_params, _safe_indexing
from ._decisions import _checked_factors, _checked_values
from ._scored_stages import _BatchSize, _Lambda, _LearningRate
from ._stages import STAGES, _Epochs, _find_network, _LearningRateThreshold

_STAGE_CLASSES = {
    stage.name: stage
    for stage in (_LearningRateThreshold, _Epochs, _Lambda, _LearningRate, _BatchSize)
}
"""The stage classes by name, in the order of :data:`STAGES`."""


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
    }
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
        self.base = base
        self.X, self.y, self.fit_params = X, y, fit_params
        self.splits = splits
        self.prefix = prefix
        self.settings = settings
        self.fixed = {}
        if _find_network(base)[0].random_state is None:
            self.fixed["random_state"] = int(rng.randint(np.iinfo(np.int32).max))
        self.subsample_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.halving_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.params = {}
        if "lmbda" in settings["stages"]:
            # "Start with no regularization": lambda = 0 until its own stage.
            self.params["lmbda"] = 0.0
        self.base_params = base.get_params()

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
