"""Checking BookSearchCV's settings before anything is fitted."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ._base import STAGES
from ._pipeline import _final_step, _find_network
from ._stages import _STAGE_CLASSES


def _checked_values(name, values, *, kind):
    """Return the sorted distinct values of a range, or raise naming ``name``."""
    if isinstance(values, str) or not np.iterable(values):
        raise TypeError(f"{name} must be a list of numbers; got {values!r}.")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty: give at least one value to try.")
    checks = {
        "positive": (lambda v: isinstance(v, Real) and np.isfinite(v) and v > 0),
        "non-negative": (lambda v: isinstance(v, Real) and np.isfinite(v) and v >= 0),
        "positive integer": (
            lambda v: isinstance(v, Integral) and not isinstance(v, bool) and v > 0
        ),
    }
    bad = [v for v in values if isinstance(v, bool) or not checks[kind](v)]
    if bad:
        raise ValueError(f"{name} must hold {kind} numbers; these are not: {bad}.")
    if kind == "positive integer":
        return sorted({int(v) for v in values})
    return sorted({float(v) for v in values})


def _checked_factors(name, factors, *, above_one=False):
    """Refinement factors: may be empty (no refinement), else positive numbers."""
    if not isinstance(factors, str) and np.iterable(factors) and len(factors) == 0:
        return []
    factors = _checked_values(name, factors, kind="positive")
    if above_one and min(factors) <= 1:
        raise ValueError(
            f"{name} must be > 1: the refinement tries values above the "
            f"threshold, below the first learning rate that failed; got {factors}."
        )
    return factors


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
        The checked ranges (sorted, distinct) and the other stage settings.
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
        "threshold_epochs": tuner.threshold_epochs,
        "threshold_fraction": tuner.threshold_fraction,
        "max_epochs": tuner.max_epochs,
        "epochs_from": tuner.epochs_from,
        "n_iter_no_change": tuner.n_iter_no_change,
        "validation_fraction": tuner.validation_fraction,
        "batch_size_tolerance": tuner.batch_size_tolerance,
    }
    _check_parameters_exist(tuner, stages, prefix, found_prefix)
    return settings, prefix


def _check_validation_data(tuner, fit_params, prefix):
    """Early stopping or the halving schedule in every fit need validation data."""
    network = _final_step(tuner.estimator)
    watches = getattr(network, "early_stopping", False) or (
        getattr(network, "learning_rate_schedule", None) == "halving"
    )
    if (
        watches
        and getattr(network, "validation_fraction", None) is None
        and prefix + "X_val" not in fit_params
    ):
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
        for param in _STAGE_CLASSES[name].uses(stages):
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
