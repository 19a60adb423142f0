"""The checks a fit makes before training, as functions of the hyperparameters.

A fit is a transaction (see :mod:`sknn._base`): everything that can be checked
is checked before the first step, so that a bad hyperparameter, a useless
``sample_weight``, a network too large for the machine or an initializer that
returns the wrong shapes raises a ``ValueError`` naming what was wrong while
the estimator is still as it was. :data:`PARAMETER_CONSTRAINTS` says what each
hyperparameter may be on its own; each function below takes the values it
checks, so it reads on its own, and :mod:`sknn._plan` calls them while it
builds what training needs.
"""

import itertools
import os
from numbers import Integral, Real

import numpy as np

from ._sklearn_private import HasMethods, Interval, StrOptions
from .activations import ACTIVATIONS
from .costs import COSTS
from .initializers import INITIALIZERS
from .regularizers import REGULARIZERS

PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": [
        "array-like",
        Interval(Integral, 1, None, closed="left"),
    ],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "cost": [StrOptions(set(COSTS)), HasMethods(["fn", "delta"])],
    "regularizer": [
        StrOptions(set(REGULARIZERS)),
        HasMethods(["penalty", "subtract_gradient"]),
    ],
    "lmbda": [Interval(Real, 0, None, closed="left")],
    "learning_rate": [
        Interval(Real, 0, None, closed="neither"),
        StrOptions({"auto"}),
    ],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "initializer": [StrOptions(set(INITIALIZERS)), callable],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "monitor": [list, tuple, None],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "early_stopping": ["boolean"],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "learning_rate_schedule": [StrOptions({"constant", "halving"})],
    "min_learning_rate_ratio": [Interval(Real, 0, 1, closed="neither")],
    "callbacks": [list, tuple, None],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
}
"""The values each hyperparameter may take.

scikit-learn checks them (``_fit_context``) before ``fit`` does anything else,
with an error that names the parameter; the checks below cover what a
constraint cannot say.
"""

TRAINING_COPIES_OF_THE_WEIGHTS = 6
"""Arrays the size of the weights a fit holds: weights, steps, regularizer
scratch, momentum velocities, the last good epoch and the best epoch."""


def _resolve(value, table):
    """Look a string up in ``table``; anything else is used as given."""
    return table[value] if isinstance(value, str) else value


def checked_hidden_sizes(hidden_layer_sizes):
    """The hidden layers' sizes as a list of ints, or a ``ValueError``.

    ``_parameter_constraints`` accepts any array-like; only here is each
    entry known to be a positive int.
    """
    hidden = np.atleast_1d(hidden_layer_sizes)
    if hidden.ndim != 1 or not all(
        isinstance(size, Integral) and size > 0 for size in hidden.tolist()
    ):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a sequence of positive "
            f"ints, one per hidden layer; got {hidden_layer_sizes!r}."
        )
    return hidden.tolist()


def checked_monitor(monitor, valid):
    """The set of names in ``monitor``, or a ``ValueError`` naming the unknown ones.

    ``valid`` depends on the estimator (a regressor has no accuracy).
    """
    monitor = set(monitor or ())
    unknown = monitor - set(valid)
    if unknown:
        raise ValueError(
            f"monitor has unknown entries {sorted(unknown)}; "
            f"valid ones are {list(valid)}."
        )
    return monitor


def check_weight_total(sample_weight, name):
    """Refuse weights that sum to zero: they leave nothing to learn from."""
    if not sample_weight.sum() > 0:
        raise ValueError(
            f"{name} sums to {sample_weight.sum():g}: at least one sample must "
            "have a positive weight, since each mini-batch's gradient is a "
            "weighted mean and lambda is divided by the total weight."
        )


def _total_memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(layer_sizes, dtype, hidden_layer_sizes):
    """Refuse layers whose training would need more than the machine's memory.

    Failing here, with the sizes named, beats a ``MemoryError`` (or swapping)
    in the middle of the first epoch.
    """
    n_parameters = sum(
        (n_in + 1) * n_out for n_in, n_out in itertools.pairwise(layer_sizes)
    )
    needed = TRAINING_COPIES_OF_THE_WEIGHTS * n_parameters * np.dtype(dtype).itemsize
    available = _total_memory_bytes()
    if available is not None and needed > available:
        raise ValueError(
            f"hidden_layer_sizes={hidden_layer_sizes!r} gives layers "
            f"{layer_sizes} with {n_parameters:,} weights and biases; training "
            f"them needs about {needed / 2**30:,.1f} GiB, more than this "
            f"machine's {available / 2**30:,.1f} GiB of memory. Use smaller "
            "hidden layers."
        )


def initial_parameters(initializer, layer_sizes, rng, dtype):
    """The starting weights and biases, each layer's checked for shape and finiteness.

    Parameters
    ----------
    initializer : str or callable
        The ``initializer`` hyperparameter: a name from
        :mod:`sknn.initializers` or ``initializer(n_in, n_out, rng, dtype)``
        returning ``(weights, biases)``. A custom one is checked here, so that
        its mistakes are reported as its own and not as a failure to learn.
    layer_sizes : list of int
    rng : numpy.random.Generator
    dtype : numpy.dtype

    Returns
    -------
    coefs, intercepts : list of ndarray
    """
    initialize = _resolve(initializer, INITIALIZERS)
    coefs, intercepts = [], []
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(layer_sizes)):
        try:
            weights, biases = initialize(n_in, n_out, rng, dtype)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"initializer {initializer!r} must return (weights, biases) "
                f"for n_in={n_in}, n_out={n_out}; it raised or returned "
                f"something else: {error}"
            ) from error
        weights, biases = np.asarray(weights), np.asarray(biases)
        if weights.shape != (n_in, n_out) or biases.shape != (n_out,):
            raise ValueError(
                f"initializer {initializer!r} returned weights of shape "
                f"{weights.shape} and biases of shape {biases.shape} for layer "
                f"{layer + 1}; expected ({n_in}, {n_out}) and ({n_out},)."
            )
        if not (np.isfinite(weights).all() and np.isfinite(biases).all()):
            raise ValueError(
                f"initializer {initializer!r} returned non-finite weights "
                f"or biases for layer {layer + 1}."
            )
        coefs.append(np.ascontiguousarray(weights, dtype=dtype))
        intercepts.append(np.ascontiguousarray(biases, dtype=dtype))
    return coefs, intercepts
