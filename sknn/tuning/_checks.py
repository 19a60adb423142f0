"""Checking a search's settings and data once, before anything is fitted.

:func:`_check_settings` reads every setting of a :class:`BookSearchCV` into
one dict; from then on the stages read the settings only from that dict,
never from the search itself.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags, indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length

from ..activations import ACTIVATIONS
from ..costs import COSTS
from ._base import STAGES, _find_network
from ._decisions import _checked_factors, _checked_values
from ._network_stages import (
    _Activation,
    _Architecture,
    _Cost,
    _Dropout,
    _Momentum,
    _Schedule,
)
from ._scored_stages import _BatchSize, _Lambda, _LearningRate
from ._stages import _Epochs, _LearningRateThreshold

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
        "max_passes",
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


def _checked_data(estimator, X, y):
    """Check X and y once, before any fit; raise a ValueError naming the fault.

    A Pipeline's first steps may accept what the network would not (text,
    missing values), so only the network alone has its X checked as the
    network would; y is always checked: class labels, one per row of X, at
    least two classes.
    """
    if y is None:
        raise ValueError("BookSearchCV needs the class labels y.")
    X, y = indexable(X, y)
    check_consistent_length(X, y)
    y_array = np.asarray(y)
    if y_array.ndim != 1:
        raise ValueError(
            f"y must hold one class label per row of X (1-d); got shape {y_array.shape}."
        )
    check_classification_targets(y_array)
    if len(np.unique(y_array)) < 2:
        raise ValueError(
            "y has a single class; a classifier needs at least two to learn from."
        )
    if not isinstance(estimator, Pipeline):
        tags = get_tags(estimator)
        check_array(
            X,
            accept_sparse=tags.input_tags.sparse,
            ensure_all_finite=not tags.input_tags.allow_nan,
            input_name="X",
        )
    return X, y
